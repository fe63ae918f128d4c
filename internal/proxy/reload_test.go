package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bulwark/internal/plan"
)

// A reload under load: the new generation takes over the listening socket
// (no connection refused, no request lost), the old one drains, and the
// stick table keeps its counts.
func TestReloadUnderLoadKeepsTables(t *testing.T) {
	b := newTestServer(t, "b", nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	cfg := func(tag string) string {
		return sub(baseDefaults+`
frontend fe
    bind fd@7
    stick-table type ip size 1k expire 10m store http_req_cnt
    http-request track-sc0 src
    http-request return status 200 content-type text/plain lf-string "count=%[sc_http_req_cnt(0)]" if { path /count }
    http-response set-header X-Gen TAG
    default_backend be
backend be
    server s B
`, "B", b.addr, "TAG", tag)
	}
	px := New(Options{Inherited: map[int]net.Listener{7: l}})
	rt1, err := px.Build(mustPlan(t, compileCfg(t, cfg("one")), plan.Options{Table: px.RunningTable}))
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt1)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	}()

	var failures, done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get("http://" + addr + "/")
				if err != nil {
					if failures.Add(1) == 1 {
						t.Logf("first failure: %v", err)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					if failures.Add(1) == 1 {
						t.Logf("first failure: status %d", resp.StatusCode)
					}
				}
				done.Add(1)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	rt2, err := px.Build(mustPlan(t, compileCfg(t, cfg("two")), plan.Options{Table: px.RunningTable}))
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt2)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d of %d requests failed across the reload", failures.Load(), done.Load())
	}
	resp, body := httpGet(t, &http.Client{}, "http://"+addr+"/count")
	if resp.Header.Get("X-Gen") != "" && resp.Header.Get("X-Gen") != "two" {
		t.Fatalf("served by generation %q after reload", resp.Header.Get("X-Gen"))
	}
	resp, _ = httpGet(t, &http.Client{}, "http://"+addr+"/")
	if resp.Header.Get("X-Gen") != "two" {
		t.Fatalf("X-Gen %q after reload, want two", resp.Header.Get("X-Gen"))
	}
	// Every request of both generations was counted in the one table.
	n, err := strconv.ParseInt(strings.TrimPrefix(body, "count="), 10, 64)
	if err != nil {
		t.Fatalf("count body %q: %v", body, err)
	}
	if n < done.Load() {
		t.Fatalf("table counted %d requests after reload, but %d were made", n, done.Load())
	}
}
