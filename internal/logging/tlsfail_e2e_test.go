package logging

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate and key for name into one
// PEM file (mode 0600) and returns its path and the pair.
func selfSigned(t *testing.T, dir, name string) (string, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	path := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(path, append(certPEM, keyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return path, pair
}

// A failed handshake is logged through error-log-format with the fetches
// that explain it: the reason, the SNI and protocol version the client
// offered, and the client certificate's verification error as OpenSSL
// numbers it.
func TestTLSFailureErrorLogFormat(t *testing.T) {
	dir := t.TempDir()
	crt, _ := selfSigned(t, dir, "example.test")
	_, clientPair := selfSigned(t, dir, "client.test")
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := fmt.Sprintf(`
global
    tune.ssl.capture-buffer-size 8
defaults
    mode http
    timeout client 5s
    timeout connect 1s
    timeout server 5s
frontend tls13
    bind fd@1000 ssl crt %[1]s ssl-min-ver TLSv1.3
    log %[2]s local0
    error-log-format "TLSERR %%[fc_err]|%%[fc_err_str]|%%[ssl_fc_err]|%%[ssl_fc_err_str] sni=%%[ssl_fc_sni] hello=%%[ssl_fc_protocol_hello_id] c_err=%%[ssl_c_err] ca_err=%%[ssl_c_ca_err]"
    http-request return status 200
frontend mtls
    bind fd@1001 ssl crt %[1]s verify required ca-file %[1]s
    log %[2]s local0
    error-log-format "TLSERR %%[fc_err]|%%[fc_err_str]|%%[ssl_fc_err]|%%[ssl_fc_err_str] sni=%%[ssl_fc_sni] hello=%%[ssl_fc_protocol_hello_id] c_err=%%[ssl_c_err] ca_err=%%[ssl_c_ca_err]"
    http-request return status 200
`, crt, pc.LocalAddr())
	inherited := map[int]net.Listener{}
	for _, fd := range []int{1000, 1001} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		inherited[fd] = l
	}
	startLogged(t, cfg, inherited, Render)
	handshake := func(addr string, conf *tls.Config) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Client(c, conf)
		if err := tc.Handshake(); err == nil {
			// With TLS 1.3 the client learns of a refused certificate
			// only when it reads.
			tc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			buf := make([]byte, 64)
			tc.Read(buf)
		}
	}
	handshake(inherited[1000].Addr().String(), &tls.Config{ServerName: "example.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
	handshake(inherited[1001].Addr().String(), &tls.Config{ServerName: "other.test", InsecureSkipVerify: true,
		// Sent even though the bind's CA did not issue it (a client
		// with Certificates alone would then send none).
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &clientPair, nil }})
	raw := func(b []byte) {
		c, err := net.DialTimeout("tcp", inherited[1000].Addr().String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(b)
		if b[0] != 22 {
			c.Read(make([]byte, 64))
		}
	}
	raw([]byte("GARBAGE GARBAGE\r\n\r\n"))
	raw([]byte{22, 3, 1, 0, 80, 1, 0}) // a hello cut short by the client's close
	got := received(pc, 4)
	// What HAProxy 2.6.12 logs for the same failures (the certificate
	// failure, which it does not log, has the manual's code).
	want := []string{
		"TLSERR 34|SSL handshake failure|167772418|error:0A000102:SSL routines::unsupported protocol sni=example.test hello=771 c_err=0 ca_err=0",
		"TLSERR 31|SSL client certificate not trusted|167772294|error:0A000086:SSL routines::certificate verify failed sni=other.test hello=771 c_err=18 ca_err=0",
		"TLSERR 34|SSL handshake failure|167772427|error:0A00010B:SSL routines::wrong version number sni=- hello=- c_err=0 ca_err=0",
		"TLSERR 24|Connection closed during SSL handshake|0|- sni=- hello=- c_err=0 ca_err=0",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines: %q", len(got), got)
	}
	// The client certificate's failure can come last: with TLS 1.3 the
	// server decides after the client's handshake is over.
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.HasSuffix(strings.TrimRight(g, "\n"), w)
		}
		if !found {
			t.Errorf("no line ends with %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
}
