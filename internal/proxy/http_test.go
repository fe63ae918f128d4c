package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRoundRobinWeights(t *testing.T) {
	a := newTestServer(t, "a", nil)
	b := newTestServer(t, "b", nil)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance roundrobin
    server a A weight 3
    server b B weight 1
`, "A", a.addr, "B", b.addr))
	client := &http.Client{}
	for i := 0; i < 400; i++ {
		httpGet(t, client, "http://"+addr+"/")
	}
	if a.hits.Load() != 300 || b.hits.Load() != 100 {
		t.Fatalf("weights 3:1 over 400 requests: a=%d b=%d, want 300/100", a.hits.Load(), b.hits.Load())
	}
}

func TestBackupFailover(t *testing.T) {
	bk := newTestServer(t, "bk", nil)
	bk2 := newTestServer(t, "bk2", nil)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    retries 1
    option redispatch
    server a DEAD disabled
    server b BK backup
    server c BK2 backup
`, "DEAD", deadAddr(t), "BK2", bk2.addr, "BK", bk.addr))
	for i := 0; i < 10; i++ {
		resp, body := httpGet(t, &http.Client{}, "http://"+addr+"/")
		if resp.StatusCode != 200 || body != "bk" {
			t.Fatalf("request %d: %d %q, want the first backup", i, resp.StatusCode, body)
		}
	}
	if bk2.hits.Load() != 0 {
		t.Fatalf("second backup got %d requests without allbackups", bk2.hits.Load())
	}
}

func TestRetriesRedispatchAndDeadServer(t *testing.T) {
	live := newTestServer(t, "live", nil)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance roundrobin
    retries 2
    option redispatch
    timeout connect 200ms
    server dead DEAD
    server live LIVE
`, "DEAD", deadAddr(t), "LIVE", live.addr))
	for i := 0; i < 6; i++ {
		resp, body := httpGet(t, &http.Client{}, "http://"+addr+"/")
		if resp.StatusCode != 200 || body != "live" {
			t.Fatalf("request %d: %d %q; redispatch should reach the live server", i, resp.StatusCode, body)
		}
	}
}

func TestAllServersDown503(t *testing.T) {
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    retries 1
    timeout connect 200ms
    server dead DEAD
`, "DEAD", deadAddr(t)))
	out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second)
	if statusOf(out) != 503 || !strings.Contains(out, "No server is available") {
		t.Fatalf("got %q, want HAProxy's 503 page", out)
	}
}

func TestServerTimeout504(t *testing.T) {
	slow := newTestServer(t, "slow", nil)
	slow.delay = 2 * time.Second
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    timeout server 300ms
    server s SLOW
`, "SLOW", slow.addr))
	out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second)
	if statusOf(out) != 504 {
		t.Fatalf("got %q, want 504", out)
	}
}

func TestHTTPRequestTimeout408Slowloris(t *testing.T) {
	b := newTestServer(t, "b", nil)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    timeout http-request 500ms
    default_backend be
backend be
    server s B
`, "B", b.addr))
	c := dial(t, addr)
	defer c.Close()
	// One header byte at a time, every 100 ms: the total head time is what
	// counts, so the request is cut although the client is never idle.
	start := time.Now()
	head := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(c)
		done <- string(b)
	}()
	for i := 0; i < len(head); i++ {
		if _, err := c.Write([]byte{head[i]}); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
		if time.Since(start) > 3*time.Second {
			break
		}
	}
	out := <-done
	if statusOf(out) != 408 {
		t.Fatalf("got %q, want 408", out)
	}
	if b.hits.Load() != 0 {
		t.Fatal("a partial request reached the server")
	}
}

func TestQueueMaxconn(t *testing.T) {
	slow := newTestServer(t, "slow", nil)
	slow.delay = 200 * time.Millisecond
	var mu sync.Mutex
	cur, peak := 0, 0
	gate := newTestServer(t, "gate", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cur++
		if cur > peak {
			peak = cur
		}
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		cur--
		mu.Unlock()
		io.WriteString(w, "ok")
	})
	_ = slow
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    timeout queue 5s
    server s GATE maxconn 2
`, "GATE", gate.addr))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := (&http.Client{}).Get("http://" + addr + "/")
			if err != nil {
				errs <- err
				return
			}
			io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- &statusErr{resp.StatusCode}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if peak > 2 {
		t.Fatalf("server saw %d concurrent requests with maxconn 2", peak)
	}
	if gate.hits.Load() != 20 {
		t.Fatalf("server got %d requests, want 20", gate.hits.Load())
	}
}

func TestQueueTimeout503(t *testing.T) {
	slow := newTestServer(t, "slow", nil)
	slow.delay = 1500 * time.Millisecond
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    timeout queue 200ms
    server s SLOW maxconn 1
`, "SLOW", slow.addr))
	first := make(chan string)
	go func() {
		first <- rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
	}()
	time.Sleep(100 * time.Millisecond)
	out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second)
	if statusOf(out) != 503 {
		t.Fatalf("queued request: got %q, want 503 after timeout queue", out)
	}
	if statusOf(<-first) != 200 {
		t.Fatal("first request should succeed")
	}
}

type statusErr struct{ code int }

func (e *statusErr) Error() string { return http.StatusText(e.code) }

// A checked server that dies leaves the rotation; traffic goes to the other.
func TestHealthCheckRemovesDeadServer(t *testing.T) {
	a := newTestServer(t, "a", nil)
	b := newTestServer(t, "b", nil)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    timeout check 1s
    option httpchk GET /health
    server a A check inter 100ms fall 2 rise 2
    server b B check inter 100ms fall 2 rise 2
`, "A", a.addr, "B", b.addr))
	a.l.Close() // a stops accepting: its checks fail
	// Until a is marked DOWN some requests may fail; after that, every
	// request must reach b.
	deadline := time.Now().Add(5 * time.Second)
	streak := 0
	for streak < 10 {
		if time.Now().After(deadline) {
			t.Fatal("the dead server was never taken out of rotation")
		}
		resp, err := (&http.Client{}).Get("http://" + addr + "/")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(body) == "b" {
				streak++
				continue
			}
		}
		streak = 0
		time.Sleep(50 * time.Millisecond)
	}
	if b.hits.Load() < 10 {
		t.Fatal("requests did not reach b")
	}
}

// balance hdr(Host) hashes on the header value: one host always lands on
// the same server.
func TestBalanceHdrStickiness(t *testing.T) {
	a := newTestServer(t, "a", nil)
	b := newTestServer(t, "b", nil)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance hdr(X-Tenant)
    server a A
    server b B
`, "A", a.addr, "B", b.addr))
	seen := map[string]string{}
	for i := 0; i < 40; i++ {
		tenant := []string{"t1", "t2", "t3"}[i%3] // 3 tenants over 2 servers: round robin would move them
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Header.Set("X-Tenant", tenant)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if prev, ok := seen[tenant]; ok && prev != string(body) {
			t.Fatalf("tenant %s moved from %s to %s", tenant, prev, body)
		}
		seen[tenant] = string(body)
	}
	if a.hits.Load() == 0 || b.hits.Load() == 0 {
		t.Logf("all tenants hashed to one server (a=%d b=%d)", a.hits.Load(), b.hits.Load())
	}
}

// option prefer-last-server keeps a keep-alive client on its server.
func TestPreferLastServer(t *testing.T) {
	a := newTestServer(t, "a", nil)
	b := newTestServer(t, "b", nil)
	for _, tc := range []struct {
		opt     string
		sameSrv bool
	}{{"option prefer-last-server", true}, {"", false}} {
		_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    OPT
    server a A
    server b B
`, "A", a.addr, "B", b.addr, "OPT", tc.opt))
		client := &http.Client{} // one keep-alive connection
		seen := map[string]bool{}
		for i := 0; i < 6; i++ {
			_, body := httpGet(t, client, "http://"+addr+"/")
			seen[body] = true
		}
		if (len(seen) == 1) != tc.sameSrv {
			t.Errorf("%q: servers seen %v", tc.opt, seen)
		}
	}
}

// A server connection that carries its second request keeps timing the
// server: "timeout server" (and a shorter "set-timeout server" of that
// request) still cuts a server that does not answer, although the
// deadlines of the first exchange are not set again when they still hold.
func TestServerTimeoutOnReusedConnection(t *testing.T) {
	// Answers the first request of each connection, never the second.
	b := newRawBackend(t, func(in []byte, sent int) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", sent == 0 && strings.Contains(string(in), "\r\n\r\n")
	})
	for _, tc := range []struct{ name, cfg, path string }{
		{"timeout server", "timeout server 300ms", "/"},
		{"set-timeout server", "timeout server 30s\n    http-request set-timeout server 300ms if { path /short }", "/short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    `+tc.cfg+`
    server s B
`, "B", b.addr))
			kc := newRawClient(t, addr)
			if st, body, err := kc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || body != "ok" {
				t.Fatalf("first request: %d %q %v", st, body, err)
			}
			if st, _, err := kc.do("GET "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 504 {
				t.Fatalf("second request on the reused server connection: %d %v, want 504", st, err)
			}
		})
	}
}
