// Package acmetest runs Let's Encrypt's pebble ACME test server on
// loopback for tests: pebble's validation authority resolves every name
// to 127.0.0.1 through a DNS server of the test and connects to Bulwark's
// own listeners. Only tests import it.
package acmetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"go/build"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// pebbleBin finds the pebble binary (scripts/install-deps.sh installs it).
func pebbleBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pebble"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	p := filepath.Join(gopath, "bin", "pebble")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if os.Getenv("BULWARK_REQUIRE_TOOLS") == "1" {
		t.Fatalf("pebble not installed and BULWARK_REQUIRE_TOOLS=1 (go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3)")
	}
	t.Skip("pebble not installed (go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3)")
	return ""
}

// DNSServer answers 127.0.0.1 to every A query and nothing else, on UDP
// and TCP (pebble's resolver uses either) at one port.
func DNSServer(t *testing.T) string {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, q := range r.Question {
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.IPv4(127, 0, 0, 1)})
			}
		}
		w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Skipf("DNS test server: TCP port of UDP %s taken: %v", pc.LocalAddr(), err)
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

// ServerTLS writes a CA and a certificate for pebble's own HTTPS
// interface, returning the paths of the CA, the certificate and the key.
func ServerTLS(t *testing.T, dir string) (string, string, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ACME server CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", kder)
}

func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pebble is a running pebble process started by the test.
type Pebble struct {
	cmd *exec.Cmd
	// Dir is the ACME directory URL; CA the file of the root that signs
	// pebble's own HTTPS certificate (for bulwark-acme-ca-file).
	Dir, CA string
	mgmt    string
	client  *http.Client
}

// Start starts pebble on loopback, validating challenges against the given
// Bulwark ports, with certificates valid for validity seconds; the test
// stops it (by its PID) when it ends.
func Start(t *testing.T, dir string, httpPort, tlsPort int, validity int) *Pebble {
	t.Helper()
	bin := pebbleBin(t)
	caFile, certFile, keyFile := ServerTLS(t, dir)
	port, mport := FreePort(t), FreePort(t)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", port),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mport),
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"profiles":                       map[string]any{"default": map[string]any{"description": "test", "validityPeriod": validity}},
	}}
	b, _ := json.Marshal(conf)
	cf := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cf, "-dnsserver", DNSServer(t))
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	logf, err := os.Create(filepath.Join(dir, "pebble.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Pebble{cmd: cmd, Dir: fmt.Sprintf("https://127.0.0.1:%d/dir", port), mgmt: fmt.Sprintf("https://127.0.0.1:%d", mport), CA: caFile}
	t.Cleanup(func() {
		p.Stop()
		logf.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("pebble log:\n%s", out)
		}
	})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(pem)
	p.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	// Wait for pebble to listen: a bound on start-up, not an assertion.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := p.client.Get(p.Dir)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// Stop ends the pebble process this test started, by its PID.
func (p *Pebble) Stop() {
	if p.cmd.Process != nil && p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// Roots returns pebble's issuing root, to verify served certificates.
func (p *Pebble) Roots(t *testing.T) *x509.CertPool {
	t.Helper()
	resp, err := p.client.Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble root: %q", b)
	}
	return pool
}

// CertStatus returns what pebble says of the certificate with serial:
// "Valid" or "Revoked".
func (p *Pebble) CertStatus(t *testing.T, serial *big.Int) string {
	t.Helper()
	resp, err := p.client.Get(fmt.Sprintf("%s/cert-status-by-serial/%x", p.mgmt, serial))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("cert status %x: %v", serial, err)
	}
	return st.Status
}
