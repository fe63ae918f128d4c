package proxy

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

// tlsTestServer answers every request with 200 over TLS with the
// certificate in crtFile; clientAuth set asks for a client certificate.
func tlsTestServer(t *testing.T, crtFile string, clientAuth tls.ClientAuthType) string {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(crtFile, crtFile)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: clientAuth})
	if err != nil {
		t.Fatal(err)
	}
	return testtool.ListenOn(t, l, func(c *testtool.Conn) {
		if _, ok := c.ReadUntil("\r\n\r\n"); ok {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		}
	}).Addr
}

// bc_err, bc_err_str, ssl_bc_err and ssl_bc_err_str over real server
// connections, as HAProxy 2.6.12 answers the same configuration (checked
// side by side with http-after-response headers): a refused TCP connect
// leaves nothing to report, an untrusted server certificate is 34 with
// OpenSSL's "certificate verify failed", a name that verifyhost does not
// find is 33, an alert from the server is 1000 + its number, a working
// connection is 0 "Success" (and no ssl_bc_err_str).
func TestBackendConnErrFetches(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	other, _ := writeCert(t, "other.test")
	plain := tlsTestServer(t, crt, tls.NoClientCert)
	wantsCert := tlsTestServer(t, crt, tls.RequireAnyClientCert)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-after-response set-header X-BC "%[bc_err]|%[bc_err_str]|%[ssl_bc_err]|%[ssl_bc_err_str]"
    use_backend b_%[path,regsub(^/,)]
backend b_refused
    retries 0
    server s DEAD
backend b_untrusted
    retries 0
    server s PLAIN ssl verify required ca-file OTHER
backend b_host
    retries 0
    server s PLAIN ssl verify required ca-file CRT verifyhost nope.test
backend b_both
    retries 0
    server s PLAIN ssl verify required ca-file OTHER verifyhost nope.test
backend b_alert
    retries 0
    server s WANTS ssl verify none force-tlsv12
backend b_ok
    server s PLAIN ssl verify required ca-file CRT verifyhost www.bulwark.test
backend b_clear
    server s CLEARSRV
`, "DEAD", deadAddr(t), "PLAIN", plain, "OTHER", other, "CRT", crt, "WANTS", wantsCert,
		"CLEARSRV", newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")).addr))
	for path, want := range map[string]string{
		"/refused":   "X-BC: |||\r\n",
		"/untrusted": "X-BC: 34|SSL handshake failure|167772294|error:0A000086:SSL routines::certificate verify failed\r\n",
		"/host":      "X-BC: 33|Server presented an SSL certificate different from the expected one|167772294|error:0A000086:SSL routines::certificate verify failed\r\n",
		// Both wrong: the chain is reported, as OpenSSL verifies it first.
		"/both": "X-BC: 34|SSL handshake failure|167772294|error:0A000086:SSL routines::certificate verify failed\r\n",
		// The server refuses a missing client certificate with a
		// "handshake failure" alert (40) in TLS 1.2, as in
		// reg-tests/ssl/ssl_errors.vtc; in TLS 1.3 the client's
		// handshake is over before the server decides, as with HAProxy.
		"/alert": "X-BC: 34|SSL handshake failure|167773200|error:0A000410:SSL routines::sslv3 alert handshake failure\r\n",
		"/ok":    "X-BC: 0|Success|0|\r\n",
		"/clear": "X-BC: 0|Success||\r\n",
	} {
		resp := rawRequest(t, addr, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
		if !strings.Contains(resp, want) {
			t.Errorf("%s: response lacks %q:\n%s", path, want, resp)
		}
	}
}

// dst_conn counts the connections of the listening socket the request
// came in on, this one included, not those of the frontend's other
// sockets (CM 7.3.3).
func TestDstConn(t *testing.T) {
	_, addr := startProxy(t, baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    bind 127.0.0.1:0
    http-request return status 200 hdr X-N "%[dst_conn]/%[fe_conn]"
`)
	// Two idle connections on the first socket, then a request on it.
	for range 2 {
		c := dial(t, addr)
		defer c.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
		if strings.Contains(resp, "X-N: 3/3\r\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first socket: %s", resp)
		}
		time.Sleep(20 * time.Millisecond) // the idle connections are being accepted
	}
}

// dst_conn on the second socket of a frontend: the first one's
// connections do not count.
func TestDstConnOtherSocket(t *testing.T) {
	l1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	startProxyWith(t, baseDefaults+`
frontend fe
    bind fd@900
    bind fd@901
    http-request return status 200 hdr X-N "%[dst_conn]/%[fe_conn]"
`, Options{Inherited: map[int]net.Listener{900: l1, 901: l2}})
	c := dial(t, l1.Addr().String())
	defer c.Close()
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp := rawRequest(t, l2.Addr().String(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
		if strings.Contains(resp, "X-N: 1/2\r\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second socket: %s", resp)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// splitBodyServer answers each connection's request with a head
// announcing 11 bytes and sends the body 200ms later, so that a proxy sees
// the head alone first.
func splitBodyServer(t *testing.T) string {
	t.Helper()
	return testtool.Listen(t, func(c *testtool.Conn) {
		if _, ok := c.ReadUntil("\r\n\r\n"); ok {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"))
			time.Sleep(200 * time.Millisecond)
			c.Write([]byte("hello world"))
		}
	}).Addr
}

// res.body, res.body_len and res.body_size read the response body
// available (CM 7.3.6): what "http-response wait-for-body" waited for,
// else what came with the head (nothing when the server sends the body
// later; everything when it came in the same packet, as with HAProxy).
// The client still gets the whole body.
func TestResponseBodyFetches(t *testing.T) {
	cfg := baseDefaults + `
frontend fe
    bind 127.0.0.1:0
    http-response wait-for-body time 1s if { path /wait }
    http-response set-header X-Body "%[res.body]|%[res.body_len]|%[res.body_size]|%[res.body,upper,word(2,' ')]"
    default_backend be
backend be
    server s1 S1
`
	_, split := startProxy(t, sub(cfg, "S1", splitBodyServer(t)))
	one := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"))
	_, together := startProxy(t, sub(cfg, "S1", one.addr))
	for _, tc := range []struct{ addr, path, want string }{
		{split, "/wait", "X-Body: hello world|11|11|WORLD\r\n"},
		{split, "/", "X-Body: |0|11|\r\n"},
		{together, "/wait", "X-Body: hello world|11|11|WORLD\r\n"},
	} {
		resp := rawRequest(t, tc.addr, "GET "+tc.path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
		if !strings.Contains(resp, tc.want) || !strings.HasSuffix(resp, "\r\n\r\nhello world") {
			t.Errorf("%s: response lacks %q or the body:\n%s", tc.path, tc.want, resp)
		}
	}
}
