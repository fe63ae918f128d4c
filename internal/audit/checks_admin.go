package audit

import (
	"strings"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

// statsProxies returns the proxies that serve a stats page.
func statsProxies(m *model.Model) []*model.Proxy {
	var out []*model.Proxy
	for _, p := range m.Proxies {
		if !p.Disabled && p.Stats != nil && p.Stats.Enabled {
			out = append(out, p)
		}
	}
	return out
}

// statsBinds returns the binds through which a stats page is reached: the
// proxy's own, or those of every frontend that routes to it.
func statsBinds(t *Target, p *model.Proxy) []*model.Bind {
	if p.Cap&model.CapFrontend != 0 {
		return p.Binds
	}
	var out []*model.Bind
	for _, fe := range frontends(t.Model) {
		for _, be := range backendsOf(t, fe) {
			if be == p {
				out = append(out, fe.Binds...)
			}
		}
	}
	return out
}

// weakPasswords are vendor defaults, documentation placeholders and the
// most common choices.
var weakPasswords = map[string]bool{"strongpassword": true, "password": true, "admin": true, "haproxy": true,
	"stats": true, "changeme": true, "secret": true, "123456": true, "12345678": true, "passw0rd": true,
	"letmein": true, "qwerty": true, "default": true, "test": true, "root": true, "pass": true}

const minPasswordLen = 12

func weakPassword(user, pass string) string {
	switch {
	case weakPasswords[strings.ToLower(pass)]:
		return "a well-known default"
	case strings.EqualFold(user, pass):
		return "the same as the user name"
	case len(pass) < minPasswordLen:
		return "shorter than 12 characters"
	}
	return ""
}

func hasAuthRule(rules []*model.Rule) bool {
	for _, r := range rules {
		if r.Action == "auth" {
			return true
		}
	}
	return false
}

func checkStats(t *Target) Result {
	var evs []Evidence
	for _, p := range statsProxies(t.Model) {
		st := p.Stats
		for _, b := range statsBinds(t, p) {
			for _, a := range b.Addrs {
				switch ip, ok := hostAddr(a); {
				case isLoopback(a):
					evs = append(evs, ev(b.Pos, Pass, "%s '%s' stats on loopback %s", p.Kind, p.Name, a.Raw))
				case a.Wildcard() || (ok && isPublicIP(ip)):
					evs = append(evs, ev(b.Pos, Fail, "%s '%s' stats reachable on %s", p.Kind, p.Name, a.Raw))
				default:
					evs = append(evs, ev(b.Pos, Warn, "%s '%s' stats on %s: confirm this is an admin network", p.Kind, p.Name, a.Raw))
				}
			}
		}
		authRules := hasAuthRule(st.Rules) || hasAuthRule(p.HTTPRequest)
		if len(st.Auth) == 0 && !authRules {
			evs = append(evs, ev(st.Pos, Fail, "%s '%s' stats page has no 'stats auth'", p.Kind, p.Name))
		}
		for _, cred := range st.Auth {
			user, pass, _ := strings.Cut(cred, ":")
			pos := st.Pos
			if d := findStatsAuth(p, cred); d != nil {
				pos = d.Pos
			}
			if why := weakPassword(user, pass); why != "" {
				evs = append(evs, ev(pos, Fail, "%s '%s' stats password for '%s' is %s", p.Kind, p.Name, user, why))
			} else {
				evs = append(evs, ev(pos, Pass, "%s '%s' stats auth for '%s'", p.Kind, p.Name, user))
			}
		}
		if authRules {
			for _, ul := range t.Model.Userlists {
				for _, u := range ul.Users {
					if !u.Insecure {
						continue
					}
					if why := weakPassword(u.Name, u.Password); why != "" {
						evs = append(evs, ev(u.Pos, Fail, "userlist '%s' user '%s' insecure-password is %s", ul.Name, u.Name, why))
					}
				}
			}
		}
		for _, c := range st.AdminConds {
			if condAlways(c) {
				evs = append(evs, ev(c.Pos, Fail, "%s '%s': 'stats admin' is unconditional: anyone who reaches the page can change servers", p.Kind, p.Name))
			} else {
				evs = append(evs, ev(c.Pos, Pass, "%s '%s': stats admin restricted by a condition", p.Kind, p.Name))
			}
		}
	}
	if len(evs) == 0 {
		return skip("no stats page")
	}
	return summarize(evs, "stats pages are local or authenticated with strong credentials", "stats page exposed or weakly protected")
}

func findStatsAuth(p *model.Proxy, cred string) *config.Directive {
	for _, d := range p.Directives {
		if d.Name == "stats" && d.Arg(0) == "auth" && d.Arg(1) == cred {
			return d
		}
	}
	return nil
}

// condAlways reports whether a condition is always true: "if TRUE",
// "unless FALSE" and the like.
func condAlways(c *model.Cond) bool {
	constant := func(op model.CondACL) (known, val bool) {
		switch op.Name {
		case "TRUE":
			return true, !op.Neg
		case "FALSE":
			return true, op.Neg
		}
		return false, false
	}
	if !c.Unless {
		for _, term := range c.Terms {
			all := len(term) > 0
			for _, op := range term {
				if k, v := constant(op); !k || !v {
					all = false
				}
			}
			if all {
				return true
			}
		}
		return false
	}
	for _, term := range c.Terms {
		falsified := false
		for _, op := range term {
			if k, v := constant(op); k && !v {
				falsified = true
			}
		}
		if !falsified {
			return false
		}
	}
	return len(c.Terms) > 0
}

// sourceRestricted reports whether a deny rule keyed on the source address
// guards the proxy.
func sourceRestricted(p *model.Proxy) *model.Rule {
	lists := [][]*model.Rule{p.HTTPRequest, p.TCPRequest}
	if p.Stats != nil {
		lists = append(lists, p.Stats.Rules)
	}
	for _, list := range lists {
		for _, r := range list {
			if !denyActions[r.Action] && r.Action != "auth" {
				continue
			}
			if condUses(p, r.Cond, func(a *model.ACL) bool {
				f := fetchName(a.Fetch)
				return f == "src" || f == "req.hdr_ip" || f == "hdr_ip"
			}) {
				return r
			}
		}
	}
	return nil
}

func checkAdminAccess(t *Target) Result {
	var evs []Evidence
	// problems collects one headline per kind of finding, so that the
	// summary names what is wrong (a mode-0660 socket at 'level admin'
	// is not "reachable too widely").
	var problems []string
	problem := func(s string) {
		for _, p := range problems {
			if p == s {
				return
			}
		}
		problems = append(problems, s)
	}
	for _, p := range statsProxies(t.Model) {
		local := true
		for _, b := range statsBinds(t, p) {
			for _, a := range b.Addrs {
				local = local && isLoopback(a)
			}
		}
		switch r := sourceRestricted(p); {
		case r != nil:
			evs = append(evs, ev(r.Pos, Pass, "%s '%s': access restricted by source address", p.Kind, p.Name))
		case local:
			evs = append(evs, ev(p.Pos, Pass, "%s '%s': reachable from this host only", p.Kind, p.Name))
		default:
			evs = append(evs, ev(p.Pos, Fail, "%s '%s' serves stats without a source-address restriction", p.Kind, p.Name))
			problem("stats reachable from any source address")
		}
	}
	for _, s := range t.Model.Global.StatsSocks {
		switch {
		case isSocketNet(s.Addr):
			switch {
			case s.Mode == 0:
				evs = append(evs, ev(s.Pos, Warn, "runtime socket %s has no 'mode': its permissions follow the umask", s.Addr.Path))
				problem("runtime socket mode unset")
			case s.Mode&0o007 != 0:
				evs = append(evs, ev(s.Pos, Fail, "runtime socket %s has mode %04o: others can connect", s.Addr.Path, s.Mode))
				problem("runtime socket open to other users")
			default:
				evs = append(evs, ev(s.Pos, Pass, "runtime socket %s mode %04o", s.Addr.Path, s.Mode))
			}
			if s.Level == "admin" {
				evs = append(evs, ev(s.Pos, Warn, "runtime socket %s grants 'level admin': use operator unless admin commands are needed", s.Addr.Path))
				problem("runtime socket grants 'level admin'")
			}
		case s.Addr.Wildcard():
			evs = append(evs, ev(s.Pos, Fail, "runtime API on wildcard address %s", s.Addr.Raw))
			problem("runtime API on a wildcard address")
		case isLoopback(s.Addr):
			evs = append(evs, ev(s.Pos, Pass, "runtime API on loopback %s", s.Addr.Raw))
		default:
			evs = append(evs, ev(s.Pos, Warn, "runtime API on network address %s has no authentication", s.Addr.Raw))
			problem("runtime API on a network address without authentication")
		}
	}
	if len(evs) == 0 {
		return skip("no stats page or runtime socket")
	}
	r := summarize(evs, "admin interfaces are restricted by source and file mode", "")
	if r.Verdict != Pass {
		r.Summary = strings.Join(problems, "; ")
		if len(problems) == 1 && problems[0] == "runtime socket grants 'level admin'" {
			r.Fix = "Use 'stats socket PATH mode 600 level operator' unless the admin-only commands (add/del server, set server addr, ...) are needed; keep the socket closed to other users."
		}
	}
	return r
}

func checkStatsHideVersion(t *Target) Result {
	var evs []Evidence
	for _, p := range statsProxies(t.Model) {
		if p.Stats.HideVersion {
			evs = append(evs, ev(p.Stats.Pos, Pass, "%s '%s' hides the version", p.Kind, p.Name))
		} else {
			evs = append(evs, ev(p.Stats.Pos, Warn, "%s '%s' stats page shows the version", p.Kind, p.Name))
		}
	}
	if len(evs) == 0 {
		return skip("no stats page")
	}
	return summarize(evs, "stats pages hide the version", "stats page shows the version")
}

func checkRuntimeAdminTCP(t *Target) Result {
	var evs []Evidence
	for _, s := range t.Model.Global.StatsSocks {
		if isSocketNet(s.Addr) {
			continue
		}
		if s.Level == "admin" {
			evs = append(evs, ev(s.Pos, Fail, "runtime API 'level admin' on TCP address %s", s.Addr.Raw))
		} else {
			evs = append(evs, ev(s.Pos, Pass, "runtime API on %s at level %s", s.Addr.Raw, s.Level))
		}
	}
	if len(evs) == 0 {
		return skip("no runtime API on a TCP address")
	}
	return summarize(evs, "no admin-level runtime API on TCP", "admin-level runtime API on TCP")
}
