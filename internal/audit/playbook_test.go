package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/plan"
)

func TestPlaybookGolden(t *testing.T) {
	tg, err := Load([]string{"testdata/playbook/fixture.cfg"}, ProductHAProxy, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePlaybook(&buf, tg); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "playbook", "fixture.md")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("playbook differs from %s (run go test ./internal/audit -update and review)\ngot:\n%s", golden, buf.String())
	}
}

func TestPlaybookSections(t *testing.T) {
	tests := []struct {
		name, cfg string
		want      []string
	}{
		{"no tls no limits", "frontend f\n  mode http\n  bind 127.0.0.1:80\n  default_backend b\nbackend b\n  mode http\n  server s1 10.0.0.1:80\n",
			[]string{"terminates no TLS", "**No rate limit is configured**", "set server b/s1 state drain", "No `stats socket`", "default_backend b"}},
		{"bulwark target", "frontend f\n  bind 127.0.0.1:80\n", []string{"Bulwark has no runtime API yet", "No backend has servers", "no routing or header rules"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := filepath.Join(dir, "h.cfg")
			os.WriteFile(f, []byte(tc.cfg), 0o644)
			product := ProductHAProxy
			if strings.Contains(tc.name, "bulwark") {
				product = ProductBulwark
			}
			tg, err := Load([]string{f}, product, plan.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			WritePlaybook(&buf, tg)
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("missing %q in:\n%s", w, buf.String())
				}
			}
			for _, h := range []string{"## 1. Certificate compromise", "## 2. Backend breach", "## 3. L7 abuse / DDoS", "## 4. Misrouting / header injection"} {
				if !strings.Contains(buf.String(), h) {
					t.Errorf("missing section %q", h)
				}
			}
		})
	}
}
