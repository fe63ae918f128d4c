package proxy

import (
	"crypto/tls"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// On a TCP-mode TLS bind the rules after the connection ones see the
// client's TLS session, as in HAProxy 2.6: tcp-request session and
// content rules reject on ssl_fc, ssl_fc_sni and ssl_fc_protocol, and
// use_backend routes on the client certificate (ssl_c_s_dn). The
// connection rules run before the handshake there and see no TLS.
func TestTCPModeTLSFetches(t *testing.T) {
	srvCrt, pool := writeCert(t, "www.bulwark.test")
	ca := newIgnoreCA(t, "TCP CA")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o644)
	tag := func(s string) func([]byte, int) (string, bool) {
		return func(_ []byte, sent int) (string, bool) { return s, sent == 0 }
	}
	withCert, anon := newRawBackend(t, tag("CERT")), newRawBackend(t, tag("ANON"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    mode tcp
    bind 127.0.0.1:0 ssl crt SRV verify optional ca-file CAFILE
    tcp-request connection reject if { ssl_fc }
    tcp-request session reject if !{ ssl_fc }
    tcp-request content reject if !{ ssl_fc_sni www.bulwark.test }
    tcp-request content reject if { ssl_fc_protocol TLSv1.2 }
    use_backend cert if { ssl_c_used } { ssl_c_s_dn(CN) client } { ssl_c_i_dn(CN) -m str "TCP CA" }
    default_backend anon
backend cert
    mode tcp
    server s WITHCERT
backend anon
    mode tcp
    server s ANONYMOUS
`, "SRV", srvCrt, "CAFILE", caFile, "WITHCERT", withCert.addr, "ANONYMOUS", anon.addr))
	now := time.Now()
	pair := ca.client(t, 2, now.Add(-time.Hour), now.Add(time.Hour))
	for _, tc := range []struct {
		name string
		conf *tls.Config
		want string // the server's answer; "" for a rejected session
	}{
		{"cert", &tls.Config{ServerName: "www.bulwark.test", Certificates: []tls.Certificate{pair}}, "CERT"},
		{"anon", &tls.Config{ServerName: "www.bulwark.test"}, "ANON"},
		{"tls12", &tls.Config{ServerName: "www.bulwark.test", MaxVersion: tls.VersionTLS12}, ""},
		{"other-sni", &tls.Config{ServerName: "other.test", InsecureSkipVerify: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.conf.RootCAs == nil {
				tc.conf.RootCAs = pool
			}
			nc, nb := conns(withCert), conns(anon)
			c, err := tls.Dial("tcp", addr, tc.conf)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "hello")
			var got []byte
			if tc.want == "" {
				got, _ = io.ReadAll(c) // the proxy closes
			} else {
				got = make([]byte, len(tc.want))
				n, _ := io.ReadFull(c, got)
				got = got[:n]
			}
			if string(got) != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if tc.want == "" && (conns(withCert) != nc || conns(anon) != nb) {
				t.Fatal("a rejected session reached a server")
			}
		})
	}
}

// A clear TCP bind that inspects a ClientHello it relays is not TLS:
// ssl_fc is false and ssl_fc_sni has no sample, while req.ssl_sni reads
// the hello's name, as in HAProxy 2.6.12 (same config: "0|-|clear.test|0").
func TestTCPClearHelloIsNotTLS(t *testing.T) {
	good, bad := newRawBackend(t, func(_ []byte, sent int) (string, bool) { return "GOOD", sent == 0 }),
		newRawBackend(t, func(_ []byte, sent int) (string, bool) { return "BAD", sent == 0 })
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    mode tcp
    bind 127.0.0.1:0
    tcp-request inspect-delay 5s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend bad if { ssl_fc }
    use_backend bad if { ssl_fc_sni -m found }
    use_backend bad if { ssl_fc_has_sni }
    use_backend good if { req.ssl_sni clear.test } { req_ssl_sni clear.test }
    default_backend bad
backend good
    mode tcp
    server s GOODSRV
backend bad
    mode tcp
    server s BADSRV
`, "GOODSRV", good.addr, "BADSRV", bad.addr))
	msg := goClientHello(t, "clear.test")
	rec := append([]byte{22, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(rec)
	got := make([]byte, 4)
	n, _ := io.ReadFull(c, got)
	if string(got[:n]) != "GOOD" {
		t.Fatalf("got %q, want the good backend's answer", got[:n])
	}
}
