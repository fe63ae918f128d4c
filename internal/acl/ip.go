package acl

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// parseIPPattern reads an ACL address pattern (CM 7.1.6): IPv4 with
// inet_aton abbreviations ("10.12" is 10.0.0.12) and a "/bits" or dotted
// netmask, IPv6 with "/bits", or (unless noDNS) a host name resolved now.
func parseIPPattern(s string, noDNS bool, lookup func(string) ([]netip.Addr, error)) ([]netip.Prefix, error) {
	addr, mask, hasMask := strings.Cut(s, "/")
	if strings.Contains(addr, ":") {
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return nil, fmt.Errorf("'%s' is not a valid IPv6 address", s)
		}
		bits := 128
		if hasMask {
			bits, err = strconv.Atoi(mask)
			if err != nil || bits < 0 || bits > 128 {
				return nil, fmt.Errorf("invalid IPv6 mask in '%s'", s)
			}
		}
		if a.Is4In6() {
			// A v4-mapped pattern behaves as the IPv4 network it maps.
			if bits >= 96 {
				return []netip.Prefix{netip.PrefixFrom(a.Unmap(), bits-96).Masked()}, nil
			}
		}
		return []netip.Prefix{netip.PrefixFrom(a.WithZone(""), bits).Masked()}, nil
	}
	v4, ok := inetAton(addr)
	if !ok {
		if hasMask || noDNS || addr == "" || strings.Trim(addr, "0123456789.") == "" {
			return nil, fmt.Errorf("'%s' is not a valid IPv4 or IPv6 address", s)
		}
		if lookup == nil {
			lookup = lookupHost
		}
		ips, err := lookup(addr)
		if err != nil || len(ips) == 0 {
			return nil, fmt.Errorf("unable to resolve host name '%s' in IP pattern", addr)
		}
		out := make([]netip.Prefix, 0, len(ips))
		for _, ip := range ips {
			ip = ip.Unmap()
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
		}
		return out, nil
	}
	bits := 32
	if hasMask {
		if strings.Contains(mask, ".") {
			m, ok := inetAton(mask)
			if !ok {
				return nil, fmt.Errorf("invalid netmask in '%s'", s)
			}
			b, err := maskBits(m.As4())
			if err != nil {
				return nil, err
			}
			bits = b
		} else {
			b, err := strconv.Atoi(mask)
			if err != nil || b < 0 || b > 32 {
				return nil, fmt.Errorf("invalid IPv4 mask in '%s'", s)
			}
			bits = b
		}
	}
	return []netip.Prefix{netip.PrefixFrom(v4, bits).Masked()}, nil
}

func lookupHost(h string) ([]netip.Addr, error) {
	ips, err := net.LookupIP(h)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// inetAton parses IPv4 the way inet_aton(3) does for decimal parts:
// "a.b.c.d", "a.b.c" (c is 16 bits), "a.b" (b is 24 bits), "a" (32 bits).
func inetAton(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		if p == "" {
			return netip.Addr{}, false
		}
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var v uint64
	last := vals[len(vals)-1]
	lastBits := uint(8 * (5 - len(vals)))
	if len(vals) == 1 {
		lastBits = 32
	}
	if last >= 1<<lastBits {
		return netip.Addr{}, false
	}
	for i := 0; i < len(vals)-1; i++ {
		if vals[i] > 255 {
			return netip.Addr{}, false
		}
		v |= vals[i] << (24 - 8*uint(i))
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// matchIP applies HAProxy's cross-family rules: an IPv4 sample against an
// IPv6 network is tested as ::ffff:a.b.c.d; an IPv6 sample against an
// IPv4 network is tested through its embedded IPv4 address when it is
// v4-mapped (::ffff:a.b.c.d), v4-compatible (::a.b.c.d) or 6to4
// (2002:AABB:CCDD::).
func matchIP(nets []netip.Prefix, a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.WithZone("")
	var v4 netip.Addr
	var v6 netip.Addr
	if a.Is4() {
		v4 = a
		v6 = netip.AddrFrom16(a.As16())
	} else {
		v6 = a
		b := a.As16()
		switch {
		case a.Is4In6():
			v4 = a.Unmap()
		case allZero(b[:12]) && !allZero(b[12:]):
			v4 = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		case b[0] == 0x20 && b[1] == 0x02:
			v4 = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		}
	}
	for _, n := range nets {
		if n.Addr().Is4() {
			if v4.IsValid() && n.Contains(v4) {
				return true
			}
		} else if n.Contains(v6) {
			return true
		}
	}
	return false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
