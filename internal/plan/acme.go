package plan

import (
	"bulwark/internal/acme"
	"bulwark/internal/config"
	"bulwark/internal/model"
)

// compileACME builds the certificate manager of the "bulwark-acme" binds
// (one for the whole configuration, so that one account and one storage
// serve every domain). It talks to no CA: the proxy starts it once the
// listeners that answer the challenges are bound.
func compileACME(m *model.Model, ds *config.Diagnostics) *acme.Manager {
	var domains []string
	var first *model.Bind
	clearHTTP := false
	for _, p := range m.Frontends() {
		for _, b := range p.Binds {
			if len(b.ACME) > 0 {
				domains = append(domains, b.ACME...)
				if first == nil {
					first = b
				}
			}
			if !b.SSL && p.Mode == model.ModeHTTP && !p.Disabled {
				clearHTTP = true
			}
		}
	}
	if first == nil {
		return nil
	}
	set := m.Global.Bulwark.ACME
	mgr, err := acme.New(set, domains)
	if err != nil {
		ds.Alertf(first.Pos, "bind: 'bulwark-acme': %v", err)
		return nil
	}
	if mgr.Challenge() == "http-01" && !clearHTTP {
		ds.Alertf(first.Pos, "bind: 'bulwark-acme' with the http-01 challenge needs a clear-text bind in an HTTP frontend to answer it (port 80 for a public CA), or 'bulwark-acme-challenge tls-alpn-01'")
	}
	return mgr
}
