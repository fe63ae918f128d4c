package acl

import (
	"fmt"
	"net/netip"
	"strconv"

	"bulwark/internal/h1"
)

type side uint8

const (
	sideAuto side = iota // request, or response while http-response rules run
	sideReq
	sideRes
)

func headersFor(e *Eval, sd side) []h1.Header {
	if sd == sideRes || sd == sideAuto && e.Response {
		return e.Txn.RespHeaders()
	}
	return e.Txn.ReqHeaders()
}

// prepOcc reads hdr()'s optional occurrence: a positive number counts
// from the first value, a negative one from the last (CM 7.3.6 "hdr").
func prepOcc(c *compiler, x *Expr) error {
	if len(x.args) < 2 || x.args[1].s == "" {
		return nil
	}
	n, err := strconv.Atoi(x.args[1].s)
	if err != nil || n == 0 {
		return fmt.Errorf("invalid occurrence '%s' (expects a non-zero integer)", x.args[1].s)
	}
	x.occ = n
	return nil
}

func hdrName(x *Expr) string {
	if len(x.args) > 0 {
		return x.args[0].s
	}
	return ""
}

// nextValue advances it over the values of the headers called name
// (every header when name is empty), splitting on commas when split.
func nextValue(hs []h1.Header, name string, split bool, it *iter) ([]byte, bool) {
	for it.hi < len(hs) {
		h := &hs[it.hi]
		if name != "" && !eqFold(h.Name, name) {
			it.hi++
			it.off = 0
			continue
		}
		v := h.Value
		if !split {
			// A whole value loses its surrounding blanks too: a rule may
			// have set " a " (HAProxy's http_find_header, full mode).
			it.hi++
			return trimSpace(v), true
		}
		if it.off > len(v) {
			it.hi++
			it.off = 0
			continue
		}
		rest := v[it.off:]
		end := len(rest)
		for i, c := range rest {
			if c == ',' {
				end = i
				break
			}
		}
		it.off += end + 1
		return trimSpace(rest[:end]), true
	}
	return nil, false
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// hdrValue yields the next value for x: every value, or the one occurrence
// x.occ selects.
func hdrValue(e *Eval, x *Expr, it *iter, sd side, split bool) ([]byte, bool) {
	hs := headersFor(e, sd)
	name := hdrName(x)
	if x.occ == 0 {
		return nextValue(hs, name, split, it)
	}
	if !once(it) {
		return nil, false
	}
	var w iter
	if x.occ > 0 {
		for i := 0; ; i++ {
			v, ok := nextValue(hs, name, split, &w)
			if !ok {
				return nil, false
			}
			if i+1 == x.occ {
				return v, true
			}
		}
	}
	total := 0
	for {
		if _, ok := nextValue(hs, name, split, &w); !ok {
			break
		}
		total++
	}
	want := total + x.occ
	if want < 0 {
		return nil, false
	}
	w = iter{}
	for i := 0; ; i++ {
		v, ok := nextValue(hs, name, split, &w)
		if !ok {
			return nil, false
		}
		if i == want {
			return v, true
		}
	}
}

func fetchHdr(sd side, split bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		v, ok := hdrValue(e, x, it, sd, split)
		if !ok {
			return Sample{}, false
		}
		return strSample(v), true
	}
}

func fetchHdrCnt(sd side) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		hs := headersFor(e, sd)
		var w iter
		n := 0
		for {
			if _, ok := nextValue(hs, hdrName(x), true, &w); !ok {
				break
			}
			n++
		}
		return intSample(int64(n)), true
	}
}

func fetchHdrVal(sd side) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		for {
			v, ok := hdrValue(e, x, it, sd, true)
			if !ok {
				return Sample{}, false
			}
			if n, ok := parseIntPrefix(v); ok {
				return intSample(n), true
			}
		}
	}
}

func fetchHdrIP(sd side) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		for {
			v, ok := hdrValue(e, x, it, sd, true)
			if !ok {
				return Sample{}, false
			}
			if a, ok := parseAddrBytes(v); ok {
				return Sample{Kind: KindIP, IP: a}, true
			}
		}
	}
}

// parseAddrBytes parses an IP address without allocating for IPv4 (the
// common case); IPv6 text goes through netip.
func parseAddrBytes(b []byte) (netip.Addr, bool) {
	var a [4]byte
	part, n, dots := 0, 0, 0
	v4 := len(b) > 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			part = part*10 + int(c-'0')
			n++
			if part > 255 || n > 3 {
				v4 = false
			}
		case c == '.' && n > 0 && dots < 3:
			a[dots] = byte(part)
			dots++
			part, n = 0, 0
		default:
			v4 = false
		}
		if !v4 {
			break
		}
	}
	if v4 && dots == 3 && n > 0 {
		a[3] = byte(part)
		return netip.AddrFrom4(a), true
	}
	if len(b) == 0 || len(b) > 64 {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(string(b))
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.WithZone(""), true
}

// parseIntPrefix reads an optionally signed decimal integer filling b.
func parseIntPrefix(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	n, ok := h1.ParseDecimal(b)
	if !ok {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// cookies walks "name=value" pairs of the request's Cookie headers.
func nextCookie(hs []h1.Header, it *iter) (name, value []byte, ok bool) {
	for {
		v, ok := nextValueSep(hs, "cookie", ';', it)
		if !ok {
			return nil, nil, false
		}
		if len(v) == 0 {
			continue
		}
		n, val := cutByte(v, '=')
		return trimSpace(n), trimSpace(val), true
	}
}

// nextValueSep is nextValue with another separator (";" for cookies).
func nextValueSep(hs []h1.Header, name string, sep byte, it *iter) ([]byte, bool) {
	for it.hi < len(hs) {
		h := &hs[it.hi]
		if !eqFold(h.Name, name) || it.off > len(h.Value) {
			it.hi++
			it.off = 0
			continue
		}
		rest := h.Value[it.off:]
		end := len(rest)
		for i, c := range rest {
			if c == sep {
				end = i
				break
			}
		}
		it.off += end + 1
		return trimSpace(rest[:end]), true
	}
	return nil, false
}

func fetchCook(e *Eval, x *Expr, it *iter) (Sample, bool) {
	name := hdrName(x)
	hs := e.Txn.ReqHeaders()
	for {
		n, v, ok := nextCookie(hs, it)
		if !ok {
			return Sample{}, false
		}
		if name == "" || string(n) == name {
			return strSample(v), true
		}
	}
}

func fetchCookCnt(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	name := hdrName(x)
	var w iter
	cnt := 0
	for {
		n, _, ok := nextCookie(e.Txn.ReqHeaders(), &w)
		if !ok {
			break
		}
		if name == "" || string(n) == name {
			cnt++
		}
	}
	return intSample(int64(cnt)), true
}
