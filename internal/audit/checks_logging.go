package audit

import (
	"net/netip"
	"regexp"
	"strings"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

func checkAccessLogging(t *Target) Result {
	fes := frontends(t.Model)
	g := &t.Model.Global
	if len(fes) == 0 {
		// Access logs are written by frontends: with none there is no
		// access to log, whatever global says.
		return skip("no frontend: no access to log (the global log targets are judged by HAP-7.2)")
	}
	var evs []Evidence
	if len(g.Logs) == 0 {
		evs = append(evs, ev(t.globalPos(), Fail, "no 'log' target %s: 'log global' in the frontends sends nowhere", t.inGlobal()))
	} else {
		for _, l := range g.Logs {
			evs = append(evs, ev(l.Pos, Pass, "global log %s %s", l.Target, l.Facility))
		}
	}
	for _, p := range fes {
		var logLine *model.LogTarget
		for i, l := range p.Logs {
			if !l.Global || len(g.Logs) > 0 {
				logLine = &p.Logs[i]
			}
		}
		switch {
		case logLine == nil:
			evs = append(evs, ev(p.Pos, Fail, "%s '%s' does not log (no 'log' line of its own or from defaults; add 'log global')", p.Kind, p.Name))
		case p.LogFormat != "" || p.Option("httplog") || p.Option("httpslog") || p.Option("tcplog"):
			d := logFormatDirective(p)
			evs = append(evs, ev(directivePos(d, p.Pos), Pass, "%s '%s' logs with %s%s", p.Kind, p.Name, logFormatName(p), t.inherited(d)))
		default:
			evs = append(evs, ev(p.Pos, Warn, "%s '%s' logs the minimal default format (add 'option httplog' / 'option tcplog' / 'log-format')", p.Kind, p.Name))
		}
	}
	return summarize(evs, "global log target and detailed logs on every frontend", "access logging incomplete")
}

// logFormatDirective returns the line that chose p's detailed format.
func logFormatDirective(p *model.Proxy) *config.Directive {
	if p.LogFormat != "" {
		return proxyDirective(p, "log-format")
	}
	for _, o := range []string{"httpslog", "httplog", "tcplog"} {
		if p.Option(o) {
			return optionDirective(p, o)
		}
	}
	return nil
}

func logFormatName(p *model.Proxy) string {
	switch {
	case p.LogFormat != "":
		return "log-format"
	case p.Option("httpslog"):
		return "option httpslog"
	case p.Option("httplog"):
		return "option httplog"
	}
	return "option tcplog"
}

// remoteTarget reports whether a log target leaves the host.
func remoteTarget(target string) bool {
	if target == "" || strings.HasPrefix(target, "/") || target == "stdout" || target == "stderr" ||
		strings.HasPrefix(target, "fd@") || strings.HasPrefix(target, "unix@") || strings.HasPrefix(target, "ring@") {
		return false
	}
	if i := strings.Index(target, "@"); i >= 0 {
		target = target[i+1:]
	}
	host := target
	if i := strings.LastIndex(target, ":"); i >= 0 && !strings.HasSuffix(target, "]") {
		host = target[:i]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip, err := netip.ParseAddr(host); err == nil {
		return !ip.IsLoopback()
	}
	return !strings.EqualFold(host, "localhost")
}

// logFields are what HAP-7.2 asks a custom log-format to carry, each with
// the tags that satisfy it.
var logFields = []struct {
	name string
	re   *regexp.Regexp
}{
	{"frontend", regexp.MustCompile(`%\{?[^}]*\}?(f|ft|fi)\b|%f\b|%ft\b`)},
	{"backend", regexp.MustCompile(`%b\b`)},
	{"server", regexp.MustCompile(`%s\b`)},
	{"status", regexp.MustCompile(`%ST\b`)},
	{"timings", regexp.MustCompile(`%T[aqrRwcth]\b|%Tt\b`)},
}

func checkSIEM(t *Target) Result {
	var evs []Evidence
	all := append([]model.LogTarget(nil), t.Model.Global.Logs...)
	for _, p := range t.Model.Proxies {
		all = append(all, p.Logs...)
	}
	remote, local := 0, 0
	seen := map[string]bool{}
	for _, l := range all {
		if l.Global || seen[l.Pos.String()] {
			continue
		}
		seen[l.Pos.String()] = true
		if remoteTarget(l.Target) {
			remote++
			evs = append(evs, ev(l.Pos, Pass, "remote log target %s", l.Target))
		} else {
			local++
		}
	}
	switch {
	case remote == 0 && local == 0:
		evs = append(evs, ev(t.globalPos(), Fail, "no log target at all: no 'log' line %s or in any section", t.inGlobal()))
	case remote == 0:
		// A local syslog daemon usually is the forwarder (the guide's
		// "Syslog-NG / rsyslog -> SIEM"); the configuration cannot show
		// whether it forwards, so a person must look.
		evs = append(evs, ev(t.globalPos(), Manual, "only local log targets (no remote 'log' line %s): confirm that the local syslog daemon forwards to the SIEM", t.inGlobal()))
	}
	for _, p := range frontends(t.Model) {
		if p.LogJSON {
			evs = append(evs, ev(p.Pos, Pass, "%s '%s' logs ECS JSON (bulwark-log-json): frontend, backend, server, status and timings", p.Kind, p.Name))
			continue
		}
		if p.LogFormat == "" {
			continue
		}
		var missing []string
		for _, f := range logFields {
			if !f.re.MatchString(p.LogFormat) {
				missing = append(missing, f.name)
			}
		}
		pos := p.Pos
		if d := proxyDirective(p, "log-format"); d != nil {
			pos = d.Pos
		}
		if len(missing) > 0 {
			evs = append(evs, ev(pos, Warn, "%s '%s' log-format lacks %s", p.Kind, p.Name, strings.Join(missing, ", ")))
		}
	}
	r := summarize(evs, "logs leave the host with frontend, backend, server, status and timings", "log-format lacks fields the SIEM needs")
	switch r.Verdict {
	case Manual:
		r.Summary = "logs go to the local syslog daemon: confirm that it forwards them to the SIEM"
	case Fail:
		r.Summary = "no log target: nothing can reach a SIEM"
	}
	return r
}

// storesErrors reports whether stick-table arguments store error counters.
func storesErrors(args []string) bool {
	for i, a := range args {
		if a == "store" && i+1 < len(args) {
			for _, s := range strings.Split(args[i+1], ",") {
				n := fetchName(s)
				if strings.HasPrefix(n, "http_err_") || strings.HasPrefix(n, "http_fail_") {
					return true
				}
			}
		}
	}
	return false
}

// trackedTables returns the stick tables a frontend tracks into: its own
// (for track-scN without "table") and the named ones.
func trackedTables(m *model.Model, fe *model.Proxy) (tables []*model.Proxy, tracks bool) {
	seen := map[*model.Proxy]bool{}
	for _, list := range [][]*model.Rule{fe.TCPRequest, fe.HTTPRequest} {
		for _, r := range list {
			if !strings.HasPrefix(r.Action, "track-sc") {
				continue
			}
			tracks = true
			owner := fe
			for i, a := range r.Args {
				if a.Text == "table" && i+1 < len(r.Args) {
					owner = m.Backend(r.Args[i+1].Text)
					if owner == nil {
						owner = m.Frontend(r.Args[i+1].Text)
					}
				}
			}
			if owner != nil && !seen[owner] {
				seen[owner] = true
				tables = append(tables, owner)
			}
		}
	}
	return tables, tracks
}

// notRequired marks evidence about a frontend the control does not ask
// anything of (loopback or local sockets only): shown, but not counted.
func notRequired(p *model.Proxy, what string) Evidence {
	return ev(p.Pos, Skip, "%s '%s' listens on loopback or local sockets only: %s not required", p.Kind, p.Name, what)
}

// onlySkipped reports whether no evidence decides a verdict.
func onlySkipped(evs []Evidence) bool {
	for _, e := range evs {
		if e.Verdict != Skip {
			return false
		}
	}
	return true
}

func checkAbuseDetection(t *Target) Result {
	if r, ok := bulwarkAbuse(t); ok {
		return r
	}
	var evs []Evidence
	for _, fe := range appFrontends(t.Model) {
		tables, _ := trackedTables(t.Model, fe)
		found := false
		for _, tb := range tables {
			if tb.StickTable != nil && storesErrors(tb.StickTable.Args) {
				// Present is PASS wherever it is, a private or loopback
				// frontend included: show where.
				evs = append(evs, ev(tb.StickTable.Pos, Pass, "%s '%s' tracks error rates in table '%s'", fe.Kind, fe.Name, tb.Name))
				found = true
				break
			}
		}
		switch {
		case found:
		case exposed(fe):
			evs = append(evs, ev(fe.Pos, Warn, "%s '%s' does not track http_err_rate / http_fail_rate per client", fe.Kind, fe.Name))
		default:
			evs = append(evs, notRequired(fe, "error tracking"))
		}
	}
	if len(evs) == 0 {
		return skip("%s", noAppFrontend(t))
	}
	if onlySkipped(evs) {
		return Result{Verdict: Skip, Summary: "no exposed HTTP frontend (loopback or local sockets only)", Evidence: evs}
	}
	r := summarize(evs, "", "error patterns are not tracked on exposed frontends")
	if r.Verdict == Pass {
		r.Verdict, r.Summary = Manual, "error rates are tracked; confirm that alerts on them reach the SOC (TLS failures and flapping are outside the config)"
	}
	return r
}

func checkHealthChecks(t *Target) Result {
	var evs []Evidence
	for _, p := range t.Model.Backends() {
		if p.Disabled || len(p.Servers) == 0 {
			continue
		}
		var without []string
		for _, sv := range p.Servers {
			if !sv.Check && !sv.Disabled {
				without = append(without, sv.Name)
				evs = append(evs, ev(sv.Pos, Fail, "%s '%s' server '%s' has no 'check'", p.Kind, p.Name, sv.Name))
			}
		}
		if p.Mode == model.ModeHTTP && p.HTTPChk == nil && !p.Option("httpchk") {
			evs = append(evs, ev(p.Pos, Warn, "%s '%s' is HTTP but checks are TCP only (add 'option httpchk')", p.Kind, p.Name))
		}
		if len(without) == 0 {
			evs = append(evs, ev(p.Pos, Pass, "%s '%s': every server is checked", p.Kind, p.Name))
		}
	}
	if len(evs) == 0 {
		return skip("no backend with servers")
	}
	return summarize(evs, "every server is health-checked", "servers without health checks")
}

func checkRateLimit(t *Target) Result {
	var evs []Evidence
	for _, fe := range appFrontends(t.Model) {
		_, tracks := trackedTables(t.Model, fe)
		var deny *model.Rule
		for _, list := range [][]*model.Rule{fe.TCPRequest, fe.HTTPRequest} {
			for _, r := range list {
				if denyActions[r.Action] && condUses(fe, r.Cond, func(a *model.ACL) bool { return isRateFetch(a.Fetch) }) {
					deny = r
				}
			}
		}
		switch {
		case tracks && deny != nil:
			evs = append(evs, ev(deny.Pos, Pass, "%s '%s' tracks clients and denies past a rate%s", fe.Kind, fe.Name, t.inheritedRule(deny)))
		case !exposed(fe):
			evs = append(evs, notRequired(fe, "rate limiting"))
		case tracks:
			evs = append(evs, ev(fe.Pos, Fail, "%s '%s' tracks clients but never denies on a rate", fe.Kind, fe.Name))
		default:
			evs = append(evs, ev(fe.Pos, Fail, "%s '%s' has no rate limiting (no track-sc)", fe.Kind, fe.Name))
		}
	}
	if len(evs) == 0 {
		return skip("%s", noAppFrontend(t))
	}
	if onlySkipped(evs) {
		return Result{Verdict: Skip, Summary: "no exposed HTTP frontend (loopback or local sockets only)", Evidence: evs}
	}
	return summarize(evs, "every exposed HTTP frontend rate-limits clients", "exposed frontends without rate limiting")
}
