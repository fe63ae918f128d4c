package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/plan"
)

// HAP-4.3 passes for ACME-managed binds with private storage, fails when
// the storage is readable by others, and an HAProxy target reads the
// .else branch instead of the Bulwark-only block.
func TestHAP43ACME(t *testing.T) {
	dir := t.TempDir()
	storage := filepath.Join(dir, "acme")
	os.Mkdir(storage, 0o700)
	os.WriteFile(filepath.Join(storage, "account.key"), []byte("k"), 0o600)
	cfgText := `
global
.if feature(BULWARK)
    bulwark-acme-email ops@example.org
    bulwark-acme-storage ` + storage + `
.endif
defaults
    mode http
    timeout client 10s
    timeout connect 5s
    timeout server 10s
frontend web
    bind 127.0.0.1:80
.if feature(BULWARK)
    bind 127.0.0.1:443 ssl bulwark-acme www.example.org
.else
    bind 127.0.0.1:443 ssl crt ` + filepath.Join(dir, "missing.pem") + `
.endif
    default_backend app
backend app
    server s1 127.0.0.1:8080
`
	f := filepath.Join(dir, "b.cfg")
	os.WriteFile(f, []byte(cfgText), 0o600)
	load := func(product string) Result {
		t.Helper()
		tg, err := Load([]string{f}, product, plan.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return checkCertificates(tg)
	}
	if r := load(ProductBulwark); r.Verdict != Pass || !strings.Contains(r.Summary, "ACME-managed") {
		t.Errorf("bulwark: %v %q %v", r.Verdict, r.Summary, r.Evidence)
	}
	if r := load(ProductHAProxy); r.Verdict != Fail || !strings.Contains(r.Evidence[0].Text, "missing.pem") {
		t.Errorf("haproxy: %v %q %v", r.Verdict, r.Summary, r.Evidence)
	}
	os.Chmod(filepath.Join(storage, "account.key"), 0o644)
	if r := load(ProductBulwark); r.Verdict != Fail || !strings.Contains(fmt.Sprint(r.Evidence), "account.key is mode 644") {
		t.Errorf("bulwark, readable key: %v %q %v", r.Verdict, r.Summary, r.Evidence)
	}
}
