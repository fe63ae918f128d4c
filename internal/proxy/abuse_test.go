package proxy

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark/internal/abuse"
	"bulwark/internal/model"
)

// logMsg is one Options.ProxyLog call.
type logMsg struct{ proxy, level, msg string }

// logSink collects Options.ProxyLog messages (alerts, TLS failures).
type logSink struct {
	mu   sync.Mutex
	msgs []*logMsg
}

func (s *logSink) log(proxy, level, msg string) {
	s.mu.Lock()
	s.msgs = append(s.msgs, &logMsg{proxy, level, msg})
	s.mu.Unlock()
}

// matching returns the entries at level alert whose text holds sub.
func (s *logSink) matching(sub string) []*logMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*logMsg
	for _, e := range s.msgs {
		if e.level == "alert" && strings.Contains(e.msg, sub) {
			out = append(out, e)
		}
	}
	return out
}

// waitCount waits until n alert lines hold sub; the bound only ends a
// test that would hang.
func (s *logSink) waitCount(t *testing.T, sub string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(s.matching(sub)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d lines with %q, want %d", len(s.matching(sub)), sub, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A burst of 404s from one client raises exactly one alert (log line at
// level alert, webhook POST) and exactly one clear once it stops.
func TestAbuseBurstOf404s(t *testing.T) {
	var hookMu sync.Mutex
	var hooks []abuse.Alert
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a abuse.Alert
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &a); err == nil {
			hookMu.Lock()
			hooks = append(hooks, a)
			hookMu.Unlock()
		}
	}))
	defer hook.Close()
	be := newTestServer(t, "app", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	sink := &logSink{}
	cfg := `
global
.if feature(BULWARK)
    bulwark-abuse-http-errors 20 400ms
    bulwark-abuse-webhook ` + hook.URL + `/alerts
.endif
defaults
    mode http
    timeout client 5s
    timeout connect 1s
    timeout server 5s
frontend web
    bind 127.0.0.1:0
    log stdout format raw local0
    default_backend app
backend app
    server s1 ` + be.addr + `
`
	_, addr := startProxyWith(t, cfg, Options{ProxyLog: sink.log})
	client := &http.Client{}
	for i := 0; i < 100; i++ {
		resp, body := httpGet(t, client, "http://"+addr+"/missing")
		_ = body
		if resp.StatusCode != 404 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	sink.waitCount(t, "bulwark abuse ALERT: kind=http-errors frontend=web source=127.0.0.1", 1)
	sink.waitCount(t, "bulwark abuse CLEAR: kind=http-errors frontend=web source=127.0.0.1", 1)
	if n := len(sink.matching("bulwark abuse ALERT")); n != 1 {
		t.Errorf("%d alerts, want 1", n)
	}
	if n := len(sink.matching("bulwark abuse CLEAR")); n != 1 {
		t.Errorf("%d clears, want 1", n)
	}
	for _, e := range sink.matching("bulwark abuse") {
		if e.proxy != "web" {
			t.Errorf("alert sent to proxy %q", e.proxy)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		hookMu.Lock()
		n := len(hooks)
		hookMu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook got %d alerts, want 2", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	hookMu.Lock()
	defer hookMu.Unlock()
	if len(hooks) != 2 || hooks[0].Clear || !hooks[1].Clear || hooks[0].Source != "127.0.0.1" || hooks[0].Count < 20 {
		t.Errorf("webhook alerts: %+v", hooks)
	}
}

// Failed handshakes from one client raise one alert.
func TestAbuseTLSFailures(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	sink := &logSink{}
	cfg := `
global
.if feature(BULWARK)
    bulwark-abuse-tls-failures 5 1m
.endif
defaults
    mode http
    timeout client 5s
frontend tls
    bind 127.0.0.1:0 ssl crt ` + crt + `
    log stdout format raw local0
    http-request deny
`
	_, addr := startProxyWith(t, cfg, Options{ProxyLog: sink.log})
	for i := 0; i < 12; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET / HTTP/1.1\r\n\r\n")) // not TLS
		io.ReadAll(c)
		c.Close()
	}
	sink.waitCount(t, "bulwark abuse ALERT: kind=tls-failures frontend=tls source=127.0.0.1", 1)
	if n := len(sink.matching("bulwark abuse ALERT")); n != 1 {
		t.Errorf("%d alerts, want 1", n)
	}
}

// A server whose health check keeps changing raises one flapping alert.
func TestAbuseFlappingServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvAddr := l.Addr().String()
	sink := &logSink{}
	cfg := `
global
.if feature(BULWARK)
    bulwark-abuse-flaps 3 1m
.endif
defaults
    mode http
    timeout client 5s
    timeout connect 200ms
    timeout check 200ms
frontend web
    bind 127.0.0.1:0
    log stdout format raw local0
    default_backend app
backend app
    server s1 ` + srvAddr + ` check inter 20ms fall 1 rise 1
`
	var evMu sync.Mutex
	var events []string
	px, _ := startProxyWith(t, cfg, Options{ProxyLog: sink.log, Event: func(m string) {
		evMu.Lock()
		events = append(events, m)
		evMu.Unlock()
	}})
	_ = px
	changes := func() int {
		evMu.Lock()
		defer evMu.Unlock()
		n := 0
		for _, m := range events {
			if strings.Contains(m, "app/s1 is") {
				n++
			}
		}
		return n
	}
	// Accept (up) and stop accepting (down) in turns, each time waiting
	// for the checker to see it.
	up := l
	for i := 0; i < 4; i++ {
		want := changes() + 1
		if up != nil {
			up.Close()
			up = nil
		} else {
			up, err = net.Listen("tcp", srvAddr)
			if err != nil {
				t.Skipf("cannot listen on %s again: %v", srvAddr, err)
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for changes() < want {
			if time.Now().After(deadline) {
				t.Fatalf("server state did not change; events %v", events)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if up != nil {
		defer up.Close()
	}
	sink.waitCount(t, "bulwark abuse ALERT: kind=server-flaps frontend=- source=app/s1", 1)
	if a := sink.matching("bulwark abuse ALERT"); len(a) != 1 || a[0].proxy != "app" {
		t.Errorf("alerts %v, want 1 to backend app", a)
	}
}

// Over loopback: errors from several client addresses, none of them
// alone above its threshold, raise one proxy-errors alert for the
// frontend and one for the backend naming the top clients; requests
// denied by a rule raise one denied alert for their client; "bulwark-abuse"
// gives the other kinds their defaults.
func TestAbuseProxyErrorsAndDenied(t *testing.T) {
	be := newTestServer(t, "app", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	sink := &logSink{}
	cfg := `
global
.if feature(BULWARK)
    bulwark-abuse
    bulwark-abuse-proxy-errors 20 1m
    bulwark-abuse-denied 10 1m
.endif
defaults
    mode http
    timeout client 5s
    timeout connect 1s
    timeout server 5s
frontend web
    bind 127.0.0.1:0
    log stdout format raw local0
    http-request deny if { path /admin }
    default_backend app
backend app
    server s1 ` + be.addr + `
`
	px, addr := startProxyWith(t, cfg, Options{ProxyLog: sink.log})
	send := func(from, path string) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		io.ReadAll(c)
	}
	// 127.0.0.2 sends half of the errors, 127.0.0.3 a quarter.
	for i := 0; i < 24; i++ {
		from := "127.0.0." + strconv.Itoa(4+i%8)
		switch {
		case i%2 == 0:
			from = "127.0.0.2"
		case i%4 == 1:
			from = "127.0.0.3"
		}
		send(from, "/x")
	}
	sink.waitCount(t, "bulwark abuse ALERT: kind=proxy-errors frontend=web source=web", 1)
	sink.waitCount(t, "bulwark abuse ALERT: kind=proxy-errors frontend=- backend=app source=app", 1)
	for _, e := range sink.matching("kind=proxy-errors") {
		if !strings.Contains(e.msg, " top=127.0.0.2:10,127.0.0.3:5,") {
			t.Errorf("top clients: %q", e.msg)
		}
	}
	if be := sink.matching("backend=app"); len(be) != 1 || be[0].proxy != "app" {
		t.Errorf("backend alert %v", be)
	}
	for i := 0; i < 12; i++ {
		send("127.0.0.9", "/admin")
	}
	sink.waitCount(t, "bulwark abuse ALERT: kind=denied frontend=web source=127.0.0.9", 1)
	if n := len(sink.matching("bulwark abuse ALERT")); n != 3 {
		t.Errorf("%d alerts, want 3: %v", n, sink.matching("bulwark abuse ALERT"))
	}
	set := px.Current().model.Global.Bulwark.Abuse
	if def := model.DefaultAbuse(); set.HTTPErrors != def.HTTPErrors || set.TLSFailures != def.TLSFailures || set.Flaps != def.Flaps ||
		set.ProxyErrors.Count != 20 || set.Denied.Count != 10 {
		t.Errorf("thresholds %+v", set)
	}
}

// Over loopback: failed handshakes from several addresses raise one
// alert for the bind, to the frontend's log targets.
func TestAbuseBindTLSFailures(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	sink := &logSink{}
	cfg := `
global
.if feature(BULWARK)
    bulwark-abuse-tls-failures 100 1m
    bulwark-abuse-bind-tls-failures 8 1m
.endif
defaults
    mode http
    timeout client 5s
frontend tls
    bind 127.0.0.1:0 ssl crt ` + crt + ` name edge
    log stdout format raw local0
    http-request deny
`
	_, addr := startProxyWith(t, cfg, Options{ProxyLog: sink.log})
	for i := 0; i < 12; i++ {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%4))}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\n\r\n") // not TLS
		io.ReadAll(c)
		c.Close()
	}
	sink.waitCount(t, "bulwark abuse ALERT: kind=bind-tls-failures frontend=tls bind=edge source=edge count=8", 1)
	if a := sink.matching("bulwark abuse ALERT"); len(a) != 1 || a[0].proxy != "tls" || !strings.Contains(a[0].msg, " top=127.0.0.2:2,127.0.0.3:2,127.0.0.4:2,127.0.0.5:2") {
		t.Errorf("alerts %v", a)
	}
}
