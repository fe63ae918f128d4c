package proxy

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// peerRecorder is a server that answers every request head with okResp
// and records the peer address of each connection.
type peerRecorder struct {
	addr  string
	mu    sync.Mutex
	peers []string
}

func newPeerRecorder(t *testing.T, listen string) *peerRecorder {
	t.Helper()
	l, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	pr := &peerRecorder{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			pr.mu.Lock()
			pr.peers = append(pr.peers, c.RemoteAddr().String())
			pr.mu.Unlock()
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						io.WriteString(c, okResp)
					}
				}
			}()
		}
	}()
	return pr
}

func (pr *peerRecorder) seen() []string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return append([]string(nil), pr.peers...)
}

// dialFrom connects to addr from the local address src.
func dialFrom(t *testing.T, src, addr string) *rawClient {
	t.Helper()
	la, err := net.ResolveTCPAddr("tcp", src)
	if err != nil {
		t.Fatal(err)
	}
	// SO_REUSEADDR: the proxy binds this port again for "usesrc client".
	d := net.Dialer{LocalAddr: la, Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1) })
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{c: c, br: bufio.NewReader(c)}
}

// "source 0.0.0.0 usesrc clientip" (backend) and a server's "source …
// usesrc client": the server sees the connection come from the client's
// address (and port). Clients on 127.0.0.2 and 127.0.0.3 get a server
// connection each (the source is part of the connection's key), never
// one another's.
func TestUseSrcClient(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("usesrc needs IP_TRANSPARENT (CAP_NET_ADMIN): run as root")
	}
	srv := newPeerRecorder(t, "127.0.0.1:0")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    http-reuse always
    source 0.0.0.0 usesrc clientip
    server s B
`, "B", srv.addr))
	for _, src := range []string{"127.0.0.2:0", "127.0.0.3:0", "127.0.0.2:0"} {
		rc := dialFrom(t, src, addr)
		if st, _, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
			t.Fatalf("from %s: %d %v", src, st, err)
		}
		rc.c.Close()
	}
	var hosts []string
	for _, p := range srv.seen() {
		h, _, _ := net.SplitHostPort(p)
		hosts = append(hosts, h)
	}
	if got := strings.Join(hosts, " "); got != "127.0.0.2 127.0.0.3" {
		t.Fatalf("server connections came from %q, want 127.0.0.2 127.0.0.3 (the third client reuses the first one's)", got)
	}

	// "usesrc client" keeps the client's port as well.
	srv2 := newPeerRecorder(t, "127.0.0.1:0")
	_, addr2 := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B source 0.0.0.0 usesrc client
`, "B", srv2.addr))
	rc := dialFrom(t, "127.0.0.4:0", addr2)
	if st, _, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
		t.Fatalf("%d %v", st, err)
	}
	if got := srv2.seen(); len(got) != 1 || got[0] != rc.c.LocalAddr().String() {
		t.Fatalf("server saw %v, want the client's %v", got, rc.c.LocalAddr())
	}
}

// In a network namespace of its own (the test runs itself again under
// "unshare -n"), a client with an address that is not local to the host
// (198.51.100.7, bound with IP_TRANSPARENT) reaches the proxy, and with
// "usesrc clientip" the server sees the connection come from that
// address: the proxy's socket could only bind it with IP_TRANSPARENT.
// The replies to 198.51.100.0/24 are delivered locally by a routing
// rule, the usual TPROXY setup, made with "ip" inside the namespace.
func TestUseSrcForeignAddressNetns(t *testing.T) {
	if os.Getenv("BULWARK_TEST_NETNS") != "1" {
		if os.Geteuid() != 0 {
			t.Skip("needs root: a network namespace (unshare -n) and IP_TRANSPARENT")
		}
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Fatalf("unshare (util-linux) is needed to make the namespace: %v", err)
		}
		cmd := exec.Command(unshare, "-n", os.Args[0], "-test.run=^TestUseSrcForeignAddressNetns$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "BULWARK_TEST_NETNS=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestUseSrcForeignAddressNetns") {
			t.Fatalf("in the namespace: %v\n%s", err, out)
		}
		return
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", "10.0.0.1/32", "dev", "lo"},
		{"route", "add", "local", "198.51.100.0/24", "dev", "lo", "table", "100"},
		{"rule", "add", "from", "10.0.0.1", "lookup", "100"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	// Without IP_TRANSPARENT the address cannot be bound: it is not local.
	if l, err := net.Listen("tcp", "198.51.100.7:0"); err == nil {
		l.Close()
		t.Fatal("198.51.100.7 is local in the namespace: the test would prove nothing")
	}
	srv := newPeerRecorder(t, "10.0.0.1:0")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 10.0.0.1:8080
    default_backend be
backend be
    source 0.0.0.0 usesrc clientip
    server s B
`, "B", srv.addr))
	if addr != "10.0.0.1:8080" {
		t.Fatalf("the proxy listens on %s", addr)
	}
	la := &net.TCPAddr{IP: net.ParseIP("198.51.100.7")}
	d := net.Dialer{LocalAddr: la, Timeout: 5 * time.Second, Control: ipTransparent}
	c, err := d.Dial("tcp", "10.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc := &rawClient{c: c, br: bufio.NewReader(c)}
	if st, _, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
		t.Fatalf("%d %v", st, err)
	}
	got := srv.seen()
	if len(got) != 1 || !strings.HasPrefix(got[0], "198.51.100.7:") {
		t.Fatalf("the server saw %v, want 198.51.100.7", got)
	}
	// "bind … transparent" binds an address that is not local.
	startProxy(t, baseDefaults+`
frontend tp
    bind 198.51.100.9:8081 transparent
    default_backend be
backend be
    server s 10.0.0.1:1
`)
}
