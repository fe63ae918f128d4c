package acl

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
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
	switch match {
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
			md, err := c.loadMap(cc.args[0].s, m, outKind)
			if err != nil {
				return err
			}
			cc.args[0].mp = md
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
			if v, ok := cc.args[0].mp.lookup(e, s); ok {
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

func (c *compiler) loadMap(path string, m matchMethod, out Kind) (*mapData, error) {
	key := fmt.Sprintf("%s\x00%d\x00%d", path, m, out)
	if md := c.maps[key]; md != nil {
		return md, nil
	}
	lines, err := c.readLines(path)
	if err != nil {
		return nil, err
	}
	md := &mapData{method: m}
	if m == methodStr {
		md.exact = map[string]int{}
	}
	for _, ln := range lines {
		k, v := splitMapLine(ln.text)
		val, err := parseMapValue(v, out)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, ln.no, err)
		}
		switch m {
		case methodIP:
			nets, err := parseIPPattern(k, true, nil)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, ln.no, err)
			}
			md.nets = append(md.nets, nets[0])
		case methodReg:
			re, err := regexp.Compile(k)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: regex '%s' is not supported: %v", path, ln.no, k, unwrapRegexErr(err))
			}
			md.res = append(md.res, re)
		case methodInt, methodLen:
			r, err := parseIntPattern(k, "")
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, ln.no, err)
			}
			md.ints = append(md.ints, r)
		case methodStr:
			if _, dup := md.exact[k]; !dup {
				md.exact[k] = len(md.keys)
			}
		}
		md.keys = append(md.keys, k)
		md.vals = append(md.vals, val)
	}
	c.maps[key] = md
	return md, nil
}

func splitMapLine(s string) (key, val string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

// lookup returns the value of the matching key: the exact key for str,
// the longest match for beg and ip, the first in file order otherwise.
func (md *mapData) lookup(e *Eval, s Sample) (Sample, bool) {
	switch md.method {
	case methodStr:
		if i, ok := md.exact[string(s.B)]; ok {
			return md.vals[i], true
		}
		return Sample{}, false
	case methodIP:
		best, bits := -1, -1
		for i, n := range md.nets {
			if n.Bits() > bits && matchIP(md.nets[i:i+1], s.IP) {
				best, bits = i, n.Bits()
			}
		}
		if best < 0 {
			return Sample{}, false
		}
		return md.vals[best], true
	case methodReg:
		for i, re := range md.res {
			if re.Match(s.B) {
				return md.vals[i], true
			}
		}
		return Sample{}, false
	case methodInt, methodLen:
		n := s.I
		if md.method == methodLen {
			n = int64(len(s.B))
		}
		for i, r := range md.ints {
			if n >= r.lo && n <= r.hi {
				return md.vals[i], true
			}
		}
		return Sample{}, false
	case methodBeg:
		best := -1
		for i, k := range md.keys {
			if (best < 0 || len(k) > len(md.keys[best])) && matchStr(methodBeg, false, s.B, k) {
				best = i
			}
		}
		if best < 0 {
			return Sample{}, false
		}
		return md.vals[best], true
	}
	for i, k := range md.keys {
		if matchStr(md.method, false, s.B, k) {
			return md.vals[i], true
		}
	}
	return Sample{}, false
}
