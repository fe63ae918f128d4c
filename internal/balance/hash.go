package balance

import (
	"hash/crc32"
	"net/netip"
	"strings"
)

// The hash functions below reproduce the values HAProxy computes (its
// src/hash.c), so that a backend keeps the same key→server mapping when
// moving from HAProxy to Bulwark. They take strings to stay allocation-free.

func hashSDBM(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h = uint32(s[i]) + h<<6 + h<<16 - h
	}
	return h
}

func hashDJB2(s string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = h*33 + uint32(s[i])
	}
	return h
}

// SumWT6 is Willy Tarreau's "wt6": two 32-bit lanes rotated by amounts
// that depend on the data seen so far. Exported (and generic, so the
// converter's []byte needs no copy) for the wt6 converter of CM 7.3.1.
func SumWT6[T ~string | ~[]byte](s T) uint32 {
	h0, h1 := uint32(0xa53c965a), uint32(0x5ca6953a)
	step0, step1 := uint32(6), uint32(18)
	for i := 0; i < len(s); i++ {
		c := uint32(s[i])
		h0 = ^(h0 ^ c)
		h1 = ^(h1 + c)
		// A step of 0 makes the right shift 32: 0 in Go, a no-op on x86
		// in C; both leave the rotation an identity, so results agree.
		r0 := h1<<step0 | h1>>(32-step0)
		h1 = h0<<step1 | h0>>(32-step1)
		h0 = r0
		t := ((h0 >> 16) ^ h1) & 0xffff
		step0 = t & 0x1f
		step1 = t >> 11
	}
	return h0 ^ h1
}

// hashCRC32 is the Ethernet/zlib CRC32 that HAProxy's hash_crc32 computes.
// The loop over crc32.IEEETable avoids a []byte conversion per request.
func hashCRC32(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

// avalanche is Bob Jenkins' 32-bit full-avalanche integer hash, used by
// HAProxy's "avalanche" modifier and to place consistent-hash points.
func avalanche(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	return a
}

// Sum hashes s with the configured function and modifier.
func (h HashType) Sum(s string) uint32 {
	var v uint32
	switch h.Func {
	case DJB2:
		v = hashDJB2(s)
	case WT6:
		v = SumWT6(s)
	case CRC32:
		v = hashCRC32(s)
	default:
		v = hashSDBM(s)
	}
	if h.Avalanche {
		v = avalanche(v)
	}
	return v
}

// sourceHash reproduces "balance source": HAProxy does not run the hash
// function on the address, it XORs its 32-bit big-endian words (one for
// IPv4, four for IPv6) and only applies the avalanche modifier.
func (h HashType) sourceHash(a netip.Addr) uint32 {
	var v uint32
	if a.Is4() {
		b := a.As4()
		v = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	} else {
		b := a.As16()
		for i := 0; i < 16; i += 4 {
			v ^= uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
		}
	}
	if h.Avalanche {
		v = avalanche(v)
	}
	return v
}

// uriKey returns the part of uri that "balance uri" hashes.
func (p *Params) uriKey(uri string) string {
	if p.PathOnly {
		uri = pathOf(uri)
	}
	if p.Len > 0 && len(uri) > p.Len {
		uri = uri[:p.Len]
	}
	slashes := 0
	for i := 0; i < len(uri); i++ {
		switch uri[i] {
		case '/':
			// "depth N" keeps N directory levels: hashing stops before the
			// (N+1)th slash.
			slashes++
			if p.Depth > 0 && slashes == p.Depth+1 {
				return uri[:i]
			}
		case '?':
			if !p.Whole {
				return uri[:i]
			}
		}
	}
	return uri
}

// pathOf returns the path of a request target (from its first '/' on, the
// query string included), as HAProxy's "path-only" does: origin-form is
// kept, absolute-form loses scheme and authority, and authority-form or
// "*" give an empty path.
func pathOf(uri string) string {
	if uri == "" || uri[0] == '/' {
		return uri
	}
	if uri == "*" {
		return ""
	}
	i := 0
	c := uri[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return ""
	}
	for i = 1; i < len(uri); i++ {
		c = uri[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			break
		}
	}
	if !strings.HasPrefix(uri[i:], "://") {
		return "" // authority-form (CONNECT host:port): no path
	}
	rest := uri[i+3:]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		return rest[j:]
	}
	return ""
}

// domainKey implements hdr()'s use_domain_only: the label just before the
// last dot ("1wt" in "haproxy.1wt.eu"). Like HAProxy it never treats the
// first byte as the TLD dot, keeps the whole value when there is no dot,
// and does not look for a boundary right before the TLD dot.
func domainKey(v string) string {
	for p := len(v) - 1; p >= 1; p-- {
		if v[p] != '.' {
			continue
		}
		start := 0
		for q := p - 1; q >= 1; q-- {
			if v[q-1] == '.' {
				start = q
				break
			}
		}
		return v[start:p]
	}
	return v
}

// URLParamValue finds parameter name in the query string of uri the way
// "balance url_param" does: names match case-sensitively and only at the
// start of a parameter, the value runs to the next '&', and a parameter
// present with an empty value counts as found.
func URLParamValue(uri, name string) (string, bool) {
	q := strings.IndexByte(uri, '?')
	if q < 0 || name == "" {
		return "", false
	}
	return QueryParamValue(uri[q+1:], name)
}

// QueryParamValue is URLParamValue on a bare query string or a
// form-encoded body (url_param check_post).
func QueryParamValue(query, name string) (string, bool) {
	n := len(name)
	for len(query) > n {
		if query[n] == '=' && query[:n] == name {
			v := query[n+1:]
			if amp := strings.IndexByte(v, '&'); amp >= 0 {
				v = v[:amp]
			}
			return v, true
		}
		amp := strings.IndexByte(query, '&')
		if amp < 0 {
			return "", false
		}
		query = query[amp+1:]
	}
	return "", false
}

// keyHash computes the hash of a request for a hashing algorithm. ok is
// false when the input is missing, in which case HAProxy falls back to
// round robin.
func (p *Params) keyHash(ht HashType, k *Key) (uint32, bool) {
	switch p.Algo {
	case Source:
		if !k.Src.IsValid() {
			return 0, false
		}
		return ht.sourceHash(k.Src), true
	case URI:
		if k.URI == "" {
			return 0, false // TCP mode: HAProxy has no URI and round-robins
		}
		return ht.Sum(p.uriKey(k.URI)), true
	case URLParam, HashExpr:
		if !k.HasValue {
			return 0, false
		}
		return ht.Sum(k.Value), true
	case Header, RDPCookie:
		if !k.HasValue || k.Value == "" {
			return 0, false
		}
		v := k.Value
		if p.DomainOnly {
			v = domainKey(v)
		}
		return ht.Sum(v), true
	}
	return 0, false
}
