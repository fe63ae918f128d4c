package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// addConfigSeeds adds every .cfg file of the given glob patterns to the
// fuzzer's seed corpus.
func addConfigSeeds(f *testing.F, patterns ...string) {
	n := 0
	for _, pat := range patterns {
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
		// Without seeds the fuzzer rarely finds section syntax on its own.
		f.Fatalf("no seed files match %v", patterns)
	}
}

// FuzzParse checks that Parse terminates without panicking on any input,
// that the AST is well formed, and that every diagnostic with a position
// points into the source.
func FuzzParse(f *testing.F) {
	addConfigSeeds(f, filepath.Join("..", "..", "testdata", "configs", "*.cfg"),
		filepath.Join("testdata", "lexer", "*.cfg"))
	for _, s := range []string{
		"", "global\n", "frontend\n", "backend b from\n", "defaults d from d\n",
		"listen l\n bind :80\n", "frontend f\n\"\n", "x\nfrontend f\n", "frontend f x y z\n",
		"userlist u\n user a password x\n", "backend b\n server s 1.2.3.4:80 check\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		type result struct {
			cfg *Config
			ds  Diagnostics
		}
		done := make(chan result, 1)
		go func() {
			cfg, ds := Parse("fuzz.cfg", src, LexOptions{Env: testEnv, MaxLineLen: 4096})
			done <- result{cfg, ds}
		}()
		var r result
		// A generous bound: this catches loops that never end, not slowness.
		select {
		case r = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Parse did not return within 10s on %d bytes", len(src))
		}
		if r.cfg == nil {
			t.Fatal("Parse returned a nil Config")
		}
		phys := bytes.Split(src, []byte("\n"))
		inFile := func(what string, p Pos, allowNone bool) {
			t.Helper()
			if !p.IsValid() {
				if !allowNone || p.Col != 0 {
					t.Fatalf("%s: invalid position %+v", what, p)
				}
				return
			}
			if p.File != "fuzz.cfg" || p.Line > len(phys) {
				t.Fatalf("%s: position %v outside the file (%d lines)", what, p, len(phys))
			}
			// A diagnostic may point just past the last byte of its line
			// (a missing argument).
			if p.Col < 0 || p.Col > len(phys[p.Line-1])+1 {
				t.Fatalf("%s: column of %v outside its line (%d bytes)", what, p, len(phys[p.Line-1]))
			}
		}
		for _, d := range r.ds {
			inFile("diagnostic "+d.Msg, d.Pos, true)
		}
		for _, s := range r.cfg.Sections {
			if s == nil {
				t.Fatal("nil section")
			}
			inFile("section "+s.Kind, s.Pos, false)
			for _, d := range s.Directives {
				// d.Name may be empty: `""` is a word.
				if d == nil {
					t.Fatalf("nil directive in section at %v", s.Pos)
				}
				inFile("directive "+d.Name, d.Pos, false)
				for _, w := range d.Args {
					inFile("argument "+w.Text, w.Pos, false)
				}
			}
		}
	})
}
