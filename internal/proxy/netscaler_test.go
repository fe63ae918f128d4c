package proxy

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
)

// nsIP4 is a copy of the IPv4 and TCP headers of a client packet from
// 192.0.2.1:1111 to 198.51.100.2:80 (protocol proto).
func nsIP4(proto byte) []byte {
	b := []byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, proto, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2}
	return append(b, 0x04, 0x57, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0, 0, 0, 0, 0, 0)
}

// nsIP6 is the same for [2001:db8::1]:2222 to [2001:db8::2]:443.
func nsIP6() []byte {
	b := []byte{0x60, 0, 0, 0, 0, 20, 6, 64}
	s, d := netip.MustParseAddr("2001:db8::1").As16(), netip.MustParseAddr("2001:db8::2").As16()
	b = append(append(b, s[:]...), d[:]...)
	return append(b, 0x08, 0xae, 0x01, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0, 0, 0, 0, 0, 0)
}

// nsLegacy and nsStandard frame p as the two NetScaler versions do.
func nsLegacy(magic uint32, p []byte) string {
	b := binary.BigEndian.AppendUint32(nil, magic)
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	return string(append(b, p...))
}

func nsStandard(magic uint32, p []byte) string {
	b := binary.BigEndian.AppendUint32(nil, magic)
	b = binary.BigEndian.AppendUint32(b, uint32(12+len(p)))
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	return string(append(b, p...))
}

const nsEcho = `
    http-request set-header X-Src %[src]:%[src_port]
    http-request set-header X-Dst %[dst]:%[dst_port]
    http-request set-header X-Rcvd %[fc_rcvd_proxy]
    default_backend be
backend be
    server s B
`

// "bind … accept-netscaler-cip <magic>" and "tcp-request connection
// expect-netscaler-cip layer4" (whose magic is the bind's, 0 without the
// option, as in HAProxy): the addresses of the NetScaler header are what
// rules and the server see, for both framings and both IP versions, while
// fc_rcvd_proxy stays 0 as in HAProxy; the request after the header is
// served as usual and the header is not forwarded. The same header with
// another magic number, a header that is not TCP, one too short for its
// TCP header, a truncated one or none close the connection without a
// byte in answer or reaching the server.
func TestNetScalerCIP(t *testing.T) {
	for _, tc := range []struct {
		name, fe string
		magic    uint32
	}{
		{"bind", "frontend fe\n    bind 127.0.0.1:0 accept-netscaler-cip 1234\n", 1234},
		{"rule", "frontend fe\n    bind 127.0.0.1:0\n    tcp-request connection expect-netscaler-cip layer4 if { src 127.0.0.1 }\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newRawBackend(t, answerEachHead(okResp))
			_, addr := startProxy(t, sub(baseDefaults+tc.fe+nsEcho, "B", b.addr))
			req := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
			for _, ok := range []struct{ hdr, want string }{
				{nsLegacy(tc.magic, nsIP4(6)), "X-Src: 192.0.2.1:1111\r\nX-Dst: 198.51.100.2:80\r\nX-Rcvd: 0\r\n"},
				{nsStandard(tc.magic, nsIP4(6)), "X-Src: 192.0.2.1:1111\r\nX-Dst: 198.51.100.2:80\r\nX-Rcvd: 0\r\n"},
				{nsLegacy(tc.magic, nsIP6()), "X-Src: 2001:db8::1:2222\r\nX-Dst: 2001:db8::2:443\r\nX-Rcvd: 0\r\n"},
				{nsStandard(tc.magic, nsIP6()), "X-Src: 2001:db8::1:2222\r\nX-Dst: 2001:db8::2:443\r\nX-Rcvd: 0\r\n"},
			} {
				before := len(b.received())
				if out := sendRaw(t, addr, ok.hdr+req, false); !strings.HasPrefix(out, "HTTP/1.1 200") {
					t.Fatalf("%q: %q", ok.want, out)
				}
				got := b.received()[before:]
				if !strings.Contains(got, ok.want) || !strings.HasPrefix(got, "GET / HTTP/1.1\r\n") {
					t.Errorf("backend got %q, want %q", got, ok.want)
				}
			}
			seen := b.received()
			short := nsLegacy(tc.magic, nsIP4(6)[:20])
			for name, raw := range map[string]string{
				"wrong magic":   nsLegacy(tc.magic+1, nsIP4(6)) + req,
				"no header":     req,
				"UDP":           nsLegacy(tc.magic, nsIP4(17)) + req,
				"no TCP header": short + req[:20],
				"truncated":     nsLegacy(tc.magic, nsIP4(6))[:30],
				"PROXY instead": "PROXY TCP4 192.0.2.1 198.51.100.2 4242 80\r\n" + req,
			} {
				if out := sendRaw(t, addr, raw, true); out != "" {
					t.Errorf("%s: answered %q", name, out)
				}
			}
			if got := b.received(); got != seen {
				t.Fatalf("server reached: %q", got[len(seen):])
			}
		})
	}
}

// The rule asks for a header only from the sources it names: from others
// the bytes are just (bad) HTTP. TCP mode relays the payload after the
// header unchanged, with the header's addresses in the PROXY header sent
// to the server. A bind with both accept-proxy and accept-netscaler-cip
// reads the NetScaler header first, then the PROXY one, whose addresses
// win (as HAProxy 2.6 does).
func TestNetScalerCIPRulesAndTCP(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, other := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    tcp-request connection expect-netscaler-cip layer4 if { src 10.0.0.0/8 }
    default_backend be
backend be
    server s B
`, "B", b.addr))
	req := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	if out := sendRaw(t, other, nsLegacy(0, nsIP4(6))+req, false); !strings.HasPrefix(out, "HTTP/1.1 400") {
		t.Fatalf("a source the rule does not name: %q", out)
	}
	if out := sendRaw(t, other, req, false); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("plain request from a source the rule does not name: %q", out)
	}

	tb := newRawBackend(t, nil)
	_, addr := startProxy(t, sub(baseDefaults+`
listen l
    mode tcp
    bind 127.0.0.1:0 accept-netscaler-cip 7
    server s B send-proxy
`, "B", tb.addr))
	sendRaw(t, addr, nsStandard(7, nsIP6())+"hello", true)
	if got, want := tb.received(), "PROXY TCP6 2001:db8::1 2001:db8::2 2222 443\r\nhello"; got != want {
		t.Fatalf("server got %q, want %q", got, want)
	}

	b2 := newRawBackend(t, answerEachHead(okResp))
	_, both := startProxy(t, sub(baseDefaults+"frontend fe\n    bind 127.0.0.1:0 accept-proxy accept-netscaler-cip 7\n"+nsEcho, "B", b2.addr))
	if out := sendRaw(t, both, nsLegacy(7, nsIP4(6))+"PROXY TCP4 203.0.113.5 203.0.113.6 4242 80\r\n"+req, false); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("both headers: %q", out)
	}
	if got := b2.received(); !strings.Contains(got, "X-Src: 203.0.113.5:4242\r\nX-Dst: 203.0.113.6:80\r\nX-Rcvd: 1\r\n") {
		t.Fatalf("both headers: backend got %q", got)
	}
}
