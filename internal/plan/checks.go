package plan

import (
	"crypto/tls"
	"encoding/hex"
	"regexp"
	"strings"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/health"
	"bulwark/internal/model"
	"bulwark/internal/srvstate"
	"bulwark/internal/tlsconf"
)

// compileCheck builds the script every checked server of p runs. The
// tcp-check and http-check patterns are compiled here, so "-c" reports a
// bad regex or hex string at its line and column.
func compileCheck(p *model.Proxy, set *acl.Set, ds *config.Diagnostics) *health.Script {
	hc := &p.Check
	// Rules the check kind ignores (the model warns of them) are compiled
	// all the same: HAProxy reports their errors when it parses them.
	if hc.Kind != model.CheckTCP {
		compileCheckRules(hc.Rules, false, set, ds)
	}
	if hc.Kind != model.CheckHTTP {
		compileCheckRules(hc.Rules, true, set, ds)
	}
	switch hc.Kind {
	case model.CheckRedis:
		return health.Redis()
	case model.CheckMySQL:
		return health.MySQL(hc.User, hc.Pre41)
	case model.CheckPgSQL:
		return health.PgSQL(hc.User)
	case model.CheckSMTP:
		return health.SMTP(hc.Hello)
	case model.CheckLDAP:
		return health.LDAP()
	case model.CheckSSLHello:
		return health.SSLHello()
	case model.CheckHTTP, model.CheckTCP:
	default:
		return health.TCPConnect()
	}
	isHTTP := hc.Kind == model.CheckHTTP
	s := &health.Script{Kind: health.KindTCP}
	if isHTTP {
		s.Kind = health.KindHTTP
	}
	rules := hc.Rules
	if isHTTP && len(rules) > 1 && rules[0].FromOption && rules[1].Action == "connect" {
		// The implicit send of "option httpchk" goes after the first
		// connect, as HAProxy moves it.
		rules = append([]*model.CheckRule{rules[1], rules[0]}, rules[2:]...)
	}
	s.Rules = compileCheckRules(rules, isHTTP, set, ds)
	// Finish adds the implicit first connect (and for HTTP the default
	// request and expect) as HAProxy does after parsing.
	s.Finish()
	return s
}

// compileCheckRules compiles the rules of one kind (http-check when isHTTP,
// else tcp-check); those of the other kind are ignored, as in HAProxy.
func compileCheckRules(rules []*model.CheckRule, isHTTP bool, set *acl.Set, ds *config.Diagnostics) []health.Rule {
	var out []health.Rule
	for _, r := range rules {
		if r.HTTP != isHTTP {
			continue
		}
		rule := health.Rule{Comment: r.Comment, Step: len(out) + 1}
		switch r.Action {
		case "connect":
			c := r.Connect
			rule.Action = health.Connect
			rule.Conn = health.ConnectRule{Default: c.Default, Port: c.Port, Addr: c.Addr, SSL: c.SSL,
				SNI: c.SNI, SendProxy: c.SendProxy, ViaSocks4: c.ViaSocks4, Linger: c.Linger}
			if c.ALPN != "" {
				rule.Conn.ALPN = strings.Split(c.ALPN, ",")
			}
			switch c.Proto {
			case "", "h1", "none":
			case "h2":
				rule.Conn.Proto = "h2"
			default:
				unsupportedAt(ds, r.Pos, "'http-check connect proto %s' is not supported by bulwark (h1 and h2 are)", c.Proto)
			}
		case "send":
			rule.Action = health.Send
			if r.Request != nil {
				rq := r.Request
				hr := &health.Request{Method: rq.Method, URI: rq.URI, Version: rq.Version}
				if rq.URILF {
					hr.URIFmt = checkFormat(set, ds, r.Pos, "http-check send uri-lf", rq.URI)
				}
				for _, h := range rq.Headers {
					// Header values are log-format strings.
					hr.Headers = append(hr.Headers, [2]string{h.Name, h.Value.Text})
					hr.HeaderFmts = append(hr.HeaderFmts, checkFormat(set, ds, h.Value.Pos, "http-check send hdr "+h.Name, h.Value.Text))
				}
				if rq.Body != nil {
					hr.Body = rq.Body.Text
					if rq.BodyLF {
						hr.BodyFmt = checkFormat(set, ds, rq.Body.Pos, "http-check send body-lf", rq.Body.Text)
					}
				}
				rule.HTTP = hr
			} else {
				rule.Data = []byte(r.Data.Text)
			}
		case "send-lf":
			rule.Action = health.Send
			rule.Data = []byte(r.Data.Text)
			rule.DataFmt = checkFormat(set, ds, r.Data.Pos, "tcp-check send-lf", r.Data.Text)
		case "send-binary-lf":
			rule.Action, rule.Hex = health.Send, true
			rule.DataFmt = checkFormat(set, ds, r.Data.Pos, "tcp-check send-binary-lf", r.Data.Text)
			if rule.DataFmt == nil {
				b, err := hex.DecodeString(r.Data.Text)
				if err != nil {
					ds.Alertf(r.Data.Pos, "'tcp-check %s' : '%s' is not a valid hexadecimal string", r.Action, r.Data.Text)
					continue
				}
				rule.Data, rule.Hex = b, false
			}
		case "set-var", "set-var-fmt", "unset-var":
			do := checkVarRule(set, ds, r.Pos, r.Action, r.Var, r.VarExpr)
			if do == nil {
				continue
			}
			rule.Action, rule.Do = health.Vars, do
		case "send-binary":
			rule.Action = health.Send
			b, err := hex.DecodeString(r.Data.Text)
			if err != nil {
				ds.Alertf(r.Data.Pos, "'tcp-check %s' : '%s' is not a valid hexadecimal string", r.Action, r.Data.Text)
				continue
			}
			rule.Data = b
		case "expect":
			e := compileExpect(r, set, ds)
			if e == nil {
				continue
			}
			rule.Action, rule.Exp = health.Expect, e
		default:
			continue
		}
		out = append(out, rule)
	}
	return out
}

func unsupportedAt(ds *config.Diagnostics, pos config.Pos, format string, args ...any) {
	n := len(*ds)
	ds.Alertf(pos, format, args...)
	(*ds)[n].Code = model.CodeUnsupported
}

func compileExpect(r *model.CheckRule, set *acl.Set, ds *config.Diagnostics) *health.ExpectRule {
	m := r.Expect
	e := &health.ExpectRule{Negate: m.Negate, MinRecv: m.MinRecv, Text: m.Pattern.Text}
	kw := "tcp-check expect"
	if r.HTTP {
		kw = "http-check expect"
	}
	re := func(w config.Word) *regexp.Regexp {
		x, err := regexp.Compile(w.Text)
		if err != nil {
			ds.Alertf(w.Pos, "'%s' : regex '%s' : %v", kw, w.Text, err)
		}
		return x
	}
	pat := m.Pattern
	switch m.Match {
	case "string", "string-lf":
		if m.Match == "string-lf" {
			e.LogFormat = true
			e.DataFmt = checkFormat(set, ds, pat.Pos, kw+" string-lf", pat.Text)
		}
		e.Match, e.Data = health.MatchString, []byte(pat.Text)
	case "binary", "binary-lf":
		if m.Match == "binary-lf" {
			e.LogFormat = true
			// The hex digits are rendered, then decoded, per run.
			if e.DataFmt = checkFormat(set, ds, pat.Pos, kw+" binary-lf", pat.Text); e.DataFmt != nil {
				e.Match = health.MatchBinary
				break
			}
		}
		b, err := hex.DecodeString(pat.Text)
		if err != nil {
			ds.Alertf(pat.Pos, "'%s binary' : '%s' is not a valid hexadecimal string", kw, pat.Text)
			return nil
		}
		e.Match, e.Data = health.MatchBinary, b
	case "rstring":
		e.Match, e.Re = health.MatchRegex, re(pat)
	case "rbinary":
		e.Match, e.Re = health.MatchBinRegex, re(pat)
	case "status":
		codes, ok := health.ParseCodes(pat.Text)
		if !ok {
			ds.Alertf(pat.Pos, "'%s status' : invalid status codes '%s' (expects a comma-separated list of codes or ranges)", kw, pat.Text)
			return nil
		}
		e.Match, e.Codes = health.MatchStatus, codes
	case "rstatus":
		e.Match, e.Re = health.MatchRStatus, re(pat)
	case "hdr", "fhdr":
		h := &health.HeaderMatch{Full: m.Match == "fhdr"}
		h.Name = health.StrMatch{Meth: m.NameMeth, S: pat.Text}
		if m.NameLF {
			h.NameFmt = checkFormat(set, ds, pat.Pos, kw+" hdr name-lf", pat.Text)
		}
		if m.NameMeth == "reg" {
			// Header names match without regard to case, regexes too.
			h.Name.Re = re(config.Word{Pos: pat.Pos, Text: "(?i)" + pat.Text})
		}
		if m.Value != nil {
			h.HasValue = true
			h.Value = health.StrMatch{Meth: m.ValueMeth, S: m.Value.Text}
			if m.ValueLF {
				h.ValueFmt = checkFormat(set, ds, m.Value.Pos, kw+" hdr value-lf", m.Value.Text)
			}
			if m.ValueMeth == "reg" {
				h.Value.Re = re(*m.Value)
			}
		}
		e.Match, e.Header = health.MatchHeader, h
	}
	if (e.Match == health.MatchRegex || e.Match == health.MatchBinRegex || e.Match == health.MatchRStatus) && e.Re == nil {
		return nil
	}
	if e.Header != nil && ((e.Header.Name.Meth == "reg" && e.Header.Name.Re == nil) || (e.Header.Value.Meth == "reg" && e.Header.Value.Re == nil)) {
		return nil
	}
	for _, st := range []struct {
		s   string
		dst *srvstate.CheckStatus
	}{{m.OKStatus, &e.OK}, {m.ErrorStatus, &e.Err}, {m.ToutStatus, &e.Tout}} {
		if st.s != "" {
			*st.dst = statusByName(st.s)
		}
	}
	// on-success and on-error are log-format strings, as the other
	// formats of a check: literal text, %% and %[sample] expressions.
	if m.OnSuccess != nil {
		if e.OnSuccessFmt = checkFormat(set, ds, m.OnSuccess.Pos, kw+" on-success", m.OnSuccess.Text); e.OnSuccessFmt == nil {
			e.OnSuccess = m.OnSuccess.Text
		}
	}
	if m.OnError != nil {
		if e.OnErrorFmt = checkFormat(set, ds, m.OnError.Pos, kw+" on-error", m.OnError.Text); e.OnErrorFmt == nil {
			e.OnError = m.OnError.Text
		}
	}
	if m.StatusCode != nil {
		e.StatusCode = checkCode(set, ds, m.StatusCode.Pos, kw+" status-code", m.StatusCode.Text)
	}
	return e
}

// checkMuxProto refuses a "check-proto" of the wrong mode on a checked
// server, as HAProxy 2.6 does: an HTTP multiplexer (h1 too) for checks
// that speak raw bytes (tcp-check, protocol checks, a plain connect),
// the TCP one ("none") for an httpchk.
func checkMuxProto(p *model.Proxy, ds *config.Diagnostics) {
	httpChk := p.Check.Kind == model.CheckHTTP
	for _, s := range p.Servers {
		if s.Check && s.CheckProto != "" && httpChk == (s.CheckProto == "none") {
			ds.Alertf(s.CheckProtoPos, "%s '%s': server '%s' uses an incompatible MUX protocol for the selected check type", p.Kind, p.Name, s.Name)
		}
	}
}

func statusByName(s string) srvstate.CheckStatus {
	for c := srvstate.CheckUnknown; c <= srvstate.CheckL7STS; c++ {
		if c.String() == s {
			return c
		}
	}
	return srvstate.CheckUnknown
}

// compileCheckTLS returns the TLS settings of servers checked over TLS
// ("check-ssl"): the server's own when it has "ssl", else built from its
// TLS options the same way.
func compileCheckTLS(m *model.Model, p *model.Proxy, pp *Proxy, opt tlsconf.Options, ds *config.Diagnostics) map[*model.Server]*tls.Config {
	var out map[*model.Server]*tls.Config
	for _, s := range p.Servers {
		if s.AgentCheck && s.AgentPort == 0 {
			ds.Alertf(s.Pos, "%s '%s': server '%s': agent-check enabled but no agent-port", p.Kind, p.Name, s.Name)
		}
		if !s.Check || !s.CheckSSL {
			continue
		}
		cfg := pp.ServerTLS[s]
		if cfg == nil {
			var warns []string
			var err error
			if cfg, warns, err = tlsconf.ServerConfigWith(s, &m.Global.SSL, opt); err != nil {
				ds.Alertf(s.Pos, "%s '%s': server '%s': check-ssl: %v", p.Kind, p.Name, s.Name, err)
				continue
			}
			for _, w := range warns {
				ds.Warnf(s.Pos, "%s '%s': server '%s': check-ssl: %s", p.Kind, p.Name, s.Name, w)
			}
		}
		if out == nil {
			out = map[*model.Server]*tls.Config{}
		}
		out[s] = cfg
	}
	return out
}
