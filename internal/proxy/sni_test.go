package proxy

import (
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

func FuzzClientHelloSNI(f *testing.F) {
	f.Add([]byte{1, 0, 0, 40, 3, 3})
	f.Add(make([]byte, 100))
	f.Fuzz(func(t *testing.T, b []byte) {
		clientHelloSNI(b) // must not panic
	})
}
