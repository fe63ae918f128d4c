package acl

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"sync/atomic"

	"bulwark/internal/h1"
)

// mapData is a loaded map file for one match method.
type mapData struct {
	method matchMethod
	keys   []string
	vals   []Sample
	exact  map[string]int
	nets   []netip.Prefix
	res    []*regexp.Regexp
	ints   []intRange
	ents   []*PatEntry // the reference entries, for "get map"
}

// mapConv builds map(file[,default]) and map_<match>[_<out>](file[,default])
// (CM 7.3.1 "map").
func mapConv(name string) *convDef {
	if name != "map" && !strings.HasPrefix(name, "map_") {
		return nil
	}
	match, out := "str", "str"
	if name != "map" {
		parts := strings.Split(name[4:], "_")
		if len(parts) > 2 {
			return nil
		}
		match = parts[0]
		if len(parts) == 2 {
			out = parts[1]
		}
	}
	var m matchMethod
	in := KindStr
	// regm is reg whose string values may name the key's capture groups
	// (\1..\9): RE2 has no back-references inside a pattern, but groups
	// captured by it are all a value needs.
	regm := match == "regm"
	switch match {
	case "regm":
		m = methodReg
	case "ip":
		m, in = methodIP, KindIP
	case "int":
		m, in = methodInt, KindInt
	default:
		var ok bool
		if m, ok = methodByName(match); !ok || m == methodFound || m == methodBool || m == methodBin {
			return nil
		}
	}
	var ok Kind
	switch out {
	case "str":
		ok = KindStr
	case "int":
		ok = KindInt
	case "ip":
		ok = KindIP
	default:
		return nil
	}
	outKind := ok
	return &convDef{in: in, out: outKind, minArgs: 1, maxArgs: 2,
		prep: func(c *compiler, cc *convCall) error {
			mv, err := c.loadMap(cc.args[0].s, m, outKind)
			if err != nil {
				return err
			}
			cc.args[0].mv = mv
			if len(cc.args) > 1 {
				d, err := parseMapValue(cc.args[1].s, outKind)
				if err != nil {
					return fmt.Errorf("invalid default value: %v", err)
				}
				cc.args[1].mp = &mapData{vals: []Sample{d}}
			}
			return nil
		},
		fn: func(e *Eval, cc *convCall, s Sample) (Sample, bool) {
			md := cc.args[0].mv.live.Load()
			if regm && outKind == KindStr {
				if v, found, ok := md.lookupRegm(e, s); found {
					return v, ok
				}
			} else if v, ok := md.lookup(e, s); ok {
				return v, true
			}
			if len(cc.args) > 1 {
				return cc.args[1].mp.vals[0], true
			}
			return Sample{}, false
		}}
}

func parseMapValue(v string, k Kind) (Sample, error) {
	switch k {
	case KindInt:
		n, ok := parseIntPrefix([]byte(v))
		if !ok {
			return Sample{}, fmt.Errorf("'%s' is not an integer", v)
		}
		return intSample(n), nil
	case KindIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return Sample{}, fmt.Errorf("'%s' is not an IP address", v)
		}
		return Sample{Kind: KindIP, IP: a}, nil
	}
	return Sample{Kind: KindStr, B: []byte(v)}, nil
}

// mapView is a map file compiled for one match method and output kind;
// every converter naming the file with that pair shares it, and the
// runtime API swaps what it holds.
type mapView struct {
	method matchMethod
	out    Kind
	ref    *PatRef
	live   atomic.Pointer[mapData]
}

// loadMap returns the view of a map file, reading the file on first use.
// Errors name the file's line; the view is then filled from the file's
// pattern reference.
func (c *compiler) loadMap(path string, m matchMethod, out Kind) (*mapView, error) {
	key := fmt.Sprintf("%d\x00%d", m, out)
	r := c.refs.fileRef(path)
	if r != nil && r.maps[key] != nil {
		return r.maps[key], nil
	}
	lines, err := c.readLines(path)
	if err != nil {
		return nil, err
	}
	for _, ln := range lines {
		k, v := splitMapLine(ln.text)
		if err := checkMapEntry(m, out, k, v); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, ln.no, err)
		}
	}
	if r, err = c.patternFileRef(path, true); err != nil {
		return nil, err
	}
	mv := &mapView{method: m, out: out, ref: r}
	r.maps[key] = mv
	r.users = append(r.users, mv)
	r.set.mu.Lock()
	mv.rebuildFrom(r)
	r.set.mu.Unlock()
	return mv, nil
}

// checkMapEntry parses one key and value as a view of method m and output
// kind out would.
func checkMapEntry(m matchMethod, out Kind, k, v string) error {
	if _, err := parseMapValue(v, out); err != nil {
		return err
	}
	switch m {
	case methodIP:
		if _, err := parseIPPattern(k, true, nil); err != nil {
			return err
		}
	case methodReg:
		if _, err := regexp.Compile(k); err != nil {
			return fmt.Errorf("regex '%s' is not supported: %v", k, unwrapRegexErr(err))
		}
	case methodInt, methodLen:
		if _, err := parseIntPattern(k, ""); err != nil {
			return err
		}
	}
	return nil
}

func (mv *mapView) check(_ *PatRef, key, value string) error {
	return checkMapEntry(mv.method, mv.out, key, value)
}

func (mv *mapView) rebuild() { mv.rebuildFrom(mv.ref) }

// rebuildFrom compiles the visible entries of r; entries were checked
// when added, so errors cannot happen.
func (mv *mapView) rebuildFrom(r *PatRef) {
	md := &mapData{method: mv.method}
	if mv.method == methodStr {
		md.exact = map[string]int{}
	}
	for _, e := range r.visible() {
		k := e.Key
		val, err := parseMapValue(e.Value, mv.out)
		if err != nil {
			continue
		}
		switch mv.method {
		case methodIP:
			nets, err := parseIPPattern(k, true, nil)
			if err != nil {
				continue
			}
			md.nets = append(md.nets, nets[0])
		case methodReg:
			re, err := regexp.Compile(k)
			if err != nil {
				continue
			}
			md.res = append(md.res, re)
		case methodInt, methodLen:
			ir, err := parseIntPattern(k, "")
			if err != nil {
				continue
			}
			md.ints = append(md.ints, ir)
		case methodStr:
			if _, dup := md.exact[k]; !dup {
				md.exact[k] = len(md.keys)
			}
		}
		md.keys = append(md.keys, k)
		md.vals = append(md.vals, val)
		md.ents = append(md.ents, e)
	}
	mv.live.Store(md)
}

func (mv *mapView) get(r *PatRef, text string, asMap bool) string {
	md := mv.live.Load()
	s := parseProbe(mv.method, text)
	var hit *PatEntry
	if i := md.index(s); i >= 0 {
		hit = md.ents[i]
	}
	typ := ""
	if asMap {
		switch mv.out {
		case KindInt:
			typ = "sint"
		case KindIP:
			typ = "ipv4"
			if hit != nil && strings.Contains(hit.Value, ":") {
				typ = "ipv6"
			}
		default:
			typ = "str"
		}
	}
	return probeLine(mv.method, false, hit, asMap, typ)
}

func splitMapLine(s string) (key, val string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

// lookup returns the value of the matching key.
func (md *mapData) lookup(_ *Eval, s Sample) (Sample, bool) {
	if i := md.index(s); i >= 0 {
		return md.vals[i], true
	}
	return Sample{}, false
}

// lookupRegm is map_regm's lookup: the value of the first regex that
// matches, with \N replaced by group N of that match (empty when the
// group did not take part or does not exist), \xHH by that byte and \c
// by c. found says a key matched; ok is false when the value ends in a
// lone backslash or a bad \x, where HAProxy fails the conversion
// instead of using the default.
func (md *mapData) lookupRegm(e *Eval, s Sample) (v Sample, found, ok bool) {
	var loc [20]int
	for i, re := range md.res {
		m := re.FindSubmatchIndex(s.B)
		if m == nil {
			continue
		}
		n := copy(loc[:], m)
		for j := n; j < len(loc); j++ {
			loc[j] = -1
		}
		start := len(e.buf)
		if !appendRegmValue(e, md.vals[i].B, s.B, &loc) {
			e.buf = e.buf[:start]
			return Sample{}, true, false
		}
		return strSample(e.tail(start)), true, true
	}
	return Sample{}, false, false
}

// appendRegmValue appends tmpl to e.buf with its escapes resolved against
// the submatch positions loc of in. Map values change at run time (the
// runtime API), so they are expanded as they are, not precompiled like
// regsub's template.
func appendRegmValue(e *Eval, tmpl, in []byte, loc *[20]int) bool {
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '\\' {
			e.buf = append(e.buf, c)
			continue
		}
		i++
		if i >= len(tmpl) {
			return false
		}
		c = tmpl[i]
		switch {
		case c >= '0' && c <= '9':
			g := int(c-'0') * 2
			if loc[g] >= 0 && loc[g+1] >= loc[g] {
				e.buf = append(e.buf, in[loc[g]:loc[g+1]]...)
			}
		case c == 'x':
			if i+2 >= len(tmpl) {
				return false
			}
			hi, ok1 := h1.Unhex(tmpl[i+1])
			lo, ok2 := h1.Unhex(tmpl[i+2])
			if !ok1 || !ok2 {
				return false
			}
			e.buf = append(e.buf, hi<<4|lo)
			i += 2
		default:
			e.buf = append(e.buf, c)
		}
	}
	return true
}

// index returns the entry of the matching key, or -1: the exact key for
// str, the longest match for beg and ip, the first in file order
// otherwise.
func (md *mapData) index(s Sample) int {
	switch md.method {
	case methodStr:
		if i, ok := md.exact[string(s.B)]; ok {
			return i
		}
		return -1
	case methodIP:
		best, bits := -1, -1
		for i, n := range md.nets {
			if n.Bits() > bits && matchIP(md.nets[i:i+1], s.IP) {
				best, bits = i, n.Bits()
			}
		}
		return best
	case methodReg:
		for i, re := range md.res {
			if re.Match(s.B) {
				return i
			}
		}
		return -1
	case methodInt, methodLen:
		n := s.I
		if md.method == methodLen {
			n = int64(len(s.B))
		}
		for i, r := range md.ints {
			if n >= r.lo && n <= r.hi {
				return i
			}
		}
		return -1
	case methodBeg:
		best := -1
		for i, k := range md.keys {
			if (best < 0 || len(k) > len(md.keys[best])) && matchStr(methodBeg, false, s.B, k) {
				best = i
			}
		}
		return best
	}
	for i, k := range md.keys {
		if matchStr(md.method, false, s.B, k) {
			return i
		}
	}
	return -1
}
