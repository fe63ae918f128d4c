package proxy

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Once a WebSocket tunnel is up, "timeout tunnel" governs: a quiet spell
// longer than "timeout client" and "timeout server" does not cut it (long
// lived connections must also outlive a reload, up to hard-stop-after).
func TestTunnelOutlivesClientAndServerTimeouts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		io.Copy(c, br)
	}()
	_, addr := startProxy(t, sub(`
defaults
    mode http
    timeout connect 1s
    timeout client 200ms
    timeout server 200ms
    timeout tunnel 10s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B
`, "B", l.Addr().String()))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(c)
	if status, _ := br.ReadString('\n'); !strings.Contains(status, "101") {
		t.Fatalf("status line %q, want 101", status)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	for i, msg := range []string{"first", "after a quiet spell", "and again"} {
		if i > 0 {
			// Pacing, not an assertion: quiet for longer than the client
			// and server timeouts.
			time.Sleep(600 * time.Millisecond)
		}
		io.WriteString(c, msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
			t.Fatalf("echo %d %q: got %q, %v", i, msg, got, err)
		}
	}
}
