package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"bulwark/internal/plan"
)

func diffFixture(t testing.TB) *DiffReport {
	t.Helper()
	r := diffReports(t)
	return Diff(r[0], r[1])
}

func diffReports(t testing.TB) [2]*Report {
	t.Helper()
	sel := Selection{Skip: DiffSkipped}
	var reps [2]*Report
	for i, f := range []string{"testdata/diff/old.cfg", "testdata/diff/new.cfg"} {
		tg, err := Load([]string{f}, ProductHAProxy, plan.Options{})
		if err != nil {
			t.Fatal(err)
		}
		tg.Now = fixedNow
		reps[i] = Run(tg, sel)
	}
	return reps
}

// TestDiff: new.cfg lowers the global minimum to TLS 1.0 (HAP-4.1 PASS ->
// FAIL), adds 'timeout http-request' (HAP-3.1.1 FAIL -> PASS) and 'check'
// (HAP-8.1 FAIL -> WARN, the backend is HTTP without httpchk). Nothing
// else changes, whatever else either version gets wrong.
func TestDiff(t *testing.T) {
	d := diffFixture(t)
	got := map[string]string{}
	for _, c := range d.Changes {
		got[c.Control.ID] = string(c.Old.Verdict) + "->" + string(c.New.Verdict)
	}
	want := map[string]string{"HAP-4.1": "PASS->FAIL", "HAP-3.1.1": "FAIL->PASS", "HAP-8.1": "FAIL->WARN"}
	if len(got) != len(want) {
		t.Errorf("changes %v, want %v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	if !d.Failed(Critical) {
		t.Error("a new Critical FAIL must fail the diff")
	}
	// Backwards, HAP-4.1 goes FAIL -> PASS: no Critical newly fails, and
	// the FAIL that goes away must not count.
	if back := Diff(diffReports(t)[1], diffReports(t)[0]); back.Failed(Critical) {
		t.Error("reverting a Critical FAIL must not fail the diff")
	}
	var txt bytes.Buffer
	WriteDiffText(&txt, d, TextOptions{})
	for _, s := range []string{"PASS   -> FAIL    HAP-4.1", "testdata/diff/new.cfg:7  global ssl-default-bind-options allow TLSv1.0",
		"FAIL   -> PASS    HAP-3.1.1", "Summary: 1 worse, 2 better"} {
		if !strings.Contains(txt.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, txt.String())
		}
	}
	// The regression comes first.
	if strings.Index(txt.String(), "HAP-4.1") > strings.Index(txt.String(), "HAP-3.1.1") {
		t.Errorf("regressions must come first:\n%s", txt.String())
	}

	var sb bytes.Buffer
	if err := WriteDiffSARIF(&sb, d, SARIFOptions{SrcRoot: "/nonexistent"}); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(sb.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	errs := 0
	for _, r := range log.Runs[0].Results {
		if len(r.Locations) == 0 {
			t.Errorf("%s: no location", r.RuleID)
			continue
		}
		l := r.Locations[0].PhysicalLocation
		if r.Level == "error" {
			errs++
			if r.RuleID != "HAP-4.1" || !strings.HasSuffix(l.ArtifactLocation.URI, "testdata/diff/new.cfg") || l.Region.StartLine != 7 {
				t.Errorf("error result %s at %s:%d, want HAP-4.1 at new.cfg:7", r.RuleID, l.ArtifactLocation.URI, l.Region.StartLine)
			}
		}
	}
	if errs != 1 {
		t.Errorf("%d error results, want the one regression", errs)
	}
}

func TestDiffUnchanged(t *testing.T) {
	tg, err := Load([]string{"testdata/diff/old.cfg"}, ProductHAProxy, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg.Now = fixedNow
	r := Run(tg, Selection{Skip: DiffSkipped})
	d := Diff(r, r)
	if len(d.Changes) != 0 || d.Failed(Low) {
		t.Errorf("a configuration compared with itself changed: %+v", d.Changes)
	}
}
