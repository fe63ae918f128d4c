package proxy

//lint:file-ignore SA1019 golang.org/x/net/http2 is the HTTP/2 implementation this project uses on purpose.

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"

	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// smuggled is what a client sends after a 101: it must reach the server
// only through a tunnel the client asked for and the server granted.
const smuggled = "GET /admin HTTP/1.1\r\nHost: public\r\n\r\n"

// exchangeThen sends req, reads the proxy's answer head, then sends after
// and waits a little for the proxy to pass it on; it returns the status
// of the first final response.
func exchangeThen(t *testing.T, addr, req, after string) (int, string) {
	t.Helper()
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	br := bufio.NewReader(c)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil || line == "\r\n" {
			break
		}
	}
	io.WriteString(c, after)
	// The proxy either relays (tunnel) or has closed: read what follows
	// until close or a short quiet spell.
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	rest, _ := io.ReadAll(br)
	return statusOf(head.String()), head.String() + string(rest)
}

// A 101 opens a tunnel only when the client offered that upgrade and
// Bulwark forwarded it; otherwise the client gets 502 and not one byte it
// sends afterwards reaches the server (issue 17, finding 1).
func TestRogue101NeverTunnels(t *testing.T) {
	cases := []struct {
		name   string
		req    string
		resp   string
		tunnel bool
	}{
		{"no upgrade asked", "GET / HTTP/1.1\r\nHost: public\r\n\r\n",
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", false},
		{"upgrade without Connection token (stripped)", "GET / HTTP/1.1\r\nHost: public\r\nUpgrade: websocket\r\n\r\n",
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", false},
		{"upgrade on a POST with a body", "POST / HTTP/1.1\r\nHost: public\r\nUpgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 2\r\n\r\nhi",
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", false},
		{"protocol not offered", "GET / HTTP/1.1\r\nHost: public\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n", false},
		{"101 without Upgrade", "GET / HTTP/1.1\r\nHost: public\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
			"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n", false},
		{"HTTP/1.0 upgrade", "GET / HTTP/1.0\r\nHost: public\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", false},
		// The control: a real WebSocket upgrade tunnels, so the record
		// would show smuggled bytes if any of the cases above let them by.
		{"granted websocket", "GET /ws HTTP/1.1\r\nHost: public\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n",
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newRawBackend(t, answerAfter("\r\n\r\n", tc.resp))
			_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request deny if { path_beg /admin }
    default_backend be
backend be
    server s B
`, "B", b.addr))
			st, _ := exchangeThen(t, addr, tc.req, smuggled)
			got := b.received()
			if tc.tunnel {
				if st != 101 || !strings.Contains(got, "/admin") {
					t.Fatalf("granted upgrade: status %d, server got %q; want 101 and the tunnel bytes", st, got)
				}
				return
			}
			if st != 502 {
				t.Fatalf("status %d, want 502", st)
			}
			if strings.Contains(got, "/admin") {
				t.Fatalf("bytes sent after the rogue 101 reached the server: %q", got)
			}
		})
	}
}

// An absolute-form target must name the host the rules saw (issue 17,
// finding 2): a different authority or userinfo is refused before any
// byte goes to a server, and path/host rules judge what is forwarded.
func TestAbsoluteFormAuthority(t *testing.T) {
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request deny if { hdr(host) -i admin.internal }
    http-request deny if { path_beg /admin }
    default_backend be
backend be
    server s B
`, "B", b.addr))
	refused := []struct {
		name, raw string
		status    int
	}{
		{"authority differs from Host", "GET http://admin.internal/ HTTP/1.1\r\nHost: public\r\n\r\n", 400},
		{"userinfo", "GET http://user@public/ HTTP/1.1\r\nHost: public\r\n\r\n", 400},
		{"userinfo hiding the host", "GET http://public@admin.internal/ HTTP/1.1\r\nHost: public\r\n\r\n", 400},
		{"query right after authority", "GET http://public?/admin HTTP/1.1\r\nHost: public\r\n\r\n", 400},
		{"no authority", "GET http:/admin HTTP/1.1\r\nHost: public\r\n\r\n", 400},
		{"empty authority", "GET http:///admin HTTP/1.1\r\nHost: public\r\n\r\n", 400},
		{"path rule on absolute form", "GET http://public/admin/x HTTP/1.1\r\nHost: public\r\n\r\n", 403},
		{"HTTP/1.0 without Host: host rule sees the authority", "GET http://admin.internal/ HTTP/1.0\r\n\r\n", 403},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := b.received()
			out := rawRequest(t, addr, tc.raw, 3*time.Second)
			if got := statusOf(out); got != tc.status {
				t.Fatalf("status %d, want %d: %q", got, tc.status, out)
			}
			if got := b.received(); got != before {
				t.Fatalf("forwarded: %q", got[len(before):])
			}
		})
	}
	// Matching authority (case aside) passes; an HTTP/1.0 request gets the
	// Host its authority names, so server and rules agree.
	for _, raw := range []string{
		"GET http://PUBLIC/ok HTTP/1.1\r\nHost: public\r\nConnection: close\r\n\r\n",
		"GET http://public/ok10 HTTP/1.0\r\n\r\n",
	} {
		if out := rawRequest(t, addr, raw, 3*time.Second); statusOf(out) != 200 {
			t.Fatalf("%q: got %q, want 200", raw, out)
		}
	}
	got := b.received()
	if !strings.Contains(got, "GET http://PUBLIC/ok HTTP/1.1\r\n") || !strings.Contains(got, "GET http://public/ok10 HTTP/1.0\r\nHost: public\r\n") {
		t.Fatalf("server got %q", got)
	}
}

// "Connection: Expect" makes Expect hop-by-hop: Bulwark answers the 100
// itself and sends the body on, instead of waiting for a 100 no server
// will send (issue 17, finding 6).
func TestExpectMadeHopByHop(t *testing.T) {
	b := newRawBackend(t, answerAfter("hello", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	addr := proxyTo(t, b.addr)
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(4 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nConnection: Expect\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("first line %q, want a 100 Continue", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "hello")
	line, _ = br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 200 ") {
		t.Fatalf("final line %q, want 200", line)
	}
	if got := b.received(); strings.Contains(strings.ToLower(got), "expect") || !strings.HasSuffix(got, "\r\n\r\nhello") {
		t.Fatalf("server got %q: want the body and no Expect", got)
	}
}

// Identical Content-Length values are merged into one plain value both
// ways (issue 17, finding 6), so that no next hop reads a list.
func TestContentLengthMerged(t *testing.T) {
	b := newRawBackend(t, answerAfter("hello", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok"))
	addr := proxyTo(t, b.addr)
	out := rawRequest(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", 3*time.Second)
	if statusOf(out) != 200 || strings.Count(out, "Content-Length") != 1 || !strings.Contains(out, "Content-Length: 2\r\n") {
		t.Fatalf("client got %q", out)
	}
	if got := b.received(); strings.Count(got, "Content-Length") != 1 || !strings.Contains(got, "Content-Length: 5\r\n") {
		t.Fatalf("server got %q", got)
	}
}

// A malformed chunk from the client is the client's error: 400 and "PD" in
// the log, not a 502 blamed on the server (issue 17, finding 6). A trailer
// carrying framing fields loses them.
func TestClientBodyErrors(t *testing.T) {
	b := newRawBackend(t, answerAfter("0\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	var mu sync.Mutex
	var terms []string
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    log stdout format raw local0
    default_backend be
backend be
    server s B
`, "B", b.addr), Options{Log: func(e *LogEntry) {
		mu.Lock()
		terms = append(terms, e.Term)
		mu.Unlock()
	}})
	out := rawRequest(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n", 3*time.Second)
	if statusOf(out) != 400 {
		t.Fatalf("bad chunk: got %q, want 400", out)
	}
	out = rawRequest(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 50\r\nTransfer-Encoding: gzip\r\nX-Sum: 7\r\n\r\n", 3*time.Second)
	if statusOf(out) != 200 {
		t.Fatalf("trailer: got %q, want 200", out)
	}
	got := b.received()
	tr := got[strings.LastIndex(got, "0\r\n"):]
	if strings.Contains(tr, "Content-Length") || strings.Contains(tr, "gzip") || !strings.Contains(tr, "X-Sum: 7") {
		t.Fatalf("trailer forwarded as %q", tr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(terms) == 0 || terms[0] != "PD" {
		t.Fatalf("termination states %q, want PD first", terms)
	}
}

// An HTTP/2 stream can never carry an upgrade (RFC 9113 §8.2.2), so a 101
// from the server is answered 502 at once; no stream waits for a final
// response that never comes.
func TestRogue101OverHTTP2(t *testing.T) {
	b := newRawBackend(t, answerAfter("\r\n\r\n", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"))
	crt, pool := writeCert(t, "h2.example.test")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT alpn h2,http/1.1
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt))
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "h2.example.test"}}
	defer tr.CloseIdleConnections()
	// Bounded so that a hang fails the test instead of stalling the run;
	// nothing here measures speed.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+addr+"/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("h2 request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
}
