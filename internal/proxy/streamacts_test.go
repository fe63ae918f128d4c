package proxy

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// set-map, del-map, add-acl and del-acl change the references that maps
// and ACLs built on the same file read, from the next request on.
func TestMapAndACLActions(t *testing.T) {
	dir := t.TempDir()
	mf, af := filepath.Join(dir, "routes.map"), filepath.Join(dir, "block.acl")
	os.WriteFile(mf, nil, 0o600)
	os.WriteFile(af, nil, 0o600)
	sock := filepath.Join(dir, "api.sock")
	_, addr := startProxy(t, sub(`
global
    stats socket SOCK level admin
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    acl blocked path -f ACL
    http-request set-map(MAP) %[url_param(k)] %[url_param(v)] if { path /set }
    http-request del-map(MAP) %[url_param(k)] if { path /del }
    http-request add-acl(ACL) %[url_param(k)] if { path /block }
    http-request del-acl(ACL) %[url_param(k)] if { path /unblock }
    http-request return status 204 if { path /set } || { path /del } || { path /block } || { path /unblock }
    http-request deny if blocked
    http-request return status 200 hdr X-Got %[path,map(MAP,none)]
`, "MAP", mf, "ACL", af, "SOCK", sock))
	get := func(path string) string {
		return rawRequest(t, addr, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3*time.Second)
	}
	if r := get("/a"); !strings.Contains(r, "X-Got: none") {
		t.Fatalf("before set-map: %q", r)
	}
	get("/set?k=/a&v=one")
	if r := get("/a"); !strings.Contains(r, "X-Got: one") {
		t.Fatalf("after set-map: %q", r)
	}
	get("/set?k=/a&v=two") // an existing key changes value, no duplicate
	if r := get("/a"); !strings.Contains(r, "X-Got: two") {
		t.Fatalf("after second set-map: %q", r)
	}
	get("/del?k=/a")
	if r := get("/a"); !strings.Contains(r, "X-Got: none") {
		t.Fatalf("after del-map: %q", r)
	}
	get("/set?k=/c&v=three")
	// "show map" sees what the rules did: one entry per key.
	if got := apiCall(t, sock, "show map "+mf); strings.Count(got, " /") != 1 || !strings.Contains(got, " /c three\n") {
		t.Fatalf("show map: %q", got)
	}
	get("/block?k=/b")
	get("/block?k=/b")
	if r := get("/b"); statusOf(r) != 403 {
		t.Fatalf("after add-acl: %q", r)
	}
	if got := apiCall(t, sock, "show acl "+af); strings.Count(got, "/b") != 1 {
		t.Fatalf("show acl after adding /b twice: %q", got)
	}
	get("/unblock?k=/b")
	if r := get("/b"); statusOf(r) != 200 {
		t.Fatalf("after del-acl (added twice, present once): %q", r)
	}
}

// early-hint rules send one 103 with their fields before the final
// response, as the client's raw bytes show; an HTTP/1.0 client gets none.
func TestEarlyHintRawBytes(t *testing.T) {
	_, addr := startProxy(t, baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request early-hint Link "</style.css>; rel=preload"
    http-request early-hint Link "</%[path,regsub(^/,)].js>; rel=preload"
    http-request return status 200 content-type text/plain string ok
`)
	r := rawRequest(t, addr, "GET /app HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3*time.Second)
	want := "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nLink: </app.js>; rel=preload\r\n\r\nHTTP/1.1 200"
	if !strings.HasPrefix(r, want) {
		t.Fatalf("got %q, want prefix %q", r, want)
	}
	r = rawRequest(t, addr, "GET /app HTTP/1.0\r\nHost: x\r\n\r\n", 3*time.Second)
	if !strings.HasPrefix(r, "HTTP/1.1 200") {
		t.Fatalf("HTTP/1.0: %q", r)
	}
}

// http-response and http-after-response capture fill response slots and
// capture-req a request slot; the log line has them.
func TestResponseCapturesInLog(t *testing.T) {
	b := newTestServer(t, "b", nil)
	var mu sync.Mutex
	var entries []LogEntry
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    log stdout format raw local0
    declare capture request len 8
    declare capture response len 4
    declare capture response len 8
    http-request set-var(txn.x) url_param(id),capture-req(0)
    http-response capture res.hdr(content-length) id 0
    http-after-response capture str(afterwards) id 1
    default_backend be
backend be
    server s B
`, "B", b.addr), Options{Log: func(e *LogEntry) {
		mu.Lock()
		entries = append(entries, *e)
		mu.Unlock()
	}})
	r := rawRequest(t, addr, "GET /?id=abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3*time.Second)
	if statusOf(r) != 200 {
		t.Fatalf("response %q", r)
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(entries) != 1 {
		t.Fatalf("%d entries", len(entries))
	}
	if e := entries[0]; e.CapReq != "{abc}" || !strings.HasPrefix(e.CapResp, "{") || !strings.HasSuffix(e.CapResp, "|afterwar}") || e.CapResp == "{|afterwar}" {
		t.Fatalf("captures %q %q, want {abc} {<content-length>|afterwar}", e.CapReq, e.CapResp)
	}
}

// The backend queue serves lower priority classes first, whatever the
// arrival order, and prio_class reads what set-priority-class set. The
// server holds /first until /low then /high are both queued: no sleep
// decides the order.
func TestQueuePriorityClass(t *testing.T) {
	var mu sync.Mutex
	var order []string
	started, release := make(chan struct{}), make(chan struct{})
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Path+"="+r.Header.Get("X-Prio"))
		mu.Unlock()
		if r.URL.Path == "/first" {
			close(started)
			<-release
		}
	})
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request set-priority-class int(10) if { path /low }
    http-request set-priority-class int(-5000) if { path /high }
    http-request set-header X-Prio %[prio_class]
    default_backend be
backend be
    timeout queue 5s
    server s B maxconn 1
`, "B", b.addr))
	be := px.Current().backends["be"]
	queued := func(n int64) {
		t.Helper()
		waitFor(t, func() bool { return be.queued.Load() >= n }, fmt.Sprintf("%d requests queued", n))
	}
	var wg sync.WaitGroup
	send := func(p string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rawRequest(t, addr, "GET "+p+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
		}()
	}
	send("/first")
	select {
	case <-started:
	case <-time.After(3 * time.Second):
		t.Fatal("/first did not reach the server")
	}
	send("/low")
	queued(1)
	send("/high")
	queued(2)
	close(release)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	// -5000 is truncated to -2047 (CM 4.2 set-priority-class).
	want := "/first=0 /high=-2047 /low=10"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("served %q, want %q", got, want)
	}
}

// disable-l7-retry: a status listed in retry-on reaches the client instead
// of being retried, for the requests the rule matches only.
func TestDisableL7Retry(t *testing.T) {
	for _, tc := range []struct {
		path       string
		want, hits int
	}{{"/post-like", 503, 1}, {"/other", 200, 2}} {
		var hits atomic.Int64
		b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
			if hits.Add(1) == 1 {
				w.WriteHeader(503)
			}
			io.WriteString(w, "answer")
		})
		_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request disable-l7-retry if { path /post-like }
    default_backend be
backend be
    retry-on 503
    server s B
`, "B", b.addr))
		out := rawRequest(t, addr, "GET "+tc.path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
		if st := statusOf(out); st != tc.want || hits.Load() != int64(tc.hits) {
			t.Errorf("%s: status %d after %d requests, want %d after %d", tc.path, st, hits.Load(), tc.want, tc.hits)
		}
	}
}

// tcp-request content capture fills a request slot of a TCP frontend,
// which the log entry's %hr block shows.
func TestTCPContentCapture(t *testing.T) {
	b := newTestServer(t, "b", nil)
	var mu sync.Mutex
	var entries []LogEntry
	_, addr := startProxyWith(t, sub(`
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    log stdout format raw local0
    tcp-request inspect-delay 1s
    tcp-request content capture req.payload(0,3) len 2
    tcp-request content capture req.len len 8
    default_backend be
backend be
    server s B
`, "B", b.addr), Options{Log: func(e *LogEntry) {
		mu.Lock()
		entries = append(entries, *e)
		mu.Unlock()
	}})
	r := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3*time.Second)
	if statusOf(r) != 200 {
		t.Fatalf("response %q", r)
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(entries) != 1 || entries[0].CapReq != "{GE|46}" {
		t.Fatalf("entries %d, captures %+v", len(entries), entries)
	}
}
