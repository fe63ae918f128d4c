package proxy

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

// "option transparent" behind an iptables REDIRECT: in a network namespace
// of its own (the test runs itself again under "unshare -n"), a client on
// 10.0.0.1 connects to 10.0.0.2:9000 (HTTP) and 10.0.0.2:9001 (TCP); the
// nat table's OUTPUT chain redirects both to the proxy's listeners on
// 127.0.0.1, whose backends have no server: the proxy connects to the
// destination the kernel kept for the socket (SO_ORIGINAL_DST), where the
// original servers answer. The rules match the client's source only, so
// the proxy's own connections to 10.0.0.2 are not redirected again.
func TestOptionTransparentRedirectNetns(t *testing.T) {
	if os.Getenv("BULWARK_TEST_NETNS") != "1" {
		if os.Geteuid() != 0 {
			t.Skip("needs root: a network namespace (unshare -n) and iptables rules in it")
		}
		testtool.Path(t, "iptables", "/usr/sbin/iptables")
		testtool.Path(t, "ip", "/usr/sbin/ip", "/sbin/ip")
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Fatalf("unshare (util-linux) is needed to make the namespace: %v", err)
		}
		cmd := exec.Command(unshare, "-n", os.Args[0], "-test.run=^TestOptionTransparentRedirectNetns$", "-test.v", "-test.count=1", "-test.timeout=60s")
		cmd.Env = append(os.Environ(), "BULWARK_TEST_NETNS=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestOptionTransparentRedirectNetns") {
			t.Fatalf("in the namespace: %v\n%s", err, out)
		}
		return
	}
	iptables := testtool.Path(t, "iptables", "/usr/sbin/iptables")
	ip := testtool.Path(t, "ip", "/usr/sbin/ip", "/sbin/ip")
	run := func(bin string, args ...string) {
		t.Helper()
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v %s", bin, args, err, out)
		}
	}
	run(ip, "link", "set", "lo", "up")
	run(ip, "addr", "add", "10.0.0.1/32", "dev", "lo")
	run(ip, "addr", "add", "10.0.0.2/32", "dev", "lo")
	run(iptables, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--dport", "9000", "-j", "REDIRECT", "--to-ports", "8080")
	run(iptables, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--dport", "9001", "-j", "REDIRECT", "--to-ports", "8081")

	httpSrv := newPeerRecorder(t, "10.0.0.2:9000")
	tcpSrv := newPeerRecorder(t, "10.0.0.2:9001")
	px, _ := startProxy(t, baseDefaults+`
frontend web
    bind 127.0.0.1:8080
    http-response set-header x-via bulwark
    default_backend tr_http
backend tr_http
    option transparent
listen tr_tcp
    mode tcp
    bind 127.0.0.1:8081
    option transparent
`)
	get := func(dst string) (*rawClient, string) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("10.0.0.1")}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", dst)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		rc := &rawClient{c: c, br: bufio.NewReader(c)}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		var head strings.Builder
		for {
			line, err := rc.br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v after %q", dst, err, head.String())
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		return rc, head.String()
	}
	_, head := get("10.0.0.2:9000")
	if !strings.HasPrefix(head, "HTTP/1.1 200") || !strings.Contains(strings.ToLower(head), "x-via: bulwark") {
		t.Fatalf("HTTP through the redirect: %q", head)
	}
	if got := httpSrv.seen(); len(got) != 1 {
		t.Fatalf("the original HTTP destination saw %v connections", got)
	}
	_, head = get("10.0.0.2:9001")
	if !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Fatalf("TCP through the redirect: %q", head)
	}
	if got := tcpSrv.seen(); len(got) != 1 {
		t.Fatalf("the original TCP destination saw %v connections", got)
	}
	// Both went through the proxy, not straight to the servers (which
	// would answer as well if the REDIRECT did not apply).
	rt := px.Current()
	for _, fe := range rt.frontends {
		if n := fe.stats.connTot.Load(); n != 1 {
			t.Fatalf("frontend %s accepted %d connections, want 1", fe.name, n)
		}
	}
}
