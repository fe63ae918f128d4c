package proxy

import (
	"net/http"
	"strings"
	"testing"

	"bulwark/internal/config"
	"bulwark/internal/plan"
)

func TestStatsPage(t *testing.T) {
	b := newTestServer(t, "b", nil)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    stats enable
    stats uri /stats
    stats auth admin:s3cret-Pa55
    stats hide-version
    default_backend be
backend be
    server s1 B
`, "B", b.addr))
	httpGet(t, &http.Client{}, "http://"+addr+"/")
	resp, _ := httpGet(t, &http.Client{}, "http://"+addr+"/stats")
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("without credentials: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/stats;csv", nil)
	req.SetBasicAuth("admin", "wrong")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 401 {
		t.Fatalf("wrong password accepted: %v %v", r, err)
	}
	req.SetBasicAuth("admin", "s3cret-Pa55")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	csv := sb.String()
	if r.StatusCode != 200 || !strings.HasPrefix(csv, "# pxname,svname,") {
		t.Fatalf("csv: %d %q", r.StatusCode, csv)
	}
	// The server row counts the one proxied request.
	var found bool
	for _, line := range strings.Split(csv, "\n") {
		f := strings.Split(line, ",")
		if len(f) > 7 && f[0] == "be" && f[1] == "s1" {
			found = true
			if f[7] != "1" {
				t.Fatalf("stot of s1 = %s, want 1: %s", f[7], line)
			}
		}
	}
	if !found {
		t.Fatalf("no row for be/s1 in %q", csv)
	}
	if b.hits.Load() != 1 {
		t.Fatal("stats requests reached the server")
	}
}

// HAP-6.1: a stats page without credentials on a public address is refused.
func TestStatsPublicWithoutAuthRefused(t *testing.T) {
	m := compileCfg(t, baseDefaults+`
frontend fe
    bind 0.0.0.0:8404
    stats enable
    stats uri /stats
`)
	ds := checkModel(m, plan.Options{})
	refused := false
	for _, d := range ds {
		refused = refused || (d.Severity == config.SevAlert && strings.Contains(d.Msg, "HAP-6.1"))
	}
	if !refused {
		t.Fatalf("want a HAP-6.1 refusal, got %v", ds)
	}
	if ds := checkModel(m, plan.Options{AllowPublicStats: true}); ds.HasAlerts() {
		t.Fatalf("opt-out did not apply: %v", ds)
	}
}

// HAP-3.1: a wildcard bind is a start-up warning.
func TestWildcardBindWarning(t *testing.T) {
	m := compileCfg(t, baseDefaults+`
frontend fe
    bind :8080
    http-request return status 200
`)
	warned := false
	for _, d := range checkModel(m, plan.Options{}) {
		warned = warned || (d.Severity == config.SevWarning && strings.Contains(d.Msg, "HAP-3.1"))
	}
	if !warned {
		t.Fatal("no HAP-3.1 warning for 'bind :8080'")
	}
}
