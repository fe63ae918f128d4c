//go:build linux

package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bulwark/internal/plan"
)

// Idle keep-alive connections are parked without a goroutine, come back
// when their client sends the next request, and expire with
// "timeout http-keep-alive".
func TestIdleSessionsParkAndResume(t *testing.T) {
	b := newTestServer(t, "b", nil)
	rt, addr := startParking(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    timeout http-keep-alive 1500ms
    default_backend be
backend be
    server s B
`, "B", b.addr))
	const n = 50
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	get := func(i int) {
		io.WriteString(conns[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("conn %d: status %d", i, resp.StatusCode)
		}
	}
	for i := range conns {
		conns[i] = dial(t, addr)
		defer conns[i].Close()
		readers[i] = bufio.NewReader(conns[i])
		get(i)
	}
	waitFor(t, func() bool { return rt.parker.count() == n }, "all idle sessions parked")
	for i := range conns {
		get(i) // resumed by the parker
	}
	waitFor(t, func() bool { return rt.parker.count() == n }, "sessions parked again")
	// After the keep-alive timeout every parked connection is closed.
	waitFor(t, func() bool { return rt.parker.count() == 0 }, "parked sessions expired")
	conns[0].SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := readers[0].ReadByte(); err != io.EOF {
		t.Fatalf("expired connection: %v, want EOF", err)
	}
	if b.hits.Load() != 2*n {
		t.Fatalf("server saw %d requests, want %d", b.hits.Load(), 2*n)
	}
}

// startParking starts a proxy on cfg and returns its runtime and first
// listener's address; without epoll parking there is nothing to test.
func startParking(t *testing.T, cfg string) (*Runtime, string) {
	t.Helper()
	px, addr := startProxy(t, cfg)
	rt := px.Current()
	if rt.parker == nil {
		t.Skip("epoll parking unavailable")
	}
	return rt, addr
}

// frontendAddrs maps each frontend of rt to its first listener's address.
func frontendAddrs(rt *Runtime) map[string]string {
	out := map[string]string{}
	for _, fe := range rt.frontends {
		out[fe.name] = fe.listeners[0].Addr().String()
	}
	return out
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A connection that began with a PROXY header parks like any other once
// its header is read, and resumes with the relayed address.
func TestProxyHeaderSessionParks(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	rt, addr := startParking(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 accept-proxy
    http-request set-header X-Src %[src]
    default_backend be
backend be
    server s B
`, "B", b.addr))
	rc := newRawClient(t, addr)
	io.WriteString(rc.c, "PROXY TCP4 192.0.2.1 198.51.100.2 4242 80\r\n")
	for i := 0; i < 2; i++ {
		if st, _, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 || err != nil {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
		if i == 0 {
			waitFor(t, func() bool { return rt.parker.count() == 1 }, "the idle session parked")
			// The header's addresses come back from the connection: the
			// record need not hold them.
			if pc := parkedRecords(rt)[0]; pc.s != nil || pc.addrs != nil {
				t.Fatalf("parked whole %v, with its own addresses %v; want a slim record", pc.s != nil, pc.addrs != nil)
			}
		}
	}
	if got := b.received(); strings.Count(got, "X-Src: 192.0.2.1\r\n") != 2 {
		t.Fatalf("backend: %q", got)
	}
}

// Parked sessions expire at their own keep-alive deadline, a nearer one
// parked after a farther one included: the parker's single wait is cut
// short for it.
func TestParkedDeadlinesInOrder(t *testing.T) {
	b := newTestServer(t, "b", nil)
	rt, addr := startParking(t, sub(baseDefaults+`
frontend long
    bind 127.0.0.1:0
    timeout http-keep-alive 6s
    default_backend be
frontend short
    bind 127.0.0.1:0
    timeout http-keep-alive 300ms
    default_backend be
backend be
    server s B
`, "B", b.addr))
	shortAddr := frontendAddrs(rt)["short"]
	open := func(a string) (net.Conn, *bufio.Reader) {
		c := dial(t, a)
		t.Cleanup(func() { c.Close() })
		r := bufio.NewReader(c)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return c, r
	}
	open(addr)
	waitFor(t, func() bool { return rt.parker.count() == 1 }, "the long session parked")
	sc, sr := open(shortAddr)
	start := time.Now()
	sc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := sr.ReadByte(); err != io.EOF {
		t.Fatalf("short keep-alive connection: %v, want EOF", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("short keep-alive connection closed after %v, it waited for the long one's deadline", d)
	}
	if n := rt.parker.count(); n != 1 {
		t.Fatalf("%d parked sessions, want the long one still parked", n)
	}
}

// parkedRecords returns the records the parker holds.
func parkedRecords(rt *Runtime) []*parkedConn {
	p := rt.parker
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*parkedConn
	for _, pc := range p.parked {
		out = append(out, pc)
	}
	return out
}

// A parked plain keep-alive connection keeps only its record: the session
// goes back to the pool (it is neither in the record nor among the idle
// sessions a soft stop walks), the frontend still counts the connection
// and "show sess" still lists it, and the next request is served with the
// connection's own addresses.
func TestParkedConnectionKeepsOnlyItsRecord(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	sock := filepath.Join(t.TempDir(), "api.sock")
	rt, addr := startParking(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    timeout http-keep-alive 1500ms
    http-request set-header X-Src %[src]:%[src_port]
    http-request set-header X-First %[http_first_req]
    default_backend be
backend be
    server s B
`, "SOCK", sock, "B", b.addr))
	const n = 3
	var rcs [n]*rawClient
	for i := range rcs {
		rcs[i] = newRawClient(t, addr)
		if st, _, err := rcs[i].do("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
			t.Fatalf("conn %d: %d %v", i, st, err)
		}
	}
	waitFor(t, func() bool { return rt.parker.count() == n }, "the connections parked")
	for _, pc := range parkedRecords(rt) {
		if pc.s != nil || pc.addrs != nil || pc.nreq != 1 {
			t.Fatalf("parked record: whole session %v, own addresses %v, %d requests; want a slim record after 1 request", pc.s != nil, pc.addrs != nil, pc.nreq)
		}
	}
	idle := 0
	rt.idle.Range(func(*httpSession, struct{}) bool { idle++; return true })
	if idle != 0 {
		t.Fatalf("%d sessions in the idle registry while every connection is parked", idle)
	}
	fe := func() map[string]string { return csvRows(t, apiCall(t, sock, "show stat"))["fe/FRONTEND"] }
	if r := fe(); r["scur"] != strconv.Itoa(n) {
		t.Fatalf("frontend scur=%s while %d connections are parked", r["scur"], n)
	}
	if got := strings.Count(apiCall(t, sock, "show sess"), " fe=fe "); got != n {
		t.Fatalf("show sess lists %d sessions of fe, want the %d parked ones", got, n)
	}
	for i, rc := range rcs {
		if st, _, err := rc.do("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
			t.Fatalf("conn %d after parking: %d %v", i, st, err)
		}
	}
	// Each request after parking is the connection's second (not a
	// first one again) and goes on the server connection its first one
	// used and lent to the pool.
	conns := b.Conns()
	if len(conns) != n {
		t.Fatalf("%d server connections, want %d (one per client, kept across parking)", len(conns), n)
	}
	for i, rc := range rcs {
		src := "X-Src: " + rc.c.LocalAddr().String() + "\r\n"
		own := 0
		for _, sc := range conns {
			if got := string(sc); strings.Contains(got, src) {
				own++
				if strings.Count(got, src) != 2 || !strings.Contains(got, "GET /2 ") || strings.Count(got, "X-First: 1\r\n") != 1 || strings.Count(got, "X-First: 0\r\n") != 1 {
					t.Fatalf("conn %d: its server connection received %q; want both requests, the second not a first one", i, got)
				}
			}
		}
		if own != 1 {
			t.Fatalf("conn %d: its requests went over %d server connections, want 1", i, own)
		}
	}
	// Parked again, then closed by the keep-alive timeout: the frontend
	// no longer counts them.
	waitFor(t, func() bool { return rt.parker.count() == n }, "the connections parked again")
	waitFor(t, func() bool { return rt.parker.count() == 0 && fe()["scur"] == "0" }, "the parked connections expired and uncounted")
	for i, rc := range rcs {
		rc.c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := rc.br.ReadByte(); err != io.EOF {
			t.Fatalf("conn %d after the keep-alive timeout: %v, want EOF", i, err)
		}
	}
}

// State that lives with the connection survives parking: session
// variables, entries tracked by "tcp-request connection", and addresses
// set by "tcp-request connection" rules. Such a session parks whole, or
// with its own addresses.
func TestParkedConnectionKeepsConnectionState(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	rt, addr := startParking(t, sub(baseDefaults+`
frontend vars
    bind 127.0.0.1:0
    http-request set-var(sess.first) path if !{ var(sess.first) -m found }
    http-request set-header X-First %[var(sess.first)]
    default_backend be
frontend track
    bind 127.0.0.1:0
    stick-table type ip size 100 expire 1h store http_req_cnt
    tcp-request connection track-sc0 src
    http-request set-header X-Cnt %[sc0_http_req_cnt]
    default_backend be
frontend setsrc
    bind 127.0.0.1:0
    tcp-request connection set-src ipv4(192.0.2.7)
    http-request set-header X-Src %[src]
    default_backend be
backend be
    server s B
`, "B", b.addr))
	addrOf := frontendAddrs(rt)
	if addrOf["vars"] != addr {
		t.Fatalf("frontend addresses %v", addrOf)
	}
	for _, tc := range []struct {
		fe, want string
		whole    bool
	}{
		{"vars", "X-First: /1\r\n", true},
		{"track", "X-Cnt: 2\r\n", true},
		{"setsrc", "X-Src: 192.0.2.7\r\n", false},
	} {
		before := len(b.received())
		rc := newRawClient(t, addrOf[tc.fe])
		if st, _, err := rc.do("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
			t.Fatalf("%s: %d %v", tc.fe, st, err)
		}
		waitFor(t, func() bool { return rt.parker.count() == 1 }, tc.fe+": the connection parked")
		pc := parkedRecords(rt)[0]
		if whole := pc.s != nil; whole != tc.whole {
			t.Fatalf("%s: parked whole %v, want %v", tc.fe, whole, tc.whole)
		}
		if !tc.whole && pc.addrs == nil {
			t.Fatalf("%s: the record lacks the addresses the rules set", tc.fe)
		}
		if st, _, err := rc.do("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
			t.Fatalf("%s after parking: %d %v", tc.fe, st, err)
		}
		got := b.received()[before:]
		second := got[strings.Index(got, "GET /2 "):]
		if !strings.Contains(second, tc.want) {
			t.Fatalf("%s: the request after parking reached the server as %q, want %q in it", tc.fe, second, tc.want)
		}
		rc.c.Close()
		waitFor(t, func() bool { return rt.parker.count() == 0 }, tc.fe+": the connection unparked")
	}
}

// A reload wakes the old generation's parked connections: a request that
// arrives on one is still served, with "Connection: close", and the
// connection then closes.
func TestReloadServesParkedConnectionOnce(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := sub(baseDefaults+`
frontend fe
    bind fd@7
    timeout http-keep-alive 5s
    default_backend be
backend be
    server s B
`, "B", b.addr)
	px := New(Options{Inherited: map[int]net.Listener{7: l}})
	rt, err := px.Build(mustPlan(t, compileCfg(t, cfg), plan.Options{Table: px.RunningTable}))
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	}()
	if rt.parker == nil {
		t.Skip("epoll parking unavailable")
	}
	rc := newRawClient(t, l.Addr().String())
	if st, _, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
		t.Fatalf("first request: %d %v", st, err)
	}
	waitFor(t, func() bool { return rt.parker.count() == 1 }, "the connection parked")
	if pc := parkedRecords(rt)[0]; pc.s != nil {
		t.Fatal("a plain session parked whole")
	}
	rt2, err := px.Build(mustPlan(t, compileCfg(t, cfg), plan.Options{Table: px.RunningTable}))
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt2)
	waitFor(t, func() bool { return rt.parker.count() == 0 }, "the reload woke the parked connection")
	rc.c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(rc.c, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		t.Fatalf("request after the reload: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !resp.Close {
		t.Fatalf("request after the reload: status %d, Connection: close %v; want 200 and close", resp.StatusCode, resp.Close)
	}
	if _, err := rc.br.ReadByte(); err != io.EOF {
		t.Fatalf("after the last response: %v, want EOF", err)
	}
}

// "shutdown session" closes a parked connection under the parker; when
// its descriptor number comes back for another connection that parks,
// the closed one still gives its slot back (the frontend's count returns
// to zero once both are gone).
func TestShutdownParkedSessionReleasesSlot(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	sock := filepath.Join(t.TempDir(), "api.sock")
	rt, addr := startParking(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    timeout http-keep-alive 30s
    default_backend be
backend be
    server s B
`, "SOCK", sock, "B", b.addr))
	// parked returns the record of the connection from local once it is
	// parked.
	parked := func(local string) *parkedConn {
		var rec *parkedConn
		waitFor(t, func() bool {
			for _, pc := range parkedRecords(rt) {
				if pc.c.RemoteAddr().String() == local {
					rec = pc
				}
			}
			return rec != nil
		}, "the connection parked")
		return rec
	}
	a := newRawClient(t, addr)
	if st, _, err := a.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
		t.Fatalf("request: %d %v", st, err)
	}
	fdA := parked(a.c.LocalAddr().String()).fd
	m := regexp.MustCompile(`(?m)^(0x[0-9a-f]+): proto=tcpv4 src=` + regexp.QuoteMeta(a.c.LocalAddr().String()) + ` `).FindStringSubmatch(apiCall(t, sock, "show sess"))
	if m == nil {
		t.Fatal("the parked session is not in show sess")
	}
	// The proxy's next accepted socket gets the lowest free descriptor,
	// a's, unless this process's client socket takes it first: that one
	// is made before a's is closed, and connected after.
	cfd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(cfd)
	tv := syscall.Timeval{Sec: 5}
	syscall.SetsockoptTimeval(cfd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	apiCall(t, sock, "shutdown session "+m[1])
	a.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := a.br.ReadByte(); err == nil {
		t.Fatal("the parked connection is still open after shutdown session")
	}
	ap := netip.MustParseAddrPort(addr)
	if err := syscall.Connect(cfd, &syscall.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}); err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.Write(cfd, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for buf := make([]byte, 512); !strings.HasSuffix(string(got), "ok"); {
		n, err := syscall.Read(cfd, buf)
		if n <= 0 || err != nil {
			t.Fatalf("second connection: %q, %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	sa, _ := syscall.Getsockname(cfd)
	local := netip.AddrPortFrom(netip.AddrFrom4(sa.(*syscall.SockaddrInet4).Addr), uint16(sa.(*syscall.SockaddrInet4).Port)).String()
	if fd := parked(local).fd; fd != fdA {
		t.Skipf("the second connection got descriptor %d, not %d: nothing to check", fd, fdA)
	}
	syscall.Close(cfd)
	waitFor(t, func() bool {
		return rt.parker.count() == 0 && csvRows(t, apiCall(t, sock, "show stat"))["fe/FRONTEND"]["scur"] == "0"
	}, "both connections uncounted")
}

// A session woken from its record is among the idle sessions again (a
// soft stop's idle grace walks them) while it serves its next request.
func TestResumedSessionIsRegistered(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "b")
	})
	rt, addr := startParking(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    timeout http-keep-alive 5s
    default_backend be
backend be
    server s B
`, "B", b.addr))
	registered := func() int {
		n := 0
		rt.idle.Range(func(*httpSession, struct{}) bool { n++; return true })
		return n
	}
	rc := newRawClient(t, addr)
	if st, _, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
		t.Fatalf("first request: %d %v", st, err)
	}
	waitFor(t, func() bool { return rt.parker.count() == 1 }, "the connection parked")
	if n := registered(); n != 0 {
		t.Fatalf("%d sessions registered while the only connection is parked", n)
	}
	io.WriteString(rc.c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the request after parking did not reach the server")
	}
	n := registered()
	close(release)
	if n != 1 {
		t.Fatalf("%d sessions registered while the woken one serves a request, want 1", n)
	}
	rc.c.SetDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(rc.br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("request after parking: %v %v", resp, err)
	}
}

// readable answers for a socket the parker can watch, through TLS (the
// socket under it: see parkFD).
func TestReadable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := dial(t, l.Addr().String())
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if readable(s) {
		t.Fatal("readable before the client sent anything")
	}
	io.WriteString(c, "x")
	waitFor(t, func() bool { return readable(s) }, "the byte seen")
	if !readable(tls.Server(s, &tls.Config{})) {
		t.Fatal("a TLS connection over a socket with a byte waiting reported not readable")
	}
}
