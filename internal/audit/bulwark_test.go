package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/plan"
)

// A configuration that uses the extensions gets their verdicts when
// audited as Bulwark, and HAProxy's when audited as HAProxy (the .else
// branch, feature(BULWARK) false).
func TestBulwarkExtensionVerdicts(t *testing.T) {
	const base = `
global
    log tcp@10.0.0.5:6514 format rfc5424 local0
.if feature(BULWARK)
%s
.endif
defaults
    mode http
    log global
    timeout client 10s
    timeout connect 5s
    timeout server 10s
.if feature(BULWARK)
    bulwark-log-json
.else
    log-format "%%ci %%f"
.endif
frontend web
    bind 192.0.2.10:80
    default_backend app
backend app
    server s1 10.0.0.11:8080 check
`
	load := func(t *testing.T, block, product string) *Target {
		t.Helper()
		f := filepath.Join(t.TempDir(), "b.cfg")
		os.WriteFile(f, []byte(strings.Replace(base, "%s", block, 1)), 0o600)
		tg, err := Load([]string{f}, product, plan.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	all := "    bulwark-abuse-http-errors 100 10s\n    bulwark-abuse-tls-failures 20 1m\n    bulwark-abuse-flaps 3 5m\n    bulwark-abuse-webhook http://127.0.0.1:9000/a"
	for _, tc := range []struct {
		name, block, product string
		check                func(*Target) Result
		verdict              Verdict
		text                 string
	}{
		{"abuse, every kind", all, ProductBulwark, checkAbuseDetection, Pass, "http://127.0.0.1:9000/a"},
		{"abuse, errors only", "    bulwark-abuse-http-errors 100 10s", ProductBulwark, checkAbuseDetection, Warn, "bulwark-abuse-tls-failures, bulwark-abuse-flaps"},
		{"abuse, read as HAProxy", all, ProductHAProxy, checkAbuseDetection, Warn, "not tracked"},
		{"abuse, defaults", "    bulwark-abuse", ProductBulwark, checkAbuseDetection, Pass, "bulwark-abuse-denied 50 10s"},
		{"JSON logs to TCP syslog", all, ProductBulwark, checkSIEM, Pass, "leave the host"},
		{"custom format read as HAProxy", all, ProductHAProxy, checkSIEM, Warn, "lacks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.check(load(t, tc.block, tc.product))
			if r.Verdict != tc.verdict || !strings.Contains(r.Summary+" "+evidenceOf(r), tc.text) {
				t.Errorf("%v %q %v, want %v with %q", r.Verdict, r.Summary, r.Evidence, tc.verdict, tc.text)
			}
		})
	}
}

func evidenceOf(r Result) string {
	var b strings.Builder
	for _, e := range r.Evidence {
		b.WriteString(e.Text + "; ")
	}
	return b.String()
}
