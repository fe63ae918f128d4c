package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// openSession opens a TCP session through the proxy and checks that it
// carries data.
func openSession(t *testing.T, addr string) net.Conn {
	t.Helper()
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("session does not carry data: %v", err)
	}
	return c
}

// closedWithin reports whether the proxy ends c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	ne, ok := err.(net.Error)
	return err != nil && !(ok && ne.Timeout())
}

// "on-marked-down shutdown-sessions": when the checks take a server DOWN
// its running sessions end; without the option they go on. "on-marked-up
// shutdown-backup-sessions": when an active server comes back, the
// sessions on the backup end.
func TestOnMarkedDownAndUp(t *testing.T) {
	echo := echoServer(t)
	bak := echoServer(t)
	cs := newCheckServer(t, 200)
	px, addr := startProxy(t, sub(`
defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
listen kill
    bind 127.0.0.1:0
    option httpchk GET /
    server s1 ECHO check port P inter 50ms rise 1 fall 1 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions
    server b1 BAK backup
listen keep
    bind 127.0.0.1:0
    option httpchk GET /
    server s1 ECHO check port P inter 50ms rise 1 fall 1
`, "ECHO", echo, "BAK", bak, "P", cs.port()))
	var keepAddr string
	for _, a := range px.cur.Load().Addrs() {
		if a.String() != addr {
			keepAddr = a.String()
		}
	}
	waitChecks(t, cs, 2)
	killed := openSession(t, addr)
	kept := openSession(t, keepAddr)
	cs.status.Store(503)
	waitChecks(t, cs, 4)
	if !closedWithin(killed, 3*time.Second) {
		t.Fatal("the session on a server marked DOWN was not shut down")
	}
	if closedWithin(kept, 300*time.Millisecond) {
		t.Fatal("without on-marked-down the session was ended too")
	}
	// s1 is DOWN: new sessions go to the backup; s1 coming back ends them.
	onBackup := openSession(t, addr)
	cs.status.Store(200)
	if !closedWithin(onBackup, 3*time.Second) {
		t.Fatal("the backup's session survived the active server coming back")
	}
}

// "on-marked-down shutdown-sessions" in HTTP ends the exchanges running
// on the server (their connections closed, perhaps after a 502), not
// a kept client connection whose last request went there and is done: B's request is held by the server when s1 goes DOWN,
// A's was answered before (and after B's began, so that A's is not the
// last session the server tracked).
func TestOnMarkedDownSparesFinishedHTTP(t *testing.T) {
	b := newRawBackend(t, func(in []byte, sent int) (string, bool) {
		if bytes.Count(in, []byte("\r\n\r\n")) <= sent || bytes.Contains(in, []byte("/hold")) {
			return "", false
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true
	})
	cs := newCheckServer(t, 200)
	_, addr := startProxy(t, sub(baseDefaults+`
listen l
    bind 127.0.0.1:0
    option httpchk GET /
    server s1 B check port P inter 50ms rise 1 fall 1 on-marked-down shutdown-sessions
`, "B", b.addr, "P", cs.port()))
	waitChecks(t, cs, 2)
	held := dial(t, addr)
	io.WriteString(held, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(100 * time.Millisecond) // the proxy has sent it to the server
	done := dial(t, addr)
	done.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(done)
	io.WriteString(done, "GET /now HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := readBody(t, br); got != "ok" {
		t.Fatalf("response %q", got)
	}
	cs.status.Store(503)
	waitChecks(t, cs, 4)
	// The exchange ends: both its connections are closed, the client's
	// after a 502 when the session saw its server connection cut first.
	held.SetReadDeadline(time.Now().Add(3 * time.Second))
	if out, err := io.ReadAll(held); err != nil || len(out) > 0 && !strings.HasPrefix(string(out), "HTTP/1.1 502 ") {
		t.Fatalf("the exchange running on the server marked DOWN was not shut down: %q %v", out, err)
	}
	if closedWithin(done, 300*time.Millisecond) {
		t.Fatal("a kept connection with no exchange on the server was shut down too")
	}
}
