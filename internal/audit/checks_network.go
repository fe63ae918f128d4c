package audit

import (
	"net/netip"
	"strings"

	"bulwark/internal/config"
)

// listenSections are the sections whose "bind" lines open listening
// sockets.
var listenSections = map[string]bool{
	config.KindFrontend: true, config.KindListen: true, config.KindPeers: true, config.KindLogForward: true,
}

// wildcardAddr reports whether one element of a bind address list listens
// on every interface. It reads the text itself rather than the Model so
// that QUIC/UDP binds, which Bulwark does not compile, are audited too.
func wildcardAddr(s string) bool {
	if i := strings.Index(s, "@"); i >= 0 {
		switch s[:i] {
		case "unix", "uxst", "abns", "fd", "sockpair":
			return false
		}
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "/") {
		return false
	}
	host := s
	if i := strings.LastIndex(s, ":"); i >= 0 {
		host = s[:i]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return host == "" || host == "*" || host == "0.0.0.0" || host == "::"
}

func checkWildcardBinds(t *Target) Result {
	var evs []Evidence
	for _, s := range t.Config.Sections {
		if !listenSections[s.Kind] {
			continue
		}
		for _, d := range s.Directives {
			if (d.Name != "bind" && d.Name != "dgram-bind") || len(d.Args) == 0 {
				continue
			}
			for _, part := range strings.Split(d.Arg(0), ",") {
				if wildcardAddr(part) {
					evs = append(evs, ev(d.ArgPos(0), Fail, "%s '%s': 'bind %s' listens on every interface", s.Kind, s.Name, part))
				} else {
					evs = append(evs, ev(d.ArgPos(0), Pass, "%s '%s': bind %s", s.Kind, s.Name, part))
				}
			}
		}
	}
	if len(evs) == 0 {
		return skip("no listening addresses")
	}
	return summarize(evs, "every bind names an explicit address", "wildcard bind addresses")
}

func checkHTTPRequestTimeout(t *Target) Result {
	var evs []Evidence
	for _, p := range httpFrontends(t.Model) {
		if p.Timeouts.HTTPRequest > 0 {
			d := proxyDirective(p, "timeout", "http-request")
			evs = append(evs, ev(directivePos(d, p.Pos), Pass, "%s '%s': timeout http-request %s%s", p.Kind, p.Name, p.Timeouts.HTTPRequest, t.inherited(d)))
			continue
		}
		v := Warn
		if exposed(p) {
			v = Fail
		}
		evs = append(evs, ev(p.Pos, v, "%s '%s' has no 'timeout http-request' (slowloris falls back to timeout client %s)", p.Kind, p.Name, p.Timeouts.Client))
	}
	if len(evs) == 0 {
		return skip("no HTTP frontend")
	}
	return summarize(evs, "every HTTP frontend bounds request header time", "HTTP frontends without 'timeout http-request'")
}

func checkMaxConn(t *Target) Result {
	g := &t.Model.Global
	if g.MaxConn > 0 {
		d := globalDirectives(t.Model, "maxconn")
		pos := g.Pos
		if len(d) > 0 {
			pos = d[len(d)-1].Pos
		}
		return Result{Verdict: Pass, Summary: "global maxconn is set", Evidence: []Evidence{ev(pos, Pass, "maxconn %d", g.MaxConn)}}
	}
	return Result{Verdict: Warn, Summary: "global maxconn unset",
		Evidence: []Evidence{ev(t.globalPos(), Warn, "no 'maxconn' %s: the limit follows the file-descriptor limit", t.inGlobal())}}
}

// subnetOf groups addresses the way a flat network usually is: IPv4 /24,
// IPv6 /64. It is a heuristic: the real netmask is only known on the host.
func subnetOf(a netip.Addr) netip.Prefix {
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

func checkNetworkSeparation(t *Target) Result {
	type bindIP struct {
		ip  netip.Addr
		pos config.Pos
		fe  string
	}
	// Indexed by subnet so that large configurations stay linear.
	binds := map[netip.Prefix]bindIP{}
	for _, p := range frontends(t.Model) {
		for _, b := range p.Binds {
			for _, a := range b.Addrs {
				if ip, ok := hostAddr(a); ok && !ip.IsLoopback() && !ip.IsUnspecified() {
					if _, dup := binds[subnetOf(ip)]; !dup {
						binds[subnetOf(ip)] = bindIP{ip, b.Pos, p.Name}
					}
				}
			}
		}
	}
	var evs []Evidence
	servers := 0
	for _, p := range t.Model.Backends() {
		for _, sv := range p.Servers {
			servers++
			ip, ok := hostAddr(sv.Addr)
			if !ok || ip.IsLoopback() {
				continue
			}
			if isPublicIP(ip) {
				evs = append(evs, ev(sv.Pos, Warn, "%s '%s' server '%s' is on public address %s", p.Kind, p.Name, sv.Name, ip))
				continue
			}
			if b, ok := binds[subnetOf(ip)]; ok {
				evs = append(evs, ev(sv.Pos, Warn, "%s '%s' server '%s' (%s) shares a subnet with frontend '%s' bind %s (%s)", p.Kind, p.Name, sv.Name, ip, b.fe, b.ip, b.pos))
			}
		}
	}
	if len(evs) > 0 {
		return summarize(evs, "", "frontend and backend networks look shared or servers are public")
	}
	if servers == 0 {
		// Nothing is forwarded anywhere: there is no backend network to
		// keep apart (e.g. Debian's stock configuration).
		return skip("no server in the configuration: no backend network to separate")
	}
	return manual("no shared subnet or public server seen in the configuration; confirm with the network design that frontends and servers are on separate networks")
}
