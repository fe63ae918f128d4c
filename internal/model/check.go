package model

import (
	"strconv"
	"strings"

	"bulwark/internal/config"
)

// CheckKind is the kind of active check a backend runs (CM 4.2 "option
// httpchk", "option tcp-check" and the protocol check options).
type CheckKind uint8

const (
	CheckPlain    CheckKind = iota // no option: a plain connect
	CheckHTTP                      // option httpchk
	CheckTCP                       // option tcp-check
	CheckRedis                     // option redis-check
	CheckMySQL                     // option mysql-check
	CheckPgSQL                     // option pgsql-check
	CheckSMTP                      // option smtpchk
	CheckLDAP                      // option ldap-check
	CheckSSLHello                  // option ssl-hello-chk
)

// checkOptions are the options that choose the check kind; the last one
// wins, as in HAProxy.
var checkOptions = map[string]CheckKind{
	"httpchk": CheckHTTP, "tcp-check": CheckTCP, "redis-check": CheckRedis, "mysql-check": CheckMySQL,
	"pgsql-check": CheckPgSQL, "smtpchk": CheckSMTP, "ldap-check": CheckLDAP, "ssl-hello-chk": CheckSSLHello,
}

// HealthCheck is what a backend's active checks do.
type HealthCheck struct {
	Kind CheckKind
	Pos  config.Pos // the option that chose the kind
	// User is "mysql-check user" / "pgsql-check user"; Pre41 the older
	// MySQL protocol.
	User  string
	Pre41 bool
	// Hello is the SMTP greeting ("EHLO domain"), "" for HELO localhost.
	Hello string
	// Rules are the "tcp-check" or "http-check" rules in order, comments
	// folded into the rule they describe.
	Rules []*CheckRule
	// DisableOn404 is "http-check disable-on-404"; SendState is
	// "http-check send-state".
	DisableOn404, SendState bool
	// fromDefaults marks rules inherited from a defaults section: the
	// proxy's first own check line starts a new ruleset.
	fromDefaults bool
	pending      string // "comment" text waiting for its rule
}

// CheckRule is one tcp-check or http-check rule, parsed; the plan
// compiles its patterns.
type CheckRule struct {
	Pos     config.Pos
	HTTP    bool   // http-check (else tcp-check)
	Action  string // connect, send, send-lf, send-binary, send-binary-lf, expect, set-var, unset-var
	Comment string
	// FromOption is the implicit send of "option httpchk <meth> <uri> <ver>".
	FromOption bool

	Connect *CheckConnect
	// Data is the payload of a tcp-check send.
	Data config.Word
	// Request is an http-check send.
	Request *CheckRequest
	Expect  *CheckExpect
	// Var and VarExpr are set-var(<var>) <expr> / unset-var(<var>).
	Var     string
	VarExpr []config.Word
}

// CheckConnect is a connect rule's options.
type CheckConnect struct {
	Default, SendProxy, ViaSocks4, SSL, Linger bool
	Port                                       int
	Addr, SNI, ALPN, Proto                     string
}

// CheckRequest is an http-check send (or the request of option httpchk).
type CheckRequest struct {
	Method, URI, Version string
	URILF                bool
	Headers              []CheckHeader
	Body                 *config.Word
	BodyLF               bool
}

// CheckHeader is "hdr <name> <fmt>".
type CheckHeader struct {
	Name  string
	Value config.Word
}

// CheckExpect is an expect rule.
type CheckExpect struct {
	Match                             string // status, rstatus, string, rstring, binary, rbinary, hdr, fhdr, string-lf, binary-lf
	Negate                            bool
	Pattern                           config.Word // the pattern (hdr: the name pattern)
	MinRecv                           int         // -1 unset
	OKStatus, ErrorStatus, ToutStatus string
	OnSuccess, OnError                *config.Word
	StatusCode                        *config.Word
	// hdr / fhdr
	NameMeth, ValueMeth string
	NameLF, ValueLF     bool
	Value               *config.Word
}

// checkOption applies one of the check options to p.
func (c *compiler) checkOption(p *Proxy, d *config.Directive, name string, rest []config.Word, inherited bool) {
	hc := &p.Check
	kind := checkOptions[name]
	// "option httpchk" and "option tcp-check" keep the rules the same
	// section already wrote for them; anything else starts over.
	keep := hc.Kind == kind && (kind == CheckHTTP || kind == CheckTCP) && hc.fromDefaults == inherited
	hc.Kind, hc.Pos = kind, d.Pos
	hc.User, hc.Pre41, hc.Hello = "", false, ""
	if !keep {
		hc.Rules, hc.pending = nil, ""
	}
	hc.fromDefaults = inherited
	switch name {
	case "httpchk":
		if len(rest) > 3 {
			c.ds.Alertf(rest[3].Pos, "'option httpchk' expects at most <method> <uri> <version>")
			return
		}
		rq := &CheckRequest{}
		switch len(rest) {
		case 1:
			rq.URI = rest[0].Text
		case 2:
			rq.Method, rq.URI = rest[0].Text, rest[1].Text
		case 3:
			rq.Method, rq.URI, rq.Version = rest[0].Text, rest[1].Text, rest[2].Text
		}
		// The old trick of headers (and a body) after the version
		// ("HTTP/1.1\r\nHost:\ www") is deprecated but still honoured by
		// HAProxy 2.6.
		if i := strings.Index(rq.Version, "\r\n"); i >= 0 {
			c.ds.Warnf(rest[2].Pos, "hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.")
			hidden := rq.Version[i+2:]
			rq.Version = rq.Version[:i]
			hdrs, body, hasBody := strings.Cut("\r\n"+hidden, "\r\n\r\n")
			if hasBody {
				rq.Body = &config.Word{Pos: rest[2].Pos, Text: body}
			}
			for _, line := range strings.Split(hdrs, "\r\n") {
				if line == "" {
					continue
				}
				name, value, ok := strings.Cut(line, ":")
				if !ok || name == "" || strings.ContainsAny(name, " \t") {
					c.ds.Alertf(rest[2].Pos, "'option httpchk' : unable to parse the request '%s'.", hidden)
					return
				}
				rq.Headers = append(rq.Headers, CheckHeader{Name: name, Value: config.Word{Pos: rest[2].Pos, Text: strings.TrimSpace(value)}})
			}
		}
		p.HTTPChk = &HTTPChkOption{Pos: d.Pos, Method: rq.Method, URI: rq.URI, Version: rq.Version}
		if len(rest) == 0 {
			return
		}
		for _, r := range hc.Rules {
			if r.Action != "send" {
				continue
			}
			// An explicit send came first: the option's request line
			// overrides it where it says something.
			if r.FromOption {
				r.Request = rq
			} else {
				mergeRequest(r.Request, rq)
			}
			return
		}
		hc.Rules = append([]*CheckRule{{Pos: d.Pos, HTTP: true, Action: "send", FromOption: true, Request: rq}}, hc.Rules...)
	case "mysql-check":
		if len(rest) == 0 {
			return
		}
		if rest[0].Text != "user" {
			c.ds.Alertf(rest[0].Pos, "'option mysql-check' only supports optional values: 'user' (got '%s')", rest[0].Text)
			return
		}
		if len(rest) < 2 {
			c.ds.Alertf(rest[0].Pos, "'option mysql-check user' expects <username> as argument")
			return
		}
		hc.User = rest[1].Text
		if len(rest) > 2 {
			switch rest[2].Text {
			case "post-41":
			case "pre-41":
				hc.Pre41 = true
			default:
				c.ds.Alertf(rest[2].Pos, "keyword 'user' only supports 'post-41' and 'pre-41' (got '%s')", rest[2].Text)
			}
		}
	case "pgsql-check":
		if len(rest) < 2 || rest[0].Text != "user" {
			c.ds.Alertf(d.Pos, "'option pgsql-check' expects 'user <username>' as argument")
			return
		}
		hc.User = rest[1].Text
	case "smtpchk":
		if len(rest) >= 2 && (rest[0].Text == "EHLO" || rest[0].Text == "HELO") {
			hc.Hello = rest[0].Text + " " + rest[1].Text
		}
	default:
		if len(rest) > 0 {
			c.ds.Alertf(rest[0].Pos, "'option %s' does not take an argument (got '%s')", name, rest[0].Text)
		}
	}
}

// warnIgnoredCheckRules says, as HAProxy 2.6 does, that a proxy's own
// tcp-check (http-check) rules do nothing without "option tcp-check"
// ("option httpchk"). Rules inherited from a defaults section are not
// mentioned, nor are disable-on-404 and send-state.
func (c *compiler) warnIgnoredCheckRules(p *Proxy) {
	hc := &p.Check
	if p.Cap&CapBackend == 0 || hc.fromDefaults {
		return
	}
	warned := [2]bool{}
	for _, r := range hc.Rules {
		kind, option, i := CheckTCP, "tcp-check", 0
		if r.HTTP {
			kind, option, i = CheckHTTP, "httpchk", 1
		}
		if r.FromOption || hc.Kind == kind || warned[i] {
			continue
		}
		warned[i] = true
		name := "tcp-check"
		if r.HTTP {
			name = "http-check"
		}
		c.ds.Warnf(r.Pos, "%s '%s' uses %s rules without 'option %s', so the rules are ignored.", p.Kind, p.Name, name, option)
	}
}

// HTTPChkOption is "option httpchk [<method>] [<uri>] [<version>]".
type HTTPChkOption struct {
	Pos                  config.Pos
	Method, URI, Version string
}

// checkRule applies a "tcp-check" or "http-check" line.
func (c *compiler) checkRule(p *Proxy, d *config.Directive, inherited bool) {
	hc := &p.Check
	isHTTP := d.Name == "http-check"
	if len(d.Args) == 0 {
		c.ds.Alertf(d.Pos, "'%s' expects an action", d.Name)
		return
	}
	act := d.Arg(0)
	switch {
	case isHTTP && act == "disable-on-404":
		hc.DisableOn404 = true
		return
	case isHTTP && act == "send-state":
		hc.SendState = true
		return
	}
	if hc.fromDefaults && !inherited {
		hc.Rules, hc.pending, hc.fromDefaults = nil, "", false
		// The request line of an inherited "option httpchk" goes with
		// the inherited ruleset.
		p.HTTPChk = nil
	}
	if inherited {
		hc.fromDefaults = true
	}
	r := &CheckRule{Pos: d.Pos, HTTP: isHTTP, Action: act, Comment: hc.pending}
	hc.pending = ""
	args := d.Args[1:]
	// comment <msg> may follow most rules.
	take := func(i int) (config.Word, bool) {
		if i+1 >= len(args) {
			c.ds.Alertf(args[i].Pos, "'%s %s' : '%s' expects an argument", d.Name, act, args[i].Text)
			return config.Word{}, false
		}
		return args[i+1], true
	}
	switch {
	case act == "comment":
		if len(args) != 1 {
			c.ds.Alertf(d.Pos, "'%s comment' expects a message as argument", d.Name)
			return
		}
		hc.pending = args[0].Text
		return
	case act == "connect":
		// A connect after other steps needs a connect first: the
		// implicit one would not be added (variable rules and the
		// request of "option httpchk" do not count).
		for _, o := range hc.Rules {
			if o.FromOption || o.Action == "set-var" || o.Action == "unset-var" || o.Action == "set-var-fmt" {
				continue
			}
			if o.Action != "connect" {
				c.ds.Alertf(d.Pos, "'%s connect' : first step MUST also be a 'connect', optionally preceded by a 'set-var', an 'unset-var' or a 'comment', when there is a 'connect' step in the tcp-check ruleset.", d.Name)
				return
			}
			break
		}
		cc := &CheckConnect{}
		r.Connect = cc
		addrPort := 0
		defer func() {
			if cc.Port == 0 {
				cc.Port = addrPort
			}
		}()
		for i := 0; i < len(args); i++ {
			switch a := args[i].Text; a {
			case "default":
				cc.Default = true
			case "send-proxy":
				cc.SendProxy = true
			case "via-socks4":
				cc.ViaSocks4 = true
			case "ssl":
				cc.SSL = true
			case "linger":
				cc.Linger = true
			case "port", "addr", "sni", "alpn", "proto", "comment":
				v, ok := take(i)
				if !ok {
					return
				}
				i++
				switch a {
				case "port":
					n, err := strconv.Atoi(v.Text)
					if err != nil || n < 1 || n > 65535 {
						c.unsupported(v.Pos, "'%s connect port' : only a port number between 1 and 65535 is supported by bulwark (got '%s')", d.Name, v.Text)
						return
					}
					cc.Port = n
				case "addr":
					// "addr <ip>[:<port>]": a port given here is the
					// connect's unless "port" says otherwise.
					cc.Addr = v.Text
					if a, err := ParseServerAddr(v.Text); err == nil && a.Host != "" && a.Net != "unix" {
						cc.Addr = a.Host
						if a.PortLow > 0 && !a.PortDelta {
							addrPort = a.PortLow
						}
					}
				case "sni":
					cc.SNI = v.Text
				case "alpn":
					cc.ALPN = v.Text
				case "proto":
					// A tcp-check takes the TCP multiplexer ("none") only,
					// an http-check the HTTP ones, as in HAProxy.
					switch {
					case !muxProtos[v.Text]:
						c.ds.Alertf(v.Pos, "'%s connect' : 'proto' : unknown MUX protocol '%s'.", d.Name, v.Text)
						return
					case isHTTP == (v.Text == "none"):
						c.ds.Alertf(v.Pos, "'%s connect' : 'proto' : invalid MUX protocol '%s' for %s.", d.Name, v.Text, d.Name)
						return
					}
					cc.Proto = v.Text
				case "comment":
					r.Comment = v.Text
				}
			default:
				c.ds.Alertf(args[i].Pos, "'%s connect' expects 'comment', 'port', 'addr', 'send-proxy', 'via-socks4', 'ssl', 'sni', 'alpn', 'proto', 'linger' or 'default' but got '%s' as argument", d.Name, a)
				return
			}
		}
	case act == "send" && isHTTP:
		rq := &CheckRequest{}
		r.Request = rq
		for i := 0; i < len(args); i++ {
			a := args[i].Text
			v, ok := take(i)
			if !ok {
				return
			}
			i++
			switch a {
			case "meth":
				rq.Method = v.Text
			case "uri", "uri-lf":
				rq.URI, rq.URILF = v.Text, a == "uri-lf"
			case "ver":
				rq.Version = v.Text
			case "hdr":
				if i+1 >= len(args) {
					c.ds.Alertf(args[i-1].Pos, "'http-check send' : 'hdr' expects <name> and <value> as arguments")
					return
				}
				rq.Headers = append(rq.Headers, CheckHeader{Name: v.Text, Value: args[i+1]})
				i++
			case "body", "body-lf":
				w := v
				rq.Body, rq.BodyLF = &w, a == "body-lf"
			case "comment":
				r.Comment = v.Text
			default:
				c.ds.Alertf(args[i-1].Pos, "'http-check send' expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', 'body' or 'body-lf' but got '%s' as argument", a)
				return
			}
		}
	case !isHTTP && (act == "send" || act == "send-lf" || act == "send-binary" || act == "send-binary-lf"):
		if len(args) == 0 {
			c.ds.Alertf(d.Pos, "'tcp-check %s' expects a <data> as argument", act)
			return
		}
		r.Data = args[0]
		for i := 1; i < len(args); i++ {
			if args[i].Text != "comment" {
				c.ds.Alertf(args[i].Pos, "'tcp-check %s' only supports 'comment' but got '%s' as argument", act, args[i].Text)
				return
			}
			v, ok := take(i)
			if !ok {
				return
			}
			i++
			r.Comment = v.Text
		}
	case act == "expect":
		if r.Expect = c.checkExpect(d, isHTTP, args, r); r.Expect == nil {
			return
		}
	case strings.HasPrefix(act, "set-var(") || strings.HasPrefix(act, "unset-var(") || strings.HasPrefix(act, "set-var-fmt("):
		open := strings.IndexByte(act, '(')
		if !strings.HasSuffix(act, ")") {
			c.ds.Alertf(d.ArgPos(0), "'%s %s' : missing closing parenthesis", d.Name, act)
			return
		}
		r.Action, r.Var, r.VarExpr = act[:open], act[open+1:len(act)-1], args
		if r.Action == "unset-var" && len(args) > 0 {
			c.ds.Alertf(args[0].Pos, "'%s %s' : no argument expected", d.Name, act)
			return
		}
		if r.Action != "unset-var" && len(args) == 0 {
			c.ds.Alertf(d.Pos, "'%s %s' : missing expression", d.Name, act)
			return
		}
		if !strings.HasPrefix(r.Var, "check.") && !strings.HasPrefix(r.Var, "proc.") {
			c.ds.Alertf(d.ArgPos(0), "'%s %s' : only 'check' and 'proc' variables may be used by checks", d.Name, act)
			return
		}
	default:
		if isHTTP {
			c.ds.Alertf(d.ArgPos(0), "'http-check' only supports 'comment', 'connect', 'send', 'expect', 'set-var', 'unset-var', 'disable-on-404' and 'send-state' (got '%s')", act)
		} else {
			c.ds.Alertf(d.ArgPos(0), "'tcp-check' only supports 'comment', 'connect', 'send', 'send-lf', 'send-binary', 'send-binary-lf', 'expect', 'set-var' and 'unset-var' (got '%s')", act)
		}
		return
	}
	if isHTTP {
		c.addHTTPRule(hc, r, d)
		return
	}
	hc.Rules = append(hc.Rules, r)
}

// addHTTPRule appends r, merging a send into the implicit one of "option
// httpchk" and refusing the orders HAProxy refuses (a send needs a
// connect before it once the ruleset has rules, an expect a send, a
// connect an expect).
func (c *compiler) addHTTPRule(hc *HealthCheck, r *CheckRule, d *config.Directive) {
	// The order is judged on the last rule that talks to the server:
	// variable rules sit anywhere, as in HAProxy.
	var last *CheckRule
	for i := len(hc.Rules) - 1; i >= 0; i-- {
		if a := hc.Rules[i].Action; a != "set-var" && a != "unset-var" && a != "set-var-fmt" {
			last = hc.Rules[i]
			break
		}
	}
	if r.Action == "set-var" || r.Action == "unset-var" || r.Action == "set-var-fmt" {
		hc.Rules = append(hc.Rules, r)
		return
	}
	step := len(hc.Rules) + 1
	switch {
	case last == nil || (last.Action == "send" && last.FromOption):
	case r.Action == "send" && last.Action != "connect":
		c.ds.Alertf(d.Pos, "'http-check send' : unable to add http-check send rule at step %d (missing connect rule).", step)
		return
	case r.Action == "expect" && last.Action != "send" && last.Action != "expect":
		c.ds.Alertf(d.Pos, "'http-check expect' : unable to add http-check expect rule at step %d (missing send rule).", step)
		return
	case r.Action == "connect" && last.Action != "expect":
		c.ds.Alertf(d.Pos, "'http-check connect' : unable to add http-check connect rule at step %d (missing expect rule).", step)
		return
	}
	if r.Action == "send" && len(hc.Rules) > 0 && hc.Rules[0].FromOption {
		// The explicit send overrides the option's request line where it
		// says something, and takes its place in the order.
		opt := hc.Rules[0].Request
		hc.Rules = hc.Rules[1:]
		rq := *opt
		mergeRequest(&rq, r.Request)
		rq.Headers, rq.Body, rq.BodyLF = r.Request.Headers, r.Request.Body, r.Request.BodyLF
		r.Request = &rq
	}
	hc.Rules = append(hc.Rules, r)
}

var checkStatuses = map[string][]string{
	"ok-status":    {"L7OK", "L7OKC", "L6OK", "L4OK"},
	"error-status": {"L7OKC", "L7RSP", "L7STS", "L6RSP", "L4CON"},
	"tout-status":  {"L7TOUT", "L6TOUT", "L4TOUT"},
}

func (c *compiler) checkExpect(d *config.Directive, isHTTP bool, args []config.Word, r *CheckRule) *CheckExpect {
	e := &CheckExpect{MinRecv: -1}
	kw := d.Name + " expect"
	i := 0
	next := func() (config.Word, bool) {
		if i+1 >= len(args) {
			c.ds.Alertf(args[i].Pos, "'%s' : '%s' expects an argument", kw, args[i].Text)
			return config.Word{}, false
		}
		i++
		return args[i], true
	}
	// Options may come before or after the pattern.
	for ; i < len(args); i++ {
		a := args[i].Text
		switch a {
		case "min-recv":
			v, ok := next()
			if !ok {
				return nil
			}
			n, err := strconv.Atoi(v.Text)
			if err != nil || n < -1 {
				c.ds.Alertf(v.Pos, "'%s' : 'min-recv' expects an integer >= -1 (got '%s')", kw, v.Text)
				return nil
			}
			e.MinRecv = n
		case "comment":
			v, ok := next()
			if !ok {
				return nil
			}
			r.Comment = v.Text
		case "ok-status", "error-status", "tout-status":
			v, ok := next()
			if !ok {
				return nil
			}
			valid := false
			for _, s := range checkStatuses[a] {
				valid = valid || s == v.Text
			}
			if !valid {
				c.ds.Alertf(v.Pos, "'%s' : '%s' only supports '%s' (got '%s')", kw, a, strings.Join(checkStatuses[a], "', '"), v.Text)
				return nil
			}
			switch a {
			case "ok-status":
				e.OKStatus = v.Text
			case "error-status":
				e.ErrorStatus = v.Text
			default:
				e.ToutStatus = v.Text
			}
		case "on-success", "on-error", "status-code":
			v, ok := next()
			if !ok {
				return nil
			}
			w := v
			switch a {
			case "on-success":
				e.OnSuccess = &w
			case "on-error":
				e.OnError = &w
			default:
				e.StatusCode = &w
			}
		case "!":
			e.Negate = true
		default:
			if e.Match != "" {
				c.ds.Alertf(args[i].Pos, "'%s' : unexpected argument '%s' after the pattern", kw, args[i].Text)
				return nil
			}
			m := a
			if strings.HasPrefix(m, "!") {
				e.Negate, m = true, m[1:]
			}
			valid := map[string]bool{"string": true, "rstring": true, "string-lf": true}
			if isHTTP {
				for _, k := range []string{"status", "rstatus", "hdr", "fhdr"} {
					valid[k] = true
				}
			} else {
				for _, k := range []string{"binary", "rbinary", "binary-lf"} {
					valid[k] = true
				}
			}
			if !valid[m] {
				c.ds.Alertf(args[i].Pos, "'%s' : unknown keyword '%s'", kw, a)
				return nil
			}
			e.Match = m
			if m == "hdr" || m == "fhdr" {
				if !c.headerPattern(kw, args, &i, e) {
					return nil
				}
				continue
			}
			v, ok := next()
			if !ok {
				return nil
			}
			e.Pattern = v
		}
	}
	if e.Match == "" {
		c.ds.Alertf(d.Pos, "'%s' : expects a pattern", kw)
		return nil
	}
	return e
}

// headerPattern reads "name|name-lf [-m meth] <n> [value|value-lf [-m
// meth] <v>]" after hdr/fhdr; i is left on the last word read.
func (c *compiler) headerPattern(kw string, args []config.Word, i *int, e *CheckExpect) bool {
	one := func(want string) (lf bool, meth string, w config.Word, ok bool) {
		if *i+1 >= len(args) || (args[*i+1].Text != want && args[*i+1].Text != want+"-lf") {
			return false, "", w, false
		}
		*i++
		lf = args[*i].Text == want+"-lf"
		meth = "str"
		if *i+2 < len(args) && args[*i+1].Text == "-m" {
			meth = args[*i+2].Text
			switch meth {
			case "str", "beg", "end", "sub", "reg":
			default:
				c.ds.Alertf(args[*i+2].Pos, "'%s' : '-m' only supports 'str', 'beg', 'end', 'sub' and 'reg' (got '%s')", kw, meth)
				return false, "", w, false
			}
			*i += 2
		}
		if *i+1 >= len(args) {
			c.ds.Alertf(args[*i].Pos, "'%s' : '%s' expects a pattern", kw, want)
			return false, "", w, false
		}
		*i++
		return lf, meth, args[*i], true
	}
	lf, meth, w, ok := one("name")
	if !ok {
		c.ds.Alertf(args[*i].Pos, "'%s' : '%s' expects 'name' or 'name-lf' and a pattern", kw, e.Match)
		return false
	}
	e.NameLF, e.NameMeth, e.Pattern = lf, meth, w
	if *i+1 < len(args) && strings.HasPrefix(args[*i+1].Text, "value") {
		lf, meth, w, ok := one("value")
		if !ok {
			return false
		}
		e.ValueLF, e.ValueMeth, e.Value = lf, meth, &w
	}
	return true
}

// mergeRequest writes the request-line parts that from sets into to.
func mergeRequest(to, from *CheckRequest) {
	if from.Method != "" {
		to.Method = from.Method
	}
	if from.URI != "" {
		to.URI, to.URILF = from.URI, from.URILF
	}
	if from.Version != "" {
		to.Version = from.Version
	}
}
