package proxy

//lint:file-ignore SA1019 golang.org/x/net/http2 is the HTTP/2 client these tests drive the proxy's h2 front with, as in h2_test.go.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// kaServer is a raw-TCP HTTP/1.1 server with keep-alive, like nginx with
// keepalive_timeout: it closes a connection that stays idle for idle. It
// records every request's bytes and what happened to each connection.
// rawBackend records bytes too, but these tests need what it does not
// model: the server's idle timeout, a close instead of an answer, and
// seeing the proxy close an idle connection.
type kaServer struct {
	addr string
	idle time.Duration
	// answer decides, for the n-th request (from 1) of a connection,
	// whether to respond or to close without a byte (a server that met
	// its idle timeout just as the request arrived); nil answers all.
	answer func(n int) bool
	// hold, when set, delays the responses until hold requests have
	// arrived, so that the proxy must open that many connections at once.
	hold int

	mu       sync.Mutex
	cond     *sync.Cond
	arrived  int
	accepted int
	reqs     [][]byte // raw bytes of each complete request, in arrival order
	eofs     int      // connections the proxy closed while they were idle
	resets   int      // of eofs, those closed with a reset
}

func newKAServer(t testing.TB, idle time.Duration, answer func(int) bool, hold int) *kaServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ks := &kaServer{addr: l.Addr().String(), idle: idle, answer: answer, hold: hold}
	ks.cond = sync.NewCond(&ks.mu)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		ks.mu.Lock()
		ks.hold = 0
		ks.cond.Broadcast()
		ks.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			ks.mu.Lock()
			ks.accepted++
			ks.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				ks.serve(c)
			}()
		}
	}()
	return ks
}

func (ks *kaServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		c.SetReadDeadline(time.Now().Add(ks.idle))
		raw, err := readRawRequest(br)
		if err != nil {
			if len(raw) == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
				ks.mu.Lock()
				ks.eofs++
				if errors.Is(err, syscall.ECONNRESET) {
					ks.resets++
				}
				ks.mu.Unlock()
			}
			return // EOF, or the idle timeout: close as nginx does
		}
		ks.mu.Lock()
		ks.reqs = append(ks.reqs, raw)
		ks.mu.Unlock()
		if ks.answer != nil && !ks.answer(n) {
			return
		}
		ks.mu.Lock()
		ks.arrived++
		ks.cond.Broadcast()
		for ks.arrived < ks.hold {
			ks.cond.Wait()
		}
		ks.mu.Unlock()
		body := fmt.Sprintf("conn-req-%d", n)
		if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
			return
		}
	}
}

// readRawRequest reads one request head and its Content-Length body and
// returns the bytes as received; io.EOF with nothing read means the peer
// closed between requests.
func readRawRequest(br *bufio.Reader) ([]byte, error) {
	var raw []byte
	clen := 0
	for {
		line, err := br.ReadBytes('\n')
		raw = append(raw, line...)
		if err != nil {
			if len(raw) > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return raw, err
		}
		if string(line) == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(string(line), ":"); ok && strings.EqualFold(k, "content-length") {
			clen, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, clen)
	if _, err := io.ReadFull(br, body); err != nil {
		return raw, io.ErrUnexpectedEOF
	}
	return append(raw, body...), nil
}

// stats returns connections accepted, requests received and idle
// connections the proxy closed.
func (ks *kaServer) stats() (accepted, reqs, eofs int) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.accepted, len(ks.reqs), ks.eofs
}

// count returns how many requests received contain s.
func (ks *kaServer) count(s string) int {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	n := 0
	for _, r := range ks.reqs {
		if bytes.Contains(r, []byte(s)) {
			n++
		}
	}
	return n
}

// The backend closes idle connections after its keep-alive timeout; after
// a lull longer than that, requests over client keep-alive connections
// (HTTP/1.1) and over HTTP/2 streams must not meet those dead pooled
// connections. The POSTs stream their bodies, so a dead connection could
// not be hidden by a retry: only the check before reuse saves them.
func TestPoolLullAfterServerIdleTimeout(t *testing.T) {
	ks := newKAServer(t, 300*time.Millisecond, nil, 0)
	crt, roots := writeCert(t, "h2.example.test")
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    bind 127.0.0.1:0 ssl crt CRT alpn h2,http/1.1
    default_backend be
backend be
    server s B
`, "B", ks.addr, "CRT", crt))
	h2addr := px.Current().Addrs()[1].String()
	const n = 6
	post := func(i int) string {
		return fmt.Sprintf("POST /p%d HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nbody-%04d", i, i)
	}
	clients := make([]*rawClient, n)
	for i := range clients {
		clients[i] = newRawClient(t, addr)
		if st, body, err := clients[i].do("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 {
			t.Fatalf("warm-up %d: %d %q %v", i, st, body, err)
		}
	}
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "h2.example.test"}}
	defer tr.CloseIdleConnections()
	h2 := &http.Client{Transport: tr}
	h2do := func(method, path, body string) (int, error) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, "https://"+h2addr+path, rd)
		resp, err := h2.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			return 0, fmt.Errorf("client spoke %s", resp.Proto)
		}
		return resp.StatusCode, nil
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h2do("GET", "/warm", "")
		}()
	}
	wg.Wait()
	_, _, before := ks.stats()
	if before != 0 {
		t.Fatalf("the proxy closed %d idle connections before the lull", before)
	}

	// The lull: the server closes every idle connection.
	time.Sleep(900 * time.Millisecond)

	bad := 0
	for i, kc := range clients {
		if st, body, err := kc.do(post(i), 10*time.Second); st != 200 {
			t.Errorf("HTTP/1.1 POST %d after the lull: %d %q %v", i, st, body, err)
			bad++
		}
		if st, body, err := kc.do("GET /g HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 {
			t.Errorf("HTTP/1.1 GET %d after the lull: %d %q %v", i, st, body, err)
			bad++
		}
	}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("h2body-%04d", i)
		if st, err := h2do("POST", "/h2p", body); st != 200 {
			t.Errorf("HTTP/2 POST %d after the lull: %d %v", i, st, err)
			bad++
		}
		if st, err := h2do("GET", "/h2g", ""); st != 200 {
			t.Errorf("HTTP/2 GET %d after the lull: %d %v", i, st, err)
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d requests failed after the lull", bad, 4*n)
	}
	// Nothing was sent twice: every body reached the server once.
	for i := 0; i < n; i++ {
		if c := ks.count(fmt.Sprintf("body-%04d", i)); c != 2 { // HTTP/1.1 and HTTP/2 ("h2body-")
			t.Errorf("body %d reached the server %d times, want once per protocol", i, c)
		}
	}
}

// A reused connection that the server closes on receiving the request (it
// met its idle timeout at that instant; no check can see it coming) gets
// the request again on a new connection when retry-on allows it: always
// for a GET, for a POST only with empty-response and a buffered body, and
// never when the body streamed, whatever retry-on says.
func TestPoolRetryOnReusedConnection(t *testing.T) {
	// Every connection answers its first request only.
	first := func(n int) bool { return n == 1 }
	cases := []struct {
		name, backend, req string
		want               int // status
		copies             int // times the request reaches the server
	}{
		{"get-default", "", "GET /again HTTP/1.1\r\nHost: x\r\n\r\n", 200, 2},
		{"get-retries-0", "retries 0", "GET /again HTTP/1.1\r\nHost: x\r\n\r\n", 502, 1},
		{"get-retry-on-none", "retry-on none", "GET /again HTTP/1.1\r\nHost: x\r\n\r\n", 502, 1},
		{"post-default", "option http-buffer-request", "POST /again HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody", 502, 1},
		{"post-empty-response-buffered", "option http-buffer-request\n    retry-on conn-failure empty-response", "POST /again HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody", 200, 2},
		{"post-empty-response-streamed", "retry-on conn-failure empty-response", "POST /again HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody", 502, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks := newKAServer(t, time.Minute, first, 0)
			_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    OPTS
    server s B
`, "B", ks.addr, "OPTS", tc.backend))
			kc := newRawClient(t, addr)
			if st, body, err := kc.do("GET /first HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 {
				t.Fatalf("first request: %d %q %v", st, body, err)
			}
			// The connection waits long enough to be checked before it
			// is used again; it is open, so it is reused.
			time.Sleep(50 * time.Millisecond)
			st, body, err := kc.do(tc.req, 10*time.Second)
			if st != tc.want {
				t.Errorf("status %d %q %v, want %d", st, body, err, tc.want)
			}
			if c := ks.count("/again"); c != tc.copies {
				t.Errorf("the request reached the server %d times, want %d", c, tc.copies)
			}
		})
	}
}

// retry-on with a status: the response is dropped and the request sent
// again; without it, or without retries left, the status reaches the
// client.
func TestRetryOnStatus(t *testing.T) {
	for _, tc := range []struct {
		opts       string
		want, hits int
	}{{"retry-on 503", 200, 2}, {"", 503, 1}, {"retry-on 503\n    retries 0", 503, 1}} {
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
    default_backend be
backend be
    OPTS
    server s B
`, "B", b.addr, "OPTS", tc.opts))
		out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
		if st := statusOf(out); st != tc.want || hits.Load() != int64(tc.hits) {
			t.Errorf("%q: status %d after %d requests to the server, want %d after %d: %q", tc.opts, st, hits.Load(), tc.want, tc.hits, out)
		}
	}
}

// pool-purge-delay: an idle connection nobody takes is closed by the
// proxy, not left for the server to time out.
func TestPoolPurgeDelay(t *testing.T) {
	ks := newKAServer(t, time.Minute, nil, 0)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B pool-purge-delay 100ms
`, "B", ks.addr))
	out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
	if statusOf(out) != 200 {
		t.Fatalf("request: %q", out)
	}
	waitFor(t, func() bool {
		_, _, eofs := ks.stats()
		return eofs == 1
	}, "the proxy to close its idle server connection")
}

// pool-low-conn: purging keeps that many idle connections.
func TestPoolLowConn(t *testing.T) {
	const n = 3
	ks := newKAServer(t, time.Minute, nil, n)
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B pool-purge-delay 50ms pool-low-conn 1
`, "B", ks.addr))
	parallelRequests(t, addr, n)
	waitFor(t, func() bool {
		_, _, eofs := ks.stats()
		return eofs == n-1
	}, "the purge to close the idle connections above pool-low-conn")
	time.Sleep(300 * time.Millisecond) // several purge periods
	if _, _, eofs := ks.stats(); eofs != n-1 {
		t.Errorf("%d idle connections closed, want %d", eofs, n-1)
	}
	if got := px.Current().backends["be"].srvs()[0].pool.len(); got != 1 {
		t.Errorf("%d idle connections kept, want 1", got)
	}
}

// parallelRequests sends n one-shot requests at once and checks each gets
// 200.
func parallelRequests(t *testing.T, addr string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	outs := make([]string, n)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10*time.Second)
		}()
	}
	wg.Wait()
	for i, out := range outs {
		if statusOf(out) != 200 {
			t.Fatalf("request %d: %q", i, out)
		}
	}
}

// pool-max-conn 0 keeps no connection: each request gets its own, closed
// after the response even on a keep-alive client connection.
func TestPoolMaxConnZero(t *testing.T) {
	ks := newKAServer(t, time.Minute, nil, 0)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B pool-max-conn 0
`, "B", ks.addr))
	kc := newRawClient(t, addr)
	for i := 0; i < 3; i++ {
		if st, body, err := kc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 || body != "conn-req-1" {
			t.Fatalf("request %d: %d %q %v (want the first request of a new server connection)", i, st, body, err)
		}
	}
	waitFor(t, func() bool {
		_, _, eofs := ks.stats()
		return eofs == 3
	}, "the server connections to be closed by the proxy")
	if acc, _, _ := ks.stats(); acc != 3 {
		t.Errorf("%d server connections for 3 requests, want 3", acc)
	}
	// As HAProxy, with a reset: a FIN would leave each one in TIME_WAIT on
	// the proxy's side.
	ks.mu.Lock()
	resets := ks.resets
	ks.mu.Unlock()
	if resets != 3 {
		t.Errorf("%d of the 3 idle server connections closed with a reset, want 3", resets)
	}
}

// pool-max-conn N keeps at most N idle connections; the others close as
// they become idle, and the kept ones serve the next requests.
func TestPoolMaxConnBound(t *testing.T) {
	const n = 5
	ks := newKAServer(t, time.Minute, nil, n)
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    http-reuse always
    server s B pool-max-conn 2 pool-purge-delay 1m
`, "B", ks.addr))
	parallelRequests(t, addr, n)
	waitFor(t, func() bool {
		_, _, eofs := ks.stats()
		return eofs == n-2
	}, "the connections above pool-max-conn to close")
	if got := px.Current().backends["be"].srvs()[0].pool.len(); got != 2 {
		t.Errorf("%d idle connections kept, want 2", got)
	}
	for i := 0; i < 2; i++ {
		out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
		if statusOf(out) != 200 || strings.HasSuffix(out, "conn-req-1") {
			t.Errorf("request %d did not reuse an idle connection: %q", i, out)
		}
	}
	if acc, _, _ := ks.stats(); acc != n {
		t.Errorf("%d server connections, want %d", acc, n)
	}
}
