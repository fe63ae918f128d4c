package logging

import (
	"context"
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

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
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
defaults
    mode http
    timeout client 5s
    timeout connect 1s
    timeout server 5s
frontend tls13
    bind fd@1000 ssl crt %[1]s ssl-min-ver TLSv1.3
    log %[2]s local0
    error-log-format "TLSERR %%[ssl_fc_err_str] sni=%%[ssl_fc_sni] hello=%%[ssl_fc_protocol_hello_id] c_err=%%[ssl_c_err] ca_err=%%[ssl_c_ca_err]"
    http-request return status 200
frontend mtls
    bind fd@1001 ssl crt %[1]s verify required ca-file %[1]s
    log %[2]s local0
    error-log-format "TLSERR %%[ssl_fc_err_str] sni=%%[ssl_fc_sni] hello=%%[ssl_fc_protocol_hello_id] c_err=%%[ssl_c_err] ca_err=%%[ssl_c_ca_err]"
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
	ast, ds := config.Parse("t.cfg", []byte(cfg), config.LexOptions{})
	m, cds := model.Compile(ast, model.Options{})
	pl, pds := plan.Compile(m, plan.Options{})
	if ds = append(append(ds, cds...), pds...); ds.HasAlerts() {
		t.Fatal(ds)
	}
	lg, err := New(pl)
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	px := proxy.New(proxy.Options{Log: lg.Log, Render: Render, Inherited: inherited})
	rt, err := px.Build(pl)
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	}()
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
	got := received(pc, 2)
	want := []string{
		"TLSERR version-too-old sni=example.test hello=771 c_err=0 ca_err=0",
		"TLSERR bad-client-cert sni=other.test hello=771 c_err=18 ca_err=0",
	}
	if len(got) != 2 {
		t.Fatalf("got %d lines: %q", len(got), got)
	}
	for i, w := range want {
		if !strings.HasSuffix(strings.TrimRight(got[i], "\n"), w) {
			t.Errorf("line %d: %q, want it to end with %q", i, got[i], w)
		}
	}
}
