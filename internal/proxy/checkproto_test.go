package proxy

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// "default-server check-proto h2" is not passed on to the servers, as in
// HAProxy 2.6.12, whose httpchk then speaks HTTP/1.0 to them; a server's
// own "check-proto h2" is an HTTP/2 check (the connection preface). The
// peers record the first bytes of each check connection.
func TestDefaultServerCheckProtoNotInherited(t *testing.T) {
	type peer struct {
		addr  string
		mu    sync.Mutex
		first []string
	}
	listen := func() *peer {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		p := &peer{addr: l.Addr().String()}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.SetDeadline(time.Now().Add(2 * time.Second))
				buf := make([]byte, 24)
				n, _ := c.Read(buf)
				p.mu.Lock()
				p.first = append(p.first, string(buf[:n]))
				p.mu.Unlock()
				c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n"))
				c.Close()
			}
		}()
		return p
	}
	inherited, own := listen(), listen()
	startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    timeout check 2s
    option httpchk
    default-server check-proto h2 inter 20ms
    server a A check
    server b B check check-proto h2
`, "A", inherited.addr, "B", own.addr), Options{})
	firstOf := func(p *peer) string {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.first) == 0 {
			return ""
		}
		return p.first[0]
	}
	waitFor(t, func() bool { return firstOf(inherited) != "" && firstOf(own) != "" }, "a check on each server")
	if got := firstOf(inherited); !strings.HasPrefix(got, "OPTIONS / HTTP/1.0\r\n") {
		t.Errorf("server a (default-server check-proto) was checked with %q, want HTTP/1.0", got)
	}
	if got := firstOf(own); !strings.HasPrefix(got, "PRI * HTTP/2.0\r\n") {
		t.Errorf("server b (check-proto h2) was checked with %q, want the HTTP/2 preface", got)
	}
}
