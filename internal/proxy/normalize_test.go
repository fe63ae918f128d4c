package proxy

import (
	"strings"
	"testing"
	"time"
)

// Every smuggling or malformed request is answered by the proxy and never
// reaches the server: the backend records every byte it receives and
// rejects nothing itself, so zero bytes must arrive.
func TestNormalizationNothingForwarded(t *testing.T) {
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	addr := proxyTo(t, b.addr)
	big := strings.Repeat("a", 17000)
	cases := []struct {
		name   string
		raw    string
		status int
	}{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"differing CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400},
		{"TE not chunked last", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
		{"NUL in header value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400},
		{"bare LF line end", "GET / HTTP/1.1\nHost: x\n\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", 400},
		{"bad method char", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"space in URI", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"NUL in URI", "GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"no Host in 1.1", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"header too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n", 400},
		{"negative CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
		{"HTTP/2.0 line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(b.received())
			out := rawRequest(t, addr, tc.raw, 3*time.Second)
			if got := statusOf(out); got != tc.status {
				t.Fatalf("status %d, want %d; response %q", got, tc.status, out)
			}
			// The proxy closed the connection after answering; a forwarded
			// request would already be on its way.
			time.Sleep(20 * time.Millisecond)
			if got := b.received(); len(got) != before {
				t.Fatalf("%d bytes reached the server: %q", len(got)-before, got[before:])
			}
		})
	}
}

// A bad response from the server becomes a 502 for the client.
func TestBadResponse502(t *testing.T) {
	l := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
	addr := proxyTo(t, l)
	out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second)
	if statusOf(out) != 502 {
		t.Fatalf("got %q, want 502", out)
	}
}

// tune.http.maxhdr bounds the fields of a request head: one more is a 400
// and nothing reaches the server.
func TestTuneMaxHdr(t *testing.T) {
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	_, addr := startProxy(t, sub(`
global
    tune.http.maxhdr 5
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B
`, "B", b.addr))
	head := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nA: 1\r\nB: 2\r\nC: 3\r\n"
	if out := rawRequest(t, addr, head+"\r\n", 3*time.Second); statusOf(out) != 200 {
		t.Fatalf("5 fields: %q", out)
	}
	before := len(b.received())
	if out := rawRequest(t, addr, head+"D: 4\r\n\r\n", 3*time.Second); statusOf(out) != 400 {
		t.Fatalf("6 fields: %q", out)
	}
	time.Sleep(20 * time.Millisecond)
	if len(b.received()) != before {
		t.Fatal("a head over tune.http.maxhdr reached the server")
	}
}
