package model

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"bulwark/internal/config"
)

// dumpModel renders a compiled Model as stable, readable text for golden
// files: every map is sorted and positions are written as line:column.
func dumpModel(m *Model, ds config.Diagnostics) string {
	var b strings.Builder
	w := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	g := m.Global
	w(0, "global")
	w(1, "user=%q group=%q uid=%d gid=%d chroot=%q pidfile=%q daemon=%v", g.User, g.Group, g.UID, g.GID, g.Chroot, g.PidFile, g.Daemon)
	w(1, "maxconn=%d nbthread=%d hard-stop-after=%s bufsize=%d maxrewrite=%d zero-warning=%v", g.MaxConn, g.NbThread, dur(g.HardStop), g.BufSize, g.MaxRewrite, g.ZeroWarn)
	if s := g.SSL; s.BindCiphers != "" || len(s.BindOptions) > 0 || s.ServerVerify != "required" || len(s.ServerOptions) > 0 {
		w(1, "ssl bind-ciphers=%q bind-options=%q server-options=%q server-verify=%s", s.BindCiphers, s.BindOptions, s.ServerOptions, s.ServerVerify)
	}
	for _, l := range g.Logs {
		w(1, "%s", dumpLog(l))
	}
	for _, ss := range g.StatsSocks {
		w(1, "stats socket %s mode=%o level=%s", dumpAddr(ss.Addr), ss.Mode, ss.Level)
	}
	for _, p := range m.Proxies {
		dumpProxy(&b, w, p)
	}
	names := make([]string, 0, len(m.Userlists))
	for n := range m.Userlists {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ul := m.Userlists[n]
		w(0, "userlist %s @%s", ul.Name, pos(ul.Pos))
		for _, g := range keys(boolKeys(ul.Groups)) {
			w(1, "group %s users=%q", g, ul.Groups[g])
		}
		for _, u := range ul.Users {
			w(1, "user %s insecure=%v groups=%q", u.Name, u.Insecure, u.Groups)
		}
	}
	for _, s := range m.Unrun {
		w(0, "unrun %s %s @%s", s.Kind, s.Name, pos(s.Pos))
	}
	w(0, "diagnostics")
	for _, d := range ds {
		w(1, "%s", d.HAProxy())
	}
	return b.String()
}

func dumpProxy(_ *strings.Builder, w func(int, string, ...any), p *Proxy) {
	w(0, "%s %s id=%d @%s defaults=%q disabled=%v", p.Kind, p.Name, p.ID, pos(p.Pos), p.Defaults, p.Disabled)
	w(1, "mode %s", p.Mode)
	t := p.Timeouts
	w(1, "timeouts client=%s server=%s connect=%s http-request=%s http-keep-alive=%s queue=%s tunnel=%s client-fin=%s server-fin=%s check=%s tarpit=%s",
		dur(t.Client), dur(t.Server), dur(t.Connect), dur(t.HTTPRequest), dur(t.HTTPKeepAlive), dur(t.Queue), dur(t.Tunnel), dur(t.ClientFin), dur(t.ServerFin), dur(t.Check), dur(t.Tarpit))
	w(1, "maxconn=%d backlog=%d retries=%d redispatch=%d http-reuse=%q conn-mode=%s", p.MaxConn, p.Backlog, p.Retries, p.Redispatch, p.HTTPReuse, p.ConnMode())
	for _, bd := range p.Binds {
		var addrs []string
		for _, a := range bd.Addrs {
			addrs = append(addrs, dumpAddr(a))
		}
		w(1, "bind @%s %s ssl=%v maxconn=%d mode=%o name=%q opts=%s", pos(bd.Pos), strings.Join(addrs, " , "), bd.SSL, bd.MaxConn, bd.Mode, bd.Name, dumpOpts(bd.Opts))
	}
	if p.Cap&CapBackend != 0 {
		w(1, "default-server %s", dumpServerOpts(p.DefaultServer))
		if p.Balance != nil {
			w(1, "balance %q hash-type=%q", p.Balance, p.HashType)
		}
	}
	for _, sv := range p.Servers {
		w(1, "server %s id=%d @%s %s", sv.Name, sv.ID, pos(sv.Pos), dumpAddr(sv.Addr))
		w(2, "%s", dumpServerOpts(sv.ServerOptions))
	}
	if len(p.Options) > 0 {
		var opts []string
		for _, k := range keys(p.Options) {
			state := "on"
			if !p.Options[k] {
				state = "off"
			}
			opts = append(opts, k+"="+state)
		}
		w(1, "options %s", strings.Join(opts, " "))
	}
	if ff := p.ForwardFor; ff != nil {
		w(1, "forwardfor header=%q except=%q if-none=%v", ff.Header, ff.Except, ff.IfNone)
	}
	for _, a := range p.ACLs {
		w(1, "acl %s @%s %s %s", a.Name, pos(a.Pos), a.Fetch, words(a.Args))
	}
	rules := []struct {
		name string
		list []*Rule
	}{{"http-request", p.HTTPRequest}, {"http-response", p.HTTPResponse}, {"http-after-response", p.HTTPAfter},
		{"tcp-request", p.TCPRequest}, {"tcp-response", p.TCPResponse}, {"redirect", p.Redirects}, {"use-server", p.UseServers}}
	for _, rl := range rules {
		for _, r := range rl.list {
			w(1, "%s", dumpRule(r))
		}
	}
	for _, ub := range p.UseBackends {
		w(1, "use_backend %s dynamic=%v @%s%s", ub.Backend, ub.Dynamic, pos(ub.Pos), dumpCond(ub.Cond))
	}
	if p.DefaultBackend != "" {
		w(1, "default_backend %s @%s", p.DefaultBackend, pos(p.DefBackendPos))
	}
	if st := p.StickTable; st != nil {
		w(1, "stick-table @%s %q", pos(st.Pos), st.Args)
	}
	if s := p.Stats; s != nil {
		w(1, "stats enabled=%v uri=%q realm=%q auth=%q hide-version=%v refresh=%s rules=%d", s.Enabled, s.URI, s.Realm, s.Auth, s.HideVersion, dur(s.Refresh), len(s.Rules))
	}
	for _, l := range p.Logs {
		w(1, "%s", dumpLog(l))
	}
	if p.LogFormat != "" {
		w(1, "log-format %q", p.LogFormat)
	}
	for _, code := range sortedInts(p.ErrorFiles) {
		w(1, "errorfile %d %s", code, p.ErrorFiles[code])
	}
}

func dumpRule(r *Rule) string {
	s := fmt.Sprintf("%s %s", r.Keyword, r.Action)
	if r.ActionArg != "" {
		s += "(" + r.ActionArg + ")"
	}
	if len(r.Args) > 0 {
		s += " " + words(r.Args)
	}
	s += " @" + pos(r.Pos)
	if r.FromDefaults {
		s += " [from defaults]"
	}
	return s + dumpCond(r.Cond)
}

// dumpCond writes a condition in its normalised form: OR of ANDs, with
// anonymous ACLs in braces.
func dumpCond(c *Cond) string {
	if c == nil {
		return ""
	}
	kw := "if"
	if c.Unless {
		kw = "unless"
	}
	var terms []string
	for _, t := range c.Terms {
		var parts []string
		for _, a := range t {
			s := a.Name
			if a.Anon != nil {
				s = "{ " + strings.TrimSpace(a.Anon.Fetch+" "+words(a.Anon.Args)) + " }"
			}
			if a.Neg {
				s = "!" + s
			}
			parts = append(parts, s)
		}
		terms = append(terms, strings.Join(parts, " AND "))
	}
	return " " + kw + " " + strings.Join(terms, " OR ")
}

func dumpServerOpts(o ServerOptions) string {
	return fmt.Sprintf("check=%v inter=%s fastinter=%s downinter=%s rise=%d fall=%d weight=%d backup=%v maxconn=%d maxqueue=%d disabled=%v ssl=%v verify=%q sni=%q send-proxy=%q port=%d opts=%s",
		o.Check, dur(o.Inter), dur(o.FastInter), dur(o.DownInter), o.Rise, o.Fall, o.Weight, o.Backup, o.MaxConn, o.MaxQueue, o.Disabled, o.SSL, o.Verify, o.SNI, o.SendProxy, o.Port, dumpOpts(o.Opts))
}

func dumpAddr(a Addr) string {
	switch a.Net {
	case "unix", "abns":
		return a.Net + ":" + a.Path
	case "fd", "sockpair":
		return fmt.Sprintf("%s:%d", a.Net, a.FD)
	}
	port := fmt.Sprint(a.PortLow)
	if a.PortHigh != a.PortLow {
		port += fmt.Sprintf("-%d", a.PortHigh)
	}
	if a.PortDelta {
		port = "+" + port
	}
	return fmt.Sprintf("%s:[%s]:%s", a.Net, a.Host, port)
}

func dumpLog(l LogTarget) string {
	if l.Global {
		return "log global"
	}
	return fmt.Sprintf("log %s len=%d format=%s facility=%s level=%q minlevel=%q", l.Target, l.Len, l.Format, l.Facility, l.Level, l.MinLevel)
}

func dumpOpts(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	var parts []string
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if m[k] == "" {
			parts = append(parts, k)
		} else {
			parts = append(parts, k+"="+m[k])
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func words(ws []config.Word) string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Text
		if w.Quoted || strings.ContainsAny(w.Text, " \t") {
			out[i] = fmt.Sprintf("%q", w.Text)
		}
	}
	return strings.Join(out, " ")
}

func dur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.String()
}

func pos(p config.Pos) string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

func boolKeys(m map[string][]string) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func sortedInts(m map[int]string) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
