package acl

import (
	"fmt"
	"regexp"
	"strings"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/stick"
)

// Expr is a compiled sample expression: a fetch and its converters,
// "fetch(args),conv1(args),conv2" (CM 7.3).
type Expr struct {
	text  string
	fetch *fetchDef
	args  []argVal
	convs []convCall
	// occ is hdr()'s occurrence argument: 0 = every occurrence in ACLs
	// and the last one elsewhere.
	occ int
	// l6 marks a fetch of the raw buffered data (l6Fetches).
	l6 bool
}

// l6Fetches read the raw data buffered on a connection, which HAProxy 2.6
// calls layer 6 and warns about in the conditions of an HTTP proxy
// ("L6 sample fetches ignored on HTTP proxies"): there the request and
// the response are held parsed, and these fetches see little or nothing.
var l6Fetches = map[string]bool{
	"distcc_body": true, "distcc_param": true, "payload": true, "payload_lv": true,
	"rdp_cookie": true, "rdp_cookie_cnt": true, "rep_ssl_hello_type": true, "req_len": true,
	"req_ssl_hello_type": true, "req_ssl_sni": true, "req_ssl_ver": true, "req.len": true,
	"req.payload": true, "req.payload_lv": true, "req.rdp_cookie": true, "req.rdp_cookie_cnt": true,
	"req.ssl_ec_ext": true, "req.ssl_st_ext": true, "req.ssl_hello_type": true, "req.ssl_sni": true,
	"req.ssl_alpn": true, "req.ssl_ver": true, "res.len": true, "res.payload": true,
	"res.payload_lv": true, "res.ssl_hello_type": true,
}

// argVal is one parsed argument with whatever the compiler resolved from it.
type argVal struct {
	s   string
	i   int64
	tbl *stick.Table
	ul  *model.Userlist
	mp  *mapData
	mv  *mapView
	dt  stick.DataType
	// re is a compiled regex argument (regsub); b a decoded binary one
	// (a literal key); isVar says s names a variable to read at run time.
	re    *regexp.Regexp
	b     []byte
	isVar bool
	// obj is what a converter's prep compiled from the argument (a
	// protobuf path, a JWT verification key).
	obj any
}

type convCall struct {
	def  *convDef
	args []argVal
	// out, when set, is the output kind this call's arguments chose
	// (protobuf with a field type gives an integer).
	out Kind
}

// iter walks the values of multi-valued fetches (hdr() over occurrences
// and comma-separated values). The zero iter starts at the first value.
type iter struct {
	hi, off int
	done    bool
}

type fetchFn func(e *Eval, x *Expr, it *iter) (Sample, bool)

type fetchDef struct {
	out     Kind
	fn      fetchFn
	minArgs int
	maxArgs int
	// multi fetches yield several values in an ACL; elsewhere the last.
	multi bool
	// prep resolves arguments at load time.
	prep func(c *compiler, x *Expr) error
	// method is the match method an ACL uses by default (e.g. hdr_cnt is
	// an int, http_auth_group matches groups).
	method matchMethod
	// firstUnnamed: without a name argument, outside an ACL, the first
	// value counts, not the last (the cookie fetches, CM 7.3.6 req.cook:
	// "If no name is specified, the first cookie value is returned").
	firstUnnamed bool
}

type convFn func(e *Eval, c *convCall, s Sample) (Sample, bool)

type convDef struct {
	in, out          Kind // in: KindNone accepts anything
	fn               convFn
	minArgs, maxArgs int
	prep             func(c *compiler, cc *convCall) error
}

// Text returns the expression as written.
func (x *Expr) Text() string { return x.text }

// Kind is the type the expression produces.
func (x *Expr) Kind() Kind {
	if n := len(x.convs); n > 0 {
		if k := x.convs[n-1].out; k != KindNone {
			return k
		}
		return x.convs[n-1].def.out
	}
	return x.fetch.out
}

// splitCall splits "name(a,b)" at the start of s into name and raw args and
// returns the rest of s after the call. Arguments may be quoted with ' or "
// and may contain balanced parentheses. Backslashes are HAProxy's (its
// make_arg_list): none inside single quotes; elsewhere "\\", "\ ", "\"",
// "\'" give the character, "\r", "\n", "\t" the control, and any other
// backslash stays, so that a regex such as ":\d+$" reaches regsub intact.
func splitCall(s string) (name string, args []string, hasParen bool, rest string, err error) {
	i := 0
	for i < len(s) && s[i] != '(' && s[i] != ',' {
		i++
	}
	name = s[:i]
	if i == len(s) || s[i] == ',' {
		return name, nil, false, s[i:], nil
	}
	i++ // '('
	var cur strings.Builder
	depth := 0
	var quote byte
	for ; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote == '\'':
			if ch == quote {
				quote = 0
			} else {
				cur.WriteByte(ch)
			}
		case ch == '\\' && i+1 < len(s):
			switch d := s[i+1]; d {
			case '\\', ' ', '"', '\'':
				cur.WriteByte(d)
				i++
			case 'r':
				cur.WriteByte('\r')
				i++
			case 'n':
				cur.WriteByte('\n')
				i++
			case 't':
				cur.WriteByte('\t')
				i++
			default:
				cur.WriteByte(ch)
			}
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				cur.WriteByte(ch)
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '(':
			depth++
			cur.WriteByte(ch)
		case ch == ')' && depth > 0:
			depth--
			cur.WriteByte(ch)
		case ch == ')':
			args = append(args, cur.String())
			return name, args, true, s[i+1:], nil
		case ch == ',' && depth == 0:
			args = append(args, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	return name, nil, true, "", fmt.Errorf("missing closing ')' after arguments to '%s'", name)
}

// parseExpr compiles a sample expression. acl is true in an ACL, where a
// suffixed fetch name ("path_beg") implies a match method, returned in m.
func (c *compiler) parseExpr(text string, acl bool) (*Expr, matchMethod, error) {
	name, args, paren, rest, err := splitCall(text)
	if err != nil {
		return nil, 0, err
	}
	x := &Expr{text: text, l6: l6Fetches[name]}
	m := methodDefault
	def := lookupFetch(name)
	if def == nil && acl {
		if base, meth, ok := splitSuffix(name); ok {
			if def = lookupFetch(base); def != nil {
				m = meth
				x.l6 = l6Fetches[base]
			}
		}
	}
	if def == nil && config.IsFetch(name) {
		if r := Excluded(name); r != "" {
			return nil, 0, fmt.Errorf("sample fetch '%s' is not supported by bulwark: %s", name, r)
		}
		return nil, 0, fmt.Errorf("sample fetch '%s' is not supported by bulwark", name)
	}
	if def == nil {
		if acl {
			return nil, 0, fmt.Errorf("unknown fetch method '%s' in ACL expression '%s'", name, text)
		}
		return nil, 0, fmt.Errorf("unknown fetch method '%s' in sample expression '%s'", name, text)
	}
	if paren && len(args) == 1 && args[0] == "" {
		args = nil
	}
	if len(args) < def.minArgs || len(args) > def.maxArgs {
		return nil, 0, argCountErr("fetch method", name, def.minArgs, def.maxArgs, len(args))
	}
	x.fetch = def
	for _, a := range args {
		x.args = append(x.args, argVal{s: a})
	}
	if def.prep != nil {
		if err := def.prep(c, x); err != nil {
			return nil, 0, fmt.Errorf("fetch method '%s': %v", name, err)
		}
	}
	for rest != "" {
		if rest[0] != ',' {
			return nil, 0, fmt.Errorf("missing comma after fetch keyword in '%s'", text)
		}
		rest = rest[1:]
		var cname string
		cname, args, paren, rest, err = splitCall(rest)
		if err != nil {
			return nil, 0, err
		}
		cd := lookupConv(cname)
		if cd == nil && config.IsConverter(cname) {
			if r := Excluded(cname); r != "" {
				return nil, 0, fmt.Errorf("converter '%s' is not supported by bulwark: %s", cname, r)
			}
			return nil, 0, fmt.Errorf("converter '%s' is not supported by bulwark", cname)
		}
		if cd == nil {
			return nil, 0, fmt.Errorf("unknown converter '%s' in '%s'", cname, text)
		}
		if paren && len(args) == 1 && args[0] == "" {
			args = nil
		}
		if len(args) < cd.minArgs || len(args) > cd.maxArgs {
			return nil, 0, argCountErr("converter", cname, cd.minArgs, cd.maxArgs, len(args))
		}
		prev := x.Kind()
		if cd.in != KindNone && !castable(prev, cd.in) {
			return nil, 0, fmt.Errorf("converter '%s' cannot be applied to a %s sample", cname, prev)
		}
		cc := convCall{def: cd}
		if cd.out == KindNone {
			cc.out = prev // a pass-through converter (set-var, debug) keeps the type
		}
		for _, a := range args {
			cc.args = append(cc.args, argVal{s: a})
		}
		if cd.prep != nil {
			if err := cd.prep(c, &cc); err != nil {
				return nil, 0, fmt.Errorf("converter '%s': %v", cname, err)
			}
		}
		x.convs = append(x.convs, cc)
	}
	return x, m, nil
}

func argCountErr(what, name string, lo, hi, got int) error {
	switch {
	case hi == 0:
		return fmt.Errorf("%s '%s' takes no argument, %d given", what, name, got)
	case lo == hi:
		return fmt.Errorf("%s '%s' expects %d argument(s), %d given", what, name, lo, got)
	}
	return fmt.Errorf("%s '%s' expects %d to %d arguments, %d given", what, name, lo, hi, got)
}

// splitSuffix maps "path_beg" to ("path", beg): the suffixed ACL criteria
// of CM 7.3.6 are the base fetch with a match method.
func splitSuffix(name string) (string, matchMethod, bool) {
	i := strings.LastIndexByte(name, '_')
	if i <= 0 {
		return "", 0, false
	}
	m, ok := methodByName(name[i+1:])
	if !ok || m == methodFound || m == methodBool || m == methodInt || m == methodIP {
		return "", 0, false
	}
	return name[:i], m, true
}

// next yields the expression's values one by one (ACL context): the
// fetch's next value with the converters applied. A value a converter
// rejects is skipped, as HAProxy skips samples that fail to convert.
func (x *Expr) next(e *Eval, it *iter) (Sample, bool) {
	for !it.done {
		s, ok := x.fetch.fn(e, x, it)
		if !ok || len(x.convs) == 0 {
			return s, ok
		}
		if s, ok = x.convert(e, s); ok {
			return s, true
		}
	}
	return Sample{}, false
}

func (x *Expr) convert(e *Eval, s Sample) (Sample, bool) {
	for i := range x.convs {
		cc := &x.convs[i]
		if cc.def.in != KindNone {
			var ok bool
			if s, ok = cast(e, s, cc.def.in); !ok {
				return Sample{}, false
			}
		}
		var ok bool
		if s, ok = cc.def.fn(e, cc, s); !ok {
			return Sample{}, false
		}
	}
	return s, true
}

// Sample evaluates the expression outside an ACL: multi-valued fetches
// give their last value (HAProxy's default occurrence for hdr() is the
// last). ok is false when the sample is missing.
func (x *Expr) Sample(e *Eval) (Sample, bool) {
	saved := e.it
	defer func() { e.it = saved }()
	e.it = iter{}
	it := &e.it
	if !x.fetch.multi || x.occ != 0 || x.fetch.firstUnnamed && hdrName(x) == "" {
		return x.next(e, it)
	}
	var last Sample
	found := false
	for {
		s, ok := x.fetch.fn(e, x, it)
		if !ok {
			break
		}
		last, found = s, true
		if it.done {
			break
		}
	}
	if !found {
		return Sample{}, false
	}
	return x.convert(e, last)
}
