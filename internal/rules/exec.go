package rules

import (
	"regexp"

	"bulwark/internal/acl"
	"bulwark/internal/h1"
	"bulwark/internal/stick"
)

// render appends a format's output to the arena and returns it.
func (x *Exec) render(f *acl.Format) []byte {
	n := len(x.Arena)
	x.Arena = f.Append(x.Arena, x.E)
	return x.Arena[n:len(x.Arena):len(x.Arena)]
}

func (x *Exec) fail(res *Result, resp bool) bool {
	if rt, ok := x.T.(RewriteTxn); ok {
		rt.RewriteFailed()
	}
	if x.Lax {
		return false
	}
	res.Verdict, res.Status = Error, 500
	if resp {
		res.Status = 502
	}
	return true
}

// fits reports whether the request (resp false) or response may grow by
// n bytes: a Txn that is not a RewriteTxn has no bound.
func (x *Exec) fits(resp bool, n int) bool {
	if n <= 0 {
		return true
	}
	rt, ok := x.T.(RewriteTxn)
	return !ok || rt.Room(resp) >= n
}

// failRoom is fail for a rewrite the message's buffer has no room for:
// HAProxy's internal error, 500 for a response too (strict_rw_mode.vtc).
func (x *Exec) failRoom(res *Result) bool {
	if !x.fail(res, false) {
		return false
	}
	res.Status = 500
	return true
}

// fieldSize is what a header field takes in a message: name, ": ",
// value and CRLF.
func fieldSize(name, value []byte) int { return len(name) + len(value) + 4 }

type verdictAction Verdict

func (v verdictAction) run(x *Exec, r *rule, res *Result) bool {
	res.Verdict = Verdict(v)
	return true
}

type authAction struct{ realm string }

func (a *authAction) run(x *Exec, r *rule, res *Result) bool {
	res.Verdict, res.Status, res.Realm = Auth, 401, a.realm
	return true
}

type hdrFmt struct {
	name []byte
	f    *acl.Format
}

type replyAction struct {
	verdict    Verdict
	status     int
	ctype      string
	body       []byte
	lf         *acl.Format
	raw        []byte // errorfile: a complete HTTP response, empty for none
	hasRaw     bool
	defaultErr bool // "default-errorfiles" or a section without the status
	// sectionMiss: "errorfiles <name>" has nothing for the status.
	sectionMiss bool
	errorfile   bool // answer the proxy's error message for status
	hdrs        []hdrFmt
}

func (a *replyAction) run(x *Exec, r *rule, res *Result) bool {
	a.fill(x, res)
	return true
}

func (a *replyAction) fill(x *Exec, res *Result) {
	res.Verdict, res.Status, res.ContentType = a.verdict, a.status, a.ctype
	if a.hasRaw {
		res.Raw, res.HasRaw = a.raw, true
		return
	}
	if a.errorfile {
		res.Errorfile = true
		return
	}
	res.Body = a.body
	if a.lf != nil {
		res.Body = x.render(a.lf)
	}
	for _, h := range a.hdrs {
		v := x.render(h.f)
		if len(v) == 0 {
			// HAProxy adds no reply header whose value renders empty.
			continue
		}
		if !validValue(v) {
			x.fail(res, x.E.Response)
			return
		}
		res.Headers = append(res.Headers, h1.Header{Name: h.name, Value: v})
	}
}

type setHeader struct {
	name string
	// nameB is name as the header list holds it, made once: the list
	// only reads names, and a conversion per request would allocate.
	// Its capacity is its length, so an append never writes into it.
	nameB []byte
	f     *acl.Format
	add   bool
	resp  bool
}

func (a *setHeader) run(x *Exec, r *rule, res *Result) bool {
	v := x.render(a.f)
	if !validValue(v) {
		// Never forward a value that could split the message.
		return x.fail(res, a.resp)
	}
	hs := x.T.HeaderList(a.resp)
	grow := len(a.name) + len(v) + 4
	if !a.add {
		for _, h := range *hs {
			if eqFold(h.Name, a.name) {
				grow -= fieldSize(h.Name, h.Value)
			}
		}
	}
	if !x.fits(a.resp, grow) {
		// Nothing changes: set-header does not delete what it would
		// have replaced.
		return x.failRoom(res)
	}
	if !a.add {
		delMatching(hs, a.name, "str", nil)
	}
	*hs = append(*hs, h1.Header{Name: a.nameB, Value: v})
	return false
}

type delHeader struct {
	name   string
	method string
	re     *regexp.Regexp
	resp   bool
}

func (a *delHeader) run(x *Exec, r *rule, res *Result) bool {
	delMatching(x.T.HeaderList(a.resp), a.name, a.method, a.re)
	return false
}

func delMatching(hs *[]h1.Header, name, method string, re *regexp.Regexp) {
	out := (*hs)[:0]
	for _, h := range *hs {
		if !nameMatches(h.Name, name, method, re) {
			out = append(out, h)
		}
	}
	clear((*hs)[len(out):])
	*hs = out
}

func nameMatches(n []byte, name, method string, re *regexp.Regexp) bool {
	switch method {
	case "beg":
		return len(n) >= len(name) && eqFold(n[:len(name)], name)
	case "end":
		return len(n) >= len(name) && eqFold(n[len(n)-len(name):], name)
	case "sub":
		for i := 0; i+len(name) <= len(n); i++ {
			if eqFold(n[i:i+len(name)], name) {
				return true
			}
		}
		return false
	case "reg":
		return re.Match(n)
	}
	return eqFold(n, name)
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

type replaceHeader struct {
	name  string
	re    *regexp.Regexp
	f     *acl.Format
	value bool
	resp  bool
}

func (a *replaceHeader) run(x *Exec, r *rule, res *Result) bool {
	hs := *x.T.HeaderList(a.resp)
	tmpl := x.render(a.f)
	for i := range hs {
		if !eqFold(hs[i].Name, a.name) {
			continue
		}
		v := hs[i].Value
		var nv []byte
		changed := false
		if !a.value {
			nv, changed = x.replace(a.re, v, tmpl)
		} else {
			// replace-value works on each comma-separated value; the
			// pieces are joined outside the arena since each expansion
			// lands there.
			var out []byte
			rest := v
			for first := true; ; first = false {
				elem := rest
				j := indexByte(rest, ',')
				if j >= 0 {
					elem, rest = rest[:j], rest[j+1:]
				}
				got, ok := x.replace(a.re, trimOWS(elem), tmpl)
				changed = changed || ok
				if !first {
					out = append(out, ", "...)
				}
				out = append(out, got...)
				if j < 0 {
					break
				}
			}
			n := len(x.Arena)
			x.Arena = append(x.Arena, out...)
			nv = x.Arena[n:len(x.Arena):len(x.Arena)]
		}
		if !changed {
			continue
		}
		if !validValue(nv) {
			return x.fail(res, a.resp)
		}
		if !x.fits(a.resp, len(nv)-len(v)) {
			return x.failRoom(res)
		}
		hs[i].Value = nv
	}
	return false
}

// replace returns v rewritten to tmpl (with ${N} references) when re
// matches it, as HAProxy replaces the whole value, not the matched part.
func (x *Exec) replace(re *regexp.Regexp, v, tmpl []byte) ([]byte, bool) {
	m := re.FindSubmatchIndex(v)
	if m == nil {
		return v, false
	}
	n := len(x.Arena)
	x.Arena = re.Expand(x.Arena, tmpl, v, m)
	return x.Arena[n:len(x.Arena):len(x.Arena)], true
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

type setURI struct {
	part string // the action: set-path, set-pathq, set-query, set-uri, replace-path, replace-pathq
	re   *regexp.Regexp
	f    *acl.Format
}

func (a *setURI) run(x *Exec, r *rule, res *Result) bool {
	t := x.T.Target()
	prefix, path, query, hasQ := splitTarget(t)
	v := x.render(a.f)
	n := len(x.Arena)
	switch a.part {
	case "set-uri":
		x.Arena = append(x.Arena, v...)
	case "replace-uri":
		// The regex sees the whole target, as the client sent it.
		nv, ok := x.replace(a.re, t, v)
		if !ok {
			return false
		}
		n = len(x.Arena)
		x.Arena = append(x.Arena, nv...)
	case "set-path", "replace-path":
		if a.part == "replace-path" {
			nv, ok := x.replace(a.re, path, v)
			if !ok {
				return false
			}
			v = nv
			n = len(x.Arena)
		}
		x.Arena = append(x.Arena, prefix...)
		x.Arena = append(x.Arena, v...)
		if hasQ {
			x.Arena = append(x.Arena, '?')
			x.Arena = append(x.Arena, query...)
		}
	case "set-pathq", "replace-pathq":
		// The path and the query string together, as one value.
		if a.part == "replace-pathq" {
			pq := t[len(prefix):]
			nv, ok := x.replace(a.re, pq, v)
			if !ok {
				return false
			}
			v = nv
			n = len(x.Arena)
		}
		x.Arena = append(x.Arena, prefix...)
		x.Arena = append(x.Arena, v...)
	case "set-query":
		x.Arena = append(x.Arena, prefix...)
		x.Arena = append(x.Arena, path...)
		if len(v) > 0 {
			x.Arena = append(x.Arena, '?')
			x.Arena = append(x.Arena, v...)
		}
	}
	nt := x.Arena[n:len(x.Arena):len(x.Arena)]
	if !validTarget(nt) {
		return x.fail(res, false)
	}
	if !x.fits(false, len(nt)-len(t)) {
		return x.failRoom(res)
	}
	x.T.SetTarget(nt)
	return false
}

// splitTarget splits a request-target into scheme+authority (absolute
// form), path and query.
func splitTarget(t []byte) (prefix, path, query []byte, hasQuery bool) {
	start := 0
	if len(t) > 0 && t[0] != '/' && t[0] != '*' {
		for i := 0; i+2 < len(t); i++ {
			if t[i] == ':' && t[i+1] == '/' && t[i+2] == '/' {
				start = len(t)
				for j := i + 3; j < len(t); j++ {
					if t[j] == '/' || t[j] == '?' {
						start = j
						break
					}
				}
				break
			}
		}
	}
	prefix, rest := t[:start], t[start:]
	if q := indexByte(rest, '?'); q >= 0 {
		return prefix, rest[:q], rest[q+1:], true
	}
	return prefix, rest, nil, false
}

type setVar struct {
	name  string
	conds acl.SetVarConds
	x     *acl.Expr
}

func (a *setVar) run(x *Exec, r *rule, res *Result) bool {
	if a.x == nil { // unset-var
		x.T.SetVar(a.name, acl.Sample{})
		return false
	}
	if s, ok := a.x.Sample(x.E); ok && a.conds.Allow(x.T, a.name, s) {
		x.T.SetVar(a.name, s)
	}
	return false
}

type setVarFmt struct {
	name  string
	conds acl.SetVarConds
	f     *acl.Format
}

func (a *setVarFmt) run(x *Exec, r *rule, res *Result) bool {
	var buf [256]byte
	s := acl.Sample{Kind: acl.KindStr, B: a.f.Append(buf[:0], x.E)}
	if a.conds.Allow(x.T, a.name, s) {
		x.T.SetVar(a.name, s)
	}
	return false
}

type trackAction struct {
	slot  int
	key   *acl.Expr
	table *stick.Table
	http  bool
}

// run tracks the key unless the slot is taken: the first rule to track a
// slot wins for the stream. An HTTP track counts the current request at
// once, so a rate limit includes it.
func (a *trackAction) run(x *Exec, r *rule, res *Result) bool {
	if x.T.Tracked(a.slot).Valid() {
		return false
	}
	s, ok := a.key.Sample(x.E)
	if !ok {
		return false
	}
	k, ok := acl.SampleKey(s)
	if !ok {
		return false
	}
	now := x.T.Now()
	ref, err := a.table.Track(k, now)
	if err != nil {
		return false
	}
	x.T.SetTracked(a.slot, ref)
	if a.http {
		ref.IncHTTPReq(now)
	}
	return false
}

// incGPC is sc-inc-gpc0/1 (legacy: gpc0 or gpc1, idx 0 or 1) or
// sc-inc-gpc (element idx of the arrays).
type incGPC struct {
	slot   int
	idx    int
	legacy bool
}

func (a *incGPC) run(x *Exec, r *rule, res *Result) bool {
	ref := x.T.Tracked(a.slot)
	if !ref.Valid() {
		return false
	}
	switch {
	case !a.legacy:
		ref.IncGPC(a.idx, x.T.Now())
	case a.idx == 1:
		ref.IncGPC1(x.T.Now())
	default:
		ref.IncGPC0(x.T.Now())
	}
	return false
}

type logLevel struct{ level string }

func (a *logLevel) run(x *Exec, r *rule, res *Result) bool {
	x.T.SetLogLevel(a.level)
	return false
}

type captureAction struct {
	x    *acl.Expr
	id   int
	max  int
	resp bool // a response slot (http-response, http-after-response)
}

// RespCaptureTxn is implemented by a Txn with response capture slots
// (http-response capture ... id <n>).
type RespCaptureTxn interface {
	CaptureResponse(id int, v []byte)
}

func (a *captureAction) run(x *Exec, r *rule, res *Result) bool {
	s, ok := a.x.Sample(x.E)
	if !ok {
		return false
	}
	n := len(x.Arena)
	x.Arena = acl.AppendSample(x.Arena, s)
	v := x.Arena[n:len(x.Arena):len(x.Arena)]
	if a.max >= 0 && len(v) > a.max {
		v = v[:a.max]
	}
	if !a.resp {
		x.T.Capture(a.id, v)
	} else if rc, ok := x.T.(RespCaptureTxn); ok {
		rc.CaptureResponse(a.id, v)
	}
	return false
}

type setStatus struct {
	code   int
	reason []byte
}

func (a *setStatus) run(x *Exec, r *rule, res *Result) bool {
	x.T.SetStatus(a.code, a.reason)
	return false
}

type redirectAction struct {
	typ         string
	f           *acl.Format
	code        int
	dropQuery   bool
	appendSlash bool
	ignoreEmpty bool
	cookies     [][]byte
}

// run builds the Location (CM 4.2 "redirect"): "location" is the
// rendered string; "prefix" prepends it to the request's path (and query
// unless drop-query); "scheme" builds scheme://host + path.
func (a *redirectAction) run(x *Exec, r *rule, res *Result) bool {
	v := x.render(a.f)
	if len(v) == 0 && a.ignoreEmpty {
		return false
	}
	n := len(x.Arena)
	if a.typ == "location" {
		x.Arena = append(x.Arena, v...)
	} else {
		_, path, query, hasQ := splitTarget(x.T.Target())
		if len(path) == 0 || string(path) == "*" {
			path = []byte("/")
		}
		if a.typ == "scheme" {
			x.Arena = append(x.Arena, v...)
			x.Arena = append(x.Arena, "://"...)
			for _, h := range x.T.ReqHeaders() {
				if eqFold(h.Name, "host") {
					x.Arena = append(x.Arena, h.Value...)
					break
				}
			}
		} else if string(v) != "/" {
			x.Arena = append(x.Arena, v...)
		}
		x.Arena = append(x.Arena, path...)
		if a.appendSlash && a.dropQuery && path[len(path)-1] != '/' {
			x.Arena = append(x.Arena, '/')
		}
		if hasQ && !a.dropQuery {
			x.Arena = append(x.Arena, '?')
			x.Arena = append(x.Arena, query...)
		}
	}
	loc := x.Arena[n:len(x.Arena):len(x.Arena)]
	if !validValue(loc) {
		return x.fail(res, false)
	}
	res.Verdict, res.Status, res.Location = Redirect, a.code, loc
	for _, ck := range a.cookies {
		res.Headers = append(res.Headers, h1.Header{Name: []byte("Set-Cookie"), Value: ck})
	}
	return true
}
