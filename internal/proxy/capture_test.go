package proxy

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark/internal/plan"
)

// Header captures and "http-request capture" fill the httplog blocks; a
// "set-log-level silent" request is not logged.
func TestCapturesAndLogLevel(t *testing.T) {
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Resp", "pong|1")
		w.Write([]byte("ok"))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var entries []LogEntry
	px := New(Options{Inherited: map[int]net.Listener{9: l}, Log: func(e *LogEntry) {
		mu.Lock()
		entries = append(entries, *e)
		mu.Unlock()
	}})
	m := compileCfg(t, sub(baseDefaults+`
frontend fe
    bind fd@9
    log stdout format raw local0
    capture request header Host len 5
    capture response header X-Resp len 20
    http-request capture url_param(id) len 3
    http-request set-log-level silent if { path /quiet }
    default_backend be
backend be
    server s B
`, "B", b.addr))
	rt, err := px.Build(mustPlan(t, m, plan.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	}()
	addr := l.Addr().String()
	req, _ := http.NewRequest("GET", "http://"+addr+"/x?id=12345", nil)
	req.Host = "example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rawRequest(t, addr, "GET /quiet HTTP/1.1\r\nHost: q\r\nConnection: close\r\n\r\n", 3*time.Second)
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(entries) != 2 {
		t.Fatalf("%d log entries, want 2", len(entries))
	}
	// The two connections log independently: the first request's line may
	// come second.
	first, quiet := entries[0], entries[1]
	if first.CapReq == "{q|}" {
		first, quiet = quiet, first
	}
	if first.CapReq != "{examp|123}" || first.CapResp != "{pong#7C1}" {
		t.Fatalf("captures %q %q, want {examp|123} {pong#7C1}", first.CapReq, first.CapResp)
	}
	if quiet.Level != "silent" {
		t.Fatalf("level %q for /quiet, want silent (the logger drops it)", quiet.Level)
	}
}

// Capture slots are numbered in configuration order, a named defaults
// section's first, whatever declares them: "capture request header",
// "declare capture" and "http-request capture ... len". A rule with "id"
// fills a declared slot, cut to that slot's length, also from a backend.
func TestCaptureSlotOrder(t *testing.T) {
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-R: resp-val\r\n\r\n"))
	var mu sync.Mutex
	var entries []LogEntry
	_, addr := startProxyWith(t, sub(`
defaults base
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    http-request capture hdr(X-A) len 4
frontend fe from base
    bind 127.0.0.1:0
    log stdout format raw local0
    capture request header Host len 3
    declare capture request len 2
    declare capture response len 5
    capture response header X-R len 4
    http-request capture hdr(X-Q) id 2
    http-request capture hdr(X-C) len 10
    default_backend be
defaults plain
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend be
    http-request capture hdr(X-D) id 0
    http-request capture hdr(X-D) id 9
    http-request set-header X-Caps "0=%[capture.req.hdr(0)] 1=%[capture.req.hdr(1)] 2=%[capture.req.hdr(2)] 3=%[capture.req.hdr(3)]"
    server s B
`, "B", b.addr), Options{Log: func(e *LogEntry) {
		mu.Lock()
		entries = append(entries, *e)
		mu.Unlock()
	}})
	resp := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: example\r\nX-A: aaaaaa\r\nX-Q: bbbbbb\r\nX-C: cccccc\r\nX-D: dddddd\r\nConnection: close\r\n\r\n", 3*time.Second)
	if statusOf(resp) != 200 {
		t.Fatalf("response %q", resp)
	}
	if got, want := b.received(), "X-Caps: 0=dddd 1=exa 2=bb 3=cccccc\r\n"; !strings.Contains(got, want) {
		t.Fatalf("backend received %q, want the line %q", got, want)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		n := len(entries)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(entries) != 1 {
		t.Fatalf("%d log entries, want 1", len(entries))
	}
	if e := entries[0]; e.CapReq != "{dddd|exa|bb|cccccc}" || e.CapResp != "{|resp}" {
		t.Fatalf("captures %q %q, want {dddd|exa|bb|cccccc} {|resp}", e.CapReq, e.CapResp)
	}
}
