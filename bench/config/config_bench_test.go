package configbench

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"bulwark/internal/cli"
	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
)

// writeConfig generates p into a temporary file and returns its path and
// contents.
func writeConfig(tb testing.TB, p Params) (string, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	if err := Generate(&buf, p); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "big.cfg")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path, buf.Bytes()
}

// TestGeneratedConfigIsClean makes sure the benchmark measures the normal
// path: a configuration with errors could stop early or take the slow
// diagnostic paths, and the comparison with haproxy -c would be unfair.
func TestGeneratedConfigIsClean(t *testing.T) {
	p := Params{Backends: 40, Servers: 3, Frontends: 3}
	path, src := writeConfig(t, p)
	cfg, ds := config.ParseFiles([]string{path}, config.ParseOptions{})
	m, cds := model.Compile(cfg, model.Options{})
	ds = append(ds, cds...)
	_, pds := plan.Compile(m, plan.Options{})
	ds = append(ds, pds...)
	for _, d := range ds {
		t.Errorf("unexpected diagnostic: %s", d.HAProxy())
	}
	if got := len(m.Backends()); got != p.Backends {
		t.Errorf("backends = %d, want %d", got, p.Backends)
	}
	for _, be := range m.Backends() {
		if len(be.Servers) != p.Servers {
			t.Errorf("backend %s has %d servers, want %d", be.Name, len(be.Servers), p.Servers)
		}
	}
	fes := m.Frontends()
	if len(fes) != p.Frontends {
		t.Fatalf("frontends = %d, want %d", len(fes), p.Frontends)
	}
	routes := 0
	for _, fe := range fes {
		routes += len(fe.UseBackends)
	}
	if routes != p.Backends {
		t.Errorf("use_backend rules = %d, want one per backend (%d)", routes, p.Backends)
	}
	if lines := bytes.Count(src, []byte("\n")); lines < p.Backends*(p.Servers+4) {
		t.Errorf("only %d lines", lines)
	}
}

// BenchmarkParseCompile measures each stage of "bulwark -c" on the
// 2,000 × 10 configuration: Parse (file read and lexing included),
// Compile, plan.Compile, and the three together as cli.Load runs them.
func BenchmarkParseCompile(b *testing.B) {
	path, _ := writeConfig(b, Default)
	parse := func(b *testing.B) *config.Config {
		cfg, ds := config.ParseFiles([]string{path}, config.ParseOptions{})
		if ds.HasAlerts() {
			b.Fatalf("parse: %v", ds[0].HAProxy())
		}
		return cfg
	}
	compile := func(b *testing.B, cfg *config.Config) *model.Model {
		m, ds := model.Compile(cfg, model.Options{})
		if ds.HasAlerts() {
			b.Fatalf("compile: %v", ds[0].HAProxy())
		}
		return m
	}
	check := func(b *testing.B, m *model.Model) {
		if _, ds := plan.Compile(m, plan.Options{}); ds.HasAlerts() {
			b.Fatalf("check: %v", ds[0].HAProxy())
		}
	}
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parse(b)
		}
	})
	b.Run("Compile", func(b *testing.B) {
		cfg := parse(b)
		b.ReportAllocs()
		for b.Loop() {
			compile(b, cfg)
		}
	})
	b.Run("Check", func(b *testing.B) {
		m := compile(b, parse(b))
		b.ReportAllocs()
		for b.Loop() {
			check(b, m)
		}
	})
	b.Run("All", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			check(b, compile(b, parse(b)))
		}
	})
	// The whole "bulwark -c" command in-process: Load plus sorting and
	// printing the diagnostics.
	b.Run("CLI", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if code := cli.Main([]string{"-c", "-q", "-f", path}, io.Discard, io.Discard); code != 0 {
				b.Fatalf("bulwark -c exited %d", code)
			}
		}
	})
}
