package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Frontend maxconn: beyond it the proxy stops accepting; the kernel holds
// the connection until a slot frees, then it is served.
func TestFrontendMaxconnBackPressure(t *testing.T) {
	b := newTestServer(t, "b", nil)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    maxconn 2
    default_backend be
backend be
    server s B
`, "B", b.addr))
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	third := dial(t, addr)
	defer third.Close()
	io.WriteString(third, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	br := bufio.NewReader(third)
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("a third connection was served with maxconn 2")
	}
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("third connection after a slot freed: %v %v", resp, err)
	}
	held[1].Close()
}

// "timeout http-keep-alive" closes an idle client connection silently.
func TestKeepAliveTimeoutSilentClose(t *testing.T) {
	b := newTestServer(t, "b", nil)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    timeout http-keep-alive 200ms
    default_backend be
backend be
    server s B
`, "B", b.addr))
	c := dial(t, addr)
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	rest, err := io.ReadAll(br)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after keep-alive timeout got %q, %v; want a silent close", rest, err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("idle connection was not closed by timeout http-keep-alive")
	}
}

// errorfile replaces the built-in page for its status.
func TestErrorfile(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "503.http")
	os.WriteFile(page, []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\ncustom503"), 0o644)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    errorfile 503 PAGE
    retries 0
    timeout connect 200ms
    server dead DEAD
`, "PAGE", page, "DEAD", deadAddr(t)))
	out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second)
	if !strings.HasSuffix(out, "custom503") {
		t.Fatalf("got %q, want the errorfile", out)
	}
}

// option forwardfor: "except" skips trusted sources, "if-none" keeps a
// header the client sent, and the default appends.
func TestForwardForVariants(t *testing.T) {
	got := make(chan []string, 4)
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Values("X-Forwarded-For")
	})
	for _, tc := range []struct {
		opt  string
		sent string
		want string
	}{
		{"option forwardfor", "1.2.3.4", "1.2.3.4,127.0.0.1"},
		{"option forwardfor except 127.0.0.0/8", "", ""},
		{"option forwardfor if-none", "1.2.3.4", "1.2.3.4"},
		{"option forwardfor header X-Client", "", ""},
	} {
		_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    OPT
    default_backend be
backend be
    server s B
`, "B", b.addr, "OPT", tc.opt))
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		if tc.sent != "" {
			req.Header.Set("X-Forwarded-For", tc.sent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if v := strings.Join(<-got, ","); v != tc.want {
			t.Errorf("%s: server saw X-Forwarded-For %q, want %q", tc.opt, v, tc.want)
		}
	}
}

// Pipelined requests in one write are answered in order.
func TestPipelinedRequests(t *testing.T) {
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	})
	addr := proxyTo(t, b.addr)
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\nGET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{"/one", "/two", "/three"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
}

// maxqueue bounds the waiting requests: beyond it, 503 at once.
func TestMaxQueue(t *testing.T) {
	slow := newTestServer(t, "slow", nil)
	slow.delay = 600 * time.Millisecond
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    timeout queue 5s
    server s SLOW maxconn 1 maxqueue 1
`, "SLOW", slow.addr))
	results := make(chan int, 3)
	for i := 0; i < 3; i++ {
		go func() {
			results <- statusOf(rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second))
		}()
		time.Sleep(100 * time.Millisecond)
	}
	counts := map[int]int{}
	for i := 0; i < 3; i++ {
		counts[<-results]++
	}
	if counts[200] != 2 || counts[503] != 1 {
		t.Fatalf("statuses %v, want two 200 (one served, one queued) and one 503", counts)
	}
}

// Connection modes: httpclose closes the client connection after each
// response; http-server-close keeps the client but not the server side.
func TestConnectionModes(t *testing.T) {
	var conns sync.Map
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns.Store(r.RemoteAddr, true)
		io.WriteString(w, "ok")
	})}
	go srv.Serve(l)
	defer srv.Close()
	countConns := func() int {
		n := 0
		conns.Range(func(_, _ any) bool { n++; return true })
		conns.Range(func(k, _ any) bool { conns.Delete(k); return true })
		return n
	}
	for _, tc := range []struct {
		opt             string
		clientCloses    bool
		serverConnsFor3 int
	}{
		{"option http-keep-alive", false, 1},
		{"option http-server-close", false, 3},
		{"option httpclose", true, 3},
	} {
		_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    OPT
    default_backend be
backend be
    http-reuse never
    server s B
`, "B", l.Addr().String(), "OPT", tc.opt))
		c := dial(t, addr)
		br := bufio.NewReader(c)
		closed := false
		for i := 0; i < 3 && !closed; i++ {
			c.SetDeadline(time.Now().Add(3 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: request %d: %v", tc.opt, i, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			closed = resp.Close
		}
		c.Close()
		if closed != tc.clientCloses {
			t.Errorf("%s: client connection closed=%v, want %v", tc.opt, closed, tc.clientCloses)
		}
		if n := countConns(); !tc.clientCloses && n != tc.serverConnsFor3 {
			t.Errorf("%s: %d server connections for 3 requests, want %d", tc.opt, n, tc.serverConnsFor3)
		}
	}
}

// option http-buffer-request: a client that sends its body too slowly gets
// 408 and no server is contacted; a complete body goes through.
func TestHTTPBufferRequest(t *testing.T) {
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Write(body)
	})
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    timeout http-request 400ms
    option http-buffer-request
    default_backend be
backend be
    server s B
`, "B", b.addr))
	out := rawRequest(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 3*time.Second)
	if statusOf(out) != 200 || !strings.HasSuffix(out, "hello") {
		t.Fatalf("complete body: %q", out)
	}
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
	before := b.hits.Load()
	resp, _ := io.ReadAll(c)
	if statusOf(string(resp)) != 408 {
		t.Fatalf("slow body: %q, want 408", resp)
	}
	if b.hits.Load() != before {
		t.Fatal("the server was contacted for an incomplete body")
	}
}
