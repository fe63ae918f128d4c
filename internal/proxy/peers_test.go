package proxy

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"bulwark/internal/plan"
)

// A table declared in a "peers" section is a stick table like any other on
// this node: tracked and read by "<peers>/<table>", and kept across a
// reload.
func TestPeersTableLocal(t *testing.T) {
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := sub(`
peers mypeers
    peer me 127.0.0.1:10000
    table t1 type ip size 1k expire 10m store http_req_cnt
`+baseDefaults+`
frontend fe
    bind fd@7
    http-request track-sc0 src table mypeers/t1
    http-request return status 200 content-type text/plain lf-string "count=%[sc_http_req_cnt(0,mypeers/t1)]" if { path /count }
    http-request deny deny_status 429 if { sc_http_req_cnt(0,mypeers/t1) gt 4 }
    default_backend be
backend be
    server s B
`, "B", b.addr)
	t.Setenv("HAPROXY_LOCALPEER", "me")
	px := New(Options{Inherited: map[int]net.Listener{7: l}})
	rt1, err := px.Build(mustPlan(t, compileCfg(t, cfg), plan.Options{Table: px.RunningTable}))
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt1)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	}()
	addr := l.Addr().String()
	rc := newRawClient(t, addr)
	for i := 1; i <= 3; i++ {
		if st, _, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second); err != nil || st != 200 {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
	}
	if _, body, _ := newRawClient(t, addr).do("GET /count HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second); body != "count=4" {
		t.Fatalf("count before reload: %q", body)
	}
	rt2, err := px.Build(mustPlan(t, compileCfg(t, cfg), plan.Options{Table: px.RunningTable}))
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt2)
	rc2 := newRawClient(t, addr)
	if _, body, _ := rc2.do("GET /count HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second); body != "count=5" {
		t.Fatalf("count after reload: %q (the table did not carry over)", body)
	}
	rc3 := newRawClient(t, addr)
	if st, _, err := rc3.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second); st != 429 {
		t.Fatalf("6th request: %d %v, want 429 from the rate rule", st, err)
	}
	if n := strings.Count(b.received(), "GET / "); n != 3 {
		t.Fatalf("server got %d requests, want 3", n)
	}
}
