package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSHA256Sums(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct {
		name, in string
		want     map[string]string
		err      bool
	}{
		{"text mode", h + "  /usr/sbin/haproxy\n", map[string]string{"/usr/sbin/haproxy": h}, false},
		{"binary mode and comment", "# release\n" + strings.ToUpper(h) + " *haproxy\n\n", map[string]string{"haproxy": h}, false},
		{"short digest", "abcd  haproxy\n", nil, true},
		{"no path", h + "\n", nil, true},
		{"empty", "# nothing\n", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSHA256Sums(strings.NewReader(tc.in), "SUMS")
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestLiveSHA256Sums(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "sbin", "haproxy")
	os.MkdirAll(filepath.Dir(bin), 0o755)
	os.WriteFile(bin, []byte("#!/bin/false\nfake proxy binary\n"), 0o755)
	sum := sha256.Sum256([]byte("#!/bin/false\nfake proxy binary\n"))
	good := hex.EncodeToString(sum[:])
	bad := strings.Repeat("0", 64)
	proc := writeFakeProc(t, []fakeProcess{{pid: 300, ppid: 1, uid: 99, exe: bin, root: "/"}}, fakeTCP)
	exeLink := filepath.Join(proc, "300", "exe")
	tests := []struct {
		name, sums string
		want       Verdict
		text       string
	}{
		{"full path matches", good + "  " + bin + "\n", Pass, "matches"},
		{"base name matches", bad + "  other\n" + good + "  haproxy-2.6/haproxy\n", Pass, "matches"},
		{"mismatch", bad + "  haproxy\n", Fail, "has SHA-256 " + good},
		{"not listed", good + "  bulwark\n", Warn, "not listed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "SHA256SUMS")
			os.WriteFile(f, []byte(tc.sums), 0o644)
			e, _ := sumsEvidence(f, exeLink, bin)
			if e.Verdict != tc.want || !strings.Contains(e.Text, tc.text) {
				t.Errorf("%s %q; want %s containing %q", e.Verdict, e.Text, tc.want, tc.text)
			}
			bf := binaryOrigin(ProductHAProxy, bin, f, exeLink)
			// The binary is in a temp dir owned by the test user, so the
			// ownership evidence may FAIL; the checksum line must be there.
			found := false
			for _, be := range bf.Evidence {
				found = found || (be.Verdict == tc.want && strings.Contains(be.Text, tc.text))
			}
			if !found {
				t.Errorf("binaryOrigin evidence lacks the checksum line: %+v", bf.Evidence)
			}
		})
	}
	bf := binaryOrigin(ProductHAProxy, bin, "", exeLink)
	for _, be := range bf.Evidence {
		if strings.Contains(be.Text, "SHA-256") || strings.Contains(be.Text, "not listed") {
			t.Errorf("no --sha256sums but checksum evidence: %q", be.Text)
		}
	}
}
