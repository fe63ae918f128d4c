package acl

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Protocol buffers wire types (https://protobuf.dev/programming-guides/encoding/).
const (
	pbVarint = 0
	pbI64    = 1
	pbLen    = 2
	pbI32    = 5
)

// pbTypes maps the field types protobuf/ungrpc accept to their wire type.
var pbTypes = map[string]int{
	"int32": pbVarint, "int64": pbVarint, "uint32": pbVarint, "uint64": pbVarint,
	"sint32": pbVarint, "sint64": pbVarint, "bool": pbVarint, "enum": pbVarint,
	"fixed64": pbI64, "sfixed64": pbI64, "double": pbI64,
	"fixed32": pbI32, "sfixed32": pbI32, "float": pbI32,
}

// pbPath is a compiled "<field_number>[.<field_number>...]" argument.
type pbPath struct {
	fields []uint64
	typ    string // "" = the raw field
}

func prepProtobuf(c *compiler, cc *convCall) error {
	var p pbPath
	for _, f := range strings.Split(cc.args[0].s, ".") {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil || n == 0 {
			return fmt.Errorf("invalid field number '%s' in '%s'", f, cc.args[0].s)
		}
		p.fields = append(p.fields, n)
	}
	if len(cc.args) > 1 && cc.args[1].s != "" {
		if _, ok := pbTypes[cc.args[1].s]; !ok {
			return fmt.Errorf("unknown protocol buffers field type '%s'", cc.args[1].s)
		}
		p.typ = cc.args[1].s
	}
	cc.args[0].obj = &p
	if p.typ != "" {
		cc.out = KindInt
	}
	return nil
}

// pbVarintAt decodes a varint at the start of b: its value and length,
// 0 when b ends first or the varint is longer than 10 bytes.
func pbVarintAt(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

// pbField finds the first field numbered num in msg: its wire type and
// its value bytes (the payload of a length-delimited field, the encoded
// value otherwise).
func pbField(msg []byte, num uint64) (wire int, val []byte, ok bool) {
	for len(msg) > 0 {
		key, n := pbVarintAt(msg)
		if n == 0 {
			return 0, nil, false
		}
		msg = msg[n:]
		w := int(key & 7)
		var size int
		switch w {
		case pbVarint:
			if _, size = pbVarintAt(msg); size == 0 {
				return 0, nil, false
			}
		case pbI64:
			size = 8
		case pbI32:
			size = 4
		case pbLen:
			l, n := pbVarintAt(msg)
			if n == 0 || l > uint64(len(msg)-n) {
				return 0, nil, false
			}
			msg = msg[n:]
			size = int(l)
		default:
			return 0, nil, false // groups (3, 4) are deprecated and not decoded
		}
		if size > len(msg) {
			return 0, nil, false
		}
		if key>>3 == num {
			return w, msg[:size], true
		}
		msg = msg[size:]
	}
	return 0, nil, false
}

// pbLookup walks path through msg.
func pbLookup(msg []byte, p *pbPath) (Sample, bool) {
	var w int
	var v []byte
	for i, f := range p.fields {
		var ok bool
		if w, v, ok = pbField(msg, f); !ok {
			return Sample{}, false
		}
		if i < len(p.fields)-1 {
			if w != pbLen {
				return Sample{}, false
			}
			msg = v
		}
	}
	if p.typ == "" {
		return Sample{Kind: KindBin, B: v}, true
	}
	if pbTypes[p.typ] != w {
		return Sample{}, false
	}
	var u uint64
	switch w {
	case pbVarint:
		u, _ = pbVarintAt(v)
	case pbI64:
		u = binary.LittleEndian.Uint64(v)
	case pbI32:
		u = uint64(binary.LittleEndian.Uint32(v))
	}
	var n int64
	switch p.typ {
	case "int32":
		n = int64(int32(u))
	case "uint32", "fixed32":
		n = int64(uint32(u))
	case "sint32":
		n = int64(int32(uint32(u)>>1) ^ -int32(u&1))
	case "sint64":
		n = int64(u>>1) ^ -int64(u&1)
	case "bool":
		if u != 0 {
			n = 1
		}
	case "sfixed32":
		n = int64(int32(uint32(u)))
	case "double":
		n = int64(math.Float64frombits(u))
	case "float":
		n = int64(math.Float32frombits(uint32(u)))
	default: // int64, uint64, enum, fixed64, sfixed64
		n = int64(u)
	}
	return intSample(n), true
}

// convProtobuf extracts a field of a protocol buffers message; grpc
// first strips the gRPC message framing (a compressed flag and a 32-bit
// length), looking in each message of the input in turn.
func convProtobuf(grpc bool) convFn {
	return func(e *Eval, c *convCall, s Sample) (Sample, bool) {
		p := c.args[0].obj.(*pbPath)
		if !grpc {
			return pbLookup(s.B, p)
		}
		b := s.B
		for len(b) >= 5 {
			if b[0] != 0 {
				return Sample{}, false // compressed messages are not decoded
			}
			l := binary.BigEndian.Uint32(b[1:5])
			if uint64(l) > uint64(len(b)-5) {
				return Sample{}, false
			}
			if r, ok := pbLookup(b[5:5+l], p); ok {
				return r, true
			}
			b = b[5+l:]
		}
		return Sample{}, false
	}
}
