package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The TLS counters of "show info" and the ssl stats module: a full
// handshake, then a resumed one, then a failed one; CurrSslConns counts
// the connection open while it is.
func TestSSLCounters(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    id 7
    bind 127.0.0.1:0 ssl crt CRT
    http-request return status 200 content-type text/plain string ok
`, "SOCK", sock, "CRT", crt))
	cache := tls.NewLRUClientSessionCache(4)
	get := func() *tls.Conn {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ClientSessionCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		buf := make([]byte, 512)
		if n, _ := c.Read(buf); !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
			t.Fatalf("response: %q", buf[:n])
		}
		return c
	}
	info := func(name string) string {
		for _, l := range strings.Split(apiCall(t, sock, "show info"), "\n") {
			if v, ok := strings.CutPrefix(l, name+": "); ok {
				return v
			}
		}
		return "missing"
	}
	first := get()
	if first.ConnectionState().DidResume {
		t.Fatal("the first handshake resumed")
	}
	if got := info("CurrSslConns"); got != "1" {
		t.Fatalf("CurrSslConns with one connection open: %s", got)
	}
	first.Close()
	second := get()
	if !second.ConnectionState().DidResume {
		t.Fatal("the second handshake did not resume")
	}
	second.Close()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(raw, "GET / HTTP/1.1\r\n\r\n") // not TLS: the handshake fails
	raw.SetDeadline(time.Now().Add(3 * time.Second))
	io.ReadAll(raw)
	raw.Close()
	waitFor(t, func() bool { return info("CurrSslConns") == "0" }, "no TLS connection left")
	for name, want := range map[string]string{"CumSslConns": "2", "SslFrontendMaxKeyRate": "1", "SslBackendKeyRate": "0"} {
		if got := info(name); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	// The rates are per second: the two handshakes may fall in two.
	if got := info("MaxSslRate"); got != "1" && got != "2" {
		t.Errorf("MaxSslRate: %s", got)
	}
	if info("SslRate") == "2" && info("SslFrontendKeyRate") == "1" {
		if got := info("SslFrontendSessionReuse_pct"); got != "50" {
			t.Errorf("SslFrontendSessionReuse_pct: %s, want 50", got)
		}
	}
	typed := apiCall(t, sock, "show stat typed")
	for _, want := range []string{"F.7.0.103.ssl_sess.1:MCP:u64:2\n", "F.7.0.104.ssl_reused_sess.1:MCP:u64:1\n",
		"F.7.0.105.ssl_failed_handshake.1:MCP:u64:1\n"} {
		if !strings.Contains(typed, want) {
			t.Errorf("show stat typed lacks %q", want)
		}
	}
	if out := apiCall(t, sock, "show info typed"); !strings.Contains(out, "\n37.SslFrontendSessionReuse_pct.1:MGP:u32:") {
		t.Errorf("show info typed: the reuse share is not at HAProxy's position 37")
	}
}
