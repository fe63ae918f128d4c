package proxy

import (
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"bulwark/internal/stats"
)

// get sends one HTTP/1.0 request and returns the body (one attempt).
func getBody(t *testing.T, addr, path string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET "+path+" HTTP/1.0\r\nHost: x\r\n\r\n")
	b, _ := io.ReadAll(c)
	_, body, ok := strings.Cut(string(b), "\r\n\r\n")
	if !ok || !strings.HasPrefix(string(b), "HTTP/1.") {
		t.Fatalf("%s: %q", path, b)
	}
	return body
}

// The counters of the Bulwark-only features reach the exporter (as
// bulwark_ families, and DroppedLogs as HAProxy's own metric), the
// ";bulwark" JSON and the HTML page, while HAProxy's CSV keeps its
// columns.
func TestBulwarkCountersExported(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	cfg := `
global
.if feature(BULWARK)
    bulwark-abuse-tls-failures 5 1m
.endif
defaults
    mode http
    timeout client 5s
    timeout connect 1s
    timeout server 5s
frontend mon
    bind 127.0.0.1:0
    stats enable
    stats uri /stats
    http-request use-service prometheus-exporter if { path /metrics }
frontend tls
    bind 127.0.0.1:0 ssl crt ` + crt + ` name tlsbind
    log stdout format raw local0
    http-request deny
`
	logStats := func() []stats.LogTarget {
		return []stats.LogTarget{{Target: "tcp@192.0.2.1:514", Sent: 40, Dropped: 2}}
	}
	px, mon := startProxyWith(t, cfg, Options{ProxyLog: func(string, string, string) {}, LogStats: logStats})
	tlsAddr := px.Current().Addrs()[1].String()
	for i := 0; i < 6; i++ {
		c, err := net.Dial("tcp", tlsAddr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\n\r\n") // not TLS
		io.ReadAll(c)
		c.Close()
	}
	// The failure is counted once the server has classified it.
	deadline := time.Now().Add(20 * time.Second)
	for px.Current().TLSFailures("tls")["not-tls"] < 6 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}

	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(getBody(t, mon, "/metrics")))
	if err != nil {
		t.Fatal(err)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		for _, m := range mfs[name].GetMetric() {
			ok := true
			for _, lp := range m.GetLabel() {
				if v, want := labels[lp.GetName()], lp.GetValue(); v != want {
					ok = false
				}
			}
			if ok && len(m.GetLabel()) == len(labels) {
				if m.Counter != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"bulwark_tls_handshake_failures_total", map[string]string{"proxy": "tls", "bind": "tlsbind", "reason": "not-tls"}, 6},
		{"bulwark_abuse_alerts_total", map[string]string{"kind": "tls-failures"}, 1},
		{"bulwark_abuse_alerts_active", nil, 1},
		{"bulwark_syslog_dropped_total", map[string]string{"target": "tcp@192.0.2.1:514"}, 2},
		{"bulwark_syslog_messages_total", map[string]string{"target": "tcp@192.0.2.1:514"}, 40},
		{"haproxy_process_dropped_logs_total", nil, 2},
	} {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if mfs["bulwark_acme_renewals_total"] != nil || mfs["bulwark_certificate_reloads_total"] != nil {
		t.Error("families of features not configured are written")
	}
	p2 := expfmt.NewTextParser(pmodel.UTF8Validation)
	if _, err := p2.TextToMetricFamilies(strings.NewReader(getBody(t, mon, "/metrics?scope=bulwark"))); err != nil {
		t.Fatal(err)
	}
	if s := getBody(t, mon, "/metrics?scope=frontend"); strings.Contains(s, "bulwark_") {
		t.Error("scope=frontend writes bulwark_ families")
	}

	var x stats.Bulwark
	if err := json.Unmarshal([]byte(getBody(t, mon, "/stats;bulwark")), &x); err != nil {
		t.Fatal(err)
	}
	if len(x.TLSFailures) != 1 || x.TLSFailures[0] != (stats.TLSFailure{Frontend: "tls", Bind: "tlsbind", Reason: "not-tls", Count: 6}) ||
		x.Abuse == nil || x.Abuse.Active != 1 || len(x.Logs) != 1 || x.Logs[0].Dropped != 2 {
		t.Errorf(";bulwark: %+v", x)
	}
	if page := getBody(t, mon, "/stats"); !strings.Contains(page, "<h2>Bulwark</h2>") || !strings.Contains(page, "tls tlsbind not-tls</td><td>6<") || !strings.Contains(page, "/stats;bulwark\"") {
		t.Error("the HTML page lacks the Bulwark box")
	}
	// HAProxy's CSV is unchanged: its header is the 2.6 one.
	csv := getBody(t, mon, "/stats;csv")
	if head, _, _ := strings.Cut(csv, "\n"); strings.Contains(head, "bulwark") || !strings.HasPrefix(head, "# pxname,svname,qcur,") {
		t.Errorf("CSV header %q", head)
	}
}
