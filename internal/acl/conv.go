package acl

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// convs is the read-only table of converters (CM 7.3.1); map_* and
// table_* are built by lookupConv.
var convs = map[string]*convDef{
	"lower":  {in: KindStr, out: KindStr, fn: convCase(true)},
	"upper":  {in: KindStr, out: KindStr, fn: convCase(false)},
	"hex":    {in: KindBin, out: KindStr, fn: convHex},
	"base64": {in: KindBin, out: KindStr, fn: convBase64},
	"length": {in: KindStr, out: KindInt, fn: convLength},
	"ipmask": {in: KindIP, out: KindIP, fn: convIPMask, minArgs: 1, maxArgs: 2, prep: prepIPMask},
}

func lookupConv(name string) *convDef {
	if d := convs[name]; d != nil {
		return d
	}
	if d := moreConvs()[name]; d != nil {
		return d
	}
	if d := hashConvs()[name]; d != nil {
		return d
	}
	if d := streamConvs()[name]; d != nil {
		return d
	}
	if d := streamConvs2()[name]; d != nil {
		return d
	}
	if d := mapConv(name); d != nil {
		return d
	}
	return tableConv(name)
}

// castable reports whether a sample of kind from can be used where to is
// expected (HAProxy's sample_casts matrix, reduced to these kinds).
func castable(from, to Kind) bool {
	if from == to || to == KindNone {
		return true
	}
	switch to {
	case KindStr, KindBin:
		return true
	case KindInt:
		return from == KindBool || from == KindStr || from == KindBin
	case KindBool:
		return from == KindInt || from == KindStr
	case KindIP:
		return from == KindStr || from == KindInt || from == KindBin
	}
	return false
}

// cast converts s to kind to, writing text into the scratch space.
func cast(e *Eval, s Sample, to Kind) (Sample, bool) {
	if s.Kind == to {
		return s, true
	}
	switch to {
	case KindStr, KindBin:
		switch s.Kind {
		case KindStr:
			return Sample{Kind: to, B: s.B}, true
		case KindBin:
			// HAProxy's binary-to-string cast ends the string at the
			// first NUL byte (bin(410042),length is 1 in 2.6.12).
			b := s.B
			if to == KindStr {
				if i := bytes.IndexByte(b, 0); i >= 0 {
					b = b[:i]
				}
			}
			return Sample{Kind: to, B: b}, true
		case KindInt, KindBool:
			n := len(e.buf)
			e.buf = strconv.AppendInt(e.buf, s.I, 10)
			return Sample{Kind: to, B: e.buf[n:len(e.buf):len(e.buf)]}, true
		case KindIP:
			n := len(e.buf)
			e.buf = s.IP.AppendTo(e.buf)
			return Sample{Kind: to, B: e.buf[n:len(e.buf):len(e.buf)]}, true
		}
	case KindInt:
		switch s.Kind {
		case KindBool:
			return intSample(s.I), true
		case KindStr, KindBin:
			n, ok := strToInt(s.B)
			return intSample(n), ok
		}
	case KindBool:
		switch s.Kind {
		case KindInt:
			return boolSample(s.I != 0), true
		case KindStr:
			n, ok := strToInt(s.B)
			return boolSample(n != 0), ok
		}
	case KindIP:
		switch s.Kind {
		case KindStr, KindBin:
			a, ok := parseAddrBytes(s.B)
			return Sample{Kind: KindIP, IP: a}, ok
		case KindInt:
			v := uint32(s.I)
			return Sample{Kind: KindIP, IP: netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})}, true
		}
	}
	return Sample{}, false
}

func convCase(lower bool) convFn {
	return func(e *Eval, c *convCall, s Sample) (Sample, bool) {
		n := len(e.buf)
		for _, ch := range s.B {
			if lower && 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			} else if !lower && 'a' <= ch && ch <= 'z' {
				ch -= 'a' - 'A'
			}
			e.buf = append(e.buf, ch)
		}
		return strSample(e.buf[n:len(e.buf):len(e.buf)]), true
	}
}

func convHex(e *Eval, c *convCall, s Sample) (Sample, bool) {
	// HAProxy's hex converter prints upper-case digits.
	const digits = "0123456789ABCDEF"
	n := len(e.buf)
	for _, b := range s.B {
		e.buf = append(e.buf, digits[b>>4], digits[b&15])
	}
	return strSample(e.buf[n:len(e.buf):len(e.buf)]), true
}

func convBase64(e *Eval, c *convCall, s Sample) (Sample, bool) {
	n := len(e.buf)
	e.buf = base64.StdEncoding.AppendEncode(e.buf, s.B)
	return strSample(e.buf[n:len(e.buf):len(e.buf)]), true
}

func convLength(e *Eval, c *convCall, s Sample) (Sample, bool) {
	return intSample(int64(len(s.B))), true
}

// prepIPMask accepts ipmask(<v4 mask>[,<v6 mask>]): v4 as bits or dotted
// netmask, v6 as bits.
func prepIPMask(c *compiler, cc *convCall) error {
	v4 := cc.args[0].s
	bits, err := strconv.Atoi(v4)
	if err != nil {
		a, perr := netip.ParseAddr(v4)
		if perr != nil || !a.Is4() {
			return fmt.Errorf("invalid IPv4 mask '%s'", v4)
		}
		bits, err = maskBits(a.As4())
		if err != nil {
			return err
		}
	}
	if bits < 0 || bits > 32 {
		return fmt.Errorf("invalid IPv4 mask '%s'", v4)
	}
	cc.args[0].i = int64(bits)
	if len(cc.args) > 1 {
		m, err := parseMask6(cc.args[1].s)
		if err != nil {
			return err
		}
		cc.args[1].b = m[:]
	}
	return nil
}

// parseMask6 reads an IPv6 mask as a prefix length or, as CM 7.3.1 allows
// ("quadruplet form"), an address whose bits are ANDed in; HAProxy does
// not require those bits to be contiguous (ffff::ff00:0 is accepted).
func parseMask6(v string) ([16]byte, error) {
	var m [16]byte
	if strings.Contains(v, ":") {
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return m, fmt.Errorf("invalid IPv6 mask '%s'", v)
		}
		return a.As16(), nil
	}
	bits, err := strconv.Atoi(v)
	if err != nil || bits < 0 || bits > 128 {
		return m, fmt.Errorf("invalid IPv6 mask '%s'", v)
	}
	for i := 0; i < bits; i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m, nil
}

func maskBits(m [4]byte) (int, error) {
	v := uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	if v != 0 {
		return 0, fmt.Errorf("non-contiguous netmask %d.%d.%d.%d", m[0], m[1], m[2], m[3])
	}
	return bits, nil
}

func convIPMask(e *Eval, c *convCall, s Sample) (Sample, bool) {
	// An IPv4-mapped IPv6 address is masked as the IPv4 address it
	// carries, and comes out as IPv4 (HAProxy 2.6.12:
	// ::ffff:192.168.1.101,ipmask(24) is 192.168.1.0).
	if s.IP.Is4In6() {
		s.IP = s.IP.Unmap()
	}
	if s.IP.Is4() {
		p, _ := s.IP.Prefix(int(c.args[0].i))
		return Sample{Kind: KindIP, IP: p.Addr()}, true
	}
	if len(c.args) < 2 {
		// Without a v6 mask HAProxy fails the conversion for IPv6.
		return Sample{}, false
	}
	a := s.IP.As16()
	for i := range a {
		a[i] &= c.args[1].b[i]
	}
	return Sample{Kind: KindIP, IP: netip.AddrFrom16(a)}, true
}

func checkVarName(name string) error {
	scope, rest, ok := strings.Cut(name, ".")
	if !ok || rest == "" {
		return fmt.Errorf("invalid variable name '%s' (expects <scope>.<name>)", name)
	}
	switch scope {
	case "proc", "sess", "txn", "req", "res", "check":
	default:
		return fmt.Errorf("invalid variable scope '%s' in '%s' (expects proc, sess, txn, req or res)", scope, name)
	}
	for i := 0; i < len(rest); i++ {
		ch := rest[i]
		if !(ch == '_' || ch == '.' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			return fmt.Errorf("invalid character '%c' in variable name '%s'", ch, name)
		}
	}
	return nil
}

// strToInt is HAProxy's string-to-integer cast: an optional sign and the
// digits that follow, stopping at the first other byte ("12abc" is 12,
// " 42" and "abc" are 0), saturating at the int64 range; only an empty
// string has no value (HAProxy 2.6.12, TestStrToInt).
func strToInt(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := false
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		b = b[1:]
	}
	const limit = 1 << 63 // |math.MinInt64|
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		if n > limit/10 {
			n = limit
			continue
		}
		n = min(n*10+uint64(c-'0'), limit)
	}
	switch {
	case neg && n == limit:
		return math.MinInt64, true
	case neg:
		return -int64(n), true
	case n == limit:
		return math.MaxInt64, true
	}
	return int64(n), true
}
