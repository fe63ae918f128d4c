package acme_test

import (
	"context"
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
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"bulwark/internal/acme"
	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
)

// These tests run Let's Encrypt's pebble ACME test server on loopback and
// obtain real certificates through Bulwark's own listeners: pebble's
// validation authority resolves the test domains through a DNS server in
// the test (127.0.0.1 for every name) and connects to Bulwark's HTTP bind
// (http-01) or TLS bind (tls-alpn-01).

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

// dnsServer answers 127.0.0.1 to every A query and nothing else, on UDP
// and TCP (pebble's resolver uses either) at one port.
func dnsServer(t *testing.T) string {
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

// pebbleTLS writes a CA and a certificate for pebble's own HTTPS
// interface, returning the paths of the CA, the certificate and the key.
func pebbleTLS(t *testing.T, dir string) (string, string, string) {
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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pebble is a running pebble process started by the test.
type pebble struct {
	cmd       *exec.Cmd
	dir, mgmt string
	client    *http.Client
	ca        string
}

// startPebble starts pebble validating against the given Bulwark ports.
func startPebble(t *testing.T, dir string, httpPort, tlsPort int, validity int) *pebble {
	t.Helper()
	bin := pebbleBin(t)
	caFile, certFile, keyFile := pebbleTLS(t, dir)
	port, mport := freePort(t), freePort(t)
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
	cmd := exec.Command(bin, "-config", cf, "-dnsserver", dnsServer(t))
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	logf, err := os.Create(filepath.Join(dir, "pebble.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pebble{cmd: cmd, dir: fmt.Sprintf("https://127.0.0.1:%d/dir", port), mgmt: fmt.Sprintf("https://127.0.0.1:%d", mport), ca: caFile}
	t.Cleanup(func() {
		p.stop()
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
		resp, err := p.client.Get(p.dir)
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

// stop ends the pebble process this test started, by its PID.
func (p *pebble) stop() {
	if p.cmd.Process != nil && p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// roots returns pebble's issuing root, to verify served certificates.
func (p *pebble) roots(t *testing.T) *x509.CertPool {
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

// events collects the proxy's operational messages.
type events struct {
	mu     sync.Mutex
	msgs   []string
	failed chan struct{} // closed at the first "failed" message
	closed bool
}

func newEvents() *events { return &events{failed: make(chan struct{})} }

// waitFor waits until a message containing sub arrives after the first n
// messages and returns the number of messages then; the bound only ends a
// test that would otherwise hang.
func (e *events) waitFor(t *testing.T, n int, sub string) int {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		e.mu.Lock()
		for i := n; i < len(e.msgs); i++ {
			if strings.Contains(e.msgs[i], sub) {
				e.mu.Unlock()
				return i + 1
			}
		}
		e.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no event %q; events:\n%s", sub, e)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *events) add(m string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.msgs = append(e.msgs, m)
	if strings.Contains(m, "failed") && !e.closed {
		e.closed = true
		close(e.failed)
	}
}
func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.msgs, "\n")
}

// bulwark builds a runtime from cfg; the caller starts it.
func bulwark(t *testing.T, cfg string, ev *events) (*proxy.Proxy, *proxy.Runtime, *plan.Plan) {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "served") }))
	t.Cleanup(app.Close)
	cfg = strings.Replace(cfg, "BACKEND", app.Listener.Addr().String(), 1)
	ast, ds := config.Parse("test.cfg", []byte(cfg), config.LexOptions{})
	m, cds := model.Compile(ast, model.Options{})
	ds = append(ds, cds...)
	pl, pds := plan.Compile(m, plan.Options{})
	ds = append(ds, pds...)
	if ds.HasAlerts() {
		t.Fatalf("config errors: %v", ds)
	}
	px := proxy.New(proxy.Options{Event: ev.add})
	rt, err := px.Build(pl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	})
	return px, rt, pl
}

const acmeConfig = `
global
.if feature(BULWARK)
    bulwark-acme-directory %s
    bulwark-acme-email ops@bulwark.test
    bulwark-acme-storage %s
    bulwark-acme-ca-file %s
    bulwark-acme-challenge %s
.endif
defaults
    mode http
    timeout client 10s
    timeout connect 5s
    timeout server 10s
frontend web
    bind 127.0.0.1:0
.if feature(BULWARK)
    bind 127.0.0.1:0 ssl bulwark-acme www.bulwark.test,api.bulwark.test
.endif
    # The ACME challenge must be answered before the rules run.
    http-request deny if { path_beg /.well-known/ }
    default_backend app
backend app
    server s1 BACKEND
`

func TestACMEPebble(t *testing.T) {
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run(challenge, func(t *testing.T) {
			dir := t.TempDir()
			storage := filepath.Join(dir, "acme")
			// Ports are needed by pebble's config before Bulwark serves,
			// so the runtime is built (sockets bound) first and started
			// (ACME begins) once pebble listens.
			ev := newEvents()
			caDir := filepath.Join(dir, "pebble")
			if err := os.Mkdir(caDir, 0o700); err != nil {
				t.Fatal(err)
			}
			httpPort, tlsPort := freePort(t), freePort(t)
			cfg := strings.Replace(acmeConfig, "bind 127.0.0.1:0\n", fmt.Sprintf("bind 127.0.0.1:%d\n", httpPort), 1)
			cfg = strings.Replace(cfg, "bind 127.0.0.1:0 ssl", fmt.Sprintf("bind 127.0.0.1:%d ssl", tlsPort), 1)
			peb := startPebble(t, caDir, httpPort, tlsPort, 3600)
			cfg = fmt.Sprintf(cfg, peb.dir, storage, peb.ca, challenge)
			px, rt, pl := bulwark(t, cfg, ev)
			px.Start(rt)
			select {
			case <-pl.ACME.Ready():
			case <-ev.failed:
				t.Fatalf("obtaining failed:\n%s", ev)
			case <-time.After(2 * time.Minute):
				t.Fatalf("no certificate obtained; events:\n%s", ev)
			}
			roots := peb.roots(t)
			for _, name := range []string{"www.bulwark.test", "api.bulwark.test"} {
				c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort), &tls.Config{ServerName: name, RootCAs: roots})
				if err != nil {
					t.Fatalf("%s: handshake with the ACME certificate: %v; events:\n%s", name, err, ev)
				}
				leaf := c.ConnectionState().PeerCertificates[0]
				if err := leaf.VerifyHostname(name); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", name)
				b, _ := io.ReadAll(c)
				c.Close()
				if !strings.HasPrefix(string(b), "HTTP/1.1 200") || !strings.HasSuffix(string(b), "served") {
					t.Errorf("%s: response %q", name, b)
				}
			}
			// HAP-4.3: every key and certificate file is the runtime
			// user's only.
			files, err := acme.StorageFiles(storage)
			if err != nil {
				t.Fatal(err)
			}
			keys := 0
			for p, mode := range files {
				if mode != 0o600 {
					t.Errorf("%s: mode %o, want 600", p, mode)
				}
				if strings.HasSuffix(p, ".key") {
					keys++
				}
			}
			if keys < 2 { // the account key and the certificate key at least
				t.Errorf("storage holds %d keys: %v", keys, files)
			}
			if fi, err := os.Stat(storage); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("storage directory: %v %v", fi.Mode(), err)
			}
			if !strings.Contains(ev.String(), "obtained") {
				t.Errorf("no 'obtained' event: %s", ev)
			}
		})
	}
}

// TestACMERenewal: with certificates short-lived enough to renew at once,
// a renewal is served to new connections without a reload while an open
// connection keeps its certificate and keeps working; when the CA goes
// down, the failure is logged and the current certificate keeps serving.
func TestACMERenewal(t *testing.T) {
	dir := t.TempDir()
	storage := filepath.Join(dir, "acme")
	caDir := filepath.Join(dir, "pebble")
	if err := os.Mkdir(caDir, 0o700); err != nil {
		t.Fatal(err)
	}
	httpPort, tlsPort := freePort(t), freePort(t)
	// 60s certificates renewed when 90% of the lifetime is left: the
	// first renewal is due a few seconds after issuance.
	peb := startPebble(t, caDir, httpPort, tlsPort, 60)
	cfg := strings.Replace(acmeConfig, "bind 127.0.0.1:0\n", fmt.Sprintf("bind 127.0.0.1:%d\n", httpPort), 1)
	cfg = strings.Replace(cfg, "bind 127.0.0.1:0 ssl bulwark-acme www.bulwark.test,api.bulwark.test", fmt.Sprintf("bind 127.0.0.1:%d ssl bulwark-acme www.bulwark.test", tlsPort), 1)
	cfg = strings.Replace(cfg, "    bulwark-acme-challenge %s\n", "    bulwark-acme-challenge %s\n    bulwark-acme-renew-ratio 0.9\n    bulwark-acme-renew-check 1s\n", 1)
	cfg = fmt.Sprintf(cfg, peb.dir, storage, peb.ca, "http-01")
	ev := newEvents()
	px, rt, pl := bulwark(t, cfg, ev)
	px.Start(rt)
	select {
	case <-pl.ACME.Ready():
	case <-time.After(2 * time.Minute):
		t.Fatalf("no certificate obtained; events:\n%s", ev)
	}
	roots := peb.roots(t)
	dial := func() *tls.Conn {
		t.Helper()
		c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort), &tls.Config{ServerName: "www.bulwark.test", RootCAs: roots})
		if err != nil {
			t.Fatalf("handshake: %v; events:\n%s", err, ev)
		}
		return c
	}
	get := func(c *tls.Conn) {
		t.Helper()
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: www.bulwark.test\r\n\r\n")
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
			t.Fatalf("request on an open connection: %q %v", buf[:n], err)
		}
	}
	serial := func(c *tls.Conn) string { return c.ConnectionState().PeerCertificates[0].SerialNumber.String() }
	old := dial()
	defer old.Close()
	get(old)
	first := serial(old)
	n := ev.waitFor(t, 0, "obtained")
	n = ev.waitFor(t, n, "renewed")
	// The cache swaps the certificate right after the renewed event;
	// handshakes until then may still get the old one.
	var renewed string
	deadline := time.Now().Add(time.Minute)
	for renewed == "" || renewed == first {
		c := dial()
		renewed = serial(c)
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("new connections still get certificate %s after renewal; events:\n%s", first, ev)
		}
	}
	get(old) // the open connection was not closed by the swap
	if serial(old) != first {
		t.Fatal("the open connection's certificate changed")
	}

	// The CA goes away: renewals fail, are logged, and the current
	// certificate keeps serving.
	peb.stop()
	ev.waitFor(t, n, "renewing the certificate for www.bulwark.test failed")
	c := dial()
	c.Close()
}

// Without a reachable CA, or with storage that cannot be written, the
// failure is logged with its reason and TLS clients are refused within
// the handshake timeout (never served a placeholder, never left hanging).
func TestACMEUnavailable(t *testing.T) {
	for _, tc := range []struct{ name, storage, event string }{
		{"CA down", "", "obtaining the certificate for www.bulwark.test failed"},
		{"storage not writable", "file/acme", "is not usable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			storage := filepath.Join(dir, "acme")
			if tc.storage != "" {
				os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o600)
				storage = filepath.Join(dir, tc.storage)
			}
			caFile, _, _ := pebbleTLS(t, dir)
			cfg := strings.Replace(acmeConfig, "bind 127.0.0.1:0 ssl bulwark-acme www.bulwark.test,api.bulwark.test", "bind 127.0.0.1:0 ssl bulwark-acme www.bulwark.test", 1)
			cfg = strings.Replace(cfg, "    timeout client 10s\n", "    timeout client 10s\n    timeout http-request 300ms\n", 1)
			httpPort, tlsPort := freePort(t), freePort(t)
			cfg = strings.Replace(cfg, "bind 127.0.0.1:0\n", fmt.Sprintf("bind 127.0.0.1:%d\n", httpPort), 1)
			cfg = strings.Replace(cfg, "bind 127.0.0.1:0 ssl", fmt.Sprintf("bind 127.0.0.1:%d ssl", tlsPort), 1)
			cfg = fmt.Sprintf(cfg, fmt.Sprintf("https://127.0.0.1:%d/dir", freePort(t)), storage, caFile, "http-01")
			ev := newEvents()
			px, rt, pl := bulwark(t, cfg, ev)
			px.Start(rt)
			ev.waitFor(t, 0, tc.event)
			select {
			case <-pl.ACME.Ready():
				t.Fatal("ready without a certificate")
			default:
			}
			c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort), &tls.Config{ServerName: "www.bulwark.test", InsecureSkipVerify: true})
			if err == nil {
				c.Close()
				t.Fatal("handshake succeeded without a certificate")
			}
		})
	}
}
