package audit

import (
	"strings"
	"testing"

	"bulwark/internal/plan"
)

// TestDebianStockConfig audits Debian's stock /etc/haproxy/haproxy.cfg (a
// copy, so the test does not depend on the host): global and defaults
// only, no frontend, no server. Each verdict below is one an operator of
// that file would sign; the issue that introduced the test listed the
// ones that were not (HAP-3.1 WARN, HAP-7.1 PASS with zero frontends,
// HAP-6.2 "reachable too widely" about a mode-0660 socket, HAP-4.1 SKIP
// despite the global ssl-min-ver).
func TestDebianStockConfig(t *testing.T) {
	tg, err := Load([]string{"testdata/debian/haproxy.cfg"}, ProductHAProxy, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg.Now = fixedNow
	rep := Run(tg, Selection{Skip: []string{"HAP-2.2", "HAP-9", "HAP-10.1"}})
	want := map[string]struct {
		v       Verdict
		summary string
	}{
		"HAP-1.1":   {Skip, "needs the running binary"},
		"HAP-1.2":   {Manual, "loads no Lua and no SPOE filter"},
		"HAP-2.1":   {Pass, "non-root"},
		"HAP-3.1":   {Skip, "no listening addresses"},
		"HAP-3.1.1": {Skip, "no HTTP frontend"},
		"HAP-3.1.2": {Warn, "maxconn unset"},
		"HAP-3.2":   {Skip, "no server"},
		"HAP-4.1":   {Pass, "TLS 1.2 and later"},
		"HAP-4.1.1": {Skip, "no TLS server"},
		"HAP-4.2":   {Pass, "strong suites"},
		"HAP-4.2.1": {Skip, "no HTTP frontend terminates TLS"},
		"HAP-4.3":   {Skip, "no certificate"},
		"HAP-5.1":   {Skip, "no HTTP frontend"},
		"HAP-5.1.1": {Skip, "forwardfor"},
		"HAP-5.2":   {Skip, "no HTTP frontend"},
		"HAP-6.1":   {Skip, "no stats page"},
		"HAP-6.1.1": {Skip, "no stats page"},
		"HAP-6.2":   {Warn, "runtime socket grants 'level admin'"},
		"HAP-6.2.1": {Skip, "no runtime API on a TCP address"},
		"HAP-7.1":   {Skip, "no frontend"},
		"HAP-7.2":   {Manual, "local syslog daemon"},
		"HAP-7.3":   {Skip, "no HTTP frontend"},
		"HAP-8.1":   {Skip, "no backend with servers"},
		"HAP-8.2":   {Skip, "no HTTP frontend"},
		"HAP-10.2":  {Manual, "playbooks"},
	}
	for _, f := range rep.Findings {
		w, ok := want[f.Control.ID]
		if !ok {
			t.Errorf("%s: no expectation (%s %s)", f.Control.ID, f.Verdict, f.Summary)
			continue
		}
		delete(want, f.Control.ID)
		if f.Verdict != w.v || !strings.Contains(f.Summary, w.summary) {
			t.Errorf("%s = %s %q, want %s %q", f.Control.ID, f.Verdict, f.Summary, w.v, w.summary)
		}
		if f.Control.ID == "HAP-4.1" && (len(f.Evidence) != 1 || f.Evidence[0].Pos.Line != 18) {
			t.Errorf("HAP-4.1 should rest on ssl-default-bind-options at line 18: %+v", f.Evidence)
		}
	}
	for id := range want {
		t.Errorf("%s did not run", id)
	}
}
