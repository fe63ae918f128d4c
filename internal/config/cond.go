package config

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// This file evaluates the conditions of .if/.elif (CM 2.4 "Conditional
// blocks") and of the -cc command-line flag.
//
// What 2.6 supports, checked against doc/configuration.txt and
// src/cfgcond.c at v2.6.0: integers (0 false, anything else true), "!",
// parentheses, "&&" binding tighter than "||", and the predicates defined,
// feature, streq, strneq, version_atleast and version_before. The operators,
// parentheses, version_atleast and version_before arrived in 2.4 (2.4-dev19
// era); .if itself arrived in 2.4. 2.6's code also knows
// openssl_version_atleast, openssl_version_before and ssllib_name_startswith
// although its manual does not list them (they were documented later); they
// are accepted here so that configurations written for real 2.6 binaries
// keep loading, with the answers described at evalPred.

// condMaxDepth bounds parenthesis nesting so that hostile input cannot
// exhaust the stack; HAProxy bounds it too (MAX_CFG_RECURSION).
const condMaxDepth = 100

// defaultVersion is what version_atleast/version_before compare against
// when LexOptions.Version is empty: the 2.6 release Bulwark tracks.
const defaultVersion = "2.6.12"

// condError is a condition error with the byte offset, in the expression
// text, of the first offending character.
type condError struct {
	off int
	msg string
}

func (e *condError) Error() string { return e.msg }

// EvalCond evaluates a .if condition expression given as words (for the
// `-cc` command-line flag too). Like HAProxy, the words are joined with
// spaces into one expression first, so a condition may be split across
// words freely. An empty condition is false.
func EvalCond(words []string, opt LexOptions) (bool, error) {
	v, err := evalCondText(strings.Join(words, " "), &opt)
	if err != nil {
		return false, err
	}
	return v, nil
}

func evalCondText(text string, opt *LexOptions) (bool, error) {
	p := condParser{s: text}
	p.skipSpace()
	if p.i == len(p.s) {
		return false, nil // CM 2.4: an empty condition is false
	}
	n, err := p.expr(0)
	if err != nil {
		return false, err
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return false, &condError{p.i, fmt.Sprintf("unexpected character '%c' at the end of conditional expression '%s'", p.s[p.i], text)}
	}
	return n.eval(opt)
}

// condNode is one parsed term or operator. The whole expression is parsed
// before anything is evaluated so that a syntax error anywhere is reported
// even when short-circuiting would not reach it.
type condNode struct {
	op   byte // 'i' integer, 'p' predicate, '&' and, '|' or
	neg  bool
	val  bool // for 'i'
	pred string
	args []string
	kids []*condNode
	off  int
}

func (n *condNode) eval(opt *LexOptions) (bool, error) {
	var v bool
	var err error
	switch n.op {
	case 'i':
		v = n.val
	case 'p':
		v, err = evalPred(n, opt)
	case '&':
		v = true
		for _, k := range n.kids {
			if v, err = k.eval(opt); err != nil || !v {
				break
			}
		}
	case '|':
		for _, k := range n.kids {
			if v, err = k.eval(opt); err != nil || v {
				break
			}
		}
	}
	if err != nil {
		return false, err
	}
	return v != n.neg, nil
}

type condParser struct {
	s string
	i int
}

func (p *condParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *condParser) peek2(op string) bool {
	return strings.HasPrefix(p.s[p.i:], op)
}

// expr parses and-terms joined by "||"; and parses terms joined by "&&".
// Both are loops rather than HAProxy's right recursion, so long chains cost
// no stack.
func (p *condParser) expr(depth int) (*condNode, error) {
	or := &condNode{op: '|', off: p.i}
	for {
		and := &condNode{op: '&', off: p.i}
		for {
			t, err := p.term(depth)
			if err != nil {
				return nil, err
			}
			and.kids = append(and.kids, t)
			p.skipSpace()
			if !p.peek2("&&") {
				break
			}
			p.i += 2
		}
		or.kids = append(or.kids, and)
		if !p.peek2("||") {
			return or, nil
		}
		p.i += 2
	}
}

func (p *condParser) term(depth int) (*condNode, error) {
	p.skipSpace()
	start := p.i
	n := &condNode{off: p.i}
	for p.i < len(p.s) && p.s[p.i] == '!' {
		n.neg = !n.neg
		p.i++
		p.skipSpace()
	}
	if p.i == len(p.s) {
		return nil, &condError{start, fmt.Sprintf("unparsable conditional expression '%s'", p.s[start:])}
	}
	if val, end, ok := parseCInt(p.s, p.i); ok {
		n.op, n.val, p.i = 'i', val, end
		return n, nil
	}
	if p.s[p.i] == '(' {
		if depth >= condMaxDepth {
			return nil, &condError{p.i, "conditional expression nested too deeply"}
		}
		p.i++
		sub, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, &condError{p.i, fmt.Sprintf("expected ')' after conditional expression '%s'", p.s[start:])}
		}
		p.i++
		sub.neg = n.neg
		return sub, nil
	}
	// HAProxy takes the predicate name up to the first space or '('.
	end := p.i + strings.IndexAny(p.s[p.i:], " (")
	if end < p.i {
		end = len(p.s)
	}
	name := p.s[p.i:end]
	nargs, known := condPredicates[name]
	if !known {
		if end < len(p.s) && p.s[end] == '(' && isIdent(name) {
			return nil, &condError{p.i, fmt.Sprintf("unknown predicate '%s' in conditional expression", name)}
		}
		return nil, &condError{p.i, fmt.Sprintf("unparsable conditional expression '%s'", p.s[p.i:])}
	}
	p.i = end
	args, err := p.args(name, nargs)
	if err != nil {
		return nil, err
	}
	n.op, n.pred, n.args = 'p', name, args
	return n, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// condPredicates maps each predicate to its number of string arguments.
var condPredicates = map[string]int{
	"defined":                 1,
	"feature":                 1,
	"streq":                   2,
	"strneq":                  2,
	"version_atleast":         1,
	"version_before":          1,
	"openssl_version_atleast": 1,
	"openssl_version_before":  1,
	"ssllib_name_startswith":  1,
}

// args reads "(a,b)" with HAProxy's second-level argument rules (CM 2.2):
// quotes group, backslash escapes \\ \<space> \" \' \r \n \t, any other
// backslash stays literal, and unquoted ',' and ')' delimit. Spaces are
// kept: streq(a, b) compares "a" with " b", as HAProxy does.
func (p *condParser) args(name string, want int) ([]string, error) {
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return nil, &condError{p.i, fmt.Sprintf("missing arguments (got 0/%d) in predicate '%s' used in conditional expression", want, name)}
	}
	open := p.i
	p.i++
	var out []string
	var b strings.Builder
	sq, dq := false, false
	for {
		if p.i >= len(p.s) {
			return nil, &condError{open, fmt.Sprintf("missing closing ')' in predicate '%s' used in conditional expression", name)}
		}
		c := p.s[p.i]
		switch {
		case c == '"' && !sq:
			dq = !dq
		case c == '\'' && !dq:
			sq = !sq
		case c == '\\' && !sq && p.i+1 < len(p.s):
			switch d := p.s[p.i+1]; d {
			case '\\', ' ', '"', '\'':
				b.WriteByte(d)
				p.i++
			case 'r':
				b.WriteByte('\r')
				p.i++
			case 'n':
				b.WriteByte('\n')
				p.i++
			case 't':
				b.WriteByte('\t')
				p.i++
			default:
				b.WriteByte('\\')
			}
		case !sq && !dq && (c == ',' || c == ')'):
			out = append(out, b.String())
			b.Reset()
			if c == ',' && len(out) >= want {
				return nil, &condError{p.i, fmt.Sprintf("too many arguments (max %d) in predicate '%s' used in conditional expression", want, name)}
			}
			if c == ')' {
				p.i++
				if len(out) < want {
					return nil, &condError{open, fmt.Sprintf("missing arguments (got %d/%d) in predicate '%s' used in conditional expression", len(out), want, name)}
				}
				return out, nil
			}
		default:
			b.WriteByte(c)
		}
		p.i++
	}
}

// parseCInt reads an integer the way strtol(s, &end, 0) does (sign, 0x
// hex, leading-0 octal, decimal), reporting only whether it is non-zero.
func parseCInt(s string, i int) (nonzero bool, end int, ok bool) {
	j := i
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	digits := func(j int, isDigit func(byte) bool) int {
		for j < len(s) && isDigit(s[j]) {
			if s[j] != '0' {
				nonzero = true
			}
			j++
		}
		return j
	}
	switch {
	case j+2 < len(s) && s[j] == '0' && (s[j+1] == 'x' || s[j+1] == 'X') && isHex(s[j+2]):
		end = digits(j+2, isHex)
	case j < len(s) && s[j] == '0':
		end = digits(j, func(c byte) bool { return c >= '0' && c <= '7' })
	case j < len(s) && s[j] >= '1' && s[j] <= '9':
		end = digits(j, func(c byte) bool { return c >= '0' && c <= '9' })
	default:
		return false, i, false
	}
	return nonzero, end, true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func evalPred(n *condNode, opt *LexOptions) (bool, error) {
	a := n.args
	switch n.pred {
	case "defined":
		lookup := opt.Env
		if lookup == nil {
			lookup = os.LookupEnv
		}
		_, ok := lookup(a[0])
		return ok, nil
	case "feature":
		feats := opt.Features
		if feats == nil {
			feats = DefaultFeatures
		}
		return slices.Contains(feats, a[0]), nil
	case "streq":
		return a[0] == a[1], nil
	case "strneq":
		return a[0] != a[1], nil
	case "version_atleast", "version_before":
		cur := opt.Version
		if cur == "" {
			cur = defaultVersion
		}
		c, ok1 := splitVersion(cur)
		v, ok2 := splitVersion(a[0])
		// HAProxy 2.6 silently treats an unparsable version as older than
		// the running one; an error is more useful than a wrong branch.
		if !ok1 || !ok2 {
			return false, &condError{n.off, fmt.Sprintf("unparsable version '%s' in predicate '%s'", a[0], n.pred)}
		}
		cmp := slices.Compare(c[:], v[:])
		if n.pred == "version_atleast" {
			return cmp >= 0, nil
		}
		return cmp < 0, nil
	case "openssl_version_atleast", "openssl_version_before":
		// Bulwark's TLS is Go's crypto/tls, not OpenSSL. A 2.6 binary built
		// without OpenSSL reports an error here too, so do the same rather
		// than invent a version.
		return false, &condError{n.off, fmt.Sprintf("predicate '%s' needs OpenSSL; Bulwark uses Go crypto/tls", n.pred)}
	case "ssllib_name_startswith":
		return strings.HasPrefix(tlsLibraryName, a[0]), nil
	}
	return false, &condError{n.off, fmt.Sprintf("unknown predicate '%s'", n.pred)}
}

// tlsLibraryName is what ssllib_name_startswith compares against; it
// deliberately matches neither "OpenSSL" nor "LibreSSL" nor "BoringSSL".
const tlsLibraryName = "Go crypto/tls"

// splitVersion turns "2.4-dev18-f6818d-20" into comparable numbers, with the
// element layout HAProxy documents for its version comparison: four dotted
// numbers, a release tag (dev=1, rc/pre=2, none=3), the tag's number and a
// commit count. Missing parts are zero, so 2.6 == 2.6.0.
func splitVersion(s string) ([7]int, bool) {
	var v [7]int
	v[4] = 3
	if s == "" {
		return v, false
	}
	i := 0
	num := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if n < 1<<30 {
				n = n*10 + int(s[i]-'0')
			}
			i++
		}
		return n
	}
	for k := 0; k < 4; k++ {
		v[k] = num()
		if i == len(s) {
			return v, true
		}
		if s[i] == '-' {
			break
		}
		if s[i] != '.' || k == 3 {
			return v, false
		}
		i++
	}
	i++ // the '-'
	rest := s[i:]
	if rest != "" && (rest[0] < '0' || rest[0] > '9') {
		tag := 0
		switch {
		case strings.HasPrefix(rest, "dev"):
			tag, i = 1, i+3
		case strings.HasPrefix(rest, "rc"):
			tag, i = 2, i+2
		case strings.HasPrefix(rest, "pre"):
			tag, i = 2, i+3
		}
		if tag != 0 {
			v[4] = tag
			v[5] = num()
			if i == len(s) {
				return v, true
			}
			if s[i] != '-' {
				return v, false
			}
			i++
		}
	}
	// Commit count: the number after the last '-', or the remainder.
	rest = s[i:]
	if k := strings.LastIndexByte(rest, '-'); k >= 0 {
		rest = rest[k+1:]
		if rest == "" {
			return v, false
		}
	}
	i = len(s) - len(rest)
	if n := num(); i == len(s) {
		v[6] = n
	}
	return v, true
}
