package proxy

import (
	"bulwark/internal/stats"
	"bulwark/internal/tlsfail"
)

// BulwarkStats gathers the counters of the Bulwark-only features for the
// stats page, its ";bulwark" JSON and the Prometheus exporter
// (docs/extensions.md "Counters").
func (rt *Runtime) BulwarkStats() *stats.Bulwark {
	x := &stats.Bulwark{}
	for _, fe := range rt.frontends {
		for _, bl := range fe.listeners {
			bind := bl.label()
			for _, r := range tlsfail.Reasons() {
				if n := bl.tlsFail.Get(r); n > 0 {
					x.TLSFailures = append(x.TLSFailures, stats.TLSFailure{Frontend: fe.name, Bind: bind, Reason: r.String(), Count: n})
				}
			}
		}
	}
	if rt.abuse != nil {
		x.Abuse = &stats.AbuseCounts{Raised: rt.abuse.Raised(), Active: rt.abuse.Active()}
	}
	if rt.acme != nil {
		c := rt.acme.Counts()
		x.ACME = &stats.ACMECounts{Obtained: c.Obtained, Renewed: c.Renewed, ObtainFailures: c.ObtainFailures, RenewFailures: c.RenewFailures}
	}
	if w := rt.crtWatch.Load(); w != nil {
		ok, failed := w.Counts()
		x.CertReloads = &stats.CertReloadCounts{OK: ok, Failed: failed}
	}
	if rt.opts.LogStats != nil {
		x.Logs = rt.opts.LogStats()
	}
	return x
}

// label names a bind in metrics and alerts: its "name", else its address.
func (bl boundListener) label() string {
	if bl.bind != nil && bl.bind.Name != "" {
		return bl.bind.Name
	}
	return bl.Addr().String()
}
