package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// expiredCert is a self-signed certificate that expired yesterday, as the
// one of HAProxy's ssl reg-tests did in 2018.
func expiredCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "old.test"},
		DNSNames: []string{"old.test"}, NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

var bcResumed = regexp.MustCompile(`(?i)\r\nx-bc-resumed: ([^\r]*)\r\n`)

// A "server ... ssl verify none" reuses its TLS session on the next
// connection (HAProxy's default, ssl/ssl_reuse.vtc), even when the
// server's certificate has expired, and ssl_bc_is_resumed says so; with
// no-ssl-reuse every connection is a full handshake.
func TestServerSSLReuse(t *testing.T) {
	for _, tc := range []struct {
		name, opts string
		maxV       uint16
		want       string
	}{
		{"tls12", "", tls.VersionTLS12, "0 1 1"},
		{"tls13", "", tls.VersionTLS13, "0 1 1"},
		{"no-ssl-reuse", " no-ssl-reuse", tls.VersionTLS13, "0 0 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cfg := &tls.Config{Certificates: []tls.Certificate{expiredCert(t)}, MaxVersion: tc.maxV}
			b := rawBackendOn(t, tls.NewListener(l, cfg), answerEachHead(okResp))
			_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    option httpclose
    http-response set-header x-bc-resumed %[ssl_bc_is_resumed]
    server s B ssl verify none sni str(old.test)OPTS
`, "B", b.addr, "OPTS", tc.opts))
			var got []string
			for i := 0; i < 3; i++ {
				c := dial(t, addr)
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
				resp, _ := io.ReadAll(c)
				c.Close()
				m := bcResumed.FindSubmatch(resp)
				if m == nil {
					t.Fatalf("request %d: no x-bc-resumed in %q", i, resp)
				}
				got = append(got, string(m[1]))
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Fatalf("ssl_bc_is_resumed of three connections: %s, want %s", s, tc.want)
			}
		})
	}
}

// A bind with no-tls-tickets resumes sessions from its stateful cache
// (HAProxy: "force to use stateful session resumption"), in TLS 1.2 and
// 1.3; tune.ssl.cachesize 0 disables that cache; a session resumes only on
// the bind that made it.
func TestBindNoTLSTicketsResumes(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	for _, tc := range []struct {
		name, global, opts string
		want               string
	}{
		{"tls12", "", "ssl-max-ver TLSv1.2 no-tls-tickets", "0 1 1"},
		{"tls13", "", "ssl-min-ver TLSv1.3 no-tls-tickets", "0 1 1"},
		{"global-option", "    ssl-default-bind-options no-tls-tickets\n", "ssl-max-ver TLSv1.2", "0 1 1"},
		{"cachesize-0", "    tune.ssl.cachesize 0\n", "no-tls-tickets", "0 0 0"},
		{"lifetime", "    tune.ssl.lifetime 0\n", "no-tls-tickets", "0 0 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startProxy(t, sub("global\nGLOBAL"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT OPTS
    http-request return status 200 content-type text/plain lf-string "%[ssl_fc_is_resumed]"
`, "GLOBAL", tc.global, "CRT", crt, "OPTS", tc.opts))
			cache := tls.NewLRUClientSessionCache(4)
			var got []string
			for i := 0; i < 3; i++ {
				body, resumed := tlsGet(t, addr, cache)
				if body != map[bool]string{false: "0", true: "1"}[resumed] {
					t.Fatalf("request %d: ssl_fc_is_resumed %q, client resumed %v", i, body, resumed)
				}
				got = append(got, body)
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Fatalf("ssl_fc_is_resumed of three connections: %s, want %s", s, tc.want)
			}
		})
	}
	t.Run("other-bind", func(t *testing.T) {
		inh := map[int]net.Listener{}
		var addrs []string
		for fd := 2000; fd < 2002; fd++ {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			inh[fd] = l
			addrs = append(addrs, l.Addr().String())
		}
		startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind fd@2000 ssl crt CRT no-tls-tickets
    bind fd@2001 ssl crt CRT no-tls-tickets
    http-request return status 200 content-type text/plain lf-string "%[ssl_fc_is_resumed]"
`, "CRT", crt), Options{Inherited: inh})
		// One name for both: the client offers the first bind's session
		// to the second.
		cache := tls.NewLRUClientSessionCache(4)
		if body, _ := tlsGet(t, addrs[0], cache); body != "0" {
			t.Fatalf("first bind, first connection: %q", body)
		}
		if body, _ := tlsGet(t, addrs[0], cache); body != "1" {
			t.Fatalf("first bind, second connection: %q", body)
		}
		if body, resumed := tlsGet(t, addrs[1], cache); body != "0" || resumed {
			t.Fatalf("second bind resumed the first one's session: %q %v", body, resumed)
		}
	})
}

// tlsGet sends one request over a new TLS connection named
// www.bulwark.test and returns the body and whether the client resumed.
func tlsGet(t *testing.T, addr string, cache tls.ClientSessionCache) (string, bool) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "www.bulwark.test", ClientSessionCache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, _ := io.ReadAll(c)
	_, body, _ := strings.Cut(string(resp), "\r\n\r\n")
	return body, c.ConnectionState().DidResume
}

// tune.ssl.lifetime bounds the self-contained tickets of a bind too, as
// OpenSSL's session timeout does in HAProxy: a ticket older than it gets a
// full handshake.
func TestBindTicketLifetime(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	for _, v := range []string{"TLSv1.2", "TLSv1.3"} {
		t.Run(v, func(t *testing.T) {
			_, addr := startProxy(t, sub("global\n    tune.ssl.lifetime 1\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT ssl-min-ver V ssl-max-ver V
    http-request return status 200 content-type text/plain lf-string "%[ssl_fc_is_resumed]"
`, "CRT", crt, "V", v))
			cache := tls.NewLRUClientSessionCache(4)
			if body, _ := tlsGet(t, addr, cache); body != "0" {
				t.Fatalf("first connection: %q", body)
			}
			if body, _ := tlsGet(t, addr, cache); body != "1" {
				t.Fatalf("second connection, within the lifetime: %q", body)
			}
			time.Sleep(1100 * time.Millisecond)
			if body, resumed := tlsGet(t, addr, cache); body != "0" || resumed {
				t.Fatalf("a ticket older than tune.ssl.lifetime resumed: %q %v", body, resumed)
			}
		})
	}
}

// Two proxies reading one tls-ticket-keys file resume each other's tickets,
// within tune.ssl.lifetime.
func TestBindTicketKeysShared(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	var keys strings.Builder
	for i := 0; i < 3; i++ {
		k := make([]byte, 48)
		rand.Read(k)
		keys.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	}
	kf := filepath.Join(t.TempDir(), "tickets.key")
	if err := os.WriteFile(kf, []byte(keys.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT tls-ticket-keys KF
    http-request return status 200 content-type text/plain lf-string "%[ssl_fc_is_resumed]"
`, "CRT", crt, "KF", kf)
	_, a := startProxy(t, cfg)
	_, b := startProxy(t, cfg)
	cache := tls.NewLRUClientSessionCache(4)
	if body, _ := tlsGet(t, a, cache); body != "0" {
		t.Fatalf("first proxy: %q", body)
	}
	if body, resumed := tlsGet(t, b, cache); body != "1" || !resumed {
		t.Fatalf("second proxy did not resume the first one's ticket: %q %v", body, resumed)
	}
}
