package acl

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/stick"
)

// Options supplies what compilation needs from outside the model.
type Options struct {
	// Tables returns the stick table declared by the proxy called name,
	// or nil. Required for src_*, table_* and sc_*(…,table).
	Tables func(name string) *stick.Table
	// ReadFile reads pattern (-f) and map files; nil means os.ReadFile.
	// The lifecycle code can preload files before a chroot.
	ReadFile func(path string) ([]byte, error)
	// LookupHost resolves host names in IP patterns (unless -n); nil
	// means the system resolver.
	LookupHost func(host string) ([]netip.Addr, error)
	// Refs collects the pattern references of every proxy of one
	// configuration, for the runtime API; nil gives the Set its own.
	Refs *PatRefs
}

// Set holds the compiled ACLs of one proxy and compiles the conditions and
// expressions that refer to them.
type Set struct {
	c     *compiler
	named map[string]*ACL
}

// ACL is a named ACL: its lines are ORed.
type ACL struct {
	Name  string
	lines []*line
	// id indexes the Eval's memo: within one evaluation pass an ACL is
	// computed once, however many rules name it.
	id int
}

// line is one "acl" line or anonymous ACL: an expression and patterns.
type line struct {
	expr *Expr
	m    matcher
	// live replaces m once the runtime API changed one of the line's
	// pattern references.
	live atomic.Pointer[matcher]
}

// matcher returns the patterns to match against now.
func (ln *line) matcher() *matcher {
	if m := ln.live.Load(); m != nil {
		return m
	}
	return &ln.m
}

// Cond is a compiled if/unless condition. A nil *Cond is always true.
type Cond struct {
	unless bool
	terms  [][]term
}

type term struct {
	neg bool
	acl *ACL
}

// compiler is the state of one Compile: the proxy, options and caches.
type compiler struct {
	p     *model.Proxy
	m     *model.Model
	opt   Options
	ds    config.Diagnostics
	files map[string][]fileLine
	nACL  int
	refs  *PatRefs
	// pos is the directive being compiled, for the descriptions of
	// pattern references.
	pos config.Pos
	// noRefs is set while compiling predefined ACLs, which have no
	// reference of their own.
	noRefs bool
}

// newACL returns an ACL with the next memo index.
func (c *compiler) newACL(name string) *ACL {
	a := &ACL{Name: name, id: c.nACL}
	c.nACL++
	return a
}

// Compile compiles every ACL of p. The Set is usable even when some ACLs
// failed (they then never match); the diagnostics say which, with their
// positions.
func Compile(p *model.Proxy, m *model.Model, opt Options) (*Set, config.Diagnostics) {
	if opt.ReadFile == nil {
		opt.ReadFile = os.ReadFile
	}
	if opt.Refs == nil {
		opt.Refs = NewPatRefs()
	}
	c := &compiler{p: p, m: m, opt: opt, files: map[string][]fileLine{}, refs: opt.Refs}
	if p != nil {
		c.pos = p.Pos
	}
	s := &Set{c: c, named: map[string]*ACL{}}
	for _, ma := range p.ACLs {
		if model.PredefinedACLs[ma.Name] {
			continue // the predefined one wins, as the model warned
		}
		a := s.named[ma.Name]
		if a == nil {
			a = c.newACL(ma.Name)
			s.named[ma.Name] = a
		}
		words := append([]config.Word{{Pos: ma.Pos, Text: ma.Fetch}}, ma.Args...)
		c.pos = ma.Pos
		ln, err := c.line(words, true)
		if err != nil {
			c.ds.Alertf(ma.Pos, "error detected while parsing ACL '%s' : %v.", ma.Name, err)
			continue
		}
		a.lines = append(a.lines, ln)
	}
	ds := c.ds
	c.ds = nil
	return s, ds
}

func toWords(ws []string, pos config.Pos) []config.Word {
	out := make([]config.Word, len(ws))
	for i, w := range ws {
		out[i] = config.Word{Pos: pos, Text: w}
	}
	return out
}

// predefined are HAProxy's built-in ACLs (CM 7.4) written as ACL lines.
var predefined = map[string][]string{
	"TRUE":           {"always_true"},
	"FALSE":          {"always_false"},
	"HTTP":           {"req.proto_http"},
	"HTTP_1.0":       {"req.ver 1.0"},
	"HTTP_1.1":       {"req.ver 1.1"},
	"HTTP_2.0":       {"req.ver 2.0"},
	"HTTP_CONTENT":   {"req.hdr_val(content-length) gt 0", "req.hdr_cnt(transfer-encoding) gt 0"},
	"HTTP_URL_ABS":   {"url_reg ^[^/:]*://"},
	"HTTP_URL_SLASH": {"url_beg /"},
	"HTTP_URL_STAR":  {"url *"},
	"LOCALHOST":      {"src 127.0.0.1/8 ::1"},
	"METH_CONNECT":   {"method CONNECT"},
	"METH_DELETE":    {"method DELETE"},
	"METH_GET":       {"method GET HEAD"},
	"METH_HEAD":      {"method HEAD"},
	"METH_OPTIONS":   {"method OPTIONS"},
	"METH_POST":      {"method POST"},
	"METH_PUT":       {"method PUT"},
	"METH_TRACE":     {"method TRACE"},
	// Bulwark reads whole request heads before rules run and does not
	// inspect bodies, so these have fixed answers.
	"RDP_COOKIE":  {"req.rdp_cookie_cnt gt 0"},
	"REQ_CONTENT": {"req.hdr_val(content-length) gt 0"},
	"WAIT_END":    {"always_true"},
}

// line compiles "<criterion> [flags] [operator] [values]" (CM 7.1).
func (c *compiler) line(words []config.Word, acl bool) (*line, error) {
	if len(words) == 0 || words[0].Text == "" {
		return nil, fmt.Errorf("missing ACL criterion")
	}
	x, implied, err := c.parseExpr(words[0].Text, acl)
	if err != nil {
		return nil, err
	}
	ln := &line{expr: x}
	ln.m.method = implied
	if ln.m.method == methodDefault && x.fetch.method != methodDefault && len(x.convs) == 0 {
		ln.m.method = x.fetch.method
	}
	var files []string
	var o patternOpts
	o.lookup = c.opt.LookupHost
	explicit := false
	i := 1
flags:
	for ; i < len(words); i++ {
		w := words[i].Text
		if len(w) < 2 || w[0] != '-' || words[i].Quoted {
			break
		}
		switch w {
		case "-i":
			ln.m.icase = true
		case "-n":
			o.noDNS = true
		case "--":
			i++
			break flags
		case "-f", "-m", "-u", "-M":
			if i+1 >= len(words) {
				return nil, fmt.Errorf("'%s' expects an argument", w)
			}
			i++
			v := words[i].Text
			switch w {
			case "-f":
				files = append(files, v)
			case "-m":
				if len(files) > 0 {
					return nil, fmt.Errorf("'-m' must only be specified before patterns and files ('-m %s' after '-f')", v)
				}
				m, ok := methodByName(v)
				if !ok {
					return nil, fmt.Errorf("unknown matching method '%s' for '-m'", v)
				}
				ln.m.method = m
				explicit = true
			}
		default:
			return nil, fmt.Errorf("'%s' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'", w)
		}
	}
	_ = explicit
	if ln.m.method == methodDefault {
		m, ok := defaultMethod(x.Kind())
		if !ok {
			return nil, fmt.Errorf("ACL expression '%s' of type %s requires a '-m' matching method", x.text, x.Kind())
		}
		ln.m.method = m
	}
	if ln.m.method == methodIP && !castable(x.Kind(), KindIP) ||
		(ln.m.method == methodInt || ln.m.method == methodBool) && !castable(x.Kind(), KindInt) {
		return nil, fmt.Errorf("'-m %s' cannot be used with a %s sample ('%s')", ln.m.method, x.Kind(), x.text)
	}
	op := ""
	if i < len(words) && (ln.m.method == methodInt || ln.m.method == methodLen) && isIntOp(words[i].Text) {
		op = words[i].Text
		i++
		if i >= len(words) {
			return nil, fmt.Errorf("missing value after operator '%s'", op)
		}
	}
	var inline []string
	for ; i < len(words); i++ {
		if err := ln.m.add(words[i].Text, op, &o); err != nil {
			return nil, err
		}
		inline = append(inline, words[i].Text)
	}
	for _, f := range files {
		lines, err := c.readLines(f)
		if err != nil {
			return nil, err
		}
		for _, fl := range lines {
			if err := ln.m.add(fl.text, "", &o); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", f, fl.no, err)
			}
		}
	}
	ln.m.finish()
	if !c.noRefs && ln.m.method != methodGroup {
		if err := c.lineRefs(ln, words[0].Text, files, inline, op, o); err != nil {
			return nil, err
		}
	}
	return ln, nil
}

// lineRefs registers the line's pattern references, files first and
// then its inline patterns, in HAProxy's numbering order.
func (c *compiler) lineRefs(ln *line, fetch string, files, inline []string, op string, o patternOpts) error {
	u := &lineUser{ln: ln, op: op, opts: o}
	var frefs []*PatRef
	for _, f := range files {
		r, err := c.patternFileRef(f, false)
		if err != nil {
			return err
		}
		frefs = append(frefs, r)
	}
	kw, _, _ := strings.Cut(fetch, "(")
	in := c.refs.newRef("", fmt.Sprintf("acl '%s' file '%s' line %d", kw, c.pos.File, c.pos.Line))
	in.ACL = true
	for _, p := range inline {
		in.load(p, "")
	}
	u.inline = in
	u.refs = append([]*PatRef{in}, frefs...)
	for _, r := range u.refs {
		r.users = append(r.users, u)
	}
	return nil
}

type fileLine struct {
	no   int
	text string
}

// readLines reads a pattern or map file: one entry a line, leading and
// trailing blanks removed, blank lines and '#' comment lines skipped.
func (c *compiler) readLines(path string) ([]fileLine, error) {
	if l, ok := c.files[path]; ok {
		return l, nil
	}
	data, err := c.opt.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open pattern file '%s': %v", path, err)
	}
	var out []fileLine
	for no, ln := range strings.Split(string(data), "\n") {
		ln = strings.TrimSpace(strings.TrimSuffix(ln, "\r"))
		if ln == "" || ln[0] == '#' {
			continue
		}
		out = append(out, fileLine{no: no + 1, text: ln})
	}
	c.files[path] = out
	return out, nil
}

func (c *compiler) table(name string) (*stick.Table, error) {
	if name == "" {
		if c.p == nil || c.p.StickTable == nil {
			return nil, fmt.Errorf("no stick-table in this proxy; name one")
		}
		name = c.p.Name
	}
	if c.opt.Tables != nil {
		if t := c.opt.Tables(name); t != nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("unable to find stick-table '%s'", name)
}

// ACL returns the named ACL, or nil.
func (s *Set) ACL(name string) *ACL { return s.lookup(name) }

// lookup returns a declared ACL, or a predefined one compiled on first
// use: most proxies name few of them, and compiling all for every proxy
// dominated the load time of large configurations.
func (s *Set) lookup(name string) *ACL {
	if a := s.named[name]; a != nil {
		return a
	}
	def, ok := predefined[name]
	if !ok {
		return nil
	}
	a := s.c.newACL(name)
	s.c.noRefs = true
	defer func() { s.c.noRefs = false }()
	for _, text := range def {
		ln, err := s.c.line(toWords(strings.Fields(text), config.Pos{}), true)
		if err != nil {
			panic("acl: predefined " + name + ": " + err.Error())
		}
		a.lines = append(a.lines, ln)
	}
	s.named[name] = a
	return a
}

// Cond compiles a model condition. A nil condition gives a nil *Cond,
// which is always true.
func (s *Set) Cond(mc *model.Cond) (*Cond, config.Diagnostics) {
	if mc == nil {
		return nil, nil
	}
	var ds config.Diagnostics
	cd := &Cond{unless: mc.Unless}
	for _, t := range mc.Terms {
		var ts []term
		for _, ca := range t {
			if ca.Anon != nil {
				words := append([]config.Word{{Pos: ca.Anon.Pos, Text: ca.Anon.Fetch}}, ca.Anon.Args...)
				s.c.pos = ca.Anon.Pos
				ln, err := s.c.line(words, true)
				if err != nil {
					ds.Alertf(ca.Pos, "error detected while parsing anonymous ACL '{ %s }' : %v.", joinWords(words), err)
					continue
				}
				anon := s.c.newACL("{ " + joinWords(words) + " }")
				anon.lines = []*line{ln}
				ts = append(ts, term{neg: ca.Neg, acl: anon})
				continue
			}
			a := s.lookup(ca.Name)
			if a == nil {
				ds.Alertf(ca.Pos, "no such ACL : '%s'", ca.Name)
				continue
			}
			ts = append(ts, term{neg: ca.Neg, acl: a})
		}
		cd.terms = append(cd.terms, ts)
	}
	if ds.HasAlerts() {
		return nil, ds
	}
	if p := s.c.p; p != nil && p.Mode == model.ModeHTTP && cd.usesL6() {
		ds.Warnf(mc.Pos, "Proxy '%s': L6 sample fetches ignored on HTTP proxies", p.Name)
	}
	return cd, ds
}

// usesL6 reports whether one of the condition's ACLs reads an L6 fetch.
func (c *Cond) usesL6() bool {
	for _, ts := range c.terms {
		for _, t := range ts {
			for _, ln := range t.acl.lines {
				if ln.expr != nil && ln.expr.l6 {
					return true
				}
			}
		}
	}
	return false
}

func joinWords(ws []config.Word) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.Text
	}
	return strings.Join(parts, " ")
}

// Expr compiles a sample expression used outside an ACL (a track-sc key,
// a set-var value, a %[...] of a log-format string).
func (s *Set) Expr(text string) (*Expr, error) {
	x, _, err := s.c.parseExpr(text, false)
	return x, err
}

// Match evaluates the ACL: true when any line matches.
func (a *ACL) Match(e *Eval) bool {
	if a.id < len(e.memo) && e.memo[a.id]>>1 == e.gen {
		return e.memo[a.id]&1 == 1
	}
	res := false
	for _, ln := range a.lines {
		if ln.match(e) {
			res = true
			break
		}
	}
	if a.id >= len(e.memo) {
		e.memo = append(e.memo, make([]uint32, a.id+16-len(e.memo))...)
	}
	v := e.gen << 1
	if res {
		v |= 1
	}
	e.memo[a.id] = v
	return res
}

func (ln *line) match(e *Eval) bool {
	if ln.m.method == methodGroup {
		return matchGroups(e, ln)
	}
	// The iterator lives in the Eval: a local one would escape through
	// the fetch function value and cost an allocation per line.
	saved := e.it
	e.it = iter{}
	res := false
	for {
		s, ok := ln.expr.next(e, &e.it)
		if !ok {
			break
		}
		if ln.matcher().match(e, &s) {
			res = true
			break
		}
		if e.it.done {
			break
		}
	}
	e.it = saved
	return res
}

// Match evaluates the condition; terms are ORed, the ACLs of a term ANDed,
// and "unless" inverts the result. Scratch space used is released.
func (c *Cond) Match(e *Eval) bool {
	if c == nil {
		return true
	}
	if e.Partial {
		return c.matchPartial(e)
	}
	mark := len(e.buf)
	res := false
	for _, t := range c.terms {
		ok := true
		for _, x := range t {
			if x.acl.Match(e) == x.neg {
				ok = false
				break
			}
		}
		if ok {
			res = true
			break
		}
	}
	e.buf = e.buf[:mark]
	return res != c.unless
}

// test3 is a three-valued ACL result: fail, miss (may pass with more
// data) and pass, ordered so that AND is min and OR is max.
type test3 uint8

const (
	testFail test3 = iota
	testMiss
	testPass
)

// match3 evaluates the ACL without its memo: a miss must not be cached
// as a failure, and a partial pass runs once per data update anyway.
func (a *ACL) match3(e *Eval) test3 {
	res := testFail
	for _, ln := range a.lines {
		e.mayChange = false
		if ln.match(e) {
			e.mayChange = false
			return testPass
		}
		if e.mayChange {
			res = testMiss
		}
	}
	e.mayChange = false
	return res
}

// matchPartial is Match while more data may come: an undecided
// condition reports false and sets e.missed, whatever "unless" says,
// so that the rule waits instead of acting on a guess.
func (c *Cond) matchPartial(e *Eval) bool {
	mark := len(e.buf)
	res := testFail
	for _, t := range c.terms {
		suite := testPass
		for _, x := range t {
			r := x.acl.match3(e)
			if x.neg && r != testMiss {
				r = testPass - r
			}
			suite = min(suite, r)
			if suite != testPass {
				break
			}
		}
		res = max(res, suite)
		if res == testPass {
			break
		}
	}
	e.buf = e.buf[:mark]
	if res == testMiss {
		e.missed = true
		return false
	}
	return (res == testPass) != c.unless
}
