package certwatch

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark/internal/tlsconf"
)

// pemCert returns a self-signed certificate and its key in one PEM file.
func pemCert(t *testing.T, serial int64) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "www.bulwark.test"},
		DNSNames: []string{"www.bulwark.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
}

// replace writes data next to path and renames it over, as renewal tools do.
func replace(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func serial(s *tlsconf.Store) int64 { return s.Certificates()[0].Leaf.SerialNumber.Int64() }

// A certificate replaced on disk is served without a reload; a
// half-written one is refused with its reason and the current one keeps
// serving.
func TestReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.pem")
	if err := os.WriteFile(path, pemCert(t, 1), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := tlsconf.NewStore([]string{path}, nil, false, tlsconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan string, 16)
	cw, err := New([]*tlsconf.Store{st}, 20*time.Millisecond, func(m string) { events <- m })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { cw.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	wait := func(sub string) string {
		t.Helper()
		for {
			select {
			case m := <-events:
				if strings.Contains(m, sub) {
					return m
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no event %q", sub)
			}
		}
	}
	replace(t, path, pemCert(t, 2))
	wait("reloaded")
	if serial(st) != 2 {
		t.Fatalf("serving serial %d after the change", serial(st))
	}
	// A half-written file: the certificate without its key.
	good := pemCert(t, 3)
	replace(t, path, good[:len(good)/2])
	m := wait("refused")
	if !strings.Contains(m, "site.pem") {
		t.Errorf("refusal does not name the file: %q", m)
	}
	if serial(st) != 2 {
		t.Fatalf("serving serial %d after a bad file", serial(st))
	}
	replace(t, path, good)
	wait("reloaded")
	if serial(st) != 3 {
		t.Fatalf("serving serial %d after the fix", serial(st))
	}
	// The stats count both outcomes (debouncing may merge changes, so
	// at least the reloads seen).
	if ok, failed := cw.Counts(); ok < 2 || failed < 1 {
		t.Errorf("counts ok=%d failed=%d, want at least 2 and 1", ok, failed)
	}
}
