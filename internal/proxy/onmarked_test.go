package proxy

import (
	"io"
	"net"
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
