// Package acme obtains and renews the certificates of "bind ...
// bulwark-acme" lines from an ACME CA (HAP-4.3: short-lived certificates),
// with github.com/caddyserver/certmagic doing the protocol, the storage
// and the renewal schedule.
//
// The challenges are answered by Bulwark's own listeners, never by a
// socket of the library's: HTTP-01 by the clear-text HTTP binds (the
// proxy asks ServeHTTPChallenge before its rules), TLS-ALPN-01 by the TLS
// binds (GetConfigForClient answers a hello offering "acme-tls/1").
package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"bulwark/internal/model"
)

// ALPNProto is the protocol name of TLS-ALPN-01 validation (RFC 8737).
const ALPNProto = "acme-tls/1"

// maxReadyWait bounds how long a handshake waits for the first
// certificate.
const maxReadyWait = 30 * time.Second

// ErrNotReady is returned to handshakes that arrive before the first
// certificate was obtained and whose client gave up waiting.
var ErrNotReady = errors.New("acme: certificate not obtained yet")

// Manager manages the certificates of one configuration generation.
// Nothing talks to the CA before Start, so "bulwark -c" and the audit can
// build one freely.
type Manager struct {
	set     model.ACME
	domains []string
	roots   *x509.CertPool

	startOnce sync.Once
	cfg       atomic.Pointer[certmagic.Config]
	issuer    atomic.Pointer[certmagic.ACMEIssuer]
	cache     *certmagic.Cache
	cancel    context.CancelFunc

	mu     sync.Mutex
	ctx    context.Context
	cached map[string]bool // domains with a certificate in the cache
	// replaced holds, per domain being renewed, the leaf it replaces, to
	// revoke once the renewal succeeded.
	replaced map[string]*x509.Certificate
	ready    chan struct{} // closed once every domain has one
	event    func(string)

	// Outcomes of orders, for the stats (Counts).
	obtained, renewed, obtainFailed, renewFailed atomic.Uint64
}

// Counts are a manager's order outcomes since it started.
type Counts struct {
	Obtained, Renewed, ObtainFailures, RenewFailures uint64
}

// Counts returns the order outcomes so far.
func (m *Manager) Counts() Counts {
	return Counts{m.obtained.Load(), m.renewed.Load(), m.obtainFailed.Load(), m.renewFailed.Load()}
}

// New checks the settings; domains are those of every bulwark-acme bind.
func New(set model.ACME, domains []string) (*Manager, error) {
	if len(domains) == 0 {
		return nil, errors.New("acme: no domain")
	}
	if set.Storage == "" {
		return nil, errors.New("'bulwark-acme-storage' is required with 'bulwark-acme' (certificates and the account key live there)")
	}
	if set.Email == "" {
		return nil, errors.New("'bulwark-acme-email' is required with 'bulwark-acme' (the CA sends expiry notices there)")
	}
	m := &Manager{set: set, domains: slices.Clone(domains), cached: map[string]bool{}, replaced: map[string]*x509.Certificate{},
		ready: make(chan struct{})}
	slices.Sort(m.domains)
	m.domains = slices.Compact(m.domains)
	if set.CAFile == "" {
		// Load the system roots now, while the files are reachable: the
		// worker talks to the CA after entering its chroot, and crypto/x509
		// keeps the roots it loaded first.
		x509.SystemCertPool()
	}
	if set.CAFile != "" {
		pem, err := os.ReadFile(set.CAFile)
		if err != nil {
			return nil, fmt.Errorf("'bulwark-acme-ca-file': %w", err)
		}
		m.roots = x509.NewCertPool()
		if !m.roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("'bulwark-acme-ca-file' %s: no PEM certificate", set.CAFile)
		}
	}
	return m, nil
}

// Domains returns the managed names, sorted.
func (m *Manager) Domains() []string { return slices.Clone(m.domains) }

// Challenge returns the challenge type in use.
func (m *Manager) Challenge() string {
	if m.set.Challenge == "" {
		return "http-01"
	}
	return m.set.Challenge
}

// Start begins obtaining the certificates in the background and renewing
// them until ctx ends or Stop is called. httpAddr and tlsAddr are the
// bound addresses of the listeners that answer the challenges; they are
// given to the library as its own "listen" addresses so that its attempt
// to bind them fails (they are taken) and it relies on ours. event
// receives operational messages (obtained, renewed, failed and why).
func (m *Manager) Start(ctx context.Context, httpAddr, tlsAddr string, event func(string)) {
	m.startOnce.Do(func() { m.start(ctx, httpAddr, tlsAddr, event) })
}

func (m *Manager) start(ctx context.Context, httpAddr, tlsAddr string, event func(string)) {
	if event == nil {
		event = func(string) {}
	}
	m.event = event
	ctx, m.cancel = context.WithCancel(ctx)
	m.ctx = ctx
	// Account keys and private keys are secrets: the directory is the
	// runtime user's only (the library writes its files 0600 inside).
	if err := os.MkdirAll(m.set.Storage, 0o700); err != nil {
		event(fmt.Sprintf("acme: storage '%s' is not usable: %v; no certificate can be obtained", m.set.Storage, err))
		return
	}
	if err := os.Chmod(m.set.Storage, 0o700); err != nil {
		event(fmt.Sprintf("acme: storage '%s': %v", m.set.Storage, err))
	}
	var cfg *certmagic.Config
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return cfg, nil },
		Logger:           zap.NewNop(),
		// 0 keeps the library's default.
		RenewCheckInterval: m.set.RenewCheck,
	})
	cfg = certmagic.New(m.cache, certmagic.Config{
		Storage:            &certmagic.FileStorage{Path: m.set.Storage},
		RenewalWindowRatio: m.set.RenewRatio,
		DefaultServerName:  m.domains[0],
		OnEvent:            m.onEvent,
		Logger:             zap.NewNop(),
	})
	iss := certmagic.ACMEIssuer{
		CA:                      m.set.Directory,
		Email:                   m.set.Email,
		Agreed:                  true,
		TrustedRoots:            m.roots,
		DisableHTTPChallenge:    m.Challenge() != "http-01",
		DisableTLSALPNChallenge: m.Challenge() != "tls-alpn-01",
		Logger:                  zap.NewNop(),
	}
	if iss.CA == "" {
		iss.CA = certmagic.LetsEncryptProductionCA
	}
	setListen(&iss.ListenHost, &iss.AltHTTPPort, httpAddr)
	setListen(&iss.ListenHost, &iss.AltTLSALPNPort, tlsAddr)
	issuer := certmagic.NewACMEIssuer(cfg, iss)
	cfg.Issuers = []certmagic.Issuer{issuer}
	m.issuer.Store(issuer)
	m.cfg.Store(cfg)
	// ManageAsync loads what storage already holds at once and obtains
	// the rest in the background, retrying with back-off: a CA that is
	// down delays issuance without blocking start-up or reloads.
	if err := cfg.ManageAsync(ctx, m.domains); err != nil {
		event(fmt.Sprintf("acme: managing %s: %v", strings.Join(m.domains, ","), err))
	}
}

// setListen copies a bound address into the library's listen settings.
func setListen(host *string, port *int, addr string) {
	if addr == "" {
		return
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	var n int
	fmt.Sscan(p, &n)
	*host, *port = h, n
}

// Stop ends renewals. Certificates already handed to connections stay
// with them.
func (m *Manager) Stop() {
	if m.cancel != nil {
		m.cancel()
	}
	if m.cache != nil {
		m.cache.Stop()
	}
}

// Ready is closed once every domain has a certificate.
func (m *Manager) Ready() <-chan struct{} { return m.ready }

// onEvent turns the library's events into log lines and readiness.
func (m *Manager) onEvent(_ context.Context, name string, data map[string]any) error {
	switch name {
	case "cached_managed_cert":
		sans, _ := data["sans"].([]string)
		m.mu.Lock()
		for _, s := range sans {
			m.cached[strings.ToLower(s)] = true
		}
		all := true
		for _, d := range m.domains {
			all = all && m.cached[d]
		}
		select {
		case <-m.ready:
		default:
			if all {
				close(m.ready)
			}
		}
		m.mu.Unlock()
	case "cert_obtaining":
		// A renewal starts: remember the certificate it replaces.
		if r, _ := data["renewal"].(bool); r {
			name, _ := data["identifier"].(string)
			for _, c := range m.cache.AllMatchingCertificates(name) {
				if c.Leaf != nil {
					m.mu.Lock()
					m.replaced[name] = c.Leaf
					m.mu.Unlock()
					break
				}
			}
		}
	case "cert_obtained":
		what := "obtained"
		renewal, _ := data["renewal"].(bool)
		if renewal {
			what = "renewed"
			m.renewed.Add(1)
		} else {
			m.obtained.Add(1)
		}
		m.event(fmt.Sprintf("acme: certificate for %v %s from %v", data["identifier"], what, data["issuer"]))
		if renewal {
			name, _ := data["identifier"].(string)
			m.mu.Lock()
			old := m.replaced[name]
			delete(m.replaced, name)
			m.mu.Unlock()
			if old != nil {
				// Off the renewal's goroutine: a slow CA must not hold it.
				go m.revoke(name, old)
			}
		}
	case "cert_failed":
		what := "obtaining"
		if r, _ := data["renewal"].(bool); r {
			what = "renewing"
			m.renewFailed.Add(1)
		} else {
			m.obtainFailed.Add(1)
		}
		m.event(fmt.Sprintf("acme: %s the certificate for %v failed (the current certificate, if any, keeps serving; retrying with back-off): %v", what, data["identifier"], data["error"]))
	}
	return nil
}

// revoke tells the CA that old was superseded (RFC 5280 reason 4), so
// that a key that may have leaked with it stops being trusted sooner.
// Connections that already use it keep working; clients that check
// revocation refuse it from now on.
func (m *Manager) revoke(name string, old *x509.Certificate) {
	const superseded = 4
	res := certmagic.CertificateResource{SANs: old.DNSNames,
		CertificatePEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: old.Raw})}
	if err := m.issuer.Load().Revoke(m.ctx, res, superseded); err != nil {
		m.event(fmt.Sprintf("acme: revoking the replaced certificate for %s (serial %x) failed: %v", name, old.SerialNumber, err))
		return
	}
	m.event(fmt.Sprintf("acme: revoked the replaced certificate for %s (serial %x)", name, old.SerialNumber))
}

// GetCertificate serves the managed certificate. A handshake that arrives
// before the first certificate waits for it, within the handshake's own
// deadline, so that no client is ever served a missing or placeholder
// certificate. The certificate returned stays with its connection when a
// renewal replaces it in the cache.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	select {
	case <-m.ready:
	default:
		// Bounded even when the handshake has no deadline of its own
		// (TCP-mode binds), so that no goroutine waits forever on a CA
		// that is down.
		t := time.NewTimer(maxReadyWait)
		defer t.Stop()
		select {
		case <-m.ready:
		case <-hello.Context().Done():
			return nil, ErrNotReady
		case <-t.C:
			return nil, ErrNotReady
		}
	}
	return m.cfg.Load().GetCertificate(hello)
}

// ChallengeConfig returns the configuration that answers a TLS-ALPN-01
// validation hello, or nil when hello is not one.
func (m *Manager) ChallengeConfig(hello *tls.ClientHelloInfo) *tls.Config {
	if m.Challenge() != "tls-alpn-01" || !slices.Contains(hello.SupportedProtos, ALPNProto) {
		return nil
	}
	cfg := m.cfg.Load()
	if cfg == nil {
		return nil
	}
	return &tls.Config{
		NextProtos: []string{ALPNProto},
		MinVersion: tls.VersionTLS12,
		// certmagic answers an acme-tls/1 hello with the challenge
		// certificate of the SNI name it validates.
		GetCertificate: cfg.GetCertificate,
	}
}

// ServeHTTPChallenge answers an HTTP-01 validation request. It returns
// the body and true when method/host/path are a pending challenge's.
func (m *Manager) ServeHTTPChallenge(method, host, path, remote string) ([]byte, bool) {
	if m.Challenge() != "http-01" || !strings.HasPrefix(path, "/.well-known/acme-challenge/") {
		return nil, false
	}
	iss := m.issuer.Load()
	if iss == nil {
		return nil, false
	}
	r := &http.Request{Method: method, Host: host, URL: &url.URL{Path: path}, RemoteAddr: remote,
		Header: http.Header{}, Body: http.NoBody}
	r = r.WithContext(context.Background())
	var w bodyWriter
	if !iss.HandleHTTPChallenge(&w, r) {
		return nil, false
	}
	return w.body, true
}

// bodyWriter is the http.ResponseWriter the library writes its key
// authorization to; the proxy sends it on its own connection.
type bodyWriter struct {
	h    http.Header
	body []byte
}

func (w *bodyWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *bodyWriter) Write(p []byte) (int, error) { w.body = append(w.body, p...); return len(p), nil }
func (w *bodyWriter) WriteHeader(int)             {}

// StorageFiles lists the regular files under the storage directory with
// their modes, for the audit and tests (HAP-4.3: 0600).
func StorageFiles(dir string) (map[string]os.FileMode, error) {
	out := map[string]os.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out[p] = fi.Mode().Perm()
		}
		return nil
	})
	return out, err
}
