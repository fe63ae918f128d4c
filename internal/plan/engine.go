package plan

import (
	"net/netip"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

// engineLimits reports what the Model accepts but this engine does not run
// yet, so that -c and start-up refuse it with its position instead of
// ignoring it, and the secure defaults that only an explicit opt-out lifts.
func engineLimits(m *model.Model, opt Options, ds *config.Diagnostics) {
	no := func(pos config.Pos, what string) {
		*ds = append(*ds, config.Diagnostic{Pos: pos, Severity: config.SevAlert,
			Msg: what + " is not supported by bulwark yet", Code: model.CodeUnsupported})
	}
	for _, p := range m.Proxies {
		// HAP-3.1: listening on every interface is rarely intended.
		for _, b := range p.Binds {
			for _, a := range b.Addrs {
				if a.Wildcard() {
					ds.Warnf(b.Pos, "%s '%s': 'bind %s' listens on every interface (HAP-3.1); bind the addresses that must be reachable", p.Kind, p.Name, a.Raw)
				}
			}
		}
		for _, r := range p.UseServers {
			no(r.Pos, "'use-server'")
		}
		if st := p.Stats; st != nil && st.Enabled {
			for _, r := range st.Rules {
				no(r.Pos, "'stats http-request'")
			}
			// HAP-6.1: a stats page reachable beyond this host must ask for
			// credentials.
			if len(st.Auth) == 0 && !opt.AllowPublicStats && !statsOnlyLoopback(m, p) {
				ds.Alertf(st.Pos, "%s '%s': the stats page is reachable on a non-loopback address without 'stats auth' (HAP-6.1); add 'stats auth <user>:<password>', bind it to 127.0.0.1, or set BULWARK_ALLOW_PUBLIC_STATS=1", p.Kind, p.Name)
			}
		}
		for _, s := range p.Servers {
			if v := s.ProxyV2(); v&(model.PPv2CertSig|model.PPv2CertKey) != 0 {
				no(s.Pos, "'proxy-v2-options cert-sig/cert-key'")
			}
		}
		if p.Mode != model.ModeHTTP {
			for _, r := range p.StickRules {
				no(r.Pos, "'stick "+r.Action+"' in a TCP proxy")
			}
		}
		// "tcp-request connection" rules run after the TLS handshake here:
		// too late to read a PROXY header that comes before it.
		for _, r := range p.TCPRequest {
			if r.Keyword == "tcp-request connection" && r.Action == "expect-proxy" && hasSSLBind(p) {
				no(r.Pos, "'tcp-request connection expect-proxy' on a frontend with an 'ssl' bind (use 'bind ... accept-proxy')")
			}
			if r.Keyword == "tcp-request connection" && r.Action == "expect-netscaler-cip" && hasSSLBind(p) {
				no(r.Pos, "'tcp-request connection expect-netscaler-cip' on a frontend with an 'ssl' bind (use 'bind ... accept-netscaler-cip')")
			}
		}
	}
}

// statsOnlyLoopback reports whether the stats page of p can only be
// reached through loopback binds: p's own binds, or those of every
// frontend that can route to p.
func statsOnlyLoopback(m *model.Model, p *model.Proxy) bool {
	if p.Cap&model.CapFrontend != 0 {
		return loopbackOnly(p)
	}
	for _, fe := range m.Frontends() {
		routes := fe.DefaultBackend == p.Name
		for _, ub := range fe.UseBackends {
			routes = routes || ub.Backend == p.Name || ub.Dynamic
		}
		if routes && !loopbackOnly(fe) {
			return false
		}
	}
	return true
}

// loopbackOnly reports whether every bind of p listens on loopback or a
// local socket.
func loopbackOnly(p *model.Proxy) bool {
	for _, b := range p.Binds {
		for _, a := range b.Addrs {
			switch a.Net {
			case "unix", "abns", "fd", "sockpair":
				continue
			}
			ip, err := netip.ParseAddr(a.Host)
			if err != nil || !ip.IsLoopback() {
				return false
			}
		}
	}
	return true
}

func hasSSLBind(p *model.Proxy) bool {
	for _, b := range p.Binds {
		if b.SSL {
			return true
		}
	}
	return false
}
