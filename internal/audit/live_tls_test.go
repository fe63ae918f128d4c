package audit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark/internal/plan"
	"bulwark/internal/testtool"
)

// testCert makes a self-signed certificate for name valid until notAfter
// and writes it, HAProxy style (certificate then key), to dir/name.pem.
func testCert(t testing.TB, dir, name string, notAfter time.Time) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	path := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(path, append(certPEM, keyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c, path
}

// tlsServer serves HTTPS with cert on a loopback port until the test ends.
func tlsServer(t testing.TB, cert tls.Certificate) int {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err != nil {
					return
				}
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func TestLiveServedCertificate(t *testing.T) {
	dir := t.TempDir()
	good, goodPath := testCert(t, dir, "good.example", time.Now().Add(90*24*time.Hour))
	soon, soonPath := testCert(t, dir, "soon.example", time.Now().Add(10*24*time.Hour))
	other, _ := testCert(t, dir, "other.example", time.Now().Add(90*24*time.Hour))
	tests := []struct {
		name   string
		served tls.Certificate
		crt    string
		want   Verdict
		text   string
	}{
		{"configured and current", good, goodPath, Pass, "serves " + goodPath},
		{"expiring", soon, soonPath, Warn, "expiring on"},
		{"not a configured certificate", other, goodPath, Fail, "none of the configured certificates"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port := tlsServer(t, tc.served)
			tg := liveTarget(t, "defaults\n  mode http\nfrontend f\n  bind 127.0.0.1:"+strconv.Itoa(port)+" ssl crt "+tc.crt+"\n")
			lf := &LiveFacts{}
			// The maximum timeout: openssl runs for the renegotiation probe
			// and must not time out when the machine is busy.
			probeAll(tg, LiveOptions{Timeout: maxProbeTimeout}, lf)
			if len(lf.TLS) != 1 || len(lf.TLS[0].Served) != 2 {
				t.Fatalf("TLS probes %+v", lf.TLS)
			}
			r := liveServedCerts(tg, lf)
			all := ""
			for _, e := range r.Evidence {
				all += e.Text + "\n"
			}
			if r.Verdict != tc.want || !strings.Contains(all, tc.text) {
				t.Errorf("HAP-4.3 live %s, want %s with %q:\n%s", r.Verdict, tc.want, tc.text, all)
			}
			rn := renegEvidence(lf.TLS[0])
			if _, err := exec.LookPath("openssl"); err == nil {
				// Go's TLS server never accepts a client renegotiation.
				if rn.Verdict != Pass || !strings.Contains(rn.Text, "refuses client-initiated renegotiation") {
					t.Errorf("renegotiation against Go server: %s %s", rn.Verdict, rn.Text)
				}
			} else if rn.Verdict != Manual {
				t.Errorf("renegotiation without openssl: %s %s", rn.Verdict, rn.Text)
			}
		})
	}
}

func TestSNINames(t *testing.T) {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: "a.example"}, DNSNames: []string{"a.example", "*.b.example", "10.0.0.1"}}
	got := strings.Join(sniNames([]configuredCert{{cert: c}, {err: "x"}}), ",")
	if want := ",a.example,bulwark-audit-probe.b.example"; got != want {
		t.Errorf("sniNames = %q, want %q", got, want)
	}
}

func TestRenegotiationTLS13Only(t *testing.T) {
	requireTool(t, "openssl")
	cert, _ := testCert(t, t.TempDir(), "t13.example", time.Now().Add(90*24*time.Hour))
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	r := renegotiationProbe(l.Addr().String(), maxProbeTimeout)
	if e := renegEvidence(TLSProbe{Reneg: r}); e.Verdict != Pass || !strings.Contains(e.Text, "refuses TLS 1.2") {
		t.Errorf("TLS 1.3-only bind: %+v -> %s %s", r, e.Verdict, e.Text)
	}
}

// TestRenegotiationAccepted runs openssl s_server with client renegotiation
// allowed, which the probe must report as accepted.
func TestRenegotiationAccepted(t *testing.T) {
	requireTool(t, "openssl")
	dir := t.TempDir()
	_, path := testCert(t, dir, "reneg.example", time.Now().Add(90*24*time.Hour))
	tests := []struct {
		name   string
		extra  []string
		accept bool
	}{
		{"allowed", []string{"-client_renegotiation"}, true},
		{"default refuses", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			args := append([]string{"s_server", "-accept", "127.0.0.1:" + strconv.Itoa(port), "-cert", path, "-key", path, "-tls1_2"}, tc.extra...)
			srv := exec.Command("openssl", args...)
			in, _ := srv.StdinPipe() // s_server drops clients when its stdin ends
			if err := srv.Start(); err != nil {
				t.Fatal("openssl s_server:", err)
			}
			t.Cleanup(func() { in.Close(); srv.Process.Kill(); srv.Wait() })
			addr := "127.0.0.1:" + strconv.Itoa(port)
			for i := 0; i < 100; i++ {
				if c, err := net.Dial("tcp", addr); err == nil {
					c.Close()
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			r := renegotiationProbe(addr, maxProbeTimeout)
			if r.Tool != "openssl" || r.Accepted != tc.accept {
				t.Errorf("probe = %+v, want accepted=%v", r, tc.accept)
			}
		})
	}
}

// BenchmarkLiveProbes10Binds measures the probe gathering of one live audit
// of ten local TLS HTTP binds, each served by an in-process Go server.
func BenchmarkLiveProbes10Binds(b *testing.B) {
	dir := b.TempDir()
	var cfg strings.Builder
	cfg.WriteString("defaults\n  mode http\n")
	for i := 0; i < 10; i++ {
		name := "bench" + strconv.Itoa(i) + ".example"
		cert, path := testCert(b, dir, name, time.Now().Add(90*24*time.Hour))
		port := tlsServer(b, cert)
		cfg.WriteString("frontend f" + strconv.Itoa(i) + "\n  bind 127.0.0.1:" + strconv.Itoa(port) + " ssl crt " + path + "\n")
	}
	f := filepath.Join(dir, "bench.cfg")
	os.WriteFile(f, []byte(cfg.String()), 0o644)
	tg, err := Load([]string{f}, ProductHAProxy, plan.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		lf := &LiveFacts{}
		probeAll(tg, LiveOptions{Timeout: defaultProbeTimeout}, lf)
		if len(lf.TLS) != 10 || len(lf.HTTP) != 20 {
			b.Fatalf("probed %d TLS, %d HTTP", len(lf.TLS), len(lf.HTTP))
		}
	}
}

// requireTool skips a test whose external tool is missing, or fails it
// under BULWARK_REQUIRE_TOOLS=1 (CI, make test), where a missing tool is an
// install step that broke rather than a reason to test less.
func requireTool(t *testing.T, name string) {
	t.Helper()
	testtool.Path(t, name)
}
