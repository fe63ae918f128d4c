package bench

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// tlsNewConfig serves HTTP/1.1 over TLS, as run.sh's tls_new_* cases do.
const tlsNewConfig = `
global
    maxconn 1000

defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s

frontend fe
    bind fd@%d ssl crt %s alpn http/1.1
    default_backend be

backend be
    server s1 %s
`

// writeBenchRSACert writes a throw-away RSA 2048 certificate and key in
// one PEM file, mode 0600.
func writeBenchRSACert(tb testing.TB) string {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return writeSelfSigned(tb, "bench-rsa.pem", key, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// tlsNewClient is what wrk does in the tls_new_* cases: a full TLS 1.3
// handshake (no session kept, X25519 as OpenSSL 3.0 offers it), one
// request with "Connection: close", the response read to the end.
var tlsNewClient = &tls.Config{InsecureSkipVerify: true, ServerName: "bench",
	MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}}

func tlsNewRoundTrip(addr string, buf []byte) error {
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	c := tls.Client(raw, tlsNewClient)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, closeRequest); err != nil {
		return err
	}
	n := 0
	for {
		m, err := c.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n == len(buf) {
			return fmt.Errorf("response longer than %d bytes", len(buf))
		}
	}
	if n < 12 || string(buf[9:12]) != "200" {
		return fmt.Errorf("bad response %q", buf[:n])
	}
	return nil
}

// startDirectTLS is the baseline of the proxy's figures: crypto/tls
// alone, with the same certificate, answering each connection's request
// with backendResponse and closing.
func startDirectTLS(tb testing.TB, certFile string) string {
	tb.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, certFile)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tl := tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if skipHead(bufio.NewReaderSize(c, 4096)) == nil {
					io.WriteString(c, backendResponse)
				}
			}()
		}
	}()
	tb.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

func benchTLSNew(b *testing.B, addr string) {
	buf := make([]byte, 4096)
	if err := tlsNewRoundTrip(addr, buf); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := tlsNewRoundTrip(addr, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// tlsCerts are the two certificates of run.sh's tls_new_* cases.
var tlsCerts = []struct {
	name  string
	write func(testing.TB) string
}{{"p256", writeBenchCert}, {"rsa2048", writeBenchRSACert}}

// TestTLSNewRoundTrip checks that the harness measures real exchanges
// through the proxy: each connection a full handshake and a 200.
func TestTLSNewRoundTrip(t *testing.T) {
	be := startBackend(t)
	addr := startProxyConfig(t, fmt.Sprintf(tlsNewConfig, frontendFD, writeBenchCert(t), be.l.Addr().String()))
	buf := make([]byte, 4096)
	for i := 0; i < 3; i++ {
		if err := tlsNewRoundTrip(addr, buf); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := be.served.Load(); got != 3 {
		t.Fatalf("backend served %d requests, want 3", got)
	}
}

// BenchmarkDirectTLSNew is the baseline of BenchmarkProxyTLSNew: the
// client's and a bare crypto/tls server's cost and allocations for a new
// TLS connection per request.
func BenchmarkDirectTLSNew(b *testing.B) {
	for _, c := range tlsCerts {
		b.Run(c.name, func(b *testing.B) { benchTLSNew(b, startDirectTLS(b, c.write(b))) })
	}
}

// BenchmarkProxyTLSNew measures run.sh's tls_new_* cases one client at a
// time: accept, full TLS handshake, request, a new server connection,
// response, close. Its allocations minus BenchmarkDirectTLSNew's are the
// proxy's per TLS connection (BenchmarkProxyHTTPClose's are those of the
// same exchange in clear text).
func BenchmarkProxyTLSNew(b *testing.B) {
	for _, c := range tlsCerts {
		b.Run(c.name, func(b *testing.B) {
			be := startBackend(b)
			benchTLSNew(b, startProxyConfig(b, fmt.Sprintf(tlsNewConfig, frontendFD, c.write(b), be.l.Addr().String())))
		})
	}
}
