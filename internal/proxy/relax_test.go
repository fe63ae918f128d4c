package proxy

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"bulwark/internal/h1"
)

// exchangeRaw sends raw and reads until the proxy closes or timeout
// passes; closed tells which.
func exchangeRaw(t *testing.T, addr, raw string, timeout time.Duration) (resp string, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 4096)
	for range 1000 {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			var ne net.Error
			return string(out), !(errors.As(err, &ne) && ne.Timeout())
		}
	}
	return string(out), false
}

const relaxCfg = baseDefaults + `
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 S1
`

// Without the opt-outs, the messages HAProxy 2.6 accepts and Bulwark
// refuses never reach the server.
func TestRelaxOffRefuses(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	_, addr := startProxy(t, sub(relaxCfg, "S1", s1.addr))
	for _, raw := range []string{
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 31\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET http://u@x/ HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		if out := rawRequest(t, addr, raw, 5*time.Second); statusOf(out) != 400 {
			t.Errorf("%q: %q, want 400", raw, out)
		}
	}
	if got := s1.received(); got != "" {
		t.Errorf("server received %q", got)
	}
}

// Relax.Framing: Content-Length with Transfer-Encoding is read as chunked,
// Content-Length is not forwarded, and both connections close after the
// response, so the bytes after the chunked body ("GET /smuggled") are
// never read as a request (HAProxy 2.6.12 with the same bytes:
// reg-tests http-messaging/http_transfer_encoding.vtc c1).
func TestRelaxFramingCLAndTE(t *testing.T) {
	// The server answers once the chunked body's end came: an answer to
	// the head alone could reach the client, and the test read the
	// record, before the server read the body (the proxy forwards the head
	// and the body in separate writes).
	s1 := newRawBackend(t, answerAfter("\r\n\r\n0\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	_, addr := startProxyWith(t, sub(relaxCfg, "S1", s1.addr), Options{Relax: h1.Relax{Framing: true}})
	out, closed := exchangeRaw(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 31\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second)
	if statusOf(out) != 200 || !strings.Contains(strings.ToLower(out), "\r\nconnection: close\r\n") || !closed {
		t.Errorf("client got %q (closed %v), want a 200 with Connection: close, then the close", out, closed)
	}
	if strings.Count(out, "HTTP/1.1 ") != 1 {
		t.Errorf("more than one response: %q", out)
	}
	got := s1.received()
	if want := "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"; !strings.HasPrefix(got, want) {
		t.Errorf("server received %q, want it to start with %q", got, want)
	}
	if strings.Contains(strings.ToLower(got), "content-length") || strings.Contains(got, "smuggled") {
		t.Errorf("server received %q", got)
	}
	if !strings.HasSuffix(got, "\r\n\r\n0\r\n\r\n") {
		t.Errorf("server received %q, want the chunked body", got)
	}
}

// Relax.Framing: Transfer-Encoding in HTTP/1.0 is honoured and closes
// both connections (http_transfer_encoding.vtc c2).
func TestRelaxFramingTEInHTTP10(t *testing.T) {
	// Answered at the body's end, not its head (TestRelaxFramingCLAndTE).
	s1 := newRawBackend(t, answerAfter("\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	_, addr := startProxyWith(t, sub(relaxCfg, "S1", s1.addr), Options{Relax: h1.Relax{Framing: true}})
	out, closed := exchangeRaw(t, addr, "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 5*time.Second)
	if statusOf(out) != 200 || !closed {
		t.Errorf("client got %q (closed %v)", out, closed)
	}
	got := s1.received()
	if !strings.Contains(got, "\r\nConnection: close\r\n") || !strings.HasSuffix(got, "\r\n\r\n3\r\nabc\r\n0\r\n\r\n") {
		t.Errorf("server received %q", got)
	}
}

// Relax.Framing on a response: Content-Length is dropped and the body
// read as chunked; what follows it is never sent to the client
// (http_transfer_encoding.vtc c4).
func TestRelaxFramingResponse(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\nResponse splitting attach"))
	_, addr := startProxyWith(t, sub(relaxCfg, "S1", s1.addr), Options{Relax: h1.Relax{Framing: true}})
	out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
	if statusOf(out) != 200 || strings.Contains(strings.ToLower(out), "content-length") || !strings.HasSuffix(out, "\r\n\r\n0\r\n\r\n") {
		t.Errorf("client got %q", out)
	}
	off := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\nResponse splitting attach"))
	_, addr = startProxy(t, sub(relaxCfg, "S1", off.addr))
	if out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second); statusOf(out) != 502 {
		t.Errorf("without the opt-out: %q, want 502", out)
	}
}

// Relax.MissingHost: an HTTP/1.1 request without Host is forwarded as is.
func TestRelaxMissingHost(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	_, addr := startProxyWith(t, sub(relaxCfg, "S1", s1.addr), Options{Relax: h1.Relax{MissingHost: true}})
	out := rawRequest(t, addr, "GET /a HTTP/1.1\r\nConnection: close\r\n\r\n", 5*time.Second)
	if statusOf(out) != 200 {
		t.Errorf("client got %q", out)
	}
	if got := s1.received(); !strings.HasPrefix(got, "GET /a HTTP/1.1\r\n") || strings.Contains(strings.ToLower(got), "host:") {
		t.Errorf("server received %q", got)
	}
}

// A transfer coding before chunked is 422, as HAProxy 2.6.12 answers
// (http_transfer_encoding.vtc c10); other bad lists stay 400; nothing is
// forwarded.
func TestTransferCodingStatuses(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	_, addr := startProxy(t, sub(relaxCfg, "S1", s1.addr))
	for te, want := range map[string]int{
		"gzip, chunked":          422,
		"identity, chunked":      422,
		"chunked, chunked":       400,
		"chunked, gzip":          400,
		"chunked, gzip, chunked": 400,
	} {
		out := rawRequest(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "+te+"\r\n\r\n0\r\n\r\n", 5*time.Second)
		if statusOf(out) != want {
			t.Errorf("%s: %q, want %d", te, out, want)
		}
	}
	if got := s1.received(); got != "" {
		t.Errorf("server received %q", got)
	}
}

// The request's TE field is hop-by-hop and dropped, except "trailers",
// which is re-sent (HAProxy 2.6.12, http_transfer_encoding.vtc c5).
func TestTETrailersForwarded(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	_, addr := startProxy(t, sub(relaxCfg, "S1", s1.addr))
	for te, want := range map[string]bool{"trailers, gzip": true, "gzip": false, "trailers;q=0.5": false} {
		n := len(s1.received())
		rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nTE: "+te+"\r\nConnection: close\r\n\r\n", 5*time.Second)
		got := s1.received()[n:]
		if strings.Contains(got, "\r\nTE: trailers\r\n") != want || strings.Contains(got, "gzip") || strings.Contains(got, "q=") {
			t.Errorf("TE %q: server received %q", te, got)
		}
	}
}

// Runs of SP/HTAB in the request line are accepted, as by HAProxy
// 2.6.12, and the server gets the line rebuilt with single spaces.
func TestRequestLineWhitespaceForwarded(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	_, addr := startProxy(t, sub(relaxCfg, "S1", s1.addr))
	if out := rawRequest(t, addr, "GET\t /1 \tHTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second); statusOf(out) != 200 {
		t.Errorf("client got %q", out)
	}
	if got := s1.received(); !strings.HasPrefix(got, "GET /1 HTTP/1.1\r\n") {
		t.Errorf("server received %q", got)
	}
}

// "option http-buffer-request" reads a chunked body ahead too: the
// server gets it as one chunk with the trailers (HAProxy 2.6.12 sends
// "2\r\n11\r\n0\r\nx-t: y\r\n\r\n" for these bytes); a client that closes
// before the end reaches no server, and the log says CR with the
// backend and status -1 (reg-tests http_request_buffer.vtc c3, c4).
func TestBufferRequestChunked(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	logs := make(chan LogEntry, 4)
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    option http-buffer-request
    use_backend be
backend be
    server s1 S1
`, "S1", s1.addr), Options{LogAll: true, Log: func(e *LogEntry) { logs <- *e }})
	c := dial(t, addr)
	io.WriteString(c, "POST /1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n1\r\n1")
	time.Sleep(20 * time.Millisecond) // the body arrives in two parts
	io.WriteString(c, "\r\n1\r\n0\r\nX-T: y\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	n, _ := c.Read(buf)
	c.Close()
	if statusOf(string(buf[:n])) != 200 {
		t.Fatalf("client got %q", buf[:n])
	}
	if got := s1.received(); !strings.HasSuffix(got, "Transfer-Encoding: chunked\r\n\r\n2\r\n11\r\n0\r\nX-T: y\r\n\r\n") {
		t.Errorf("server received %q", got)
	}
	select {
	case <-logs:
	case <-time.After(5 * time.Second):
		t.Fatal("no log entry for the first request")
	}
	before := s1.received()
	c = dial(t, addr)
	io.WriteString(c, "POST /2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n1\r\n0\r\n")
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case e := <-logs:
		if e.Term != "CR" || e.Status != -1 || e.Backend != "be" || e.Server != "<NOSRV>" {
			t.Errorf("log entry: term %q status %d backend %q server %q", e.Term, e.Status, e.Backend, e.Server)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no log entry for the aborted request")
	}
	if got := s1.received(); got != before {
		t.Errorf("server received %q after the abort", got[len(before):])
	}
}
