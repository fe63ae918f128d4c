package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// settledListener hands out each connection 30 ms after accepting it, so
// that what the client wrote right after connecting is there when the
// proxy first reads: the case the read that does not wait is for.
type settledListener struct{ net.Listener }

func (l settledListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		time.Sleep(30 * time.Millisecond)
	}
	return c, err
}

// settledProxy starts cfg with its one bind ("fd@77") on a settledListener.
func settledProxy(t *testing.T, cfg string, opts Options) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Inherited = map[int]net.Listener{77: settledListener{l}}
	startProxyWith(t, cfg, opts)
	return l.Addr().String()
}

// A first request whose head is not all there when the connection is
// served is still bounded by "timeout http-request": the read that does
// not wait (quickRead) must not take a partial head for a whole one, or
// the rest would be read with no deadline at all. The bytes are written
// at once after the connect and the proxy takes the connection a little
// later (settledListener), so that they are there for that read; leading empty lines (skipped before the request line) must not
// pass for the empty line that ends a head.
func TestFirstRequestPartialHeadTimesOut(t *testing.T) {
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	addr := settledProxy(t, sub(baseDefaults+`
frontend fe
    bind fd@77
    timeout http-request 300ms
    default_backend be
backend be
    server s B
`, "B", b.addr), Options{})
	for _, tc := range []struct{ name, head string }{
		{"no empty line", "GET / HTTP/1.1\r\nHost: x\r\n"},
		{"request line only", "GET / HTTP/1.1\r\n"},
		{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n"},
		{"leading empty lines only", "\r\n\r\n\r\n"},
		{"line without its LF", "GET / HTTP/1.1\r\nHost: x\r\n\r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out := rawRequest(t, addr, tc.head, 3*time.Second)
			if took := time.Since(start); statusOf(out) != 408 || took > 2*time.Second {
				t.Fatalf("after %v: %q, want a 408 at timeout http-request", took.Round(time.Millisecond), out)
			}
		})
	}
	if got := b.received(); got != "" {
		t.Fatalf("a partial request reached the server: %q", got)
	}
}

// A first request read whole by the read that does not wait is served as
// any other, and its bytes count as "bytes in" (they did not pass through
// the session's counting reader): head and body, sent in one write, with
// empty lines before the request line.
func TestFirstRequestReadAtOnce(t *testing.T) {
	b := newRawBackend(t, answerAfter("hello", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	got := make(chan int64, 4)
	addr := settledProxy(t, sub(baseDefaults+`
frontend fe
    bind fd@77
    log stdout local0
    timeout http-request 300ms
    default_backend be
backend be
    server s B
`, "B", b.addr), Options{Log: func(e *LogEntry) { got <- e.BytesIn }}) // the entry is reused after the call
	req := "\r\nPOST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
	out := rawRequest(t, addr, req, 3*time.Second)
	if statusOf(out) != 200 || !strings.HasSuffix(out, "ok") {
		t.Fatalf("response %q", out)
	}
	if rec := b.received(); !strings.HasPrefix(rec, "POST /p HTTP/1.1\r\n") || !strings.HasSuffix(rec, "\r\n\r\nhello") {
		t.Fatalf("server received %q", rec)
	}
	select {
	case n := <-got:
		if n != int64(len(req)) {
			t.Fatalf("bytes in %d, want %d (the request as sent)", n, len(req))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no log entry")
	}
}

// A response to a client that does not read is still bounded by "timeout
// client": writes that do not wait set no deadline, but the first one that
// has to wait does. The client sends its request and never reads a 16 MB
// response; the session must end at the timeout, in the data phase.
func TestWriteToStalledClientTimesOut(t *testing.T) {
	body := strings.Repeat("x", 16<<20)
	b := newRawBackend(t, answerEachHead(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)))
	got := make(chan string, 4)
	addr := settledProxy(t, sub(`
defaults
    mode http
    timeout connect 1s
    timeout client 300ms
    timeout server 10s
frontend fe
    bind fd@77
    log stdout local0
    default_backend be
backend be
    server s B
`, "B", b.addr), Options{Log: func(e *LogEntry) { got <- e.Term }})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	start := time.Now()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case term := <-got:
		if took := time.Since(start); took < 250*time.Millisecond || took > 3*time.Second || len(term) < 2 || term[1] != 'D' {
			t.Fatalf("session ended after %v with %q, want an end in the data phase at timeout client", took.Round(time.Millisecond), term)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("the session did not end: the write to the stalled client had no deadline")
	}
}

// A kept connection's next request that is there once the response has
// gone out is read at once (quickNext), and its bytes still count as
// "bytes in": the second request, head and body in one write, is sent
// while the server holds the first answer, so that it waits in the socket
// when the proxy comes back for it.
func TestNextRequestReadAtOnce(t *testing.T) {
	b := holdingBackend(t, 150*time.Millisecond)
	got := make(chan int64, 4)
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    log stdout local0
    default_backend be
backend be
    server s B
`, "B", b.addr), Options{Log: func(e *LogEntry) { got <- e.BytesIn }})
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	reqs := []string{"GET /first HTTP/1.1\r\nHost: x\r\n\r\n", "POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"}
	io.WriteString(c, reqs[0])
	time.Sleep(50 * time.Millisecond) // the proxy has the first request and waits for the server
	io.WriteString(c, reqs[1])
	for i, want := range []string{"/first", "/second"} {
		if body := readBody(t, br); body != want {
			t.Fatalf("response %d: %q, want %q", i, body, want)
		}
		select {
		case n := <-got:
			if n != int64(len(reqs[i])) {
				t.Fatalf("request %d: bytes in %d, want %d (the request as sent)", i, n, len(reqs[i]))
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("request %d: no log entry", i)
		}
	}
}

// A part of the next head found by that read is not taken for a whole
// one: the rest is still bounded by "timeout http-keep-alive" (or the
// rest would be waited for with no deadline at all, up to "timeout
// client", a minute here).
func TestNextRequestPartialHeadTimesOut(t *testing.T) {
	const keep = 400 * time.Millisecond
	b := holdingBackend(t, 150*time.Millisecond)
	_, addr := startProxy(t, sendWaitConfig(b.addr, "1m", "", "    timeout http-keep-alive 400ms\n    timeout http-request 400ms\n"))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the proxy has the first request and waits for the server
	io.WriteString(c, "GET /never HTTP/1.1\r\nHo")
	if body := readBody(t, br); body != "/first" {
		t.Fatalf("first response %q", body)
	}
	t0 := time.Now()
	io.Copy(io.Discard, br)
	if d := time.Since(t0); d < keep*3/4 || d > keep+3*time.Second {
		t.Fatalf("closed %v after the response, want about %v (timeout http-keep-alive)", d, keep)
	}
	if got := strings.Count(b.received(), "\r\n\r\n"); got != 1 {
		t.Fatalf("the server got %d heads, want 1: %q", got, b.received())
	}
}
