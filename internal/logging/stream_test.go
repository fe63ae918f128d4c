package logging

import (
	"bufio"
	"net"
	"os"
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

// TestSyslogUDPAfterUnreachable: a line sent while nothing listens makes
// the kernel queue "port unreachable" on the connected socket, which the
// next send reports instead of sending; that next line must still arrive.
func TestSyslogUDPAfterUnreachable(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	s, err := Open(Target{Addr: addr, Facility: "local0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Send("info", []byte("nobody hears this"), time.Now())
	if pc, err = net.ListenPacket("udp", addr); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s.Send("info", []byte("heard"), time.Now())
	// Lines are written by the sink's own goroutine: the first may have
	// left after the receiver appeared, and then arrives too.
	buf := make([]byte, 2048)
	for i := 0; ; i++ {
		pc.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err == nil && strings.HasSuffix(string(buf[:n]), "heard") {
			break
		}
		if err != nil || i > 0 {
			t.Fatalf("got %q, %v; want the line sent after the receiver appeared", buf[:n], err)
		}
	}
}

// TestSyslogUnixSocketLater: a unix log socket that does not exist yet
// does not stop the proxy; once it appears, lines reach it.
func TestSyslogUnixSocketLater(t *testing.T) {
	path := t.TempDir() + "/log.sock"
	s, err := Open(Target{Addr: path, Facility: "local0"})
	if err != nil {
		t.Fatalf("Open with no socket yet: %v", err)
	}
	defer s.Close()
	s.Send("info", []byte("dropped"), time.Now())
	uc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	s.Send("info", []byte("later"), time.Now())
	// The sink's goroutine may have dialled for the first line after
	// the socket appeared: it then arrives first.
	buf := make([]byte, 2048)
	for i := 0; ; i++ {
		uc.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := uc.Read(buf)
		if err == nil && strings.HasSuffix(string(buf[:n]), "later") {
			break
		}
		if err != nil || i > 0 {
			t.Fatalf("got %q, %v", buf[:n], err)
		}
	}
}

// TestSyslogUnixPathNotASocket: a path that exists but takes no datagram
// is a configuration error at start, unlike a socket not created yet.
func TestSyslogUnixPathNotASocket(t *testing.T) {
	path := t.TempDir() + "/regular-file"
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(Target{Addr: path, Facility: "local0"}); err == nil {
		s.Close()
		t.Fatalf("Open(%s) of a regular file succeeded", path)
	}
}
