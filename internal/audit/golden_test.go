package audit

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark/internal/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func goldenReport(t testing.TB) *Report {
	t.Helper()
	tg, err := Load([]string{"testdata/golden/representative.cfg"}, ProductHAProxy, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg.Now = fixedNow
	return Run(tg, Selection{})
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./internal/audit -update and review the diff)\ngot:\n%s", name, got)
	}
}

func TestGoldenReports(t *testing.T) {
	rep := goldenReport(t)
	writers := []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"representative.txt", func(b *bytes.Buffer) error { return WriteText(b, rep, TextOptions{}) }},
		{"representative.json", func(b *bytes.Buffer) error { return WriteJSON(b, rep) }},
		{"representative.sarif", func(b *bytes.Buffer) error { return writeTestSARIF(t, b, rep) }},
		{"representative.junit.xml", func(b *bytes.Buffer) error { return WriteJUnit(b, rep) }},
	}
	for _, w := range writers {
		t.Run(w.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := w.write(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, w.file, b.Bytes())
		})
	}
}

// sarifRoot stands for the package directory in the golden SARIF file, so
// that the file does not depend on where the tree is checked out.
const sarifRoot = "file:///SRCROOT/"

// writeTestSARIF writes the golden report's SARIF with a fixed run: the
// package directory as %SRCROOT%, exit code 1 (the report has High
// FAILs), fixed times.
func writeTestSARIF(t testing.TB, b *bytes.Buffer, rep *Report) error {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	var raw bytes.Buffer
	opt := SARIFOptions{ToolVersion: "0.0.0-test", SrcRoot: wd, Start: fixedNow, End: fixedNow.Add(time.Second), ExitCode: 1}
	if err := WriteSARIF(&raw, rep, opt); err != nil {
		return err
	}
	b.WriteString(strings.ReplaceAll(raw.String(), dirURI(wd), sarifRoot))
	return nil
}

func TestReportsAreWellFormed(t *testing.T) {
	rep := goldenReport(t)
	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema   string
		Findings []struct {
			ID       string
			Verdict  string
			Evidence []struct{ File string }
		}
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || doc.Schema != SchemaVersion {
		t.Fatalf("json: %v, schema %q", err, doc.Schema)
	}
	if len(doc.Findings) != len(Controls()) {
		t.Errorf("json has %d findings, want %d", len(doc.Findings), len(Controls()))
	}

	var sb bytes.Buffer
	if err := writeTestSARIF(t, &sb, rep); err != nil {
		t.Fatal(err)
	}
	var sarifDoc struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Results []struct {
				RuleID    string
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI, URIBaseID string }
						Region           struct{ StartLine, StartColumn int }
					}
				}
				PartialFingerprints map[string]string
				Message             struct{ Text string }
			}
			OriginalURIBaseIDs map[string]struct{ URI string } `json:"originalUriBaseIds"`
			Invocations        []struct {
				ExitCode            *int
				ExecutionSuccessful bool
				StartTimeUTC        string `json:"startTimeUtc"`
				EndTimeUTC          string `json:"endTimeUtc"`
			}
		}
	}
	if err := json.Unmarshal(sb.Bytes(), &sarifDoc); err != nil || sarifDoc.Version != "2.1.0" {
		t.Fatalf("sarif: %v, version %q", err, sarifDoc.Version)
	}
	run := sarifDoc.Runs[0]
	if len(run.Tool.Driver.Rules) != len(Controls()) {
		t.Errorf("sarif has %d rules, want one per control (%d)", len(run.Tool.Driver.Rules), len(Controls()))
	}
	if len(run.Invocations) != 1 || run.Invocations[0].ExitCode == nil || *run.Invocations[0].ExitCode != 1 ||
		run.Invocations[0].StartTimeUTC == "" || run.Invocations[0].EndTimeUTC == "" {
		t.Errorf("sarif: invocations %+v, want one with exit code 1 and times", run.Invocations)
	}
	if !strings.HasPrefix(run.OriginalURIBaseIDs["%SRCROOT%"].URI, "file:///") {
		t.Errorf("sarif: originalUriBaseIds %+v lacks %%SRCROOT%%", run.OriginalURIBaseIDs)
	}
	wildcard := false
	fps := map[string]bool{}
	for i, r := range run.Results {
		// Code scanning rejects results without a location.
		if len(r.Locations) == 0 || r.Locations[0].PhysicalLocation.Region.StartLine < 1 {
			t.Errorf("sarif: result %d (%s) has no physical location", i, r.RuleID)
		}
		// GitHub rejects a result without message text (the schema
		// validator accepts an empty one).
		if r.Message.Text == "" {
			t.Errorf("sarif: result %d (%s) has no message text", i, r.RuleID)
		}
		fp := r.PartialFingerprints["bulwarkFinding/v1"]
		if fp == "" || fps[fp] {
			t.Errorf("sarif: result %d (%s) has a missing or duplicate fingerprint %q", i, r.RuleID, fp)
		}
		fps[fp] = true
		for _, l := range r.Locations {
			pl := l.PhysicalLocation
			if pl.ArtifactLocation.URIBaseID != "%SRCROOT%" || strings.HasPrefix(pl.ArtifactLocation.URI, "/") {
				t.Errorf("sarif: result %d URI %q is not relative to %%SRCROOT%%", i, pl.ArtifactLocation.URI)
			}
			if r.RuleID == "HAP-3.1" && pl.ArtifactLocation.URI == "testdata/golden/representative.cfg" &&
				pl.Region.StartLine == 39 && pl.Region.StartColumn == 10 {
				wildcard = true
			}
		}
	}
	if !wildcard {
		t.Error("sarif: no HAP-3.1 result at representative.cfg:39:10 (bind *:8080)")
	}

	var jb bytes.Buffer
	if err := WriteJUnit(&jb, rep); err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(jb.Bytes(), &suites); err != nil {
		t.Fatal(err)
	}
	if len(suites.Suites) != len(Sections) {
		t.Errorf("junit: %d suites, want one per section", len(suites.Suites))
	}
	failures := 0
	for _, s := range suites.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil {
				failures++
			}
		}
	}
	if failures != rep.Counts()[Fail] {
		t.Errorf("junit: %d failures, report has %d FAIL", failures, rep.Counts()[Fail])
	}

	var hb bytes.Buffer
	if err := WriteHTML(&hb, rep); err != nil {
		t.Fatal(err)
	}
	page := hb.String()
	for _, bad := range []string{"<script", "<link", "src=\"http", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("html is not self-contained: contains %q", bad)
		}
	}
	for _, want := range []string{"HAP-6.1", "well-known default", "<b>Fix:</b>", "class=\"score"} {
		if !strings.Contains(page, want) {
			t.Errorf("html lacks %q", want)
		}
	}
}

func TestTextColorOnlyWhenAsked(t *testing.T) {
	rep := goldenReport(t)
	var plain, color bytes.Buffer
	WriteText(&plain, rep, TextOptions{})
	WriteText(&color, rep, TextOptions{Color: true})
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("plain text has escape sequences")
	}
	if !strings.Contains(color.String(), "\x1b[1;31mFAIL") {
		t.Error("coloured text has no red FAIL")
	}
}
