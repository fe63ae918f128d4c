package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
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
			// A raw keep-alive client: net/http would silently retry an
			// idempotent request that a closing connection dropped, and
			// hide exactly the failure this test is about.
			var c net.Conn
			var rd *bufio.Reader
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			fail := func(format string, args ...any) {
				if failures.Add(1) == 1 {
					t.Logf("first failure: "+format, args...)
				}
			}
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if c == nil {
					var err error
					if c, err = net.Dial("tcp", addr); err != nil {
						fail("dial: %v", err)
						continue
					}
					rd = bufio.NewReader(c)
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
					fail("write: %v", err)
					c.Close()
					c = nil
					continue
				}
				resp, err := http.ReadResponse(rd, nil)
				if err != nil {
					fail("read after %d requests on the connection: %v", i, err)
					c.Close()
					c = nil
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fail("status %d", resp.StatusCode)
				}
				done.Add(1)
				if resp.Close {
					c.Close()
					c = nil
				}
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

// A reload that fails after it took over the running generation's sockets
// (here: a new bind on a port in use, after the stats socket was taken)
// gives them back: the running generation keeps serving them, and the
// next reload with a good file succeeds.
func TestFailedReloadReleasesSockets(t *testing.T) {
	b := newTestServer(t, "b", nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	sock := filepath.Join(t.TempDir(), "api.sock")
	cfg := func(tag, extraBind string) string {
		return sub(`
global
    stats socket SOCK level admin
`+baseDefaults+`
frontend fe
    bind fd@7
    EXTRA
    http-response set-header X-Gen TAG
    default_backend be
backend be
    server s B
`, "SOCK", sock, "B", b.addr, "TAG", tag, "EXTRA", extraBind)
	}
	px := New(Options{Inherited: map[int]net.Listener{7: l}})
	rt1, err := px.Build(mustPlan(t, compileCfg(t, cfg("one", "")), plan.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt1)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	}()
	if _, err := px.Build(mustPlan(t, compileCfg(t, cfg("bad", "bind "+busy.Addr().String())), plan.Options{})); err == nil {
		t.Fatal("a bind on a port in use built")
	}
	if out := apiCall(t, sock, "show info"); !strings.Contains(out, "Name: Bulwark") {
		t.Fatalf("the running generation lost its stats socket: %q", out)
	}
	rt3, err := px.Build(mustPlan(t, compileCfg(t, cfg("three", "")), plan.Options{}))
	if err != nil {
		t.Fatalf("reload after a failed one: %v", err)
	}
	// The socket itself was handed over, not bound anew: a TCP stats socket
	// bound anew would fail with "address already in use", a unix one
	// would unlink the running generation's.
	key := listenKey("unix", sock)
	if rt3.keys[key] == nil || rt3.keys[key] != rt1.keys[key] {
		t.Fatal("the good reload did not take over the stats socket of the running generation")
	}
	px.Start(rt3)
	// The old generation may still accept on the shared socket until its
	// accept loops have seen the stop.
	rt1.loops.Wait()
	resp, _ := httpGet(t, &http.Client{}, "http://"+l.Addr().String()+"/")
	if g := resp.Header.Get("X-Gen"); g != "three" {
		t.Fatalf("X-Gen %q, want three", g)
	}
	if out := apiCall(t, sock, "show info"); !strings.Contains(out, "Name: Bulwark") {
		t.Fatalf("stats socket after the good reload: %q", out)
	}
}
