package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sarifValidator runs Microsoft's SARIF multitool (npm package
// @microsoft/sarif-multitool, installed by scripts/install-deps.sh) on
// file and returns the results of its validation log. The tool's exit
// status is 0 even when it finds errors, so the log is read instead.
func sarifValidator(t *testing.T, file string) []validatorResult {
	t.Helper()
	var bin []string
	switch {
	case haveTool("sarif-multitool"):
		bin = []string{"sarif-multitool"}
	case haveTool("npx") && os.Getenv("BULWARK_REQUIRE_TOOLS") != "1":
		// npx fetches the package on first use; CI installs it instead
		// so that a registry outage fails the install step, not this.
		bin = []string{"npx", "--yes", "@microsoft/sarif-multitool"}
	default:
		if os.Getenv("BULWARK_REQUIRE_TOOLS") == "1" {
			t.Fatal("BULWARK_REQUIRE_TOOLS=1 but sarif-multitool is not installed (scripts/install-deps.sh)")
		}
		t.Skip("sarif-multitool not installed (npm install -g @microsoft/sarif-multitool)")
	}
	out := filepath.Join(t.TempDir(), "validation.sarif")
	cmd := exec.Command(bin[0], append(bin[1:], "validate", "-o", out, file)...)
	// .NET needs ICU for culture data unless told not to; the validator
	// needs none, and a fresh host may lack libicu.
	cmd.Env = append(os.Environ(), "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("validator wrote no log: %v", err)
	}
	var log struct {
		Runs []struct {
			Results []validatorResult
		}
	}
	if err := json.Unmarshal(raw, &log); err != nil || len(log.Runs) == 0 {
		t.Fatalf("validator log: %v", err)
	}
	return log.Runs[0].Results
}

type validatorResult struct {
	RuleID  string
	Level   string
	Message struct{ Text string }
}

func haveTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// TestSARIFValidates checks the audit's SARIF with Microsoft's validator
// (schema and SARIF rules): no error. A copy with a required property
// removed must produce an error, which shows that the validator really
// read the file (it reports nothing at all for some malformed input).
func TestSARIFValidates(t *testing.T) {
	dir := t.TempDir()
	rep := goldenReport(t)
	var b bytes.Buffer
	if err := writeTestSARIF(t, &b, rep); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	good := filepath.Join(dir, "audit.sarif")
	os.WriteFile(good, bytes.ReplaceAll(b.Bytes(), []byte(sarifRoot), []byte(dirURI(wd))), 0o644)
	// The diff report is SARIF too.
	var d bytes.Buffer
	if err := WriteDiffSARIF(&d, diffFixture(t), SARIFOptions{SrcRoot: wd, ToolVersion: "0.0.0-test"}); err != nil {
		t.Fatal(err)
	}
	diff := filepath.Join(dir, "diff.sarif")
	os.WriteFile(diff, d.Bytes(), 0o644)

	var doc map[string]any
	json.Unmarshal(b.Bytes(), &doc)
	res := doc["runs"].([]any)[0].(map[string]any)["results"].([]any)[0].(map[string]any)
	delete(res, "message")
	broken, _ := json.Marshal(doc)
	bad := filepath.Join(dir, "broken.sarif")
	os.WriteFile(bad, broken, 0o644)

	for _, f := range []string{good, diff} {
		for _, r := range sarifValidator(t, f) {
			if r.Level == "error" {
				t.Errorf("%s: %s %s", filepath.Base(f), r.RuleID, r.Message.Text)
			} else {
				t.Logf("%s: %s %s: %s", filepath.Base(f), r.Level, r.RuleID, r.Message.Text)
			}
		}
	}
	errs := 0
	for _, r := range sarifValidator(t, bad) {
		if r.Level == "error" {
			errs++
		}
	}
	if errs == 0 {
		t.Error("the validator found no error in a result without 'message': it did not validate")
	}
}
