package proxy

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestFinishedSessionStartsAfresh: a session that served a connection to
// its end goes back to a pool and serves a later connection; nothing of
// the last one (variables, source address text, request count) may show
// in the next. Connections alternate between two source addresses, one
// request each, so that most of them are served by a recycled session.
func TestFinishedSessionStartsAfresh(t *testing.T) {
	be := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    option forwardfor
    http-request set-var(sess.mark) str(set) if { path /set }
    http-request set-header X-Mark %[var(sess.mark)]
    http-request set-header X-Src %[src]
    default_backend be
backend be
    server s B
`, "B", be.addr))
	const rounds = 20
	for i := range rounds {
		src, path := "127.0.0.1", "/set"
		if i%2 == 1 {
			src, path = "127.0.0.2", "/get"
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path)
		resp, _ := io.ReadAll(c)
		c.Close()
		if statusOf(string(resp)) != 200 {
			t.Fatalf("round %d: %q", i, resp)
		}
	}
	conns := be.Conns()
	if len(conns) != rounds {
		t.Fatalf("%d server connections, want %d", len(conns), rounds)
	}
	for i, in := range conns {
		req := strings.ToLower(string(in))
		src, mark := "127.0.0.1", "x-mark: set\r\n"
		if i%2 == 1 {
			src, mark = "127.0.0.2", "x-mark: \r\n"
		}
		for _, want := range []string{"x-forwarded-for: " + src + "\r\n", "x-src: " + src + "\r\n", mark} {
			if !strings.Contains(req, want) {
				t.Fatalf("server connection %d lacks %q:\n%s", i, want, in)
			}
		}
	}
}
