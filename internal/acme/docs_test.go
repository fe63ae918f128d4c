package acme_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"bulwark/internal/acme/acmetest"
	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
)

// Every configuration example of docs/extensions.md compiles in Bulwark
// without alerts and passes HAProxy 2.6's own "haproxy -c", which skips
// the .if feature(BULWARK) blocks.
func TestExtensionsDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/extensions.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```haproxy\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 2 {
		t.Fatalf("%d examples", len(blocks))
	}
	// The HAProxy branch of the examples names a certificate directory.
	dir := t.TempDir()
	_, certFile, keyFile := acmetest.ServerTLS(t, dir)
	crt, _ := os.ReadFile(certFile)
	key, _ := os.ReadFile(keyFile)
	crtDir := filepath.Join(dir, "certs")
	os.Mkdir(crtDir, 0o700)
	os.WriteFile(filepath.Join(crtDir, "site.pem"), append(crt, key...), 0o600)
	haproxy := "/usr/sbin/haproxy"
	if _, err := os.Stat(haproxy); err != nil {
		if os.Getenv("BULWARK_REQUIRE_TOOLS") == "1" {
			t.Fatal("haproxy not installed and BULWARK_REQUIRE_TOOLS=1")
		}
		haproxy = ""
	}
	for i, b := range blocks {
		text := strings.ReplaceAll(string(b[1]), "/etc/haproxy/certs/", crtDir+"/")
		if !strings.Contains(text, ".if feature(BULWARK)") {
			t.Errorf("example %d has no .if feature(BULWARK) block", i)
		}
		ast, ds := config.Parse("example.cfg", []byte(text), config.LexOptions{})
		m, cds := model.Compile(ast, model.Options{})
		ds = append(ds, cds...)
		_, pds := plan.Compile(m, plan.Options{})
		if ds = append(ds, pds...); ds.HasAlerts() {
			t.Errorf("example %d: bulwark: %v", i, ds)
		}
		if haproxy == "" {
			continue
		}
		f := filepath.Join(dir, "example.cfg")
		os.WriteFile(f, []byte(text), 0o600)
		out, err := exec.Command(haproxy, "-c", "-f", f).CombinedOutput()
		if err != nil {
			t.Errorf("example %d: haproxy -c: %v\n%s", i, err, out)
		}
	}
}
