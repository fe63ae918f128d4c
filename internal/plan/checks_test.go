package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"bulwark/internal/config"
	"bulwark/internal/health"
	"bulwark/internal/model"
	"bulwark/internal/plan"
)

func compileAny(t *testing.T, src string) (*plan.Plan, config.Diagnostics) {
	t.Helper()
	cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
	m, cds := model.Compile(cfg, model.Options{})
	pl, pds := plan.Compile(m, plan.Options{})
	return pl, append(append(ds, cds...), pds...)
}

func sendOf(t *testing.T, pl *plan.Plan, be string) health.Request {
	t.Helper()
	s := pl.Proxies[pl.Model.Backend(be)].Check
	for _, r := range s.Rules {
		if r.HTTP != nil {
			return *r.HTTP
		}
	}
	t.Fatalf("%s: no request in %+v", be, s.Rules)
	return health.Request{}
}

// The request of http checks as HAProxy 2.6 builds it (reg-test
// checks/http-check-send): an "option httpchk" of the proxy starts over,
// a proxy's own "http-check send" replaces the inherited ruleset, and an
// inherited send merges into the inherited option's request line.
func TestHTTPCheckSendInheritance(t *testing.T) {
	pl, ds := compileAny(t, `defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
    option httpchk GET /status HTTP/1.1\r\nHdr:\ dropped
    http-check send hdr Host "my-www-host" hdr X-test true body "test"
backend be3
    option httpchk
    server s 127.0.0.1:1 check
backend be4
    server s 127.0.0.1:1 check
backend be5
    http-check send hdr Host "other-www-host" body "other test"
    server s 127.0.0.1:1 check
backend be6
    http-check send meth GET uri / ver HTTP/1.1 hdr host ws-host hdr connection upgrade
    http-check expect status 101
    server s 127.0.0.1:1 check
`)
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	for be, want := range map[string]string{
		"be3": "OPTIONS / HTTP/1.0 [] ",
		"be4": "GET /status HTTP/1.1 [[Host my-www-host] [X-test true]] test",
		"be5": "OPTIONS / HTTP/1.0 [[Host other-www-host]] other test",
		"be6": "GET / HTTP/1.1 [[host ws-host] [connection upgrade]] ",
	} {
		r := sendOf(t, pl, be)
		if got := fmt.Sprintf("%s %s %s %v %s", r.Method, r.URI, r.Version, r.Headers, r.Body); got != want {
			t.Errorf("%s sends %q, want %q", be, got, want)
		}
	}
	s := pl.Proxies[pl.Model.Backend("be6")].Check
	last := s.Rules[len(s.Rules)-1]
	if last.Exp == nil || fmt.Sprint(last.Exp.Codes) != "[{101 101}]" {
		t.Fatalf("be6 ends with %+v, want its own expect and no implicit one", last)
	}
}

// tcp-check rules become a script with HAProxy's step numbers; the
// patterns that cannot compile are reported at their word.
func TestTCPCheckCompiles(t *testing.T) {
	pl, ds := compileAny(t, `defaults
    mode tcp
    timeout connect 5s
    timeout client 5s
    timeout server 5s
backend be
    option tcp-check
    tcp-check connect port 6379
    tcp-check send-binary 2a310d0a comment "ping"
    tcp-check expect min-recv 4 string +PONG comment "pong" error-status L7STS
    server s 127.0.0.1:1 check
`)
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	s := pl.Proxies[pl.Model.Backend("be")].Check
	if len(s.Rules) != 3 || s.Kind != health.KindTCP || s.Rules[0].Conn.Port != 6379 || string(s.Rules[1].Data) != "*1\r\n" ||
		s.Rules[2].Step != 3 || s.Rules[2].Comment != "pong" || s.Rules[2].Exp.MinRecv != 4 || s.Rules[2].Exp.Err.String() != "L7STS" {
		t.Fatalf("script %+v", s.Rules)
	}
	_, ds = compileAny(t, `defaults
    mode tcp
    timeout connect 5s
    timeout client 5s
    timeout server 5s
backend be
    option tcp-check
    tcp-check send-binary zz01
    tcp-check expect rstring (unclosed
    tcp-check expect ok-status L9OK string x
    tcp-check expect string-lf %[nosuchfetch]
    server s 127.0.0.1:1 check
backend bh
    mode http
    option httpchk
    http-check expect status 2xx
    server s 127.0.0.1:1 check agent-check
`)
	var got []string
	for _, d := range ds {
		if d.Severity == config.SevAlert {
			got = append(got, fmt.Sprintf("%d:%d", d.Pos.Line, d.Pos.Col))
		}
	}
	if strings.Join(got, " ") != "10:32 8:27 9:30 11:32 16:30 17:5" {
		t.Fatalf("alerts at %v, want each at its word: %v", got, ds)
	}
}

func TestProtocolChecksSelected(t *testing.T) {
	pl, ds := compileAny(t, `defaults
    mode tcp
    timeout connect 5s
    timeout client 5s
    timeout server 5s
backend my
    option mysql-check user haproxy pre-41
    server s 127.0.0.1:1 check
backend sm
    option smtpchk EHLO example.org
    server s 127.0.0.1:1 check
backend last
    option redis-check
    option ldap-check
    server s 127.0.0.1:1 check
`)
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	my := pl.Proxies[pl.Model.Backend("my")].Check
	if len(my.Rules) != 4 || !strings.Contains(string(my.Rules[1].Data), "haproxy\x00") {
		t.Fatalf("mysql-check %+v", my.Rules)
	}
	sm := pl.Proxies[pl.Model.Backend("sm")].Check
	if string(sm.Rules[3].Data) != "EHLO example.org\r\n" {
		t.Fatalf("smtpchk sends %q", sm.Rules[3].Data)
	}
	if l := pl.Proxies[pl.Model.Backend("last")].Check; len(l.Rules) != 4 || l.Rules[3].Exp.Custom == nil {
		t.Fatalf("the last check option wins: %+v", l.Rules)
	}
}
