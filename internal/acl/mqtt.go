package acl

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MQTT CONNECT and CONNACK decoding for mqtt_is_valid and
// mqtt_field_value (CM 7.3.1), written from the OASIS MQTT 3.1.1 and 5.0
// specifications. As in HAProxy only the first packet of each side is
// looked at, so only these two types are valid.

const (
	mqttConnect = 1
	mqttConnack = 2
)

var mqttTypeNames = map[string]int64{
	"connect": 1, "connack": 2, "publish": 3, "puback": 4, "pubrec": 5, "pubrel": 6,
	"pubcomp": 7, "subscribe": 8, "suback": 9, "unsubscribe": 10, "unsuback": 11,
	"pingreq": 12, "pingresp": 13, "disconnect": 14, "auth": 15,
}

var mqttFieldNames = map[int64][]string{
	mqttConnect: {"flags", "protocol_name", "protocol_version", "client_identifier", "will_topic",
		"will_payload", "username", "password", "keepalive"},
	mqttConnack: {"flags", "protocol_version", "reason_code"},
}

// Property value encodings (MQTT 5.0 section 2.2.2.2).
const (
	mqByte = iota + 1
	mqInt2
	mqInt4
	mqVarint
	mqString
	mqBinary
	mqPair
)

var mqttPropKind = map[byte]int{
	0x01: mqByte, 0x02: mqInt4, 0x03: mqString, 0x08: mqString, 0x09: mqBinary,
	0x0b: mqVarint, 0x11: mqInt4, 0x12: mqString, 0x13: mqInt2, 0x15: mqString,
	0x16: mqBinary, 0x17: mqByte, 0x18: mqInt4, 0x19: mqByte, 0x1a: mqString,
	0x1c: mqString, 0x1f: mqString, 0x21: mqInt2, 0x22: mqInt2, 0x23: mqInt2,
	0x24: mqByte, 0x25: mqByte, 0x26: mqPair, 0x27: mqInt4, 0x28: mqByte,
	0x29: mqByte, 0x2a: mqByte,
}

// Where each property may appear.
var (
	mqttConnectProps = "\x11\x21\x27\x22\x19\x17\x15\x16\x26"
	mqttWillProps    = "\x18\x01\x02\x03\x08\x09\x26"
	mqttConnackProps = "\x11\x21\x24\x25\x27\x12\x22\x1f\x28\x29\x2a\x13\x1a\x1c\x15\x16\x26"
)

// mqttPacket is a decoded CONNECT or CONNACK; fields alias the input.
type mqttPacket struct {
	typ, flags, version, reason int
	keepalive                   int
	protoName, clientID         []byte
	willTopic, willPayload      []byte
	username, password          []byte
	hasWill, hasUser, hasPass   bool
	// props and willProps are the raw property blocks (MQTT 5.0).
	props, willProps []byte
}

type mqttReader struct {
	b   []byte
	bad bool
}

func (r *mqttReader) byte1() int {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return int(v)
}

func (r *mqttReader) int2() int {
	if len(r.b) < 2 {
		r.bad = true
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return int(v)
}

func (r *mqttReader) bytes(n int) []byte {
	if n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *mqttReader) binary() []byte { return r.bytes(r.int2()) }

// str reads a UTF-8 string: valid UTF-8 without U+0000 (MQTT 1.5.4).
func (r *mqttReader) str() []byte {
	v := r.binary()
	if !r.bad && (!utf8.Valid(v) || strings.IndexByte(string(v), 0) >= 0) {
		r.bad = true
	}
	return v
}

// varint reads a variable byte integer of at most 4 bytes (MQTT 1.5.5).
func (r *mqttReader) varint() int {
	v := 0
	for i := 0; i < 4; i++ {
		c := r.byte1()
		if r.bad {
			return 0
		}
		v |= int(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v
		}
	}
	r.bad = true
	return 0
}

// props reads a property block and checks each property against allowed.
func (r *mqttReader) props(allowed string) []byte {
	n := r.varint()
	blk := r.bytes(n)
	if r.bad {
		return nil
	}
	p := mqttReader{b: blk}
	for len(p.b) > 0 && !p.bad {
		id := byte(p.varint())
		if strings.IndexByte(allowed, id) < 0 {
			p.bad = true
			break
		}
		p.propValue(mqttPropKind[id])
	}
	if p.bad {
		r.bad = true
	}
	return blk
}

func (r *mqttReader) propValue(kind int) []byte {
	switch kind {
	case mqByte:
		return r.bytes(1)
	case mqInt2:
		return r.bytes(2)
	case mqInt4:
		return r.bytes(4)
	case mqVarint:
		start := r.b
		r.varint()
		return start[:len(start)-len(r.b)]
	case mqString:
		return r.str()
	case mqBinary:
		return r.binary()
	case mqPair:
		r.str()
		return r.str()
	}
	r.bad = true
	return nil
}

// parseMQTT decodes the first packet of b; ok is false when b does not
// hold a whole, valid CONNECT or CONNACK.
func parseMQTT(b []byte) (p mqttPacket, ok bool) {
	r := mqttReader{b: b}
	h := r.byte1()
	p.typ = h >> 4
	if h&0x0f != 0 || p.typ != mqttConnect && p.typ != mqttConnack {
		return p, false
	}
	n := r.varint()
	body := r.bytes(n)
	if r.bad {
		return p, false
	}
	r = mqttReader{b: body}
	if p.typ == mqttConnack {
		p.flags = r.byte1()
		p.reason = r.byte1()
		p.version = 4
		if len(r.b) > 0 {
			p.version = 5
			p.props = r.props(mqttConnackProps)
		}
		return p, !r.bad && len(r.b) == 0 && p.flags&0xfe == 0
	}
	p.protoName = r.str()
	p.version = r.byte1()
	p.flags = r.byte1()
	p.keepalive = r.int2()
	if r.bad {
		return p, false
	}
	switch {
	case p.version == 3 && string(p.protoName) == "MQIsdp":
	case (p.version == 4 || p.version == 5) && string(p.protoName) == "MQTT":
	default:
		return p, false
	}
	f := p.flags
	p.hasWill, p.hasPass, p.hasUser = f&0x04 != 0, f&0x40 != 0, f&0x80 != 0
	willQoS := f >> 3 & 3
	if f&0x01 != 0 || willQoS == 3 || !p.hasWill && (willQoS != 0 || f&0x20 != 0) {
		return p, false
	}
	if p.version != 5 && p.hasPass && !p.hasUser {
		return p, false
	}
	if p.version == 5 {
		p.props = r.props(mqttConnectProps)
	}
	p.clientID = r.str()
	if p.hasWill {
		if p.version == 5 {
			p.willProps = r.props(mqttWillProps)
		}
		p.willTopic = r.str()
		p.willPayload = r.binary()
	}
	if p.hasUser {
		p.username = r.str()
	}
	if p.hasPass {
		p.password = r.binary()
	}
	return p, !r.bad && len(r.b) == 0
}

// mqttProp returns the value of property id in a block, as text.
func mqttProp(e *Eval, blk []byte, id byte) ([]byte, bool) {
	r := mqttReader{b: blk}
	for len(r.b) > 0 && !r.bad {
		pid := byte(r.varint())
		kind := mqttPropKind[pid]
		v := r.propValue(kind)
		if r.bad || pid != id {
			continue
		}
		n := len(e.buf)
		switch kind {
		case mqByte:
			e.buf = strconv.AppendInt(e.buf, int64(v[0]), 10)
		case mqInt2:
			e.buf = strconv.AppendInt(e.buf, int64(binary.BigEndian.Uint16(v)), 10)
		case mqInt4:
			e.buf = strconv.AppendInt(e.buf, int64(binary.BigEndian.Uint32(v)), 10)
		case mqVarint:
			vr := mqttReader{b: v}
			e.buf = strconv.AppendInt(e.buf, int64(vr.varint()), 10)
		case mqString, mqBinary:
			return v, true
		default:
			return nil, false // user properties are not supported, as in 2.6
		}
		return e.tail(n), true
	}
	return nil, false
}

func convMQTTValid(e *Eval, c *convCall, s Sample) (Sample, bool) {
	_, ok := parseMQTT(s.B)
	return boolSample(ok), true
}

func prepMQTTField(c *compiler, cc *convCall) error {
	t := &cc.args[0]
	if n, ok := mqttTypeNames[strings.ToLower(t.s)]; ok {
		t.i = n
	} else if n, err := strconv.ParseInt(t.s, 10, 64); err == nil && n >= 1 && n <= 15 {
		t.i = n
	} else {
		return fmt.Errorf("invalid MQTT packet type '%s'", t.s)
	}
	f := &cc.args[1]
	if n, err := strconv.ParseUint(f.s, 10, 8); err == nil {
		if mqttPropKind[byte(n)] == 0 {
			return fmt.Errorf("invalid MQTT property identifier '%s'", f.s)
		}
		f.i = int64(n)
		f.isVar = true // a property, not a field name
		return nil
	}
	f.s = strings.ToLower(f.s)
	for _, n := range mqttFieldNames[t.i] {
		if n == f.s {
			return nil
		}
	}
	return fmt.Errorf("invalid MQTT field name '%s' for packet type '%s'", cc.args[1].s, t.s)
}

func convMQTTField(e *Eval, c *convCall, s Sample) (Sample, bool) {
	p, ok := parseMQTT(s.B)
	if !ok || int64(p.typ) != c.args[0].i {
		return Sample{}, false
	}
	f := &c.args[1]
	if f.isVar {
		id := byte(f.i)
		if v, ok := mqttProp(e, p.props, id); ok {
			return strSample(v), true
		}
		if v, ok := mqttProp(e, p.willProps, id); ok {
			return strSample(v), true
		}
		return Sample{}, false
	}
	num := func(v int) (Sample, bool) {
		n := len(e.buf)
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
		return strSample(e.tail(n)), true
	}
	opt := func(v []byte, present bool) (Sample, bool) {
		if !present {
			return Sample{}, false
		}
		return strSample(v), true
	}
	switch f.s {
	case "flags":
		return num(p.flags)
	case "protocol_version":
		return num(p.version)
	case "reason_code":
		return num(p.reason)
	case "protocol_name":
		return strSample(p.protoName), true
	case "keepalive":
		return num(p.keepalive)
	case "client_identifier":
		return strSample(p.clientID), true
	case "will_topic":
		return opt(p.willTopic, p.hasWill)
	case "will_payload":
		return opt(p.willPayload, p.hasWill)
	case "username":
		return opt(p.username, p.hasUser)
	case "password":
		return opt(p.password, p.hasPass)
	}
	return Sample{}, false
}
