package acl

import (
	"encoding/hex"
	"testing"
)

// The binary decoders of mqtt_*, fix_*, protobuf/ungrpc and req.ssl_* read
// attacker-controlled payloads: whatever the input, they return without
// panicking and anything they return lies inside the input.
func FuzzProtocolDecoders(f *testing.F) {
	for _, h := range []string{
		"101a00044d51545404c2003c00000004746573740006706173737764",
		"20250000221100000078217fff24012501270000ffff22000a2600016100016226000163000164",
		"107e00044d51545405ee003c182700000014170126000161000162260001630001642100140008746573745f7375622a03000a746578742f706c61696e08000c77696c6c727370746f7069632600016500016626000167000168000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764",
		"383d4649582e342e3401393d37390133353d410133343d310134393d4558454355544f520135323d32303230313032392d31333a30323a34342e3533353336300135363d434c49454e54310139383d30013130383d3330013134313d590131303d30333801",
		"0000000014820311da030e08960110fdffffffffffffffff01",
		"10ffffffff", "", "00", "0aff",
	} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	paths := []*pbPath{{fields: []uint64{48, 59, 1}, typ: "int32"}, {fields: []uint64{1}}, {fields: []uint64{2}, typ: "double"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		e := NewEval(nil)
		if p, ok := parseMQTT(b); ok {
			for _, id := range []byte{0x03, 0x11, 0x21, 0x27, 0x26, 0x0b} {
				mqttProp(e, p.props, id)
				mqttProp(e, p.willProps, id)
			}
		}
		fixValid(b)
		if h, ok := parseHello(b); ok && len(h.alpn) > len(b) {
			t.Fatalf("ALPN list of %d bytes out of a %d-byte input", len(h.alpn), len(b))
		}
		for _, p := range paths {
			for _, grpc := range []bool{false, true} {
				cc := &convCall{args: []argVal{{obj: p}}}
				if s, ok := convProtobuf(grpc)(e, cc, Sample{Kind: KindBin, B: b}); ok && s.Kind == KindBin && len(s.B) > len(b) {
					t.Fatalf("field of %d bytes out of a %d-byte input", len(s.B), len(b))
				}
			}
		}
		cc := &convCall{args: []argVal{{i: 35}}}
		convFIXTag(e, cc, Sample{Kind: KindBin, B: b})
	})
}
