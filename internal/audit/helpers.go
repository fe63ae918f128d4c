package audit

import (
	"net/netip"
	"regexp"
	"strings"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

// frontends returns the enabled proxies with frontend capability.
func frontends(m *model.Model) []*model.Proxy {
	var out []*model.Proxy
	for _, p := range m.Frontends() {
		if !p.Disabled {
			out = append(out, p)
		}
	}
	return out
}

func httpFrontends(m *model.Model) []*model.Proxy {
	var out []*model.Proxy
	for _, p := range frontends(m) {
		if p.Mode == model.ModeHTTP {
			out = append(out, p)
		}
	}
	return out
}

// appFrontends are the HTTP frontends that carry application traffic: a
// proxy that only serves the stats page is judged by the section 6 controls.
func appFrontends(m *model.Model) []*model.Proxy {
	var out []*model.Proxy
	for _, p := range httpFrontends(m) {
		statsOnly := p.Stats != nil && p.Stats.Enabled && len(p.Servers) == 0 &&
			len(p.UseBackends) == 0 && p.DefaultBackend == ""
		if !statsOnly {
			out = append(out, p)
		}
	}
	return out
}

// backendsOf returns the backends a frontend can route to by name (dynamic
// use_backend names cannot be followed statically). A listen section is its
// own backend.
func backendsOf(t *Target, fe *model.Proxy) []*model.Proxy {
	var out []*model.Proxy
	seen := map[*model.Proxy]bool{}
	add := func(name string) {
		if be := t.backend(name); be != nil && !seen[be] {
			seen[be] = true
			out = append(out, be)
		}
	}
	if fe.Cap&model.CapBackend != 0 {
		seen[fe] = true
		out = append(out, fe)
	}
	for _, ub := range fe.UseBackends {
		if !ub.Dynamic {
			add(ub.Backend)
		}
	}
	if fe.DefaultBackend != "" {
		add(fe.DefaultBackend)
	}
	return out
}

// hostAddr parses the host part of a listening or server address.
func hostAddr(a model.Addr) (netip.Addr, bool) {
	h := strings.TrimSuffix(strings.TrimPrefix(a.Host, "["), "]")
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

func isSocketNet(a model.Addr) bool {
	return a.Net == "unix" || a.Net == "abns" || a.Net == "fd" || a.Net == "sockpair"
}

// isLoopback reports whether a listening address is reachable only from
// this host.
func isLoopback(a model.Addr) bool {
	if isSocketNet(a) {
		return true
	}
	if strings.EqualFold(a.Host, "localhost") {
		return true
	}
	ip, ok := hostAddr(a)
	return ok && ip.IsLoopback()
}

// exposed reports whether a frontend listens on anything but loopback or
// local sockets.
func exposed(p *model.Proxy) bool {
	for _, b := range p.Binds {
		for _, a := range b.Addrs {
			if !isLoopback(a) {
				return true
			}
		}
	}
	return false
}

func isPublicIP(ip netip.Addr) bool {
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !isCGNAT(ip)
}

func isCGNAT(ip netip.Addr) bool {
	return netip.MustParsePrefix("100.64.0.0/10").Contains(ip)
}

// aclsNamed returns the ACL lines of p named name (several lines OR).
func aclsNamed(p *model.Proxy, name string) []*model.ACL {
	var out []*model.ACL
	for _, a := range p.ACLs {
		if a.Name == name {
			out = append(out, a)
		}
	}
	return out
}

// condACLs resolves one operand of a condition into ACL lines; predefined
// ACLs come back as synthetic lines so callers treat them alike.
func condACLs(p *model.Proxy, c model.CondACL) []*model.ACL {
	if c.Anon != nil {
		return []*model.ACL{c.Anon}
	}
	if as := aclsNamed(p, c.Name); len(as) > 0 {
		return as
	}
	if strings.HasPrefix(c.Name, "METH_") {
		return []*model.ACL{{Pos: c.Pos, Name: c.Name, Fetch: "method",
			Args: []config.Word{{Text: strings.TrimPrefix(c.Name, "METH_")}}}}
	}
	return nil
}

// patterns returns an ACL's patterns without its flags.
func patterns(a *model.ACL) []string {
	var out []string
	flags := true
	for _, w := range a.Args {
		if flags && strings.HasPrefix(w.Text, "-") && !w.Quoted {
			if w.Text == "--" {
				flags = false
			}
			// -f/-m/-M/-u take a value; a stray value as a pattern only
			// over-approximates, which the callers tolerate.
			continue
		}
		flags = false
		out = append(out, w.Text)
	}
	return out
}

// fetchName strips arguments and converters: "req.hdr(host),lower" -> "req.hdr".
func fetchName(f string) string {
	if i := strings.IndexAny(f, "(,"); i >= 0 {
		f = f[:i]
	}
	return f
}

// condFetches calls fn for every non-negated ACL line of a condition.
func condUses(p *model.Proxy, c *model.Cond, fn func(a *model.ACL) bool) bool {
	if c == nil {
		return false
	}
	for _, term := range c.Terms {
		for _, op := range term {
			for _, a := range condACLs(p, op) {
				if fn(a) {
					return true
				}
			}
		}
	}
	return false
}

var rateFetch = regexp.MustCompile(`^(sc[0-9]?_|src_|sc_)[a-z0-9_]*(rate|cnt)$|^(sc[0-9]?_|sc_|src_)get_gpc|^(sc[0-9]?_|sc_|src_)gpc`)

func isRateFetch(f string) bool { return rateFetch.MatchString(fetchName(f)) }

// headerRules returns the header names that rules set unconditionally or
// conditionally (set-header / add-header), with the rule of each.
func headerRules(rules []*model.Rule) map[string]*model.Rule {
	out := map[string]*model.Rule{}
	for _, r := range rules {
		if (r.Action == "set-header" || r.Action == "add-header") && len(r.Args) > 0 {
			name := strings.ToLower(r.Args[0].Text)
			if _, ok := out[name]; !ok {
				out[name] = r
			}
		}
	}
	return out
}

// tlsFrontend reports whether a frontend terminates TLS on any bind.
func tlsFrontend(p *model.Proxy) bool {
	for _, b := range p.Binds {
		if b.SSL {
			return true
		}
	}
	return false
}

// globalDirectives returns the global directives named name.
func globalDirectives(m *model.Model, name string) []*config.Directive {
	var out []*config.Directive
	for _, d := range m.Global.Directives {
		if d.Name == name {
			out = append(out, d)
		}
	}
	return out
}

// proxyDirective returns the last directive of p whose name and first
// arguments match.
func proxyDirective(p *model.Proxy, name string, args ...string) *config.Directive {
	var found *config.Directive
	for _, d := range p.Directives {
		if d.Name != name || len(d.Args) < len(args) {
			continue
		}
		ok := true
		for i, a := range args {
			if d.Args[i].Text != a {
				ok = false
				break
			}
		}
		if ok {
			found = d
		}
	}
	return found
}

func addrList(b *model.Bind) string {
	parts := make([]string, len(b.Addrs))
	for i, a := range b.Addrs {
		parts[i] = a.Raw
	}
	return strings.Join(parts, ",")
}

// backend returns the backend named name through an index built once per
// Target, so that large configurations stay linear.
func (t *Target) backend(name string) *model.Proxy {
	if t.beIdx == nil {
		t.beIdx = map[string]*model.Proxy{}
		for _, p := range t.Model.Proxies {
			if p.Cap&model.CapBackend != 0 {
				if _, ok := t.beIdx[p.Name]; !ok {
					t.beIdx[p.Name] = p
				}
			}
		}
	}
	return t.beIdx[name]
}

// inherited says where an inherited directive comes from, so that a
// verdict decided by a defaults section names that section and its line
// rather than the proxy that inherits it: " (from defaults 'web')", or ""
// for the proxy's own directives.
func (t *Target) inherited(d *config.Directive) string {
	if d == nil {
		return ""
	}
	if t.secIdx == nil {
		t.secIdx = map[*config.Directive]*config.Section{}
		for _, s := range t.Config.Sections {
			for _, sd := range s.Directives {
				t.secIdx[sd] = s
			}
		}
	}
	s := t.secIdx[d]
	if s == nil || s.Kind != config.KindDefaults {
		return ""
	}
	if s.Name == "" {
		return " (from defaults)"
	}
	return " (from defaults '" + s.Name + "')"
}

// optionDirective returns the directive that enabled "option name" on p,
// inherited or its own.
func optionDirective(p *model.Proxy, name string) *config.Directive {
	if d := p.OptionArgs[name]; d != nil {
		return d
	}
	return proxyDirective(p, "option", name)
}

// directivePos is d's position, or fallback when d is nil.
func directivePos(d *config.Directive, fallback config.Pos) config.Pos {
	if d != nil {
		return d.Pos
	}
	return fallback
}

// inheritedRule is inherited for a rule: rules keep their position but not
// their directive, so the section is found by position.
func (t *Target) inheritedRule(r *model.Rule) string {
	if r == nil || !r.FromDefaults {
		return ""
	}
	for _, s := range t.Config.Sections {
		if s.Kind != config.KindDefaults {
			continue
		}
		for _, d := range s.Directives {
			if d.Pos == r.Pos {
				return t.inherited(d)
			}
		}
	}
	return " (from defaults)"
}
