package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestAuditDiffCLI(t *testing.T) {
	old, new := "../audit/testdata/diff/old.cfg", "../audit/testdata/diff/new.cfg"
	var out, errb bytes.Buffer
	// Flags after the two paths still count: --diff takes exactly two.
	code := Main([]string{"audit", "--diff", old, new, "--target", "haproxy"}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "PASS   -> FAIL    HAP-4.1") {
		t.Fatalf("exit %d, want 1 (new Critical FAIL)\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := Main([]string{"audit", "--target", "haproxy", "--diff", new, new}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "No control changes its verdict") {
		t.Errorf("same file: exit %d\n%s", code, out.String())
	}
	out.Reset()
	if code := Main([]string{"audit", "--target", "haproxy", "--format", "sarif", "--diff", old, new}, &out, &errb); code != 1 {
		t.Errorf("sarif diff: exit %d", code)
	}
	var log struct {
		Runs []struct {
			Invocations []struct{ ExitCode int }
			Results     []struct{ RuleID, Level string }
		}
	}
	if err := json.Unmarshal(out.Bytes(), &log); err != nil || len(log.Runs) != 1 || log.Runs[0].Invocations[0].ExitCode != 1 {
		t.Fatalf("sarif diff: %v %+v", err, log)
	}
	for _, bad := range [][]string{
		{"audit", "--diff", old},
		{"audit", "--diff", old, new, "-f", old},
		{"audit", "--diff", old, new, "--format", "json"},
		{"audit", "--diff", old, new, "--live"},
		{"audit", "--diff", old, "/nonexistent/new.cfg"},
	} {
		if code := Main(bad, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}
