package tlsconf

import (
	"crypto/tls"
	"path/filepath"
	"testing"
)

func TestStoreReload(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	crt := filepath.Join(dir, "site.pem")
	c1, k1 := ca.issue(t, leafSpec{cn: "site.test", sans: []string{"site.test"}})
	writeFile(t, crt, append(c1, k1...), 0o600)
	bt := mustBind(t, sslBind(nil, crt), nil, Options{})
	addr := serve(t, bt.Config)

	serial := func() string {
		t.Helper()
		cs, err := dial(addr, &tls.Config{ServerName: "site.test", RootCAs: ca.pool()})
		if err != nil {
			t.Fatal(err)
		}
		return cs.PeerCertificates[0].SerialNumber.String()
	}
	first := serial()

	// Renewal: same path, new certificate; served after Reload, no restart.
	c2, k2 := ca.issue(t, leafSpec{cn: "site.test", sans: []string{"site.test"}})
	writeFile(t, crt, append(c2, k2...), 0o600)
	if got := serial(); got != first {
		t.Fatalf("served %s before Reload", got)
	}
	if err := bt.Store.Reload(); err != nil {
		t.Fatal(err)
	}
	second := serial()
	if second == first {
		t.Fatal("Reload did not pick up the renewed certificate")
	}

	// A broken renewal keeps the old certificate in service.
	writeFile(t, crt, c1, 0o600) // key missing
	if err := bt.Store.Reload(); err == nil {
		t.Fatal("Reload accepted a file without a key")
	}
	if got := serial(); got != second {
		t.Errorf("after failed Reload served %s, want %s", got, second)
	}
	// So does a key that became world-readable.
	writeFile(t, crt, append(c1, k1...), 0o644)
	if err := bt.Store.Reload(); err == nil {
		t.Fatal("Reload accepted a world-readable key")
	}
	if got := serial(); got != second {
		t.Errorf("after refused Reload served %s, want %s", got, second)
	}
}

func TestNewStoreRefusesLineOptions(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	crt := ca.writePEM(t, dir, "a.pem", leafSpec{cn: "a.test"})
	list := filepath.Join(dir, "l")
	writeFile(t, list, []byte(crt+" [alpn h2]\n"), 0o644)
	if _, err := NewStore(nil, []string{list}, false, Options{}); err == nil {
		t.Error("NewStore accepted per-line ssl options it cannot apply")
	}
	writeFile(t, list, []byte(crt+" a.test\n"), 0o644)
	s, err := NewStore(nil, []string{list}, true, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: "b.test"}); err != ErrNoCertificate {
		t.Errorf("strict-sni miss: %v", err)
	}
}
