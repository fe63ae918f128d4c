package model

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/balance"
	"bulwark/internal/config"
	"bulwark/internal/units"
)

// supportedOptions are the "option" keywords Bulwark runs. Options that
// only tune HAProxy internals with no effect on behaviour in Bulwark are
// listed too, so that existing configurations load.
var supportedOptions = map[string]bool{
	"httplog": true, "tcplog": true, "httpslog": true, "dontlognull": true,
	"forwardfor": true, "http-keep-alive": true, "http-server-close": true,
	"httpclose": true, "redispatch": true, "allbackups": true, "httpchk": true,
	"idle-close-on-response": true, "prefer-last-server": true, "http-buffer-request": true,
	"tcpka": true, "clitcpka": true, "srvtcpka": true,
	"tcp-check": true, "redis-check": true, "mysql-check": true, "pgsql-check": true, "smtpchk": true,
	"ldap-check": true, "ssl-hello-chk": true, "log-health-checks": true,
	"persist": true, "http-pretend-keepalive": true, "http-use-proxy-header": true, "originalto": true, "http-restrict-req-hdr-names": true,
	"logasap": true, "log-separate-errors": true, "transparent": true, "abortonclose": true,
	"splice-auto": true, "splice-request": true, "splice-response": true,
}

// noEffectOptions are accepted with a warning: they tune HAProxy internals
// that Bulwark does not have.
var noEffectOptions = map[string]bool{
	"nolinger": true,
}

// proxyDirective applies one directive to p. inherited is true for lines
// that come from a defaults section.
func (c *compiler) proxyDirective(p *Proxy, s *config.Section, d *config.Directive, inherited bool) {
	p.Directives = append(p.Directives, d)
	switch d.Name {
	case "mode":
		switch d.Arg(0) {
		case "http":
			p.Mode = ModeHTTP
		case "tcp":
			p.Mode = ModeTCP
		case "health":
			c.unsupported(d.Pos, "'mode health' is not supported by bulwark (removed in HAProxy 2.4)")
		default:
			c.ds.Alertf(d.ArgPos(0), "unknown proxy mode '%s' (expects 'http' or 'tcp')", d.Arg(0))
		}
	case "timeout":
		c.timeout(p, d)
	case "contimeout", "clitimeout", "srvtimeout":
		c.ds.Alertf(d.Pos, "the '%s' directive is not supported anymore since HAProxy 2.1. Use 'timeout' instead", d.Name)
	case "maxconn":
		p.MaxConn = c.intArg(d, 0, 1<<30)
	case "backlog":
		p.Backlog = c.intArg(d, 0, 1<<30)
	case "fullconn":
	case "retries":
		p.Retries = c.intArg(d, 0, 1<<20)
	case "retry-on":
		if p.Cap&CapBackend == 0 {
			// HAProxy refuses it here rather than ignoring it.
			if !inherited {
				c.ds.Alertf(d.Pos, "'retry-on' only available in backend or listen section")
			}
			return
		}
		c.retryOn(p, d)
	case "bind":
		if b := c.bind(d); b != nil {
			p.Binds = append(p.Binds, b)
		}
	case "server":
		if sv := c.server(p, d); sv != nil {
			if p.Servers == nil && c.serverHint > 0 {
				p.Servers = make([]*Server, 0, c.serverHint)
			}
			p.Servers = append(p.Servers, sv)
		}
	case "server-template":
		if p.Cap&CapBackend == 0 {
			if !inherited {
				c.ds.Alertf(d.Pos, "'%s' not allowed in a frontend section", d.Name)
			}
			return
		}
		p.Servers = append(p.Servers, c.serverTemplate(p, d)...)
	case "default-server":
		c.serverOptions(&p.DefaultServer, d, 0, true)
	case "balance":
		// A bare "balance" line is roundrobin, as in HAProxy 2.6.
		p.Balance, p.BalancePos = d.Texts(), d.Pos
		if len(d.Args) == 0 {
			p.Balance = []string{"roundrobin"}
			p.LB = balance.Params{}
			return
		}
		c.checkBalance(p, d)
	case "hash-type":
		p.HashType = d.Texts()
		c.hashType(p, d)
	case "option", "no", "default":
		c.option(p, d, inherited)
	case "acl":
		c.acl(p, d)
	case "http-request", "http-response", "http-after-response":
		c.httpRule(p, s, d, inherited)
	case "tcp-request", "tcp-response":
		c.tcpRule(p, s, d, inherited)
	case "redirect":
		if r := c.rule(p, d, d.Name, 0); r != nil {
			p.Redirects = append(p.Redirects, r)
		}
	case "use_backend":
		c.useBackend(p, d)
	case "default_backend":
		if len(d.Args) != 1 {
			c.ds.Alertf(d.Pos, "'default_backend' expects a backend name")
			return
		}
		p.DefaultBackend, p.DefBackendPos = d.Arg(0), d.Pos
	case "use-server":
		if r := c.rule(p, d, d.Name, 0); r != nil {
			p.UseServers = append(p.UseServers, r)
		}
	case "stick-table":
		if p.StickTable != nil && !inherited {
			c.ds.Alertf(d.Pos, "only one stick-table per proxy is allowed (previous at %s)", p.StickTable.Pos)
		}
		p.StickTable = &StickTable{Pos: d.Pos, Args: d.Texts()}
	case "cookie":
		c.cookie(p, d)
	case "dynamic-cookie-key":
		if len(d.Args) != 1 {
			c.ds.Alertf(d.Pos, "'%s' expects <secret_key> as argument.", d.Name)
			return
		}
		p.DynamicCookieKey = d.Arg(0)
	case "force-persist", "ignore-persist":
		if len(d.Args) == 0 || (d.Arg(0) != "if" && d.Arg(0) != "unless") {
			c.ds.Alertf(d.Pos, "'%s' requires either 'if' or 'unless' followed by a condition.", d.Name)
			return
		}
		if r := c.rule(p, d, d.Name, 0); r != nil {
			p.PersistRules = append(p.PersistRules, r)
		}
	case "appsession":
		c.ds.Alertf(d.Pos, "'%s' is not supported anymore since HAProxy 1.6.", d.Name)
	case "stick":
		c.stick(p, d)
	case "stats":
		c.stats(p, d)
	case "log":
		c.log(&p.Logs, d)
	case "log-format":
		if len(d.Args) != 1 {
			c.ds.Alertf(d.Pos, "'log-format' expects one argument (quote the format string)")
			return
		}
		p.LogFormat, p.LogFormatPos = d.Arg(0), formatPos(d)
	case "log-format-sd", "error-log-format", "unique-id-format":
		if len(d.Args) != 1 {
			c.ds.Alertf(d.Pos, "'%s' expects one argument (quote the format string)", d.Name)
			return
		}
		switch d.Name {
		case "log-format-sd":
			p.LogFormatSD, p.LogFormatSDPos = d.Arg(0), formatPos(d)
		case "error-log-format":
			p.ErrorLogFormat, p.ErrorLogFormatPos = d.Arg(0), formatPos(d)
		default:
			p.UniqueIDFormat, p.UniqueIDFmtPos = d.Arg(0), formatPos(d)
		}
	case "unique-id-header":
		if len(d.Args) != 1 {
			c.ds.Alertf(d.Pos, "'unique-id-header' expects one argument")
			return
		}
		p.UniqueIDHeader = d.Arg(0)
	case "log-tag":
		p.LogTag = d.Arg(0)
	case "errorfile", "errorfiles", "errorloc", "errorloc302", "errorloc303", "http-error":
		c.errorDirective(p, d, inherited)
	case "http-reuse":
		switch d.Arg(0) {
		case "never", "safe", "aggressive", "always":
			p.HTTPReuse = d.Arg(0)
		default:
			c.ds.Alertf(d.ArgPos(0), "'http-reuse' expects 'never', 'safe', 'aggressive' or 'always'")
		}
	case "capture":
		c.capture(p, d)
	case "declare":
		c.declareCapture(p, d)
	case "persist":
		switch arg := d.Arg(0); {
		case arg == "":
			c.ds.Alertf(d.Pos, "missing persist method.")
		case arg == "rdp-cookie":
			p.PersistRDP = "msts"
		case strings.HasPrefix(arg, "rdp-cookie("):
			name := strings.TrimSuffix(arg[len("rdp-cookie("):], ")")
			if name == "" || !strings.HasSuffix(arg, ")") {
				c.ds.Alertf(d.ArgPos(0), "persist rdp-cookie(name)' requires an rdp cookie name.")
				return
			}
			p.PersistRDP = name
		default:
			c.ds.Alertf(d.ArgPos(0), "unknown persist method.")
		}
	case "source":
		if len(d.Args) == 0 {
			c.ds.Alertf(d.Pos, "'source' expects <addr>[:<port>] as argument.")
			return
		}
		if err := checkSource(d.Arg(0)); err != nil {
			c.ds.Alertf(d.ArgPos(0), "'source' : %v", err)
			return
		}
		if len(d.Args) == 3 && d.Arg(1) == "usesrc" {
			if err := checkUseSrc(d.Arg(2)); err != nil {
				c.unsupported(d.ArgPos(2), "'usesrc %s' %v", d.Arg(2), err)
				return
			}
			p.UseSrc = d.Arg(2)
		} else if len(d.Args) > 1 {
			c.unsupported(d.ArgPos(1), "'source … %s' is not supported by bulwark (interface binding is not done)", d.Arg(1))
			return
		}
		p.Source = d.Arg(0)
	case "compression":
		c.compression(p, s, d)
	case "filter":
		if d.Arg(0) == "fcgi-app" {
			c.useFCGIApp(p, d, d.Arg(1))
			return
		}
		c.filter(p, s, d)
	case "use-fcgi-app":
		c.useFCGIApp(p, d, d.Arg(0))
	case "load-server-state-from-file":
		switch d.Arg(0) {
		case "global", "local", "none":
			p.LoadServerState = d.Arg(0)
		default:
			c.ds.Alertf(d.Pos, "'load-server-state-from-file' expects 'global', 'local' or 'none'. Got '%s'", d.Arg(0))
		}
	case "server-state-file-name":
		switch {
		case len(d.Args) > 1:
			c.ds.Alertf(d.Pos, "'server-state-file-name' expects at most one argument")
		case len(d.Args) == 0 || d.Arg(0) == "use-backend-name":
			p.ServerStateFileName = ""
		default:
			p.ServerStateFileName = d.Arg(0)
		}
	case "id":
		// "id <n>": the proxy's numeric id (fe_id, be_id, the stats
		// iid); the others are numbered around it (model.Compile).
		n, err := strconv.Atoi(d.Arg(0))
		if err != nil || n <= 0 {
			c.ds.Alertf(d.ArgPos(0), "'id' expects a positive integer argument, got '%s'", d.Arg(0))
		} else {
			p.ExplicitID = n
		}
	case "description", "rate-limit":
		if d.Name == "rate-limit" {
			c.unsupported(d.Pos, "'%s' is not supported by bulwark", d.Name)
		}
	case "dispatch":
		if len(d.Args) != 1 {
			c.ds.Alertf(d.Pos, "'dispatch' expects <addr>:<port> as argument")
			return
		}
		p.dispatch = d
	case "monitor-uri":
		if len(d.Args) != 1 || d.Arg(0) == "" {
			c.ds.Alertf(d.Pos, "'monitor-uri' expects an URI.")
			return
		}
		// The last one wins (CM 4.2).
		p.MonitorURI = d.Arg(0)
	case "monitor":
		if d.Arg(0) != "fail" || len(d.Args) < 3 || d.Arg(1) != "if" && d.Arg(1) != "unless" {
			c.ds.Alertf(d.Pos, "'monitor' expects 'fail' followed by 'if' or 'unless' and a condition")
			return
		}
		if r := c.rule(p, d, "monitor fail", 1); r != nil {
			p.MonitorFail = append(p.MonitorFail, r)
		}
	case "disabled":
		p.Disabled = true
	case "enabled":
		p.Disabled = false
	case "http-check", "tcp-check":
		c.checkRule(p, d, inherited)
	case "bulwark-log-json":
		// Bulwark-only (docs/extensions.md): access log lines as JSON
		// with Elastic Common Schema field names.
		p.LogJSON = true
	default:
		if _, known := config.LookupKeyword(s.Kind, d.Name); !known {
			return // the parser already reported the unknown keyword
		}
		c.unsupported(d.Pos, "'%s' is not supported by bulwark", d.Name)
	}
}

// capture reads "capture request|response header <name> len <length>";
// "capture cookie" is refused.
func (c *compiler) capture(p *Proxy, d *config.Directive) {
	if d.Arg(0) == "cookie" {
		c.unsupported(d.Pos, "'capture cookie' is not supported by bulwark yet")
		return
	}
	if len(d.Args) != 5 || (d.Arg(0) != "request" && d.Arg(0) != "response") || d.Arg(1) != "header" || d.Arg(3) != "len" {
		c.ds.Alertf(d.Pos, "'capture' expects 'request header <name> len <length>' or 'response header <name> len <length>'")
		return
	}
	n, err := strconv.Atoi(d.Arg(4))
	if err != nil || n <= 0 || n > 65536 {
		c.ds.Alertf(d.ArgPos(4), "'capture %s header' : invalid length '%s'", d.Arg(0), d.Arg(4))
		return
	}
	p.Captures = append(p.Captures, Capture{Pos: d.Pos, Response: d.Arg(0) == "response", Name: d.Arg(2), Len: n})
}

// declareCapture reads "declare capture request|response len <length>": a
// slot for "http-request capture ... id <n>" to fill. The messages are
// HAProxy's.
func (c *compiler) declareCapture(p *Proxy, d *config.Directive) {
	switch {
	case d.Arg(0) != "capture":
		return // the parser reported it
	case d.Arg(1) != "request" && d.Arg(1) != "response":
		c.ds.Alertf(d.Pos, "'declare capture' requires a direction ('request' or 'response')")
		return
	case d.Arg(2) != "len":
		c.ds.Alertf(d.Pos, "'declare capture' requires a capture length ('len')")
		return
	case d.Arg(3) == "":
		c.ds.Alertf(d.Pos, "'declare capture': 'len' requires a numeric value that represents the capture length")
		return
	}
	if len(d.Args) > 4 {
		// HAProxy ignores them without a word.
		c.ds.Warnf(d.ArgPos(4), "'declare capture' : argument '%s' is ignored", d.Arg(4))
	}
	n, err := strconv.Atoi(d.Arg(3))
	if err != nil {
		c.ds.Alertf(d.ArgPos(3), "'declare capture': cannot parse the length '%s'.", d.Arg(3))
		return
	}
	if n <= 0 {
		c.ds.Alertf(d.ArgPos(3), "length must be > 0")
		return
	}
	p.Captures = append(p.Captures, Capture{Pos: d.Pos, Response: d.Arg(1) == "response", Len: n})
}

// checkErrorFile reads the file as HAProxy does at load time (relative
// paths are relative to the working directory): it must exist and start
// with an HTTP status line. The auditor skips this, as it may run away
// from the deployment's files.
func (c *compiler) checkErrorFile(d *config.Directive) {
	if c.opt.Audit {
		return
	}
	name := d.Arg(1)
	f, err := os.Open(name)
	if err != nil {
		c.ds.Alertf(d.ArgPos(1), "errorfile : error opening file '%s'", name)
		return
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	// An empty file is HAProxy's way to send nothing and close (CM 4.2
	// "errorfile": "errorfile 408 /dev/null").
	if n > 0 && !bytes.HasPrefix(head[:n], []byte("HTTP/")) {
		c.ds.Alertf(d.ArgPos(1), "errorfile : '%s': unable to parse headers (the file must start with an HTTP status line)", name)
	}
}

var errorfileCodes = map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 405: true, 407: true,
	408: true, 410: true, 413: true, 425: true, 429: true, 500: true, 501: true, 502: true, 503: true, 504: true}

func (c *compiler) intArg(d *config.Directive, i int, max uint64) int {
	if len(d.Args) <= i {
		c.ds.Alertf(d.Pos, "'%s' expects an integer argument", d.Name)
		return 0
	}
	n, err := units.ParseUint(d.Arg(i), max)
	if err != nil {
		c.ds.Alertf(d.ArgPos(i), "'%s' : %v", d.Name, err)
		return 0
	}
	return int(n)
}

func (c *compiler) timeout(p *Proxy, d *config.Directive) {
	if len(d.Args) != 2 {
		c.ds.Alertf(d.Pos, "'timeout %s' expects an integer value (in milliseconds)", d.Arg(0))
		return
	}
	v, warn, err := units.ParseTimeLax(d.Arg(1), time.Millisecond)
	if err != nil {
		c.ds.Alertf(d.ArgPos(1), "'timeout %s' : %v", d.Arg(0), err)
		return
	}
	if warn != "" {
		c.ds.Warnf(d.ArgPos(1), "'timeout %s' : %s", d.Arg(0), warn)
	}
	t := &p.Timeouts
	switch d.Arg(0) {
	case "client":
		t.Client = v
	case "server":
		t.Server = v
	case "connect":
		t.Connect = v
	case "http-request":
		t.HTTPRequest = v
	case "http-keep-alive":
		t.HTTPKeepAlive = v
	case "queue":
		t.Queue = v
	case "tunnel":
		t.Tunnel = v
	case "client-fin":
		t.ClientFin = v
	case "server-fin":
		t.ServerFin = v
	case "check":
		t.Check = v
	case "tarpit":
		t.Tarpit = v
	default:
		c.ds.Alertf(d.ArgPos(0), "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '%s')", d.Arg(0))
	}
}

func (c *compiler) option(p *Proxy, d *config.Directive, inherited bool) {
	args := d.Args
	enable := true
	reset := false
	if d.Name == "no" || d.Name == "default" {
		if len(args) == 0 || args[0].Text != "option" {
			if d.Name == "no" && len(args) > 0 && args[0].Text == "log" {
				p.Logs = nil
				return
			}
			c.ds.Alertf(d.Pos, "'%s' expects 'option' after it", d.Name)
			return
		}
		enable = d.Name == "no"
		enable = !enable
		reset = d.Name == "default"
		args = args[1:]
	}
	if len(args) == 0 {
		c.ds.Alertf(d.Pos, "'option' expects an option name")
		return
	}
	name := args[0].Text
	switch KeywordSupport(FamilyOption, name) {
	case NoEffect:
		c.noEffect(args[0].Pos, "'option %s'", name)
		return
	case Implemented:
	default:
		c.unsupported(args[0].Pos, "'option %s' is not supported by bulwark", name)
		return
	}
	if reset {
		delete(p.Options, name)
		return
	}
	// The three connection modes exclude one another; the last one wins.
	switch name {
	case "http-keep-alive", "http-server-close", "httpclose":
		if enable {
			delete(p.Options, "http-keep-alive")
			delete(p.Options, "http-server-close")
			delete(p.Options, "httpclose")
		}
	case "httplog", "tcplog", "httpslog":
		if enable {
			delete(p.Options, "httplog")
			delete(p.Options, "tcplog")
			delete(p.Options, "httpslog")
		}
	}
	p.Options[name] = enable
	p.OptionArgs[name] = d
	rest := args[1:]
	if name == "httplog" {
		p.HTTPLogCLF = enable && len(rest) > 0 && rest[0].Text == "clf"
	}
	switch name {
	case "forwardfor":
		if !enable {
			p.ForwardFor = nil
			return
		}
		ff := &ForwardFor{Header: "X-Forwarded-For"}
		for i := 0; i < len(rest); i++ {
			switch rest[i].Text {
			case "except", "header":
				if i+1 >= len(rest) {
					c.ds.Alertf(rest[i].Pos, "'option forwardfor %s' expects a value", rest[i].Text)
					return
				}
				if rest[i].Text == "except" {
					ff.Except = rest[i+1].Text
				} else {
					ff.Header = rest[i+1].Text
				}
				i++
			case "if-none":
				ff.IfNone = true
			default:
				c.ds.Alertf(rest[i].Pos, "'option forwardfor' only supports optional values: 'header', 'if-none' and 'except' (got '%s')", rest[i].Text)
				return
			}
		}
		p.ForwardFor = ff
	case "originalto":
		if !enable {
			p.OriginalTo = nil
			return
		}
		ot := &ForwardFor{Header: "X-Original-To"}
		for i := 0; i < len(rest); i++ {
			switch rest[i].Text {
			case "except", "header":
				if i+1 >= len(rest) {
					c.ds.Alertf(rest[i].Pos, "'option originalto %s' expects a value", rest[i].Text)
					return
				}
				if rest[i].Text == "except" {
					ot.Except = rest[i+1].Text
				} else {
					ot.Header = rest[i+1].Text
				}
				i++
			default:
				c.ds.Alertf(rest[i].Pos, "'option originalto' only supports optional values: 'header' and 'except' (got '%s')", rest[i].Text)
				return
			}
		}
		p.OriginalTo = ot
	case "http-restrict-req-hdr-names":
		if len(rest) != 1 || rest[0].Text != "preserve" && rest[0].Text != "delete" && rest[0].Text != "reject" {
			c.ds.Alertf(d.Pos, "'option http-restrict-req-hdr-names' expects 'preserve', 'delete' or 'reject'")
			return
		}
		if !enable {
			c.ds.Alertf(d.Pos, "'%s option http-restrict-req-hdr-names' is not supported", d.Name)
			return
		}
		p.RestrictHdrNames = rest[0].Text
	case "redispatch":
		p.Redispatch = -1
		if !enable {
			p.Redispatch = 0
		} else if len(rest) > 0 {
			n, err := strconv.Atoi(rest[0].Text)
			if err != nil {
				c.ds.Alertf(rest[0].Pos, "'option redispatch' expects an optional integer interval")
				return
			}
			p.Redispatch = n
		}
	case "httpchk", "tcp-check", "redis-check", "mysql-check", "pgsql-check", "smtpchk", "ldap-check", "ssl-hello-chk":
		if enable {
			for other := range checkOptions {
				if other != name {
					delete(p.Options, other)
				}
			}
			c.checkOption(p, d, name, rest, inherited)
		} else if p.Check.Kind == checkOptions[name] {
			p.Check.Kind, p.HTTPChk = CheckPlain, nil
		}
	case "httplog":
		if len(rest) > 0 && rest[0].Text != "clf" {
			c.ds.Alertf(rest[0].Pos, "'option httplog' only supports the optional argument 'clf'")
		}
	default:
		if len(rest) > 0 {
			c.ds.Alertf(rest[0].Pos, "'option %s' does not take an argument (got '%s')", name, rest[0].Text)
		}
	}
}

func (c *compiler) useBackend(p *Proxy, d *config.Directive) {
	if len(d.Args) == 0 {
		c.ds.Alertf(d.Pos, "'use_backend' expects a backend name")
		return
	}
	ub := &UseBackend{Pos: d.Pos, Backend: d.Arg(0), Dynamic: strings.Contains(d.Arg(0), "%")}
	if len(d.Args) > 1 {
		cond, ok := c.cond(p, d.Args[1:], d.Pos)
		if !ok {
			return
		}
		ub.Cond = cond
	}
	p.UseBackends = append(p.UseBackends, ub)
}

// checkBalance parses "balance" with the parser the balancer is built
// from, so that what -c accepts is what runs.
func (c *compiler) checkBalance(p *Proxy, d *config.Directive) {
	lb, err := balance.ParseParams(d.Texts())
	if err != nil {
		c.ds.Alertf(d.ArgPos(0), "%s '%s': 'balance' %v", p.Kind, p.Name, err)
		return
	}
	p.LB = lb
}

func (c *compiler) hashType(p *Proxy, d *config.Directive) {
	h, err := balance.ParseHashType(d.Texts())
	if err != nil {
		at := d.Pos
		if len(d.Args) > 0 {
			at = d.ArgPos(0)
		}
		c.ds.Alertf(at, "%s '%s': %v", p.Kind, p.Name, err)
		return
	}
	p.Hash = h
}

// finishProxy applies HAProxy's post-parse rules and warnings.
func (c *compiler) finishProxy(p *Proxy) {
	if p.Disabled {
		return
	}
	c.warnHTTPInTCP(p)
	c.warnIgnoredCheckRules(p)
	if p.Cap&CapFrontend != 0 && len(p.Binds) == 0 {
		// Only a warning in HAProxy; "-c" then exits 2 when no other
		// proxy listens.
		c.ds.Warnf(p.Pos, "%s '%s' has no 'bind' directive. Please declare it as a backend if this was intended", p.Kind, p.Name)
	}
	if p.Cap&CapFrontend != 0 && p.Timeouts.Client == 0 {
		c.ds.Warnf(p.Pos, "missing timeouts for %s '%s'. While not properly invalid, you will certainly encounter various problems with such a configuration. To fix this, please ensure that all following timeouts are set to a non-zero value: 'client', 'connect', 'server'", p.Kind, p.Name)
	} else if p.Cap&CapBackend != 0 && (p.Timeouts.Connect == 0 || p.Timeouts.Server == 0) && (len(p.Servers) > 0 || p.Cap&CapFrontend != 0) {
		c.ds.Warnf(p.Pos, "missing timeouts for %s '%s'. While not properly invalid, you will certainly encounter various problems with such a configuration. To fix this, please ensure that all following timeouts are set to a non-zero value: 'client', 'connect', 'server'", p.Kind, p.Name)
	}
	for _, b := range p.Binds {
		if b.Proto != "" && muxProtos[b.Proto] && !bindProtoUsable(p.Mode, b.Proto) {
			raw := make([]string, len(b.Addrs))
			for i, a := range b.Addrs {
				raw[i] = a.Raw
			}
			c.ds.Alertf(b.ProtoPos, "%s '%s' : MUX protocol '%s' is not usable for 'bind %s' at [%s]", p.Kind, p.Name, b.Proto, strings.Join(raw, ","), b.Pos)
		}
	}
	for _, sv := range p.Servers {
		if sv.Proto == "h2" && p.Mode != ModeHTTP {
			c.ds.Alertf(sv.ProtoPos, "%s '%s' : MUX protocol '%s' is not usable for server '%s' at [%s].", p.Kind, p.Name, sv.Proto, sv.Name, sv.Pos)
		}
	}
	seen := make(map[string]*Server, len(p.Servers))
	for i, sv := range p.Servers {
		if sv.ID == 0 {
			sv.ID = i + 1
		}
		if prev, ok := seen[sv.Name]; ok {
			c.ds.Alertf(sv.Pos, "%s '%s' : server '%s' has the same name as another server declared at %s", p.Kind, p.Name, sv.Name, prev.Pos)
			continue
		}
		seen[sv.Name] = sv
		// HAProxy 2.6 refuses a checked server it could not connect to.
		// An SRV name ("_http._tcp.example") brings its port from DNS.
		if sv.Check && sv.Port == 0 && sv.Addr.PortLow == 0 && !sv.Addr.PortDelta && strings.HasPrefix(sv.Addr.Net, "tcp") &&
			!strings.HasPrefix(sv.Addr.Host, "_") && !checkHasPort(p) {
			c.ds.Alertf(sv.Pos, "config: %s '%s': server '%s' has neither service port nor check port.", p.Kind, p.Name, sv.Name)
		}
	}
}

// checkHasPort reports a check script whose first step connects to a
// port of its own ("tcp-check connect port N").
func checkHasPort(p *Proxy) bool {
	for _, d := range p.Directives {
		if (d.Name == "tcp-check" || d.Name == "http-check") && d.Arg(0) == "connect" {
			for i := 1; i+1 < len(d.Args); i++ {
				if d.Arg(i) == "port" {
					return true
				}
			}
		}
	}
	return false
}

// formatPos is where the text of a format string argument starts: after
// its opening quote, so that an error at byte n of the string is at
// column Col+n.
func formatPos(d *config.Directive) config.Pos {
	pos := d.ArgPos(0)
	if len(d.Args) > 0 && d.Args[0].Quoted && pos.Col > 0 {
		pos.Col++
	}
	return pos
}

// warnHTTPInTCP warns about HTTP rules of a TCP proxy, which only run
// when a "tcp-request content switch-mode http" rule upgrades its
// sessions; with one, HAProxy says nothing (CM 4.2).
func (c *compiler) warnHTTPInTCP(p *Proxy) {
	for _, r := range p.TCPRequest {
		if r.Action == "switch-mode" {
			return
		}
	}
	for _, d := range p.httpInTCP {
		c.ds.Warnf(d.Pos, "'%s' rules ignored for %s '%s' as they require HTTP mode", d.Name, p.Kind, p.Name)
	}
}
