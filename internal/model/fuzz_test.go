package model

import (
	"os"
	"path/filepath"
	"testing"

	"bulwark/internal/config"
)

// FuzzCompile checks that Compile never panics, in normal and in audit
// mode, whatever the parser accepted, that it always returns a Model, and
// that every diagnostic with a position points at a line and column of the
// input (an error at a wrong line sends the operator astray).
func FuzzCompile(f *testing.F) {
	n := 0
	for _, pat := range []string{
		filepath.Join("..", "..", "testdata", "configs", "*.cfg"),
		filepath.Join("testdata", "*.cfg"),
	} {
		files, err := filepath.Glob(pat)
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			src, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
			n++
		}
	}
	if n == 0 {
		f.Fatal("no seed configurations found")
	}
	env := func(name string) (string, bool) { return "", false }
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, pds := config.Parse("fuzz.cfg", src, config.LexOptions{Env: env, MaxLineLen: 4096})
		for _, opt := range []Options{{}, {Audit: true}} {
			m, ds := Compile(cfg, opt)
			if m == nil {
				t.Fatalf("Compile(%+v) returned a nil Model", opt)
			}
			for _, d := range append(ds, pds...) {
				if d.Pos.IsValid() && !d.Pos.Within("fuzz.cfg", src) {
					t.Fatalf("diagnostic %q at %v, outside the input", d.Msg, d.Pos)
				}
			}
			for _, p := range m.Proxies {
				if p == nil {
					t.Fatalf("Compile(%+v) returned a nil proxy", opt)
				}
			}
		}
	})
}
