package proxy

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// fullBacklog is a loopback listener that accepts nothing and whose accept
// queue is full: the kernel drops further SYNs, so a connect to it hangs
// until its timeout.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()
	// Fill the queue (a backlog of 0 holds one connection); the second
	// dial may already hang, bounded by its timeout.
	for range 2 {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return addr
}

// Connect errors on a new server connection (what every request of a
// connection-per-request client opens) end in a 503 whose log entry says
// where it failed, as HAProxy 2.6 logs them: "SC" for a refused connect,
// "sC" for "timeout connect", the server named, no connect time.
func TestConnectErrorsLogged(t *testing.T) {
	for _, tc := range []struct {
		name, srv, term string
	}{
		{"refused", deadAddr(t), "SC"},
		{"timeout", fullBacklog(t), "sC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := make(chan LogEntry, 4)
			_, addr := startProxyWith(t, sub(`
defaults
    mode http
    timeout connect 100ms
    timeout client 5s
    timeout server 5s
    retries 1
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 S1
`, "S1", tc.srv), Options{LogAll: true, Log: func(e *LogEntry) { logs <- *e }})
			c := dial(t, addr)
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			out, _ := io.ReadAll(c)
			if statusOf(string(out)) != 503 {
				t.Errorf("client got %q, want a 503", out)
			}
			e := nextLog(t, logs, 5*time.Second)
			if e.Term != tc.term || e.Status != 503 || e.Server != "s1" || e.Tc != -1 {
				t.Errorf("log entry: term %q status %d server %q Tc %v; want %s 503 s1 -1", e.Term, e.Status, e.Server, e.Tc, tc.term)
			}
		})
	}
}
