package proxy

import (
	"strings"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

// Check reports what the engine cannot run: rule and ACL errors found when
// compiling them (the same compilation startup does), and features the
// model accepts that this engine does not implement yet, so that
// "bulwark -c" and startup refuse them with their position instead of
// ignoring them.
func Check(m *model.Model) config.Diagnostics {
	tables, ds := compileTables(m)
	_, rds := compileRules(m, tables)
	ds = append(ds, rds...)
	no := func(pos config.Pos, what string) {
		ds = append(ds, config.Diagnostic{Pos: pos, Severity: config.SevAlert,
			Msg: what + " is not supported by bulwark yet", Code: model.CodeUnsupported})
	}
	for _, p := range m.Proxies {
		for _, r := range p.HTTPAfter {
			no(r.Pos, "'http-after-response "+r.Action+"'")
		}
		for _, r := range p.TCPRequest {
			if r.Keyword == "tcp-request content" && p.Mode == model.ModeHTTP {
				no(r.Pos, "'tcp-request content' in an HTTP proxy")
			}
		}
		for _, r := range p.Redirects {
			no(r.Pos, "the legacy 'redirect' directive (use 'http-request redirect')")
		}
		for _, r := range p.UseServers {
			no(r.Pos, "'use-server'")
		}
		for _, ub := range p.UseBackends {
			if ub.Dynamic || strings.Contains(ub.Backend, "%[") {
				no(ub.Pos, "a dynamic 'use_backend' name")
			}
		}
		if p.Stats != nil && p.Stats.Enabled {
			no(p.Stats.Pos, "the stats page ('stats enable')")
		}
		for _, b := range p.Binds {
			if b.SSL {
				no(b.Pos, "TLS ('bind ... ssl')")
			}
		}
		for _, s := range p.Servers {
			if s.SSL {
				no(s.Pos, "TLS to servers ('server ... ssl')")
			}
			if s.SendProxy != "" {
				no(s.Pos, "'send-proxy'")
			}
		}
	}
	return ds
}
