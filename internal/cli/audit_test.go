package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goldenCfg = "../audit/testdata/golden/representative.cfg"

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestAuditExitCodes(t *testing.T) {
	clean := filepath.Join(t.TempDir(), "clean.cfg")
	if err := os.WriteFile(clean, []byte("global\n    user haproxy\n    group haproxy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"fails at high", []string{"audit", "-f", goldenCfg, "--target", "haproxy", "--no-git"}, 1},
		{"only a passing control", []string{"audit", "-f", goldenCfg, "--target", "haproxy", "--only", "HAP-2.1"}, 0},
		{"low-severity fail below threshold", []string{"audit", "-f", goldenCfg, "--only", "HAP-5.2", "--fail-on", "high"}, 0},
		{"medium fail at medium", []string{"audit", "-f", goldenCfg, "--only", "HAP-5.2", "--fail-on", "medium"}, 1},
		{"skip the failing ones", []string{"audit", "-f", clean, "--only", "HAP-2.1,HAP-3"}, 0},
		{"no file", []string{"audit"}, 2},
		{"unreadable file", []string{"audit", "-f", "/nonexistent/x.cfg"}, 2},
		{"bad format", []string{"audit", "-f", goldenCfg, "--format", "yaml"}, 2},
		{"bad severity", []string{"audit", "-f", goldenCfg, "--fail-on", "urgent"}, 2},
		{"bad target", []string{"audit", "-f", goldenCfg, "--target", "nginx"}, 2},
		{"unknown control", []string{"audit", "-f", goldenCfg, "--only", "HAP-42"}, 2},
		{"unknown flag", []string{"audit", "-f", goldenCfg, "--frobnicate"}, 2},
		{"help", []string{"audit", "-h"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d (stderr: %s)", code, tt.want, errs)
			}
		})
	}
}

func TestAuditFormatsAndOutputFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.json")
	code, stdout, _ := runCLI("audit", "-f", goldenCfg, "--target", "haproxy", "--format", "json", "-o", out, "--no-git")
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema string
		Target string
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Schema != "bulwark-audit/v1" || doc.Target != "haproxy" {
		t.Fatalf("json report: %v %+v", err, doc)
	}
	for _, f := range []string{"sarif", "junit", "html", "text"} {
		code, stdout, errs := runCLI("audit", "-f", goldenCfg, "--format", f, "--no-git")
		if code != 1 || len(stdout) < 100 {
			t.Errorf("%s: exit %d, %d bytes, stderr %s", f, code, len(stdout), errs)
		}
		if strings.Contains(stdout, "\x1b[") {
			t.Errorf("%s: colour on a non-terminal", f)
		}
	}
}

// TestAuditTargetDecidesValidity: a directive HAProxy runs but Bulwark does
// not is an error for --target bulwark only.
func TestAuditTargetDecidesValidity(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "mon.cfg")
	src := "global\n    user haproxy\n    group haproxy\ndefaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\nfrontend f\n    bind 127.0.0.1:8080\n    rate-limit sessions 100\n    default_backend b\nbackend b\n    server s 127.0.0.1:9000 check\n"
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]int{"haproxy": 0, "bulwark": 1} {
		code, stdout, _ := runCLI("audit", "-f", cfg, "--target", target, "--only", "HAP-9.1")
		if code != want {
			t.Errorf("--target %s: exit %d, want %d\n%s", target, code, want, stdout)
		}
	}
}

func TestControlsCommand(t *testing.T) {
	for _, f := range []string{"table", "md", "json"} {
		code, out, errs := runCLI("controls", "--format", f)
		if code != 0 || !strings.Contains(out, "HAP-10.2") {
			t.Errorf("%s: exit %d, stderr %s", f, code, errs)
		}
	}
	if code, _, _ := runCLI("controls", "--format", "pdf"); code != 2 {
		t.Errorf("bad format: exit %d, want 2", code)
	}
}

// TestControlsDocUpToDate fails when docs/controls.md no longer matches the
// registry: regenerate with 'make docs'.
func TestControlsDocUpToDate(t *testing.T) {
	want, err := os.ReadFile("../../docs/controls.md")
	if err != nil {
		t.Fatal(err)
	}
	_, got, _ := runCLI("controls", "--format", "md")
	if got != string(want) {
		t.Error("docs/controls.md is stale: run 'make docs' (go run ./cmd/bulwark controls --format md > docs/controls.md)")
	}
}

func TestAuditSHA256SumsFlag(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "SHA256SUMS")
	os.WriteFile(good, []byte(strings.Repeat("a", 64)+"  bulwark\n"), 0o644)
	bad := filepath.Join(dir, "BAD")
	os.WriteFile(bad, []byte("not a checksum\n"), 0o644)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"accepted with --live", []string{"-f", goldenCfg, "--live", "--sha256sums", good}, ""},
		{"needs --live", []string{"-f", goldenCfg, "--sha256sums", good}, "need --live"},
		{"malformed file", []string{"-f", goldenCfg, "--live", "--sha256sums", bad}, "not a sha256sum line"},
		{"missing file", []string{"-f", goldenCfg, "--live", "--sha256sums", filepath.Join(dir, "none")}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseAuditFlags(tt.args, &bytes.Buffer{})
			if tt.wantErr == "" {
				if err != nil || o.liveOpts.SHA256Sums != good {
					t.Fatalf("err %v, opts %+v", err, o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			if code, _, _ := runCLI(append([]string{"audit"}, tt.args...)...); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
		})
	}
}

// TestKeywordsDocUpToDate fails when docs/keywords.md no longer matches
// what the registries say.
func TestKeywordsDocUpToDate(t *testing.T) {
	want, err := os.ReadFile("../../docs/keywords.md")
	if err != nil {
		t.Fatal(err)
	}
	code, got, _ := runCLI("keywords", "--format", "md")
	if code != 0 || got != string(want) {
		t.Error("docs/keywords.md is stale: run 'make docs' (go run ./cmd/bulwark keywords --format md > docs/keywords.md)")
	}
	if code, _, _ := runCLI("keywords", "--format", "pdf"); code != 2 {
		t.Error("an unknown format is not refused")
	}
}
