package acme_test

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark/internal/acme"
	"bulwark/internal/acme/acmetest"
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
			httpPort, tlsPort := acmetest.FreePort(t), acmetest.FreePort(t)
			cfg := strings.Replace(acmeConfig, "bind 127.0.0.1:0\n", fmt.Sprintf("bind 127.0.0.1:%d\n", httpPort), 1)
			cfg = strings.Replace(cfg, "bind 127.0.0.1:0 ssl", fmt.Sprintf("bind 127.0.0.1:%d ssl", tlsPort), 1)
			peb := acmetest.Start(t, caDir, httpPort, tlsPort, 3600)
			cfg = fmt.Sprintf(cfg, peb.Dir, storage, peb.CA, challenge)
			px, rt, pl := bulwark(t, cfg, ev)
			px.Start(rt)
			select {
			case <-pl.ACME.Ready():
			case <-ev.failed:
				t.Fatalf("obtaining failed:\n%s", ev)
			case <-time.After(2 * time.Minute):
				t.Fatalf("no certificate obtained; events:\n%s", ev)
			}
			roots := peb.Roots(t)
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
	httpPort, tlsPort := acmetest.FreePort(t), acmetest.FreePort(t)
	// 60s certificates renewed when 90% of the lifetime is left: the
	// first renewal is due a few seconds after issuance.
	peb := acmetest.Start(t, caDir, httpPort, tlsPort, 60)
	cfg := strings.Replace(acmeConfig, "bind 127.0.0.1:0\n", fmt.Sprintf("bind 127.0.0.1:%d\n", httpPort), 1)
	cfg = strings.Replace(cfg, "bind 127.0.0.1:0 ssl bulwark-acme www.bulwark.test,api.bulwark.test", fmt.Sprintf("bind 127.0.0.1:%d ssl bulwark-acme www.bulwark.test", tlsPort), 1)
	cfg = strings.Replace(cfg, "    bulwark-acme-challenge %s\n", "    bulwark-acme-challenge %s\n    bulwark-acme-renew-ratio 0.9\n    bulwark-acme-renew-check 1s\n", 1)
	cfg = fmt.Sprintf(cfg, peb.Dir, storage, peb.CA, "http-01")
	ev := newEvents()
	px, rt, pl := bulwark(t, cfg, ev)
	px.Start(rt)
	select {
	case <-pl.ACME.Ready():
	case <-time.After(2 * time.Minute):
		t.Fatalf("no certificate obtained; events:\n%s", ev)
	}
	roots := peb.Roots(t)
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
	// The replaced certificate is revoked as superseded.
	ev.waitFor(t, 0, "revoked the replaced certificate")
	firstSerial := old.ConnectionState().PeerCertificates[0].SerialNumber
	if st := peb.CertStatus(t, firstSerial); st != "Revoked" {
		t.Errorf("pebble says the replaced certificate is %q", st)
	}

	// The CA goes away: renewals fail, are logged, and the current
	// certificate keeps serving.
	peb.Stop()
	ev.waitFor(t, n, "renewing the certificate for www.bulwark.test failed")
	c := dial()
	c.Close()
	// The stats count each outcome (bulwark_acme_* metrics).
	if cn := pl.ACME.Counts(); cn.Obtained != 1 || cn.Renewed < 1 || cn.RenewFailures < 1 || cn.ObtainFailures != 0 {
		t.Errorf("counts %+v", cn)
	}
}

// Without a reachable CA, or with storage that cannot be written, the
// failure is logged with its reason and TLS clients are refused within
// the handshake timeout (never served a placeholder, never left hanging).
func TestACMEUnavailable(t *testing.T) {
	// A CA that answers 500 to everything, and one that answers garbage.
	broken := func(body string, status int) *httptest.Server {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	for _, tc := range []struct {
		name, storage, event string
		ca                   *httptest.Server
	}{
		{"CA down", "", "obtaining the certificate for www.bulwark.test failed", nil},
		{"storage not writable", "file/acme", "is not usable", nil},
		{"CA answers 500", "", "obtaining the certificate for www.bulwark.test failed", broken(`{"type":"urn:ietf:params:acme:error:serverInternal"}`, 500)},
		{"CA answers garbage", "", "obtaining the certificate for www.bulwark.test failed", broken("\x00\xffnot json", 200)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			storage := filepath.Join(dir, "acme")
			if tc.storage != "" {
				os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o600)
				storage = filepath.Join(dir, tc.storage)
			}
			caFile, _, _ := acmetest.ServerTLS(t, dir)
			cfg := strings.Replace(acmeConfig, "bind 127.0.0.1:0 ssl bulwark-acme www.bulwark.test,api.bulwark.test", "bind 127.0.0.1:0 ssl bulwark-acme www.bulwark.test", 1)
			cfg = strings.Replace(cfg, "    timeout client 10s\n", "    timeout client 10s\n    timeout http-request 300ms\n", 1)
			httpPort, tlsPort := acmetest.FreePort(t), acmetest.FreePort(t)
			cfg = strings.Replace(cfg, "bind 127.0.0.1:0\n", fmt.Sprintf("bind 127.0.0.1:%d\n", httpPort), 1)
			cfg = strings.Replace(cfg, "bind 127.0.0.1:0 ssl", fmt.Sprintf("bind 127.0.0.1:%d ssl", tlsPort), 1)
			dirURL := fmt.Sprintf("https://127.0.0.1:%d/dir", acmetest.FreePort(t))
			if tc.ca != nil {
				dirURL = tc.ca.URL + "/dir"
				caFile = filepath.Join(dir, "broken-ca.pem")
				os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tc.ca.Certificate().Raw}), 0o600)
			}
			cfg = fmt.Sprintf(cfg, dirURL, storage, caFile, "http-01")
			ev := newEvents()
			px, rt, pl := bulwark(t, cfg, ev)
			px.Start(rt)
			ev.waitFor(t, 0, tc.event)
			select {
			case <-pl.ACME.Ready():
				t.Fatal("ready without a certificate")
			default:
			}
			if cn := pl.ACME.Counts(); tc.storage == "" && (cn.ObtainFailures < 1 || cn.Obtained != 0) {
				t.Errorf("counts %+v", cn)
			}
			c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort), &tls.Config{ServerName: "www.bulwark.test", InsecureSkipVerify: true})
			if err == nil {
				c.Close()
				t.Fatal("handshake succeeded without a certificate")
			}
		})
	}
}

// A challenge that never arrives (the CA validates a port nobody answers
// on): the order fails and is logged with the CA's reason, the ACME bind
// refuses handshakes instead of serving a placeholder, and the plain
// HTTP listener keeps serving.
func TestACMEChallengeNeverArrives(t *testing.T) {
	dir := t.TempDir()
	storage := filepath.Join(dir, "acme")
	caDir := filepath.Join(dir, "pebble")
	if err := os.Mkdir(caDir, 0o700); err != nil {
		t.Fatal(err)
	}
	httpPort, tlsPort := acmetest.FreePort(t), acmetest.FreePort(t)
	// Pebble validates on a port where nothing listens.
	peb := acmetest.Start(t, caDir, acmetest.FreePort(t), acmetest.FreePort(t), 3600)
	cfg := strings.Replace(acmeConfig, "bind 127.0.0.1:0 ssl bulwark-acme www.bulwark.test,api.bulwark.test", "bind 127.0.0.1:0 ssl bulwark-acme www.bulwark.test", 1)
	cfg = strings.Replace(cfg, "    timeout client 10s\n", "    timeout client 10s\n    timeout http-request 300ms\n", 1)
	cfg = strings.Replace(cfg, "bind 127.0.0.1:0\n", fmt.Sprintf("bind 127.0.0.1:%d\n", httpPort), 1)
	cfg = strings.Replace(cfg, "bind 127.0.0.1:0 ssl", fmt.Sprintf("bind 127.0.0.1:%d ssl", tlsPort), 1)
	cfg = fmt.Sprintf(cfg, peb.Dir, storage, peb.CA, "http-01")
	ev := newEvents()
	px, rt, pl := bulwark(t, cfg, ev)
	px.Start(rt)
	n := ev.waitFor(t, 0, "obtaining the certificate for www.bulwark.test failed")
	ev.mu.Lock()
	line := ev.msgs[n-1]
	ev.mu.Unlock()
	if !strings.Contains(line, "authorization failed") || !strings.Contains(line, "acme-challenge") {
		t.Errorf("the failure does not say why: %q", line)
	}
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
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("plain listener: status %d", resp.StatusCode)
	}
	if cn := pl.ACME.Counts(); cn.ObtainFailures < 1 {
		t.Errorf("counts %+v", cn)
	}
}
