package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// pathsPerConn returns, per server connection of b in accept order, the
// request paths it carried (without the leading slash).
func pathsPerConn(b *rawBackend) []string {
	var got []string
	for _, in := range b.Conns() {
		var names []string
		for _, line := range strings.Split(string(in), "\r\n") {
			if _, p, ok := strings.Cut(line, "GET /"); ok {
				names = append(names, strings.TrimSuffix(p, " HTTP/1.1"))
			}
		}
		got = append(got, strings.Join(names, " "))
	}
	return got
}

// A "sni" expression is evaluated for each new server connection, and a
// connection carries only requests that would send the same name
// (http_reuse_conn_hash.vtc): a, a, b, b, a gives two connections, the
// one named a carrying three requests.
func TestConnHashSNI(t *testing.T) {
	crt, _ := writeCert(t, "a.test", "b.test")
	cert, err := tls.LoadX509KeyPair(crt, crt)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var names []string
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		names = append(names, h.ServerName)
		mu.Unlock()
		return nil, nil
	}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := rawBackendOn(t, tls.NewListener(l, cfg), answerEachHead(okResp))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B ssl verify none sni req.hdr(x-sni) pool-low-conn 2
`, "B", b.addr))
	rc := newRawClient(t, addr)
	for i, n := range []string{"a", "a", "b", "b", "a"} {
		if st, _, err := rc.do("GET /"+n+" HTTP/1.1\r\nHost: x\r\nx-sni: "+n+".test\r\n\r\n", 5*time.Second); st != 200 || err != nil {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(names, " "); got != "a.test b.test" {
		t.Fatalf("SNI of the server connections %q, want a.test b.test", got)
	}
	if got := strings.Join(pathsPerConn(b), " | "); got != "a a a | b b" {
		t.Fatalf("server connections carried %q", got)
	}
}

// A server without a port connects to the request's destination port
// (set-dst-port): a connection only carries requests for its port.
func TestConnHashSetDst(t *testing.T) {
	b1 := newRawBackend(t, answerEachHead(okResp))
	b2 := newRawBackend(t, answerEachHead(okResp))
	_, p1, _ := net.SplitHostPort(b1.addr)
	_, p2, _ := net.SplitHostPort(b2.addr)
	_, addr := startProxy(t, baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request set-dst-port hdr(x-port)
    default_backend be
backend be
    server s 127.0.0.1 pool-low-conn 2
`)
	rc := newRawClient(t, addr)
	for i, p := range []string{p1, p1, p2, p1, p2} {
		name := "1"
		if p == p2 {
			name = "2"
		}
		if st, _, err := rc.do("GET /"+name+" HTTP/1.1\r\nHost: x\r\nx-port: "+p+"\r\n\r\n", 5*time.Second); st != 200 || err != nil {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
	}
	if got := strings.Join(pathsPerConn(b1), " | "); got != "1 1 1" {
		t.Fatalf("first server's connections carried %q", got)
	}
	if got := strings.Join(pathsPerConn(b2), " | "); got != "2 2" {
		t.Fatalf("second server's connections carried %q", got)
	}
}

// With send-proxy, the PROXY header is part of the key: under "http-reuse
// always" a client whose header is the same as an earlier one's takes
// that connection, another gets its own.
func TestConnHashProxyHeader(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 accept-proxy
    default_backend be
backend be
    http-reuse always
    server s B send-proxy pool-low-conn 2
`, "B", b.addr))
	for i, port := range []string{"40000", "50000", "40000", "60000", "50000"} {
		rc := newRawClient(t, addr)
		io.WriteString(rc.c, "PROXY TCP4 127.0.0.1 127.0.0.1 "+port+" 80\r\n")
		if st, _, err := rc.do("GET /"+port+" HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
		rc.c.Close()
	}
	if got := strings.Join(pathsPerConn(b), " | "); got != "40000 40000 | 50000 50000 | 60000" {
		t.Fatalf("server connections carried %q", got)
	}
	conns := b.Conns()
	for i, want := range []string{"40000", "50000", "60000"} {
		if !strings.HasPrefix(string(conns[i]), "PROXY TCP4 127.0.0.1 127.0.0.1 "+want+" 80\r\n") {
			t.Errorf("connection %d began %q", i, conns[i])
		}
	}
}

// "option transparent" in a backend without servers connects to the
// request's destination (here moved by set-dst-port), and its
// connections stay private to their session even under "http-reuse
// always" (http_reuse_be_transparent.vtc).
func TestOptionTransparent(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, port, _ := net.SplitHostPort(b.addr)
	_, addr := startProxy(t, sub(baseDefaults+`
listen li
    bind 127.0.0.1:0
    http-reuse always
    option transparent
    http-request set-dst-port int(PORT)
`, "PORT", port))
	for _, c := range []string{"c1", "c2"} {
		rc := newRawClient(t, addr)
		for i := 0; i < 2; i++ {
			if st, _, err := rc.do("GET /"+c+" HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
				t.Fatalf("%s request %d: %d %v", c, i, st, err)
			}
		}
		rc.c.Close()
	}
	if got := strings.Join(pathsPerConn(b), " | "); got != "c1 c1 | c2 c2" {
		t.Fatalf("server connections carried %q", got)
	}
}

// Without NAT, the original destination is the one the session has.
func TestOriginalDstWithoutRedirect(t *testing.T) {
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
	local := addrPort(s.LocalAddr())
	if got := originalDst(s, local); got != local {
		t.Fatalf("original destination %v, want %v", got, local)
	}
	moved := local
	if got := originalDst(s, moved); got != moved {
		t.Fatalf("moved destination %v, want it kept", got)
	}
}
