package stats

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Bulwark holds the counters of the Bulwark-only features
// (docs/extensions.md "Counters"). HAProxy's CSV has no column for them
// and tools read its columns by position, so they are not added to rows:
// they appear in the Prometheus exposition under "bulwark_", in a box of
// the HTML page, and as their own JSON document (stats URI ";bulwark").
type Bulwark struct {
	// TLSFailures are the failed client handshakes per bind and reason,
	// only the reasons seen.
	TLSFailures []TLSFailure `json:"tls_handshake_failures"`
	// Abuse is nil without a bulwark-abuse-* threshold.
	Abuse *AbuseCounts `json:"abuse,omitempty"`
	// ACME is nil without bulwark-acme.
	ACME *ACMECounts `json:"acme,omitempty"`
	// CertReloads is nil without bulwark-crt-watch.
	CertReloads *CertReloadCounts `json:"cert_reloads,omitempty"`
	// Logs are the log targets' totals.
	Logs []LogTarget `json:"syslog"`
}

// TLSFailure is the count of one failure reason on one bind.
type TLSFailure struct {
	Frontend string `json:"frontend"`
	Bind     string `json:"bind"`
	Reason   string `json:"reason"`
	Count    uint64 `json:"count"`
}

// AbuseCounts are the alerts raised per kind since the generation started
// and those active now.
type AbuseCounts struct {
	Raised map[string]uint64 `json:"raised"`
	Active int               `json:"active"`
}

// ACMECounts are the outcomes of certificate orders.
type ACMECounts struct {
	Obtained       uint64 `json:"obtained"`
	Renewed        uint64 `json:"renewed"`
	ObtainFailures uint64 `json:"obtain_failures"`
	RenewFailures  uint64 `json:"renew_failures"`
}

// CertReloadCounts are the reloads of watched certificate files.
type CertReloadCounts struct {
	OK     uint64 `json:"ok"`
	Failed uint64 `json:"failed"`
}

// LogTarget is one log target's totals: lines written, and lines dropped
// because its queue was full or the write failed.
type LogTarget struct {
	Target  string `json:"target"`
	Sent    uint64 `json:"sent"`
	Dropped uint64 `json:"dropped"`
}

// WriteBulwarkJSON writes the counters as one JSON object.
func WriteBulwarkJSON(w io.Writer, x *Bulwark) error {
	if x.TLSFailures == nil {
		x.TLSFailures = []TLSFailure{}
	}
	if x.Logs == nil {
		x.Logs = []LogTarget{}
	}
	j, err := json.Marshal(x)
	if err != nil {
		return err
	}
	_, err = w.Write(append(j, '\n'))
	return err
}

// writeBulwarkProm writes the "bulwark_" families. Each family is written
// only when its feature is configured, except the TLS and syslog ones,
// which every configuration has.
func writeBulwarkProm(w *promWriter, x *Bulwark) {
	w.family("bulwark_tls_handshake_failures_total", "Failed client TLS handshakes per bind and reason.", true)
	for _, f := range x.TLSFailures {
		w.sample("bulwark_tls_handshake_failures_total", float64(f.Count), "proxy", f.Frontend, "bind", f.Bind, "reason", f.Reason)
	}
	if a := x.Abuse; a != nil {
		w.family("bulwark_abuse_alerts_total", "Abuse alerts raised per kind since the configuration was loaded.", true)
		for _, k := range slices.Sorted(maps.Keys(a.Raised)) {
			w.sample("bulwark_abuse_alerts_total", float64(a.Raised[k]), "kind", k)
		}
		w.family("bulwark_abuse_alerts_active", "Abuse alerts raised and not cleared yet.", false)
		w.sample("bulwark_abuse_alerts_active", float64(a.Active))
	}
	if a := x.ACME; a != nil {
		w.family("bulwark_acme_certificates_obtained_total", "Certificates obtained from the ACME CA (first issuance).", true)
		w.sample("bulwark_acme_certificates_obtained_total", float64(a.Obtained))
		w.family("bulwark_acme_renewals_total", "Certificates renewed from the ACME CA.", true)
		w.sample("bulwark_acme_renewals_total", float64(a.Renewed))
		w.family("bulwark_acme_failures_total", "Failed ACME orders per operation (obtain, renew).", true)
		w.sample("bulwark_acme_failures_total", float64(a.ObtainFailures), "operation", "obtain")
		w.sample("bulwark_acme_failures_total", float64(a.RenewFailures), "operation", "renew")
	}
	if c := x.CertReloads; c != nil {
		w.family("bulwark_certificate_reloads_total", "Reloads of watched certificate files per result (ok, failed: the old certificates kept serving).", true)
		w.sample("bulwark_certificate_reloads_total", float64(c.OK), "result", "ok")
		w.sample("bulwark_certificate_reloads_total", float64(c.Failed), "result", "failed")
	}
	w.family("bulwark_syslog_messages_total", "Log lines written per log target.", true)
	for _, l := range x.Logs {
		w.sample("bulwark_syslog_messages_total", float64(l.Sent), "target", l.Target)
	}
	w.family("bulwark_syslog_dropped_total", "Log lines dropped per log target (queue full or write failed).", true)
	for _, l := range x.Logs {
		w.sample("bulwark_syslog_dropped_total", float64(l.Dropped), "target", l.Target)
	}
}

// writeBulwarkHTML writes the box of the page's top row.
func writeBulwarkHTML(b *strings.Builder, x *Bulwark) {
	e := html.EscapeString
	row := func(name string, v uint64) {
		fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td></tr>", e(name), strconv.FormatUint(v, 10))
	}
	b.WriteString("<div class=\"box\"><h2>Bulwark</h2><table class=\"legend\">")
	var tls uint64
	for _, f := range x.TLSFailures {
		tls += f.Count
	}
	row("TLS handshake failures", tls)
	for _, f := range x.TLSFailures {
		row("\u00a0\u00a0"+f.Frontend+" "+f.Bind+" "+f.Reason, f.Count)
	}
	if a := x.Abuse; a != nil {
		var n uint64
		for _, v := range a.Raised {
			n += v
		}
		row("abuse alerts raised", n)
		row("abuse alerts active", uint64(a.Active))
	}
	if a := x.ACME; a != nil {
		row("ACME certificates obtained", a.Obtained)
		row("ACME renewals", a.Renewed)
		row("ACME failures", a.ObtainFailures+a.RenewFailures)
	}
	if c := x.CertReloads; c != nil {
		row("certificate reloads", c.OK)
		row("certificate reloads refused", c.Failed)
	}
	var dropped uint64
	for _, l := range x.Logs {
		dropped += l.Dropped
	}
	row("log lines dropped", dropped)
	b.WriteString("</table></div>\n")
}
