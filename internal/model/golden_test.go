package model

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current compiler")

func compileFile(t *testing.T, path string) (*Model, config.Diagnostics) {
	t.Helper()
	cfg, ds := config.ParseFiles([]string{path}, config.ParseOptions{})
	m, cds := Compile(cfg, Options{})
	return m, append(ds, cds...).Sorted(cfg.Files)
}

// TestGolden compiles every testdata/*.cfg and compares the dump of the
// Model and its diagnostics with the matching .golden file. Run
// "go test ./internal/model -update" after an intended change, and read
// the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.cfg")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			m, ds := compileFile(t, f)
			got := dumpModel(m, ds)
			golden := strings.TrimSuffix(f, ".cfg") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("model dump differs from %s (run with -update and review the diff)\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff shows the first differing lines, enough to see what changed.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			b.WriteString("- " + w + "\n+ " + g + "\n")
			if shown++; shown == 10 {
				break
			}
		}
	}
	return b.String()
}
