package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/plan"
)

// sarifValidator runs Microsoft's SARIF multitool (npm package
// @microsoft/sarif-multitool, installed by scripts/install-deps.sh) on
// file and returns the results of its validation log. The tool's exit
// status is 0 even when it finds errors, so the log is read instead.
// ruleKind "Gh" runs the tool's GitHub Advanced Security ingestion rules
// (GH1xxx/GH2xxx: what code scanning requires of an upload) instead of the
// SARIF rules and schema.
func sarifValidator(t *testing.T, file, ruleKind string) []validatorResult {
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
	args := append(bin[1:], "validate")
	if ruleKind != "" {
		// A list option: it would take the file name as a further kind
		// if nothing else followed it.
		args = append(args, "--rule-kind", ruleKind)
	}
	cmd := exec.Command(bin[0], append(args, "-o", out, file)...)
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
	Message struct {
		Text      string
		ID        string
		Arguments []string
	}
}

func (r validatorResult) String() string {
	return r.RuleID + " " + r.Message.Text + r.Message.ID + " " + strings.Join(r.Message.Arguments, " ")
}

func haveTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// TestSARIFValidates checks the audit's SARIF with Microsoft's validator:
// the schema and SARIF rules, then its GitHub Advanced Security rules
// (code scanning's upload requirements): no error from either. Copies
// with a required property removed must produce an error in each, which
// shows that the validator really read the file (it reports nothing at
// all for some malformed input).
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
	// A live report: observations of processes have no line and must be
	// placed (at the global section) like absences.
	tg, err := Load([]string{"testdata/golden/representative.cfg"}, ProductHAProxy, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg.Now = fixedNow
	tg.Live = &LiveFacts{Product: ProductHAProxy, How: "--pid 1", ProcProblem: "PID 1 is /sbin/init, not a haproxy process"}
	var lb bytes.Buffer
	if err := WriteSARIF(&lb, Run(tg, Selection{}), SARIFOptions{SrcRoot: wd, ToolVersion: "0.0.0-test"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(lb.Bytes(), []byte("not a haproxy process")) {
		t.Fatal("live SARIF lacks the live observation")
	}
	live := filepath.Join(dir, "live.sarif")
	os.WriteFile(live, lb.Bytes(), 0o644)

	var doc map[string]any
	json.Unmarshal(b.Bytes(), &doc)
	res := doc["runs"].([]any)[0].(map[string]any)["results"].([]any)[0].(map[string]any)
	delete(res, "message")
	broken, _ := json.Marshal(doc)
	bad := filepath.Join(dir, "broken.sarif")
	os.WriteFile(bad, broken, 0o644)
	// Code scanning cannot place a result without a location; the SARIF
	// schema allows it, the GitHub rules must not.
	json.Unmarshal(b.Bytes(), &doc)
	res = doc["runs"].([]any)[0].(map[string]any)["results"].([]any)[0].(map[string]any)
	delete(res, "locations")
	broken, _ = json.Marshal(doc)
	noLoc := filepath.Join(dir, "nolocation.sarif")
	os.WriteFile(noLoc, broken, 0o644)

	for _, kind := range []string{"", "Gh"} {
		for _, f := range []string{good, diff, live} {
			for _, r := range sarifValidator(t, f, kind) {
				if r.Level == "error" {
					t.Errorf("%s (rules %q): %s", filepath.Base(f), kind, r)
				} else {
					t.Logf("%s (rules %q): %s %s", filepath.Base(f), kind, r.Level, r)
				}
			}
		}
	}
	for _, c := range []struct{ file, kind, why string }{
		{bad, "", "a result without 'message'"},
		{noLoc, "Gh", "a result without 'locations' (GitHub rules)"},
	} {
		errs := 0
		for _, r := range sarifValidator(t, c.file, c.kind) {
			if r.Level == "error" {
				errs++
			}
		}
		if errs == 0 {
			t.Errorf("the validator found no error in %s: it did not validate", c.why)
		}
	}
}
