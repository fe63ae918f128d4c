package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"bulwark/internal/plan"
)

// headerValues returns the values of field name in each request head b
// received, in order.
func headerValues(b *rawBackend, name string) []string {
	var out []string
	for _, line := range strings.Split(b.received(), "\r\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && strings.EqualFold(k, name) {
			out = append(out, v)
		}
	}
	return out
}

// "tcp-request content switch-mode http" turns a TCP session into an
// HTTP one with the bytes already inspected: the first request keeps
// what the TCP stage set (a request variable, internal.strm.is_htx
// false), later ones run the content rules again as HTTP requests; the
// reject after the switch is never reached
// (connection/tcp_to_http_upgrade.vtc).
func TestSwitchModeHTTP(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    mode tcp
    bind 127.0.0.1:0
    tcp-request inspect-delay 1s
    tcp-request content set-var(req.mode) internal.strm.is_htx,iif(http,tcp)
    tcp-request content switch-mode http if HTTP
    tcp-request content reject
    http-request set-header x-mode %[var(req.mode)]
    http-request set-header x-path %[path]
    default_backend be
backend be
    server s B
`, "B", b.addr))
	twoRequests(t, addr, "GET /r HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := strings.Join(headerValues(b, "x-mode"), ","); got != "tcp,http" {
		t.Fatalf("x-mode of the requests %q, want tcp,http", got)
	}
	if got := strings.Join(headerValues(b, "x-path"), ","); got != "/r,/r" {
		t.Fatalf("x-path %q", got)
	}
	// Not HTTP: the reject after the switch applies.
	closesSilently(t, addr, "SSH-2.0-x\r\n")
}

// closesSilently sends req on a new connection to addr and expects it
// closed without a byte of answer.
func closesSilently(t *testing.T, addr, req string) {
	t.Helper()
	c := dial(t, addr)
	defer c.Close()
	io.WriteString(c, req)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _ := c.Read(make([]byte, 10)); n != 0 {
		t.Fatalf("%q got %d bytes of answer", req, n)
	}
}

// twoRequests sends two requests on one connection; both must get a 200.
func twoRequests(t *testing.T, addr, req string) {
	t.Helper()
	rc := newRawClient(t, addr)
	for i := 0; i < 2; i++ {
		if st, _, err := rc.do(req, 5*time.Second); st != 200 || err != nil {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
	}
}

// A TCP frontend routing to an HTTP backend upgrades implicitly: the
// backend's HTTP rules run on every request of the connection.
func TestImplicitUpgradeToHTTPBackend(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    mode tcp
    bind 127.0.0.1:0
    default_backend be
backend be
    http-request set-header x-name %[be_name]
    server s B
`, "B", b.addr))
	twoRequests(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := strings.Join(headerValues(b, "x-name"), ","); got != "be,be" {
		t.Fatalf("x-name of the requests %q, want be,be", got)
	}
}

// A bind with "proto none" cannot be upgraded: the connection closes
// without a byte reaching a server.
func TestSwitchModeRefusedOnProtoNone(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    mode tcp
    bind 127.0.0.1:0 proto none
    tcp-request inspect-delay 1s
    tcp-request content switch-mode http if HTTP
    default_backend be
backend be
    server s B
`, "B", b.addr))
	closesSilently(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := b.received(); got != "" {
		t.Fatalf("the server got %q", got)
	}
}

func TestRequestLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		meth string
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n", true, "GET"},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", true, "PRI"},
		{"GET / HTTP/1.1", false, ""},    // line not complete
		{"GET  HTTP/1.1\r\n", false, ""}, // no target
		{"G(T / HTTP/1.1\r\n", false, ""},
		{"GET / HTTP/1.10\r\n", false, ""},
		{"\x16\x03\x01\x00\x05hello\n", false, ""},
	} {
		m, _, _, _, ok := requestLine([]byte(tc.in))
		if ok != tc.ok || string(m) != tc.meth {
			t.Errorf("%q: %q %v, want %q %v", tc.in, m, ok, tc.meth, tc.ok)
		}
	}
}

// switch-mode takes "http" and at most a proto naming an HTTP
// multiplexer, in a proxy with a frontend.
func TestSwitchModeCompileErrors(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{"switch-mode tcp", "expects 'http' as the mode"},
		{"switch-mode http proto none", "'none' is not a HTTP multiplexer"},
		{"switch-mode http h1", "expects 'proto <name>'"},
	} {
		m := compileCfg(t, baseDefaults+"frontend fe\n    mode tcp\n    bind 127.0.0.1:8080\n    tcp-request content "+tc.rule+"\n")
		found := false
		for _, d := range checkModel(m, plan.Options{}) {
			found = found || strings.Contains(d.Msg, tc.want)
		}
		if !found {
			t.Errorf("%q: no diagnostic %q", tc.rule, tc.want)
		}
	}
	m := compileCfg(t, baseDefaults+"backend be\n    mode tcp\n    tcp-request content switch-mode http\n    server s 127.0.0.1:1\n")
	found := false
	for _, d := range checkModel(m, plan.Options{}) {
		found = found || strings.Contains(d.Msg, "frontend capability")
	}
	if !found {
		t.Errorf("switch-mode in a backend: no diagnostic")
	}
}

// Without "proto", an HTTP/2 client preface makes the upgraded session
// an HTTP/2 one (the TCP > H2 case of tcp_to_http_upgrade.vtc): each
// stream is a request, whose content rules see an HTTP stream.
func TestSwitchModeHTTP2(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    mode tcp
    bind 127.0.0.1:0
    tcp-request inspect-delay 1s
    tcp-request content set-var(req.mode) internal.strm.is_htx,iif(http,tcp)
    tcp-request content switch-mode http if HTTP
    tcp-request content reject
    http-request set-header x-mode %[var(req.mode)]
    default_backend be
backend be
    mode http
    server s B
`, "B", b.addr))
	// HTTP/2 with prior knowledge, in clear text.
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for i := 0; i < 2; i++ {
		resp, err := client.Get("http://x/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Fatalf("request %d: %d over HTTP/%d", i, resp.StatusCode, resp.ProtoMajor)
		}
	}
	if got := strings.Join(headerValues(b, "x-mode"), ","); got != "http,http" {
		t.Fatalf("x-mode of the requests %q, want http,http", got)
	}
}
