package rules

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/stick"
)

type compiler struct {
	p    *model.Proxy
	kind Kind
	set  *acl.Set
	opt  Options
	ds   config.Diagnostics
}

// resp reports a list that runs on responses.
func (c *compiler) resp() bool { return c.kind == HTTPResponse || c.kind == HTTPAfter }

func (c *compiler) errf(pos config.Pos, r *model.Rule, format string, args ...any) {
	c.ds.Alertf(pos, "'%s %s' : %s", r.Keyword, r.Action, fmt.Sprintf(format, args...))
}

func (c *compiler) format(r *model.Rule, w config.Word) *acl.Format {
	f, err := c.set.Format(w.Text)
	if err != nil {
		c.errf(w.Pos, r, "%v", err)
		return nil
	}
	return f
}

// action compiles r with its registry entry; an action HAProxy knows but
// this rule set of Bulwark does not run is refused, naming it.
func (c *compiler) action(r *model.Rule) action {
	if def, ok := registry[r.Action]; ok && def.kinds&(1<<c.kind) != 0 {
		return def.compile(c, r)
	}
	c.ds = append(c.ds, config.Diagnostic{Pos: r.Pos, Severity: config.SevAlert,
		Msg: fmt.Sprintf("'%s %s' is not supported by bulwark", r.Keyword, r.Action), Code: model.CodeUnsupported})
	return nil
}

func compileAllow(c *compiler, r *model.Rule) action {
	if len(r.Args) > 0 {
		c.errf(r.Args[0].Pos, r, "unexpected argument '%s'", r.Args[0].Text)
		return nil
	}
	if c.kind.http() {
		return verdictAction(Allow)
	}
	return verdictAction(Accept)
}

// services are the built-in services "use-service" may name.
var services = map[string]bool{"prometheus-exporter": true}

func compileUseService(c *compiler, r *model.Rule) action {
	if c.kind == TCPContent {
		return compileTCPService(c, r)
	}
	if len(r.Args) != 1 {
		c.errf(r.Pos, r, "expects a service name")
		return nil
	}
	name := r.Args[0].Text
	if !services[name] {
		c.errf(r.Args[0].Pos, r, "'use-service' : unknown service '%s' (bulwark has 'prometheus-exporter')", name)
		return nil
	}
	return serviceAction(name)
}

type serviceAction string

func (s serviceAction) run(x *Exec, r *rule, res *Result) bool {
	res.Verdict, res.Service = Service, string(s)
	return true
}

// compileCache reads "cache-use NAME" and "cache-store NAME"; the model
// checked that the cache exists.
func compileCache(c *compiler, r *model.Rule) action {
	if len(r.Args) != 1 {
		c.errf(r.Pos, r, "expects a cache name")
		return nil
	}
	return cacheAction{name: r.Args[0].Text, store: r.Action == "cache-store"}
}

type cacheAction struct {
	name  string
	store bool
}

func (a cacheAction) run(x *Exec, r *rule, res *Result) bool {
	if a.store {
		x.T.CacheStore(a.name)
	} else {
		x.T.CacheUse(a.name)
	}
	return false
}

func compileReject(*compiler, *model.Rule) action { return verdictAction(Reject) }

// compileSwitchMode reads "switch-mode http [proto <name>]" (CM 4.2
// "tcp-request content switch-mode"): only HTTP upgrades exist, to one
// of the HTTP multiplexers, in a proxy that has a frontend.
func compileSwitchMode(c *compiler, r *model.Rule) action {
	a := r.Args
	if len(a) == 0 || a[0].Text != "http" {
		pos := r.Pos
		if len(a) > 0 {
			pos = a[0].Pos
		}
		c.errf(pos, r, "expects 'http' as the mode (the only upgrade there is)")
		return nil
	}
	if c.p.Cap&model.CapFrontend == 0 {
		c.errf(r.Pos, r, "only available for a proxy with the frontend capability")
		return nil
	}
	proto := ""
	switch {
	case len(a) == 1:
	case len(a) == 3 && a[1].Text == "proto":
		proto = a[2].Text
		if proto != "h1" && proto != "h2" {
			c.errf(a[2].Pos, r, "'%s' is not a HTTP multiplexer (expects h1 or h2)", proto)
			return nil
		}
	default:
		c.errf(a[1].Pos, r, "expects 'proto <name>', found '%s'", a[1].Text)
		return nil
	}
	return switchModeAction(proto)
}

type switchModeAction string

func (s switchModeAction) run(x *Exec, r *rule, res *Result) bool {
	res.Verdict, res.Proto = SwitchMode, string(s)
	return true
}

func compileClose(c *compiler, r *model.Rule) action {
	if len(r.Args) > 0 {
		c.errf(r.Args[0].Pos, r, "unexpected argument '%s'", r.Args[0].Text)
		return nil
	}
	return verdictAction(Close)
}

func compileAuth(c *compiler, r *model.Rule) action {
	a := r.Args
	realm := c.p.Name
	if len(a) >= 2 && a[0].Text == "realm" {
		realm = a[1].Text
	} else if len(a) > 0 {
		c.errf(a[0].Pos, r, "expects 'realm <realm>', found '%s'", a[0].Text)
		return nil
	}
	return &authAction{realm: realm}
}

func compileSetHeader(c *compiler, r *model.Rule) action {
	a := r.Args
	if len(a) != 2 {
		c.errf(r.Pos, r, "expects exactly 2 arguments (<name> <fmt>)")
		return nil
	}
	if !validHeaderName(a[0].Text) {
		c.errf(a[0].Pos, r, "invalid header name '%s'", a[0].Text)
		return nil
	}
	f := c.format(r, a[1])
	if f == nil {
		return nil
	}
	name := a[0].Text
	return &setHeader{name: name, nameB: []byte(name)[:len(name):len(name)], f: f, add: r.Action == "add-header", resp: c.resp()}
}

func compileReplaceHeader(c *compiler, r *model.Rule) action {
	a := r.Args
	if len(a) != 3 {
		c.errf(r.Pos, r, "expects exactly 3 arguments (<name> <regex> <fmt>)")
		return nil
	}
	re := c.regex(r, a[1])
	f := c.format(r, config.Word{Pos: a[2].Pos, Text: expandRefs(a[2].Text)})
	if re == nil || f == nil {
		return nil
	}
	return &replaceHeader{name: a[0].Text, re: re, f: f, value: r.Action == "replace-value", resp: c.resp()}
}

// compileSetURI compiles set-path, set-pathq, set-query and set-uri.
func compileSetURI(c *compiler, r *model.Rule) action {
	if len(r.Args) != 1 {
		c.errf(r.Pos, r, "expects exactly 1 argument")
		return nil
	}
	f := c.format(r, r.Args[0])
	if f == nil {
		return nil
	}
	return &setURI{part: r.Action, f: f}
}

// compileReplacePath compiles replace-path (the regex sees the path) and
// replace-pathq (it sees the path and the query string).
func compileReplacePath(c *compiler, r *model.Rule) action {
	a := r.Args
	if len(a) != 2 {
		c.errf(r.Pos, r, "expects exactly 2 arguments (<regex> <fmt>)")
		return nil
	}
	re := c.regex(r, a[0])
	f := c.format(r, config.Word{Pos: a[1].Pos, Text: expandRefs(a[1].Text)})
	if re == nil || f == nil {
		return nil
	}
	return &setURI{part: r.Action, re: re, f: f}
}

func compileSetVar(c *compiler, r *model.Rule) action {
	a := r.Args
	name, conds, err := varAndConds(r.ActionArg)
	if err != nil {
		c.errf(r.Pos, r, "%v", err)
		return nil
	}
	if len(a) != 1 {
		c.errf(r.Pos, r, "expects exactly 1 sample expression")
		return nil
	}
	x, err := c.set.Expr(a[0].Text)
	if err != nil {
		c.errf(a[0].Pos, r, "%v", err)
		return nil
	}
	return &setVar{name: name, conds: conds, x: x}
}

// varAndConds splits "set-var(<name>[,<cond>...])" (CM 4.2 "set-var"):
// the conditions ifexists, ifnotempty, ifgt… decide at run time whether
// the variable is written.
func varAndConds(arg string) (string, acl.SetVarConds, error) {
	parts := strings.Split(arg, ",")
	if err := checkVar(parts[0]); err != nil {
		return "", 0, err
	}
	conds, err := acl.ParseSetVarConds(parts[1:])
	return parts[0], conds, err
}

// compileSetVarFmt compiles set-var-fmt(<var>) <fmt>: the variable gets
// the rendered log-format string.
func compileSetVarFmt(c *compiler, r *model.Rule) action {
	name, conds, err := varAndConds(r.ActionArg)
	if err != nil {
		c.errf(r.Pos, r, "%v", err)
		return nil
	}
	if len(r.Args) != 1 {
		c.errf(r.Pos, r, "expects exactly 1 format string")
		return nil
	}
	f := c.format(r, r.Args[0])
	if f == nil {
		return nil
	}
	return &setVarFmt{name: name, conds: conds, f: f}
}

// compileUnsetVar compiles unset-var(<var>).
func compileUnsetVar(c *compiler, r *model.Rule) action {
	if err := checkVar(r.ActionArg); err != nil {
		c.errf(r.Pos, r, "%v", err)
		return nil
	}
	if len(r.Args) != 0 {
		c.errf(r.Args[0].Pos, r, "unexpected argument '%s'", r.Args[0].Text)
		return nil
	}
	return &setVar{name: r.ActionArg}
}

func compileTrack(c *compiler, r *model.Rule) action {
	return c.track(r, int(r.Action[len("track-sc")]-'0'))
}

func compileIncGPC(c *compiler, r *model.Rule) action {
	n := 0
	if r.ActionArg != "" {
		v, err := strconv.Atoi(r.ActionArg)
		if err != nil || v < 0 || v > 2 {
			c.errf(r.Pos, r, "invalid stick counter '%s' (expects 0, 1 or 2)", r.ActionArg)
			return nil
		}
		n = v
	}
	idx := 0
	if r.Action == "sc-inc-gpc1" {
		idx = 1
	}
	return &incGPC{slot: n, idx: idx, legacy: true}
}

// compileIncGPCIdx compiles "sc-inc-gpc(<idx>,<sc-id>)": element idx of
// the tracked entry's gpc and gpc_rate arrays.
func compileIncGPCIdx(c *compiler, r *model.Rule) action {
	idx, slot, ok := c.elemSlot(r, "gpc")
	if !ok {
		return nil
	}
	if len(r.Args) != 0 {
		c.errf(r.Args[0].Pos, r, "unexpected argument '%s'", r.Args[0].Text)
		return nil
	}
	return &incGPC{slot: slot, idx: idx}
}

func compileLogLevel(c *compiler, r *model.Rule) action {
	if len(r.Args) != 1 || !validLogLevel(r.Args[0].Text) {
		c.errf(r.Pos, r, "expects a log level (emerg, alert, crit, err, warning, notice, info, debug, silent)")
		return nil
	}
	return &logLevel{level: r.Args[0].Text}
}

func compileSetStatus(c *compiler, r *model.Rule) action {
	a := r.Args
	if len(a) == 0 {
		c.errf(r.Pos, r, "expects a status code")
		return nil
	}
	code, err := strconv.Atoi(a[0].Text)
	if err != nil || code < 100 || code > 999 {
		c.errf(a[0].Pos, r, "invalid status code '%s' (expects 100..999)", a[0].Text)
		return nil
	}
	st := &setStatus{code: code, reason: []byte(reasonFor(code))}
	if len(a) == 3 && a[1].Text == "reason" {
		if !validValue([]byte(a[2].Text)) {
			c.errf(a[2].Pos, r, "invalid reason")
			return nil
		}
		st.reason = []byte(a[2].Text)
	} else if len(a) != 1 {
		c.errf(a[1].Pos, r, "expects 'reason <text>', found '%s'", a[1].Text)
		return nil
	}
	return st
}

func checkVar(name string) error {
	scope, rest, ok := strings.Cut(name, ".")
	if !ok || rest == "" {
		return fmt.Errorf("invalid variable name '%s' (expects set-var(<scope>.<name>))", name)
	}
	switch scope {
	case "proc", "sess", "txn", "req", "res":
		return nil
	}
	return fmt.Errorf("invalid variable scope '%s'", scope)
}

func validLogLevel(s string) bool {
	switch s {
	case "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "silent":
		return true
	}
	return false
}

func (c *compiler) regex(r *model.Rule, w config.Word) *regexp.Regexp {
	re, err := regexp.Compile(w.Text)
	if err != nil {
		c.errf(w.Pos, r, "regex '%s' is not supported: %v (Go's RE2 syntax has no backreferences or lookaround)", w.Text, err)
		return nil
	}
	return re
}

func (c *compiler) readFile(path string) ([]byte, error) {
	if c.opt.ReadFile != nil {
		return c.opt.ReadFile(path)
	}
	return os.ReadFile(path)
}

// reply compiles deny, tarpit and return (CM 4.2 "http-request return").
func compileReply(c *compiler, r *model.Rule) action {
	rp := c.reply(r)
	if rp == nil {
		return nil
	}
	return rp
}

// reply compiles the reply options shared by deny, tarpit, return and
// http-error; they may come in any order.
func (c *compiler) reply(r *model.Rule) *replyAction {
	a := r.Args
	rp := &replyAction{verdict: Deny, status: 403}
	switch r.Action {
	case "return":
		rp.verdict, rp.status = Return, 200
	case "tarpit":
		rp.verdict, rp.status = Tarpit, 500
	}
	if c.kind == HTTPResponse && r.Action == "deny" {
		rp.status = 502
	}
	payload := false
	section, sectionPos := "", config.Pos{}
	for i := 0; i < len(a); i++ {
		w := a[i]
		need := func() (config.Word, bool) {
			if i+1 >= len(a) {
				c.errf(w.Pos, r, "'%s' expects an argument", w.Text)
				return config.Word{}, false
			}
			i++
			return a[i], true
		}
		switch w.Text {
		case "status", "deny_status":
			v, ok := need()
			if !ok {
				return nil
			}
			code, err := strconv.Atoi(v.Text)
			if err != nil || code < 200 || code > 599 {
				c.errf(v.Pos, r, "invalid status code '%s' (expects 200..599)", v.Text)
				return nil
			}
			rp.status = code
		case "content-type":
			v, ok := need()
			if !ok {
				return nil
			}
			if !validValue([]byte(v.Text)) {
				c.errf(v.Pos, r, "invalid content-type")
				return nil
			}
			rp.ctype = v.Text
		case "string", "lf-string", "file", "lf-file", "errorfile", "errorfiles":
			v, ok := need()
			if !ok {
				return nil
			}
			if payload {
				c.errf(w.Pos, r, "only one payload may be given")
				return nil
			}
			payload = true
			switch w.Text {
			case "string":
				rp.body = []byte(v.Text)
			case "lf-string":
				if rp.lf = c.format(r, v); rp.lf == nil {
					return nil
				}
			case "file", "lf-file", "errorfile":
				data, err := c.readFile(v.Text)
				if err != nil {
					c.errf(v.Pos, r, "failed to read '%s': %v", v.Text, err)
					return nil
				}
				switch w.Text {
				case "file":
					rp.body = data
				case "lf-file":
					if rp.lf = c.format(r, config.Word{Pos: v.Pos, Text: string(data)}); rp.lf == nil {
						return nil
					}
				default:
					if len(data) > 0 && !strings.HasPrefix(string(data), "HTTP/") {
						c.errf(v.Pos, r, "'%s': unable to parse headers (the file must start with an HTTP status line)", v.Text)
						return nil
					}
					rp.raw, rp.hasRaw = data, true
				}
			default:
				section, sectionPos = v.Text, v.Pos
			}
		case "default-errorfiles":
			if payload {
				c.errf(w.Pos, r, "only one payload may be given")
				return nil
			}
			payload = true
			rp.defaultErr = true
		case "hdr":
			if i+2 >= len(a) {
				c.errf(w.Pos, r, "'hdr' expects <name> <fmt>")
				return nil
			}
			name, v := a[i+1], a[i+2]
			i += 2
			if !validHeaderName(name.Text) {
				c.errf(name.Pos, r, "invalid header name '%s'", name.Text)
				return nil
			}
			f := c.format(r, v)
			if f == nil {
				return nil
			}
			rp.hdrs = append(rp.hdrs, hdrFmt{name: []byte(name.Text), f: f})
		default:
			c.errf(w.Pos, r, "unexpected keyword '%s'", w.Text)
			return nil
		}
	}
	if section != "" {
		// The section's errorfile for the status, else the proxy's
		// error message for it (CM 4.2 "http-request deny").
		var files map[int][]byte
		ok := false
		if c.opt.Errors != nil {
			files, ok = c.opt.Errors(section)
		}
		if !ok {
			c.errf(sectionPos, r, "unknown http-errors section '%s'", section)
			return nil
		}
		if b, found := files[rp.status]; found {
			rp.raw, rp.hasRaw = b, true
		} else {
			rp.defaultErr, rp.sectionMiss = true, true
		}
	}
	if (len(rp.body) > 0 || rp.lf != nil) && rp.ctype == "" {
		c.errf(r.Pos, r, "a 'string', 'lf-string', 'file' or 'lf-file' payload requires 'content-type'")
		return nil
	}
	// deny and tarpit without a payload send the proxy's error message for
	// the status; return without one sends an empty response, unless told
	// "default-errorfiles".
	rp.errorfile = rp.defaultErr || !payload && r.Action != "return"
	return rp
}

func compileDelHeader(c *compiler, r *model.Rule) action {
	a := r.Args
	if len(a) != 1 && !(len(a) == 3 && a[1].Text == "-m") {
		c.errf(r.Pos, r, "expects <name> [-m <meth>]")
		return nil
	}
	d := &delHeader{name: a[0].Text, method: "str", resp: c.resp()}
	if len(a) == 3 {
		d.method = a[2].Text
		switch d.method {
		case "str", "beg", "end", "sub":
		case "reg":
			if d.re = c.regex(r, a[0]); d.re == nil {
				return nil
			}
		default:
			c.errf(a[2].Pos, r, "unsupported matching method '%s' (expects str, beg, end, sub or reg)", d.method)
			return nil
		}
	}
	return d
}

// compileRedirect compiles "redirect" (CM 4.2): the type with its value
// and the options may come in any order, as HAProxy reads them.
func compileRedirect(c *compiler, r *model.Rule) action {
	a := r.Args
	rd := &redirectAction{code: 302}
	for i := 0; i < len(a); i++ {
		w := a[i]
		need := func() (config.Word, bool) {
			if i+1 >= len(a) {
				c.errf(w.Pos, r, "'%s' expects an argument", w.Text)
				return config.Word{}, false
			}
			i++
			return a[i], true
		}
		switch w.Text {
		case "location", "prefix", "scheme":
			v, ok := need()
			if !ok {
				return nil
			}
			if rd.typ != "" {
				c.errf(w.Pos, r, "'%s' : a redirect type is already set ('%s')", w.Text, rd.typ)
				return nil
			}
			rd.typ = w.Text
			if rd.f = c.format(r, v); rd.f == nil {
				return nil
			}
		case "code":
			v, ok := need()
			if !ok {
				return nil
			}
			n, err := strconv.Atoi(v.Text)
			if err != nil || n != 301 && n != 302 && n != 303 && n != 307 && n != 308 {
				c.errf(v.Pos, r, "unsupported HTTP code '%s' (expects 301, 302, 303, 307 or 308)", v.Text)
				return nil
			}
			rd.code = n
		case "drop-query":
			rd.dropQuery = true
		case "append-slash":
			rd.appendSlash = true
		case "ignore-empty":
			rd.ignoreEmpty = true
		case "set-cookie", "clear-cookie":
			v, ok := need()
			if !ok {
				return nil
			}
			ck := v.Text
			if w.Text == "set-cookie" {
				if !strings.Contains(ck, "=") {
					ck += "="
				}
				ck += "; path=/"
			} else {
				ck = strings.TrimSuffix(ck, "=") + "=; Max-Age=0; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"
			}
			if !validValue([]byte(ck)) {
				c.errf(v.Pos, r, "invalid cookie")
				return nil
			}
			rd.cookies = append(rd.cookies, []byte(ck))
		default:
			c.errf(w.Pos, r, "expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was '%s')", w.Text)
			return nil
		}
	}
	if rd.typ == "" {
		c.errf(r.Pos, r, "expects 'location', 'prefix' or 'scheme' followed by a value")
		return nil
	}
	return rd
}

func (c *compiler) track(r *model.Rule, slot int) action {
	a := r.Args
	if len(a) == 0 {
		c.errf(r.Pos, r, "expects a key expression")
		return nil
	}
	x, err := c.set.Expr(a[0].Text)
	if err != nil {
		c.errf(a[0].Pos, r, "%v", err)
		return nil
	}
	name := c.p.Name
	if len(a) == 3 && a[1].Text == "table" {
		name = a[2].Text
	} else if len(a) != 1 {
		c.errf(a[1].Pos, r, "expects 'table <name>', found '%s'", a[1].Text)
		return nil
	}
	var t *stick.Table
	if c.opt.Tables != nil {
		t = c.opt.Tables(name)
	}
	if t == nil {
		c.errf(r.Pos, r, "unable to find stick-table '%s'", name)
		return nil
	}
	// In an HTTP proxy tcp-request content rules run per request: a track
	// there counts the request as an http-request one does.
	http := c.kind == HTTPRequest || c.kind == TCPContent && c.p.Mode == model.ModeHTTP
	return &trackAction{slot: slot, key: x, table: t, http: http}
}

// capture compiles "capture <sample> len <n>" (the slot the model
// numbered where the rule stands) and "capture <sample> id <n>" (a slot
// declared by the frontend; a backend's rule names a slot of whichever
// frontend the request came through, so only a frontend's id is checked).
// http-response and http-after-response take only "id", of a response
// slot; tcp-request content only "len".
func compileCapture(c *compiler, r *model.Rule) action {
	a := r.Args
	switch {
	case c.resp():
		return c.captureResponse(r)
	case c.kind == TCPContent:
		if len(a) != 3 || a[1].Text != "len" {
			c.errf(r.Pos, r, "a positive 'len' argument is mandatory")
			return nil
		}
		if n, err := strconv.Atoi(a[2].Text); err != nil || n <= 0 {
			c.errf(a[2].Pos, r, "length must be > 0")
			return nil
		}
	}
	if len(a) != 3 || a[1].Text != "len" && a[1].Text != "id" {
		c.errf(r.Pos, r, "expects <sample> 'len' <length> or <sample> 'id' <slot>")
		return nil
	}
	x, err := c.set.Expr(a[0].Text)
	if err != nil {
		c.errf(a[0].Pos, r, "%v", err)
		return nil
	}
	n, err := strconv.Atoi(a[2].Text)
	if err != nil || n < 0 {
		c.errf(a[2].Pos, r, "invalid number '%s'", a[2].Text)
		return nil
	}
	if c.p.Cap&model.CapFrontend == 0 {
		if a[1].Text == "len" {
			// An inherited one is the model's alert about the defaults
			// section's captures.
			if !r.FromDefaults {
				c.errf(r.Pos, r, "proxy '%s' has no frontend capability", c.p.Name)
			}
			return nil
		}
		return &captureAction{x: x, id: n, max: -1}
	}
	if a[1].Text == "len" && n == 0 {
		c.errf(a[2].Pos, r, "length must be > 0")
		return nil
	}
	slot := 0
	for _, mc := range c.p.Captures {
		if mc.Response {
			continue
		}
		if a[1].Text == "len" && mc.Rule == r || a[1].Text == "id" && slot == n {
			return &captureAction{x: x, id: slot, max: mc.Len}
		}
		slot++
	}
	if a[1].Text == "id" {
		c.errf(r.Pos, r, "unable to find capture id '%d' referenced by http-request capture rule", n)
		return nil
	}
	c.errf(r.Pos, r, "capture slot not found") // the model numbers every rule
	return nil
}

// captureResponse compiles "http-response capture <sample> id <n>" and its
// http-after-response twin: response slot n, declared by "capture response
// header" or "declare capture response" (HAProxy's messages).
func (c *compiler) captureResponse(r *model.Rule) action {
	a := r.Args
	if len(a) < 3 {
		c.errf(r.Pos, r, "expects <expression> id <idx>")
		return nil
	}
	if a[1].Text != "id" {
		c.errf(a[1].Pos, r, "expects 'id', found '%s'", a[1].Text)
		return nil
	}
	if len(a) > 3 {
		c.errf(a[3].Pos, r, "unexpected argument '%s'", a[3].Text)
		return nil
	}
	x, err := c.set.Expr(a[0].Text)
	if err != nil {
		c.errf(a[0].Pos, r, "%v", err)
		return nil
	}
	n, err := strconv.Atoi(a[2].Text)
	if err != nil || n < 0 {
		c.errf(a[2].Pos, r, "cannot parse id '%s'", a[2].Text)
		return nil
	}
	if c.p.Cap&model.CapFrontend == 0 {
		return &captureAction{x: x, id: n, max: -1, resp: true}
	}
	slot := 0
	for _, mc := range c.p.Captures {
		if !mc.Response {
			continue
		}
		if slot == n {
			return &captureAction{x: x, id: slot, max: mc.Len, resp: true}
		}
		slot++
	}
	c.ds.Alertf(r.Pos, "Proxy '%s': unable to find capture id '%d' referenced by http-response capture rule", c.p.Name, n)
	return nil
}

// compileTCPService compiles "tcp-request content use-service": a TCP
// service must talk the client's protocol itself, and Bulwark's only
// service, the Prometheus exporter, is HTTP (HAProxy's message).
func compileTCPService(c *compiler, r *model.Rule) action {
	if len(r.Args) != 1 {
		c.errf(r.Pos, r, "expects a service name")
		return nil
	}
	if services[r.Args[0].Text] {
		c.ds.Alertf(r.Args[0].Pos, "Prometheus exporter service only available on 'http-request' rulesets")
		return nil
	}
	c.ds.Alertf(r.Args[0].Pos, "'%s' unknown service name.", r.Args[0].Text)
	return nil
}

// Services lists the built-in services "use-service" may name, sorted.
func Services() []string {
	out := make([]string, 0, len(services))
	for s := range services {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// compileStrictMode compiles "strict-mode on|off" (CM 4.2): whether a
// failed rewrite in the following rules of the set is an error.
func compileStrictMode(c *compiler, r *model.Rule) action {
	if len(r.Args) != 1 || r.Args[0].Text != "on" && r.Args[0].Text != "off" {
		c.errf(r.Pos, r, "expects 'on' or 'off' as argument")
		return nil
	}
	return strictMode(r.Args[0].Text == "off")
}

type strictMode bool

func (m strictMode) run(x *Exec, r *rule, res *Result) bool {
	x.Lax = bool(m)
	return false
}
