package stick

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

type keyKind uint8

const (
	kindNone keyKind = iota
	kindV4
	kindV6
	kindInt
	kindBytes
	kindStr
)

// Key is a lookup key before conversion to a table's key type. Building a
// Key never allocates; a table converts it the way HAProxy casts samples
// (an IPv4 address into an ipv6 table becomes ::ffff:a.b.c.d, a v4-mapped
// IPv6 address into an ip table becomes IPv4, text into an ip table is
// parsed, ...). The zero Key matches nothing.
type Key struct {
	kind keyKind
	a    [16]byte
	n    int64
	b    []byte
	s    string
}

// IPv4Key is the key for an IPv4 address.
func IPv4Key(a [4]byte) Key {
	k := Key{kind: kindV4}
	copy(k.a[:4], a[:])
	return k
}

// IPv6Key is the key for an IPv6 address.
func IPv6Key(a [16]byte) Key { return Key{kind: kindV6, a: a} }

// AddrKey is the key for ip, IPv4 or IPv6. Zones are ignored.
func AddrKey(ip netip.Addr) Key {
	if ip.Is4() {
		return IPv4Key(ip.As4())
	}
	if ip.Is6() {
		return IPv6Key(ip.As16())
	}
	return Key{}
}

// IntKey is the key for an integer; integer tables keep its low 32 bits,
// as HAProxy stores 32-bit integer keys.
func IntKey(v int64) Key { return Key{kind: kindInt, n: v} }

// BytesKey is the key for a string or binary sample. b is not retained
// beyond the call except when the key is inserted, which copies it.
func BytesKey(b []byte) Key { return Key{kind: kindBytes, b: b} }

// StringKey is the key for a string sample.
func StringKey(s string) Key { return Key{kind: kindStr, s: s} }

// ckey is a Key converted to a table's key type. Exactly one of the
// fields is meaningful, chosen by the table's KeyType; for string and
// binary tables the bytes are in s (useS) or b.
type ckey struct {
	a4   [4]byte
	a16  [16]byte
	n    uint32
	b    []byte
	s    string
	useS bool
}

func (c *ckey) str() string {
	if c.useS {
		return c.s
	}
	return string(c.b)
}

func (c *ckey) length() int {
	if c.useS {
		return len(c.s)
	}
	return len(c.b)
}

func (c *ckey) at(i int) byte {
	if c.useS {
		return c.s[i]
	}
	return c.b[i]
}

// truncate keeps the first n bytes.
func (c *ckey) truncate(n int) {
	if c.useS {
		c.s = c.s[:n]
	} else {
		c.b = c.b[:n]
	}
}

// convert casts k to the table key type; false means the key cannot be
// represented (HAProxy: the sample fetch fails, nothing is tracked).
func (t *Table) convert(k *Key, c *ckey) bool {
	switch t.spec.Type {
	case KeyIP:
		switch k.kind {
		case kindV4:
			copy(c.a4[:], k.a[:4])
			return true
		case kindV6:
			if !isV4Mapped(&k.a) {
				return false
			}
			copy(c.a4[:], k.a[12:])
			return true
		case kindInt:
			binary.BigEndian.PutUint32(c.a4[:], uint32(k.n))
			return true
		case kindBytes, kindStr:
			ip, err := netip.ParseAddr(k.text())
			if err != nil {
				return false
			}
			ip = ip.Unmap()
			if !ip.Is4() {
				return false
			}
			c.a4 = ip.As4()
			return true
		}
	case KeyIPv6:
		switch k.kind {
		case kindV4:
			c.a16 = [16]byte{10: 0xff, 11: 0xff}
			copy(c.a16[12:], k.a[:4])
			return true
		case kindV6:
			c.a16 = k.a
			return true
		case kindInt:
			c.a16 = [16]byte{10: 0xff, 11: 0xff}
			binary.BigEndian.PutUint32(c.a16[12:], uint32(k.n))
			return true
		case kindBytes, kindStr:
			ip, err := netip.ParseAddr(k.text())
			if err != nil {
				return false
			}
			c.a16 = ip.As16()
			return true
		}
	case KeyInteger:
		switch k.kind {
		case kindInt:
			c.n = uint32(k.n)
			return true
		case kindV4:
			c.n = binary.BigEndian.Uint32(k.a[:4])
			return true
		case kindBytes, kindStr:
			v, err := strconv.ParseInt(strings.TrimSpace(k.text()), 10, 64)
			if err != nil {
				return false
			}
			c.n = uint32(v)
			return true
		}
	case KeyString, KeyBinary:
		switch k.kind {
		case kindBytes:
			c.b = k.b
		case kindStr:
			c.s, c.useS = k.s, true
		case kindInt:
			if t.spec.Type == KeyString {
				c.s, c.useS = strconv.FormatInt(k.n, 10), true
			} else {
				c.b = binary.BigEndian.AppendUint64(nil, uint64(k.n))
			}
		case kindV4, kindV6:
			if t.spec.Type == KeyString {
				c.s, c.useS = k.addr().String(), true
			} else if k.kind == kindV4 {
				c.b = append([]byte(nil), k.a[:4]...)
			} else {
				c.b = append([]byte(nil), k.a[:]...)
			}
		default:
			return false
		}
		t.normBytes(c)
		return true
	}
	return false
}

// normBytes applies HAProxy's key length rules. Strings are C strings cut
// at len (and at a NUL). Binary keys are cut at len and zero padded to
// len; we store them without trailing zeros instead of padded, which
// compares identically and pads back when printed.
func (t *Table) normBytes(c *ckey) {
	n := c.length()
	if t.spec.Type == KeyString {
		for i := 0; i < n; i++ {
			if c.at(i) == 0 {
				n = i
				break
			}
		}
	}
	if n > t.spec.KeyLen {
		n = t.spec.KeyLen
	}
	if t.spec.Type == KeyBinary {
		for n > 0 && c.at(n-1) == 0 {
			n--
		}
	}
	c.truncate(n)
}

func isV4Mapped(a *[16]byte) bool {
	for i := 0; i < 10; i++ {
		if a[i] != 0 {
			return false
		}
	}
	return a[10] == 0xff && a[11] == 0xff
}

func (k *Key) text() string {
	if k.kind == kindStr {
		return k.s
	}
	return string(k.b)
}

func (k *Key) addr() netip.Addr {
	if k.kind == kindV4 {
		return netip.AddrFrom4([4]byte(k.a[:4]))
	}
	return netip.AddrFrom16(k.a)
}

// ParseKey parses the textual key of the runtime API ("show table t key
// <k>"): an address for ip/ipv6, a decimal number for integer, the text
// itself for string and hexadecimal bytes for binary.
func (t *Table) ParseKey(text string) (Key, error) {
	switch t.spec.Type {
	case KeyIP, KeyIPv6:
		ip, err := netip.ParseAddr(text)
		if err != nil {
			return Key{}, fmt.Errorf("invalid %s key '%s'", t.spec.Type, text)
		}
		if t.spec.Type == KeyIP && !ip.Unmap().Is4() {
			return Key{}, fmt.Errorf("invalid ip key '%s': not an IPv4 address", text)
		}
		return AddrKey(ip), nil
	case KeyInteger:
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return Key{}, fmt.Errorf("invalid integer key '%s'", text)
		}
		return IntKey(v), nil
	case KeyBinary:
		b, err := hex.DecodeString(text)
		if err != nil {
			return Key{}, fmt.Errorf("invalid binary key '%s': expected hexadecimal", text)
		}
		return BytesKey(b), nil
	}
	return StringKey(text), nil
}
