package tlsconf

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"bulwark/internal/libcrypto"
	"bulwark/internal/model"
	"bulwark/internal/testtool"
)

// rsaServer serves the store on loopback with protocol version v (serve:
// one handshake per connection, then "ok").
func rsaServer(t *testing.T, st *Store, v uint16) string {
	t.Helper()
	return serve(t, &tls.Config{GetCertificate: st.GetCertificate, MinVersion: v, MaxVersion: v, SessionTicketsDisabled: true})
}

// openLibcrypto opens the system's libcrypto; without it the test stops,
// as a failure under BULWARK_REQUIRE_TOOLS=1 (CI installs libssl3).
func openLibcrypto(t *testing.T) *libcrypto.Lib {
	t.Helper()
	lib, err := libcrypto.Open("")
	if err != nil {
		testtool.Missing(t, "no libcrypto: "+err.Error())
	}
	return lib
}

// rsaStore is a store of one RSA certificate for rsa.example, signed by
// the returned CA, its key through lib (nil: crypto/rsa).
func rsaStore(t *testing.T, lib *libcrypto.Lib) (*Store, *testCA) {
	t.Helper()
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "rsa.pem", leafSpec{cn: "rsa.example", sans: []string{"rsa.example"}, rsa: true})
	st, err := NewStore([]string{crt}, nil, false, Options{RSA: lib})
	if err != nil {
		t.Fatal(err)
	}
	return st, ca
}

// An RSA certificate's handshake signature comes from libcrypto and the
// client, verifying the chain, accepts it: TLS 1.3 (RSA-PSS) and TLS 1.2
// (RSA-PSS from Go's client, PKCS #1 v1.5 from an OpenSSL client that
// offers only that).
func TestRSAHandshakeThroughLibcrypto(t *testing.T) {
	lib := openLibcrypto(t)
	st, ca := rsaStore(t, lib)
	c := st.Certificates()[0]
	if RSASigner(c) != "libcrypto" || KeyType(c) != "RSA" {
		t.Fatalf("key %T signs with %q", c.PrivateKey, RSASigner(c))
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		addr := rsaServer(t, st, v)
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool(), ServerName: "rsa.example", MinVersion: v, MaxVersion: v})
		if err != nil {
			t.Fatalf("%s: %v", tls.VersionName(v), err)
		}
		buf := make([]byte, 2)
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadFull(conn, buf)
		if cs := conn.ConnectionState(); err != nil || string(buf) != "ok" || cs.Version != v || len(cs.VerifiedChains) == 0 {
			t.Errorf("%s: %q %v, version %x, %d verified chains", tls.VersionName(v), buf, err, cs.Version, len(cs.VerifiedChains))
		}
		conn.Close()
	}
	// OpenSSL's client offers PKCS #1 v1.5 alone when told to.
	openssl := testtool.Path(t, "openssl")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, caFile, ca.pem, 0o600)
	addr := rsaServer(t, st, tls.VersionTLS12)
	for _, sigalg := range []string{"RSA+SHA256", "RSA+SHA384", "RSA+SHA512"} {
		cmd := exec.Command(openssl, "s_client", "-connect", addr, "-tls1_2", "-sigalgs", sigalg, "-CAfile", caFile,
			"-verify_return_error", "-servername", "rsa.example", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
		cmd.Stdin = strings.NewReader("")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err != nil || !strings.Contains(out.String(), "Verify return code: 0 (ok)") ||
			!strings.Contains(out.String(), "Peer signature type: RSA\n") {
			t.Errorf("openssl -sigalgs %s: %v\n%s", sigalg, err, out.String())
		}
	}
}

// Without a libcrypto the key stays Go's and serves.
func TestRSAWithoutLibcrypto(t *testing.T) {
	st, ca := rsaStore(t, nil)
	if _, ok := st.Certificates()[0].PrivateKey.(*rsa.PrivateKey); !ok {
		t.Fatalf("key %T", st.Certificates()[0].PrivateKey)
	}
	conn, err := tls.Dial("tcp", rsaServer(t, st, tls.VersionTLS13), &tls.Config{RootCAs: ca.pool(), ServerName: "rsa.example"})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

// A reload replaces the libcrypto keys; the dropped ones are freed.
func TestRSAReloadFreesKeys(t *testing.T) {
	lib := openLibcrypto(t)
	st, ca := rsaStore(t, lib)
	for range 10 {
		if err := st.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for lib.LiveKeys() > 1 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := lib.LiveKeys(); n != 1 {
		t.Fatalf("%d keys allocated in libcrypto after 10 reloads, want 1", n)
	}
	// The key served is not among those freed.
	conn, err := tls.Dial("tcp", rsaServer(t, st, tls.VersionTLS13), &tls.Config{RootCAs: ca.pool(), ServerName: "rsa.example"})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

// A server line's RSA client certificate signs its CertificateVerify
// through libcrypto, and a server that requires it accepts it.
func TestRSAClientCertThroughLibcrypto(t *testing.T) {
	lib := openLibcrypto(t)
	ca := newCA(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, ca.pem, 0o644)
	srvCrt := ca.writePEM(t, dir, "srv.pem", leafSpec{cn: "backend.internal", sans: []string{"backend.internal"}})
	cliCrt := ca.writePEM(t, dir, "cli.pem", leafSpec{cn: "client", client: true, rsa: true})
	b := sslBind(map[string]string{"verify": "required", "ca-file": caFile}, srvCrt)
	addr := serve(t, mustBind(t, b, nil, Options{}).Config)
	for _, v := range []string{"TLSv1.2", "TLSv1.3"} {
		opts := map[string]string{"ca-file": caFile, "crt": cliCrt, "ssl-min-ver": v, "ssl-max-ver": v}
		s := &model.Server{Name: "s1", ServerOptions: model.ServerOptions{SSL: true, Opts: opts}}
		cfg, warns, err := ServerConfigWith(s, &model.SSLDefaults{}, Options{RSA: lib})
		if err != nil || len(warns) > 0 {
			t.Fatal(err, warns)
		}
		if got := RSASigner(&cfg.Certificates[0]); got != "libcrypto" {
			t.Fatalf("client key signs with %q", got)
		}
		if _, err := dial(addr, cfg); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
}

// A certificate "set ssl cert" brings (ParseCertificate) signs through
// libcrypto as one loaded from a file does, and with crypto/rsa without it.
func TestParseCertificateRSASigner(t *testing.T) {
	lib := openLibcrypto(t)
	pemBytes, err := os.ReadFile(testtool.RSACertFile(t, "rsa.example"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lib  *libcrypto.Lib
		want string
	}{{lib, "libcrypto"}, {nil, "crypto/rsa"}} {
		c, warn, err := ParseCertificate(pemBytes, tc.lib)
		if err != nil || warn != "" {
			t.Fatalf("lib %v: %v %q", tc.lib != nil, err, warn)
		}
		if got := RSASigner(c); got != tc.want {
			t.Errorf("lib %v: signs with %q, want %q", tc.lib != nil, got, tc.want)
		}
	}
}
