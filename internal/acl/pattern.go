package acl

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// matchMethod is an ACL's pattern matching method (CM 7.1.3 "-m").
type matchMethod uint8

const (
	methodDefault matchMethod = iota // chosen from the sample type
	methodFound
	methodBool
	methodInt
	methodIP
	methodBin
	methodLen
	methodStr
	methodSub
	methodReg
	methodBeg
	methodEnd
	methodDir
	methodDom
	methodGroup // http_auth_group: patterns are userlist groups
)

var methodNames = [...]string{"", "found", "bool", "int", "ip", "bin", "len", "str", "sub", "reg", "beg", "end", "dir", "dom", "group"}

func methodByName(s string) (matchMethod, bool) {
	for i, n := range methodNames {
		if n == s && i != int(methodDefault) && matchMethod(i) != methodGroup {
			return matchMethod(i), true
		}
	}
	return 0, false
}

func (m matchMethod) String() string { return methodNames[m] }

// intRange is lo..hi inclusive.
type intRange struct{ lo, hi int64 }

// matcher holds one ACL line's compiled patterns.
type matcher struct {
	method matchMethod
	icase  bool
	strs   []string
	// set indexes exact strings (lower-cased with -i) once there are
	// enough patterns for a map to beat a scan.
	set    map[string]struct{}
	ints   []intRange
	nets   []netip.Prefix
	res    []*regexp.Regexp
	groups []string
}

const setThreshold = 8

// defaultMethod is the method HAProxy picks from the sample type when an
// ACL gives none.
func defaultMethod(k Kind) (matchMethod, bool) {
	switch k {
	case KindBool:
		return methodBool, true
	case KindInt:
		return methodInt, true
	case KindIP:
		return methodIP, true
	case KindStr:
		return methodStr, true
	}
	return 0, false
}

// patternOpts are what the flags set for a line's patterns.
type patternOpts struct {
	noDNS  bool
	lookup func(string) ([]netip.Addr, error)
}

// add parses one pattern for the matcher's method.
func (m *matcher) add(p string, op string, o *patternOpts) error {
	switch m.method {
	case methodFound, methodBool:
		return fmt.Errorf("'-m %s' takes no pattern, found '%s'", m.method, p)
	case methodInt, methodLen:
		r, err := parseIntPattern(p, op)
		if err != nil {
			return err
		}
		m.ints = append(m.ints, r)
	case methodIP:
		nets, err := parseIPPattern(p, o.noDNS, o.lookup)
		if err != nil {
			return err
		}
		m.nets = append(m.nets, nets...)
	case methodReg:
		expr := p
		if m.icase {
			expr = "(?i)" + p
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return fmt.Errorf("regex '%s' is not supported: %v (Go's RE2 syntax has no backreferences or lookaround)", p, unwrapRegexErr(err))
		}
		m.res = append(m.res, re)
	case methodBin:
		if _, err := hex.DecodeString(p); err != nil {
			return fmt.Errorf("'%s' is not a valid hexadecimal binary pattern", p)
		}
		b, _ := hex.DecodeString(p)
		m.strs = append(m.strs, string(b))
	case methodGroup:
		m.groups = append(m.groups, p)
	default:
		if m.icase {
			p = strings.ToLower(p)
		}
		m.strs = append(m.strs, p)
	}
	return nil
}

func unwrapRegexErr(err error) string {
	if e, ok := err.(*syntax.Error); ok {
		return string(e.Code) + ": `" + e.Expr + "`"
	}
	return err.Error()
}

func (m *matcher) finish() {
	if m.method == methodStr && len(m.strs) >= setThreshold {
		m.set = make(map[string]struct{}, len(m.strs))
		for _, s := range m.strs {
			m.set[s] = struct{}{}
		}
	}
}

// parseIntPattern reads "N", "lo:hi", "lo:", ":hi", or N after an
// operator eq/ge/gt/le/lt.
func parseIntPattern(p, op string) (intRange, error) {
	const minI, maxI = -1 << 63, 1<<63 - 1
	num := func(s string) (int64, error) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("'%s' is not a valid integer", s)
		}
		return n, nil
	}
	if op != "" {
		n, err := num(p)
		if err != nil {
			return intRange{}, err
		}
		switch op {
		case "eq":
			return intRange{n, n}, nil
		case "ge":
			return intRange{n, maxI}, nil
		case "gt":
			if n == maxI {
				return intRange{1, 0}, nil
			}
			return intRange{n + 1, maxI}, nil
		case "le":
			return intRange{minI, n}, nil
		case "lt":
			if n == minI {
				return intRange{1, 0}, nil
			}
			return intRange{minI, n - 1}, nil
		}
	}
	if lo, hi, ok := strings.Cut(p, ":"); ok {
		r := intRange{minI, maxI}
		var err error
		if lo != "" {
			if r.lo, err = num(lo); err != nil {
				return r, err
			}
		}
		if hi != "" {
			if r.hi, err = num(hi); err != nil {
				return r, err
			}
		}
		if lo == "" && hi == "" {
			return r, fmt.Errorf("'%s' is not a valid integer range", p)
		}
		return r, nil
	}
	n, err := num(p)
	return intRange{n, n}, err
}

func isIntOp(s string) bool {
	return s == "eq" || s == "ge" || s == "gt" || s == "le" || s == "lt"
}

// match tests one sample against the patterns.
func (m *matcher) match(e *Eval, s *Sample) bool {
	if s.Kind == KindStr {
		switch m.method {
		case methodStr, methodBeg, methodEnd, methodSub, methodDir, methodDom:
			if m.set == nil {
				for _, p := range m.strs {
					if matchStr(m.method, m.icase, s.B, p) {
						return true
					}
				}
				return false
			}
		}
	}
	switch m.method {
	case methodFound:
		return true
	case methodBool:
		b, ok := cast(e, *s, KindBool)
		return ok && b.I != 0
	case methodInt:
		n, ok := cast(e, *s, KindInt)
		return ok && inRanges(m.ints, n.I)
	case methodIP:
		a, ok := cast(e, *s, KindIP)
		return ok && matchIP(m.nets, a.IP)
	case methodGroup:
		return false // handled by the line, which knows the user
	}
	// A binary sample stays binary here: the string cast would end it at
	// its first NUL, and -m bin compares every byte.
	to := KindStr
	if s.Kind == KindBin {
		to = KindBin
	}
	t, ok := cast(e, *s, to)
	if !ok {
		return false
	}
	b := t.B
	if s.Kind == KindBin && m.method != methodBin {
		// String matching stops at the first NUL of a binary sample.
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
	}
	switch m.method {
	case methodLen:
		return inRanges(m.ints, int64(len(b)))
	case methodReg:
		for _, re := range m.res {
			if re.Match(b) {
				return true
			}
		}
		return false
	case methodStr:
		if m.set != nil {
			if m.icase {
				b = lowerInto(e, b)
			}
			_, ok := m.set[string(b)]
			return ok
		}
	}
	for _, p := range m.strs {
		if matchStr(m.method, m.icase, b, p) {
			return true
		}
	}
	return false
}

// lowerInto copies b lower-cased into scratch space.
func lowerInto(e *Eval, b []byte) []byte {
	n := len(e.buf)
	for _, c := range b {
		e.buf = append(e.buf, lowerASCII(c))
	}
	return e.buf[n:len(e.buf):len(e.buf)]
}

func inRanges(rs []intRange, n int64) bool {
	for _, r := range rs {
		if n >= r.lo && n <= r.hi {
			return true
		}
	}
	return false
}

// matchStr applies the string methods; p is lower-case when icase.
func matchStr(m matchMethod, icase bool, b []byte, p string) bool {
	switch m {
	case methodStr, methodBin:
		return equal(b, p, icase)
	case methodBeg:
		return len(b) >= len(p) && equal(b[:len(p)], p, icase)
	case methodEnd:
		return len(b) >= len(p) && equal(b[len(b)-len(p):], p, icase)
	case methodSub:
		return index(b, p, icase) >= 0
	case methodDir:
		return delimited(b, p, icase, "/?")
	case methodDom:
		return delimited(b, p, icase, "/?.:")
	}
	return false
}

func equal(b []byte, p string, icase bool) bool {
	if icase {
		return eqFold(b, p)
	}
	return string(b) == p
}

func index(b []byte, p string, icase bool) int {
	if !icase {
		return bytes.Index(b, []byte(p))
	}
	for i := 0; i+len(p) <= len(b); i++ {
		if eqFold(b[i:i+len(p)], p) {
			return i
		}
	}
	return -1
}

// delimited finds p in b as a whole run of delimiter-separated words:
// "-m dir" (slashes) and "-m dom" (dots, slashes, ...) of CM 7.1.3.
func delimited(b []byte, p string, icase bool, delims string) bool {
	isDelim := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	for len(p) > 0 && isDelim(p[0]) {
		p = p[1:]
	}
	for len(p) > 0 && isDelim(p[len(p)-1]) {
		p = p[:len(p)-1]
	}
	if p == "" {
		return false
	}
	for i := 0; i+len(p) <= len(b); i++ {
		if i > 0 && !isDelim(b[i-1]) {
			continue
		}
		end := i + len(p)
		if end < len(b) && !isDelim(b[end]) {
			continue
		}
		if equal(b[i:end], p, icase) {
			return true
		}
	}
	return false
}
