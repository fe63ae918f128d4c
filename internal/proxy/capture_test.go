package proxy

import (
	"context"
	"net"
	"net/http"
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
