package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/stick"
)

func compile(t *testing.T, src string) (*plan.Plan, config.Diagnostics) {
	t.Helper()
	cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
	m, cds := model.Compile(cfg, model.Options{})
	ds = append(ds, cds...)
	if ds.HasAlerts() {
		t.Fatalf("model: %v", ds)
	}
	return plan.Compile(m, plan.Options{})
}

const defaults = `defaults base
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
`

// Everything the proxy will need is compiled, with its position: a rule
// error, a bad regex and a server option the engine does not run
// (proxy-v2-options cert-sig) are all reported at their
// lines, in one run.
func TestCompileReportsEveryErrorAtItsLine(t *testing.T) {
	_, ds := compile(t, defaults+`
frontend fe from base
    bind 127.0.0.1:8080
    http-request set-header X-A
    http-request deny if { path_reg ( }
    default_backend be
backend be from base
    server s1 127.0.0.1:9000 send-proxy-v2 proxy-v2-options cert-sig
`)
	var lines []int
	for _, d := range ds {
		if d.Severity == config.SevAlert {
			lines = append(lines, d.Pos.Line)
		}
	}
	if fmt.Sprint(lines) != "[9 10 13]" {
		t.Fatalf("alerts at lines %v, want 9, 10 and 13: %v", lines, ds)
	}
}

// A rule of a defaults section compiled for two proxies is one error,
// at its one line.
func TestInheritedRuleErrorOnce(t *testing.T) {
	_, ds := compile(t, `defaults base
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
    http-request set-header X-A
frontend a from base
    bind 127.0.0.1:8080
    default_backend be
frontend b from base
    bind 127.0.0.1:8081
    default_backend be
defaults plain
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
backend be
    server s1 127.0.0.1:9000
`)
	if n := ds.Count(config.SevAlert); n != 1 {
		t.Fatalf("%d alerts, want 1: %v", n, ds)
	}
}

// Stick rules run in HTTP proxies only for now: a TCP proxy's are refused
// rather than ignored; their tables store server_id.
func TestStickRulesPlan(t *testing.T) {
	_, ds := compile(t, defaults+`
listen l
    mode tcp
    bind 127.0.0.1:8080
    stick-table type ip size 10
    stick on src
    server s 127.0.0.1:9000
`)
	if !strings.Contains(fmt.Sprint(ds), "'stick on' in a TCP proxy") {
		t.Fatalf("diagnostics %v", ds)
	}
	pl, ds := compile(t, defaults+`
frontend fe from base
    bind 127.0.0.1:8080
    default_backend be
backend be from base
    stick-table type ip size 10
    stick on src table be
    stick match src table nowhere
    server s 127.0.0.1:9000
`)
	if !strings.Contains(fmt.Sprint(ds), "unable to find stick-table 'nowhere'") {
		t.Fatalf("diagnostics %v", ds)
	}
	found := false
	for px, pp := range pl.Proxies {
		if px.Name != "be" {
			continue
		}
		found = true
		if pp.Rules == nil || len(pp.Rules.Stick) != 1 || !pp.Rules.Stick[0].Table.Stores(stick.DTServerID) {
			t.Fatalf("be's stick rules %+v", pp.Rules)
		}
	}
	if !found {
		t.Fatal("no plan for be")
	}
}

// tcp-response content runs in TCP and HTTP proxies; "close" is accepted
// in both, as in HAProxy 2.6 (in HTTP mode it answers 502).
func TestTCPResponsePlan(t *testing.T) {
	_, ds := compile(t, defaults+`
listen l
    mode tcp
    bind 127.0.0.1:8080
    tcp-response inspect-delay 1s
    tcp-response content reject unless { res.payload(0,0) -m sub OK }
    tcp-response content close if { res.len gt 10 }
    server s 127.0.0.1:9000
`)
	if ds.HasAlerts() {
		t.Fatalf("TCP proxy: %v", ds)
	}
	_, ds = compile(t, defaults+`
listen l
    mode http
    bind 127.0.0.1:8080
    tcp-response content close if { res.len gt 10 }
    server s 127.0.0.1:9000
`)
	if ds.HasAlerts() {
		t.Fatalf("HTTP proxy: %v", ds)
	}
}
