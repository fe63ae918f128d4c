package logging

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSyslogTCP: lines sent while no server listens are queued and arrive,
// one per line, once it does; after the server drops the connection the
// sink reconnects and later lines arrive too.
func TestSyslogTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens yet
	s, err := Open(Target{Addr: "tcp@" + addr, Facility: "local0"})
	if err != nil {
		t.Fatalf("Open must not fail while the server is down: %v", err)
	}
	defer s.Close()
	s.Send("info", []byte("early line"), time.Now())
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	read := func(want string) {
		t.Helper()
		l.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		c, err := l.Accept()
		if err != nil {
			t.Fatalf("no connection for %q: %v", want, err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "<134>") || !strings.HasSuffix(line, "]: "+want+"\n") {
			t.Fatalf("got %q, %v; want a local0.info line ending %q", line, err, want)
		}
	}
	read("early line")
	// The connection above is closed: a line written before the peer's
	// reset is lost, as with any TCP syslog, so lines keep coming (at most
	// 100) until one arrives over a new connection.
	done := make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			s.Send("info", []byte("after reconnect"), time.Now())
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	read("after reconnect")
	close(done)
}
