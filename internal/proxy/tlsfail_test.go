package proxy

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each way a client can fail a handshake is classified, counted per
// frontend and logged with its reason.
func TestTLSFailureReasons(t *testing.T) {
	crt, pool := writeCert(t, "www.bulwark.test")
	caCrt, caPool := writeCert(t, "clients-ca.test")
	_ = caPool
	// The CA file holds only the certificate of caCrt.
	b, _ := os.ReadFile(caCrt)
	blk, _ := pem.Decode(b)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(blk), 0o644)
	strangerCrt, _ := writeCert(t, "stranger.test")
	stranger, err := tls.LoadX509KeyPair(strangerCrt, strangerCrt)
	if err != nil {
		t.Fatal(err)
	}
	logs := make(chan *logMsg, 64)
	cfg := `
defaults
    mode http
    timeout client 2s
    timeout http-request 300ms
    timeout connect 1s
    timeout server 2s
frontend plain
    bind 127.0.0.1:0 ssl crt ` + crt + ` strict-sni ssl-max-ver TLSv1.2 ciphers ECDHE-ECDSA-AES256-GCM-SHA384
    log stdout format raw local0
    http-request deny
frontend tcpmode
    mode tcp
    bind 127.0.0.1:0 ssl crt ` + crt + `
    log stdout format raw local0
    default_backend none
backend none
    mode tcp
    server s1 127.0.0.1:9
frontend mtls
    bind 127.0.0.1:0 ssl crt ` + crt + ` verify required ca-file ` + caFile + `
    log stdout format raw local0
    http-request deny
`
	px, _ := startProxyWith(t, cfg, Options{ProxyLog: func(proxy, level, msg string) {
		logs <- &logMsg{proxy, level, msg}
	}})
	addrs := px.Current().Addrs()
	plainAddr, tcpAddr, mtlsAddr := addrs[0].String(), addrs[1].String(), addrs[2].String()
	base := func() *tls.Config { return &tls.Config{ServerName: "www.bulwark.test", RootCAs: pool} }
	tests := []struct {
		name, frontend, addr, reason string
		client                       func() *tls.Config
		raw                          string // instead of a TLS client: these bytes, or "" with raw=true to stay silent
		silent                       bool
		want                         []string // more fields the line must hold (from the ClientHello)
	}{
		{name: "old version", frontend: "plain", addr: plainAddr, reason: "version-too-old", client: func() *tls.Config {
			c := base()
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			return c
		}, want: []string{"version_offered=TLSv1.1 "}},
		{name: "no shared cipher", frontend: "plain", addr: plainAddr, reason: "no-shared-cipher", client: func() *tls.Config {
			c := base()
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
			return c
		}, want: []string{"shared_cipher=false"}},
		{name: "unknown SNI", frontend: "plain", addr: plainAddr, reason: "unknown-sni", client: func() *tls.Config {
			c := base()
			c.ServerName = "nobody.bulwark.test"
			c.InsecureSkipVerify = true
			return c
		}, want: []string{"sni=nobody.bulwark.test ", "shared_cipher=true"}},
		{name: "client rejects the certificate", frontend: "plain", addr: plainAddr, reason: "peer-rejected-certificate", client: func() *tls.Config {
			c := base()
			c.RootCAs = nil // the system roots do not know the test certificate
			return c
		}},
		{name: "no client certificate", frontend: "mtls", addr: mtlsAddr, reason: "no-client-cert", client: base},
		{name: "unknown client certificate", frontend: "mtls", addr: mtlsAddr, reason: "bad-client-cert", client: func() *tls.Config {
			c := base()
			// Sent whatever CAs the server names (Go would otherwise
			// send none).
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &stranger, nil }
			return c
		}},
		{name: "TCP mode, old version", frontend: "tcpmode", addr: tcpAddr, reason: "version-too-old", client: func() *tls.Config {
			c := base()
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			return c
		}},
		{name: "not TLS", frontend: "plain", addr: plainAddr, reason: "not-tls", raw: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "timeout", frontend: "plain", addr: plainAddr, reason: "timeout", silent: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := px.Current().TLSFailures(tc.frontend)[tc.reason]
			c, err := net.Dial("tcp", tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			switch {
			case tc.client != nil:
				tlc := tls.Client(c, tc.client())
				c.SetDeadline(time.Now().Add(10 * time.Second))
				err := tlc.Handshake()
				if err == nil {
					// TLS 1.3 client certificate errors arrive after
					// the client's side of the handshake completes.
					_, err = tlc.Read(make([]byte, 1))
				}
				if err == nil {
					t.Fatal("handshake succeeded")
				}
			case tc.raw != "":
				c.Write([]byte(tc.raw))
			case tc.silent:
				// Say nothing: the server's handshake deadline ends it.
			}
			var got *logMsg
			select {
			case got = <-logs:
			case <-time.After(20 * time.Second):
				t.Fatal("no log line")
			}
			if !strings.Contains(got.msg, "reason="+tc.reason+" ") || !strings.Contains(got.msg, "frontend="+tc.frontend+" ") {
				t.Errorf("log line %q, want reason %s on %s", got.msg, tc.reason, tc.frontend)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.msg, w) {
					t.Errorf("log line %q lacks %q", got.msg, w)
				}
			}
			if got.proxy != tc.frontend || got.level != "notice" {
				t.Errorf("line for %q at %q", got.proxy, got.level)
			}
			if n := px.Current().TLSFailures(tc.frontend)[tc.reason]; n != before+1 {
				t.Errorf("counter %s = %d, want %d", tc.reason, n, before+1)
			}
		})
	}
}

// A client that sends part of its ClientHello and stalls is closed at the
// bind's handshake timeout (timeout http-request on an HTTP bind, timeout
// client in TCP mode), and the failure counts as a timeout.
func TestTLSHandshakeTimeoutHalfHello(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	px, _ := startProxyWith(t, `
defaults
    timeout client 400ms
    timeout http-request 300ms
    timeout connect 1s
    timeout server 2s
frontend web
    mode http
    bind 127.0.0.1:0 ssl crt `+crt+`
    http-request deny
frontend tcpmode
    mode tcp
    bind 127.0.0.1:0 ssl crt `+crt+`
    default_backend none
backend none
    mode tcp
    server s1 127.0.0.1:9
`, Options{ProxyLog: func(string, string, string) {}})
	// A real ClientHello, of which the client sends the first half.
	a, b := net.Pipe()
	go func() {
		c := tls.Client(a, &tls.Config{ServerName: "www.bulwark.test", InsecureSkipVerify: true})
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Handshake()
		a.Close()
	}()
	b.SetDeadline(time.Now().Add(2 * time.Second))
	hello := make([]byte, 4096)
	n, err := b.Read(hello)
	b.Close()
	if err != nil || n < 100 {
		t.Fatalf("ClientHello: %d bytes, %v", n, err)
	}
	addrs := px.Current().Addrs()
	for i, fe := range []string{"web", "tcpmode"} {
		t.Run(fe, func(t *testing.T) {
			before := px.Current().TLSFailures(fe)["timeout"]
			c, err := net.Dial("tcp", addrs[i].String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(hello[:n/2]); err != nil {
				t.Fatal(err)
			}
			// Far beyond the bind's timeout: the proxy closes first.
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if m, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
				t.Fatalf("read %d bytes, %v: the stalled handshake was not closed", m, err)
			}
			for j := 0; j < 100 && px.Current().TLSFailures(fe)["timeout"] == before; j++ {
				time.Sleep(10 * time.Millisecond)
			}
			if got := px.Current().TLSFailures(fe)["timeout"]; got != before+1 {
				t.Errorf("timeout failures %d, want %d", got, before+1)
			}
		})
	}
}

// A stop whose grace runs out ends a handshake in progress: the client
// that stalls in its ClientHello is not kept to the bind's long timeout.
func TestTLSHandshakeEndsAtHardStop(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	px, addr := startProxy(t, `
defaults
    mode http
    timeout client 60s
    timeout http-request 60s
    timeout connect 1s
    timeout server 2s
frontend web
    bind 127.0.0.1:0 ssl crt `+crt+`
    http-request deny
`)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The start of a handshake record: the proxy waits for the rest.
	if _, err := c.Write([]byte{22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the handshake is under way
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		px.Shutdown(ctx)
		close(stopped)
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if m, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read %d bytes, %v: the handshake outlived the stop", m, err)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}
