package proxy

import (
	"io"
	"net"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

// echoServer echoes until the client half-closes, then says "bye" and closes.
func echoServer(t testing.TB) string {
	t.Helper()
	return testtool.Listen(t, func(c *testtool.Conn) {
		io.Copy(c, c)
		io.WriteString(c, "bye")
	}).Addr
}

func TestTCPRelayHalfClose(t *testing.T) {
	_, addr := startProxy(t, sub(`
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen l4
    bind 127.0.0.1:0
    server e ECHO
`, "ECHO", echoServer(t)))
	c := dial(t, addr).(*net.TCPConn)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	payload := make([]byte, 1<<20)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	go func() {
		c.Write(payload)
		c.CloseWrite() // the server sees EOF only through the proxy's half-close
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(payload)+3 || string(got[len(payload):]) != "bye" {
		t.Fatalf("got %d bytes ending %q, want 1 MB echo then bye", len(got), got[max(0, len(got)-3):])
	}
	for i := range payload {
		if got[i] != payload[i] {
			t.Fatalf("byte %d differs", i)
		}
	}
}

func TestTCPClientTimeout(t *testing.T) {
	_, addr := startProxy(t, sub(`
defaults
    mode tcp
    timeout connect 1s
    timeout client 300ms
    timeout server 300ms
listen l4
    bind 127.0.0.1:0
    server e ECHO
`, "ECHO", echoServer(t)))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err := io.ReadAll(c) // idle: the proxy must cut the session
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("idle session lasted %v with 300ms timeouts", d)
	}
}

func TestTCPConnectFailureCloses(t *testing.T) {
	_, addr := startProxy(t, sub(`
defaults
    mode tcp
    timeout connect 200ms
    timeout client 5s
    timeout server 5s
listen l4
    bind 127.0.0.1:0
    retries 1
    server dead DEAD
`, "DEAD", deadAddr(t)))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || len(b) != 0 {
		t.Fatalf("got %q, %v; want a plain close", b, err)
	}
}
