package proxy

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The SNI of a real Go ClientHello is found.
func TestClientHelloSNI(t *testing.T) {
	a, b := net.Pipe()
	go func() {
		c := tls.Client(a, &tls.Config{ServerName: "www.example.test", InsecureSkipVerify: true})
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Handshake()
		a.Close()
	}()
	buf, sni := peekClientHello(b, 2*time.Second)
	b.Close()
	if sni != "www.example.test" || len(buf) < 50 {
		t.Fatalf("sni %q from %d bytes", sni, len(buf))
	}
	if got := clientHelloSNI([]byte{1, 0, 0, 3, 3, 3}); got != "" {
		t.Fatalf("garbage gave %q", got)
	}
}

// SNI routing in TCP mode, the common HAProxy pattern: TLS passes through,
// the backend is chosen from the ClientHello.
func TestTCPSNIRouting(t *testing.T) {
	mk := func(name string) string {
		ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name)
		}))
		t.Cleanup(ts.Close)
		return strings.TrimPrefix(ts.URL, "https://")
	}
	_, addr := startProxy(t, sub(`
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    tcp-request inspect-delay 2s
    tcp-request content accept if { req.ssl_sni -m found }
    use_backend a if { req.ssl_sni -i a.example.test }
    default_backend b
backend a
    server s A
backend b
    server s B
`, "A", mk("a"), "B", mk("b")))
	for sni, want := range map[string]string{"a.example.test": "a", "other.example.test": "b"} {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: sni, InsecureSkipVerify: true}}}
		resp, err := client.Get("https://" + addr + "/")
		if err != nil {
			t.Fatalf("%s: %v", sni, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Errorf("SNI %s reached %q, want %q", sni, body, want)
		}
	}
}

// FuzzClientHelloSNI checks the SNI parser two ways: on arbitrary bytes it
// must not panic and can only return a name that is in its input; on a
// ClientHello written by crypto/tls for a fuzzed host name (a second,
// independent implementation of the format) it must find exactly that name.
func FuzzClientHelloSNI(f *testing.F) {
	f.Add([]byte{1, 0, 0, 40, 3, 3}, "a.example")
	f.Add(make([]byte, 100), "x")
	f.Add([]byte{}, "very-long-label.sub.example.test")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		if sni := clientHelloSNI(b); sni != "" && !bytes.Contains(b, []byte(sni)) {
			t.Fatalf("SNI %q is not in the input", sni)
		}
		host := hostLike(name)
		if host == "" {
			return
		}
		hello := goClientHello(t, host)
		if got := clientHelloSNI(hello); got != host {
			t.Fatalf("crypto/tls sent SNI %q, parser found %q", host, got)
		}
	})
}

// hostLike turns s into a DNS name crypto/tls will send as SNI (letters,
// digits, inner dots and hyphens), or "" when nothing usable is left.
func hostLike(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c == '.' || c == '-' || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') {
			b.WriteRune(c)
		}
	}
	h := strings.Trim(b.String(), ".-")
	if h == "" || len(h) > 200 || strings.Contains(h, "..") || net.ParseIP(h) != nil {
		return ""
	}
	return h
}

// goClientHello returns the handshake message (without the 5-byte record
// header) of the ClientHello crypto/tls sends for host.
func goClientHello(t *testing.T, host string) []byte {
	client, server := net.Pipe()
	defer server.Close()
	go func() {
		tls.Client(client, &tls.Config{ServerName: host, InsecureSkipVerify: true}).Handshake()
		client.Close()
	}()
	server.SetDeadline(time.Now().Add(5 * time.Second))
	var hdr [5]byte
	if _, err := io.ReadFull(server, hdr[:]); err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(server, msg); err != nil {
		t.Fatal(err)
	}
	return msg
}
