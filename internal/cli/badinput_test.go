package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBadInput feeds "bulwark -c" inputs that are not configurations at all.
// Each must end in exit 1 with a positioned [ALERT] (or, for a file too
// large to read, one naming the file), never a panic.
func TestBadInput(t *testing.T) {
	garbage := make([]byte, 4096)
	// A fixed pseudo-random sequence keeps the test deterministic.
	x := uint32(2463534242)
	for i := range garbage {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		garbage[i] = byte(x)
	}
	long := "global\n    description " + strings.Repeat("a", 1<<20) + "\n"
	tests := []struct {
		name    string
		content []byte
		line    string // "file:line" of the first positioned alert
		msg     string
	}{
		{"binary garbage", garbage, "", ""},
		{"unterminated double quote", []byte("global\n    maxconn \"100\n"), "bad.cfg:2", "quote"},
		{"unterminated single quote", []byte("global\n    description 'abc\n"), "bad.cfg:2", "quote"},
		{".if without .endif", []byte(".if 1\nglobal\n    maxconn 100\n"), "bad.cfg:1", ".if"},
		{"invalid UTF-8", []byte("global\n    description caf\xe9 \xff\xfe\n"), "bad.cfg:2", "UTF-8"},
		{"1 MB line", []byte(long), "bad.cfg:2", "too long"},
		{"NUL byte", []byte("global\n    maxconn 1\x0000\n"), "bad.cfg:2", "NUL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.cfg")
			if err := os.WriteFile(p, tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := runMain("-c", "-f", p)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%.2000s", code, errOut)
			}
			got := alertLines(errOut)
			if len(got) == 0 {
				t.Fatalf("no positioned [ALERT]:\n%.2000s", errOut)
			}
			if tc.line != "" && got[0] != tc.line {
				t.Errorf("first alert at %s, want %s\n%.2000s", got[0], tc.line, errOut)
			}
			if tc.msg != "" && !strings.Contains(errOut, tc.msg) {
				t.Errorf("no %q in:\n%.2000s", tc.msg, errOut)
			}
			if len(errOut) > 1<<20 {
				t.Errorf("%d bytes of diagnostics: the input is echoed back", len(errOut))
			}
		})
	}
}

// TestHugeFileRefused checks that a 100 MB file is refused by size before
// it is read: the check allocates far less than the file's size.
func TestHugeFileRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.cfg")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk space used, but Stat reports 100 MB.
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var o, e bytes.Buffer
	code := Main([]string{"-c", "-f", p}, &o, &e)
	runtime.ReadMemStats(&after)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, e.String())
	}
	if !strings.Contains(e.String(), "huge.cfg") || !strings.Contains(e.String(), "limit") {
		t.Errorf("the alert should name the file and the size limit:\n%s", e.String())
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("refusing a 100 MB file allocated %d bytes", alloc)
	}
}
