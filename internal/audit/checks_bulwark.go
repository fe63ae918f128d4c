package audit

import (
	"strings"

	"bulwark/internal/model"
)

// Verdicts for the Bulwark-only extensions (docs/extensions.md). An
// HAProxy target never sees them: its model is read with feature(BULWARK)
// false, so the .else branch is judged.

// bulwarkAbuse judges HAP-7.3 from the bulwark-abuse-* thresholds: each
// kind the guide names (error bursts, TLS handshake failures, flapping)
// that has a threshold raises an alert line; a kind without one is
// reported. ok is false when no threshold is set.
func bulwarkAbuse(t *Target) (r Result, ok bool) {
	a := t.Model.Global.Bulwark.Abuse
	if !a.Enabled() {
		return r, false
	}
	var evs []Evidence
	var missing []string
	errs := struct {
		name, what string
		th         model.Threshold
	}{"bulwark-abuse-http-errors", "4xx/5xx bursts per client", a.HTTPErrors}
	if a.HTTPErrors.Count == 0 && a.ProxyErrors.Count > 0 {
		// Either kind watches the guide's "excessive 4xx/5xx".
		errs.name, errs.what, errs.th = "bulwark-abuse-proxy-errors", "4xx/5xx bursts per frontend and backend", a.ProxyErrors
	}
	tlsKind := struct {
		name, what string
		th         model.Threshold
	}{"bulwark-abuse-tls-failures", "TLS handshake failures per client", a.TLSFailures}
	if a.TLSFailures.Count == 0 && a.BindTLSFailures.Count > 0 {
		tlsKind.name, tlsKind.what, tlsKind.th = "bulwark-abuse-bind-tls-failures", "TLS handshake failures per bind", a.BindTLSFailures
	}
	if a.Denied.Count > 0 {
		evs = append(evs, ev(a.Pos, Pass, "bulwark-abuse-denied %d %s: an alert on requests denied by rules per client", a.Denied.Count, a.Denied.Window))
	}
	for _, k := range []struct {
		name, what string
		th         model.Threshold
	}{
		errs,
		tlsKind,
		{"bulwark-abuse-flaps", "server state changes", a.Flaps},
	} {
		if k.th.Count > 0 {
			evs = append(evs, ev(a.Pos, Pass, "%s %d %s: an alert on %s", k.name, k.th.Count, k.th.Window, k.what))
		} else {
			missing = append(missing, k.name)
			evs = append(evs, ev(a.Pos, Warn, "no %s: %s raise no alert", k.name, k.what))
		}
	}
	where := "the log targets at level alert"
	if a.Webhook != "" {
		where += " and " + a.Webhook
	}
	r = summarize(evs, "bulwark-abuse-* alerts on error bursts, TLS handshake failures and flapping ("+where+")",
		"abuse detection misses "+strings.Join(missing, ", "))
	return r, true
}
