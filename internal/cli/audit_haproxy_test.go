package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// For an HAProxy target, HAP-9.1 carries the verdict of the real
// "haproxy -c" beside Bulwark's reading, with haproxy's positions.
func TestAuditHAProxyTargetRunsHAProxyCheck(t *testing.T) {
	needHAProxy(t)
	dir := t.TempDir()
	base := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
		"frontend fe\n    bind 127.0.0.1:8089\n"
	for _, tc := range []struct {
		name, extra, verdict, text string
		line                       int
	}{
		{"valid", "    default_backend be\nbackend be\n    server s 127.0.0.1:1\n", "PASS", "-c: configuration is valid", 1},
		{"arity", "    http-request set-header X-A\n    default_backend be\nbackend be\n    server s 127.0.0.1:1\n", "FAIL", "expects exactly 2 arguments", 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, tc.name+".cfg")
			os.WriteFile(f, []byte(base+tc.extra), 0o644)
			var out, errb bytes.Buffer
			Main([]string{"audit", "-f", f, "--target", "haproxy", "--only", "HAP-9.1", "--format", "json", "--no-git"}, &out, &errb)
			var rep struct {
				Findings []struct {
					ID       string
					Verdict  string
					Evidence []struct {
						Line    int
						Verdict string
						Text    string
					}
				}
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Findings) != 1 {
				t.Fatalf("%v: %s %s", err, out.String(), errb.String())
			}
			fd := rep.Findings[0]
			found := false
			for _, e := range fd.Evidence {
				found = found || strings.Contains(e.Text, tc.text) && e.Line == tc.line
			}
			if fd.Verdict != tc.verdict || !found {
				t.Fatalf("HAP-9.1 %s, want %s with %q at line %d: %+v", fd.Verdict, tc.verdict, tc.text, tc.line, fd.Evidence)
			}
		})
	}
}
