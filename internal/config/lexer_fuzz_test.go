package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLex checks that Lex terminates without panicking on any input and
// that every position it returns points into the source.
func FuzzLex(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "lexer", "*.cfg"))
	for _, name := range files {
		if src, err := os.ReadFile(name); err == nil {
			f.Add(src)
		}
	}
	for _, s := range []string{
		"", "\n", "a", `"`, `'`, `\`, `\x`, `"$`, `"${`, `"${A[*]-x}"`, `"${LIST[*]}"`,
		".if\n", ".if (\n.endif\n", ".elif 1\n", ".if 0\n.elif 1\na\n.else\nb\n.endif\n",
		"a\x00b", "\xff\xfe", "a\r\nb\r", "\xef\xbb\xbfx", "# c\na # b\n",
		strings.Repeat("w ", 80), strings.Repeat(".if 1\n", 120),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		lines, _ := Lex("fuzz.cfg", src, LexOptions{Env: testEnv, MaxLineLen: 4096})
		phys := bytes.Split(src, []byte("\n"))
		for _, l := range lines {
			if len(l.Words) == 0 || len(l.Words) > maxLineArgs {
				t.Fatalf("line %v has %d words", l.Pos, len(l.Words))
			}
			if l.Pos != l.Words[0].Pos {
				t.Fatalf("Line.Pos %v != first word %v", l.Pos, l.Words[0].Pos)
			}
			for _, w := range l.Words {
				p := w.Pos
				if p.File != "fuzz.cfg" || p.Line < 1 || p.Line > len(phys) {
					t.Fatalf("word %q at %v: line out of range", w.Text, p)
				}
				pl := phys[p.Line-1]
				if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) && p.Line == 1 {
					pl = pl[3:]
				}
				if p.Col < 1 || p.Col > len(pl) {
					t.Fatalf("word %q at %v: column out of range (line has %d bytes)", w.Text, p, len(pl))
				}
			}
		}
	})
}

// FuzzEvalCond checks that condition parsing never panics or hangs.
func FuzzEvalCond(f *testing.F) {
	for _, s := range []string{"", "1", "!0 && (1 || 0)", "streq(a,\"b)\")", "version_atleast(2.4-dev19)", "((", "feature(", "0x", "defined(A,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = EvalCond([]string{s}, LexOptions{Env: testEnv})
	})
}
