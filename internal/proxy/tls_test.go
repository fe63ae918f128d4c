package proxy

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark/internal/plan"
	"bulwark/internal/tlsconf"
)

// writeCert writes a self-signed certificate and its key in one PEM file
// (HAProxy's "crt" format), mode 0600, and returns its path and pool.
func writeCert(t testing.TB, names ...string) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	path := filepath.Join(t.TempDir(), names[0]+".pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return path, pool
}

func TestTLSTermination(t *testing.T) {
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("X-TLS")+" "+r.Header.Get("X-SNI"))
	})
	crt, pool := writeCert(t, "www.example.test")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT
    http-request set-header X-TLS %[ssl_fc]
    http-request set-header X-SNI %[ssl_fc_sni]
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "www.example.test"}}}
	resp, body := httpGet(t, client, "https://"+addr+"/")
	if resp.StatusCode != 200 || body != "1 www.example.test" {
		t.Fatalf("got %d %q, want ssl_fc=1 and the SNI", resp.StatusCode, body)
	}
	// TLS 1.1 is refused by default (HAP-4.1).
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "www.example.test", MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10})
	if err == nil {
		c.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
}

// A private key readable by other users is refused (HAP-4.3).
func TestTLSKeyPermissionsRefused(t *testing.T) {
	crt, _ := writeCert(t, "perm.example.test")
	os.Chmod(crt, 0o644)
	m := compileCfg(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:8443 ssl crt CRT
`, "CRT", crt))
	ds := checkModel(m, plan.Options{})
	if !ds.HasAlerts() || !strings.Contains(ds.Sorted(nil)[0].Msg, "chmod 600") {
		t.Fatalf("want a refusal naming chmod 600, got %v", ds)
	}
}

func TestTLSToServer(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure backend")
	}))
	defer ts.Close()
	srvAddr := strings.TrimPrefix(ts.URL, "https://")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s ADDR ssl verify none
`, "ADDR", srvAddr))
	_, body := httpGet(t, &http.Client{}, "http://"+addr+"/")
	if body != "secure backend" {
		t.Fatalf("got %q", body)
	}
	// With verification (the default) and no CA that signs the test
	// server, the connection is refused: 503.
	_, addr2 := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    retries 0
    server s ADDR ssl ca-file CA
`, "ADDR", srvAddr, "CA", writeCA(t)))
	resp, _ := httpGet(t, &http.Client{}, "http://"+addr2+"/")
	if resp.StatusCode != 503 {
		t.Fatalf("unverifiable server: %d, want 503", resp.StatusCode)
	}
}

func writeCA(t testing.TB) string {
	_, pool := writeCert(t, "unrelated-ca.test")
	_ = pool
	dir := t.TempDir()
	p := filepath.Join(dir, "ca.pem")
	crt, _ := writeCert(t, "other-ca.test")
	b, _ := os.ReadFile(crt)
	blk, _ := pem.Decode(b)
	os.WriteFile(p, pem.EncodeToMemory(blk), 0o644)
	return p
}

// A TLS keep-alive connection that waits longer than the park threshold
// still serves its next request (TLS sessions cannot be parked; they wait
// in their goroutine).
func TestTLSKeepAliveAfterIdle(t *testing.T) {
	b := newTestServer(t, "b", nil)
	crt, pool := writeCert(t, "ka.example.test")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "ka.example.test"}}
	client := &http.Client{Transport: tr}
	for i := 0; i < 3; i++ {
		reused := false
		trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) { reused = ci.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "https://"+addr+"/", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "b" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
		if i > 0 && !reused {
			t.Fatalf("request %d opened a new connection: the idle TLS connection was closed", i)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Each handshake presents the certificate of the name the client asked
// for, the first one without a match, and ssl_f_* fetches read that same
// certificate (the store chooses once per handshake).
func TestTLSCertificateBySNI(t *testing.T) {
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("X-Cert"))
	})
	crtA, _ := writeCert(t, "a.bulwark.test")
	crtB, _ := writeCert(t, "b.bulwark.test")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRTA crt CRTB
    http-request set-header X-Cert %[ssl_f_s_dn(CN)]
    default_backend be
backend be
    server s SRV
`, "SRV", b.addr, "CRTA", crtA, "CRTB", crtB))
	for _, tc := range []struct{ sni, want string }{
		{"b.bulwark.test", "b.bulwark.test"}, {"a.bulwark.test", "a.bulwark.test"}, {"other.bulwark.test", "a.bulwark.test"}, {"", "a.bulwark.test"},
	} {
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: tc.sni, InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("SNI %q: %v", tc.sni, err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if got := c.ConnectionState().PeerCertificates[0].Subject.CommonName; got != tc.want {
			t.Errorf("SNI %q: certificate of %s, want %s", tc.sni, got, tc.want)
		}
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, _ := io.ReadAll(c)
		c.Close()
		if !strings.HasSuffix(string(resp), "\r\n\r\n"+tc.want) {
			t.Errorf("SNI %q: ssl_f_s_dn(CN) gave %q, want %s", tc.sni, resp, tc.want)
		}
	}
}

// The handshake's deadline ends with the handshake: without "timeout
// client" nothing else would lift it, and a keep-alive connection would
// fail once the handshake timeout (here timeout http-request) passed.
func TestTLSHandshakeDeadlineLifted(t *testing.T) {
	b := newTestServer(t, "b", nil)
	crt, pool := writeCert(t, "ka.example.test")
	_, addr := startProxy(t, sub(`
defaults
    mode http
    timeout connect 1s
    timeout server 5s
    timeout http-request 300ms
frontend fe
    bind 127.0.0.1:0 ssl crt CRT
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt))
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "ka.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; i < 4; i++ {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d, %d ms after the handshake: %v", i, 200*i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Each request's log entry carries the connection's TLS facts, read once
// after the handshake: version, OpenSSL's cipher name and the SNI, on
// every request of a keep-alive connection.
func TestTLSLogFacts(t *testing.T) {
	b := newTestServer(t, "b", nil)
	crt, pool := writeCert(t, "log.example.test")
	entries := make(chan LogEntry, 8)
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT
    log stdout format raw local0
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt), Options{Log: func(e *LogEntry) { entries <- *e }})
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "log.example.test", MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	want := tlsconf.OpenSSLName(c.ConnectionState().CipherSuite)
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		select {
		case e := <-entries:
			if !e.TLS || e.SSLVersion != "TLSv1.3" || e.SSLCipher != want || e.SNI != "log.example.test" {
				t.Errorf("request %d: TLS %v, version %q, cipher %q, SNI %q; want TLSv1.3, %s, log.example.test", i, e.TLS, e.SSLVersion, e.SSLCipher, e.SNI, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no log entry")
		}
	}
}
