package audit

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"
)

// sarifLevel maps verdicts to SARIF result levels; PASS and SKIP produce no
// result.
func sarifResult(v Verdict) (kind, level string, ok bool) {
	switch v {
	case Fail:
		return "fail", "error", true
	case Warn:
		return "fail", "warning", true
	case Manual:
		return "review", "note", true
	}
	return "", "", false
}

// securitySeverity is the numeric scale code-scanning UIs sort by.
func securitySeverity(s Severity) string {
	switch s {
	case Critical:
		return "9.5"
	case High:
		return "8.0"
	case Medium:
		return "5.0"
	}
	return "2.0"
}

// WriteSARIF writes a SARIF 2.1.0 log with a rule for every control in the
// catalogue and a result, with file/line/column, for every FAIL or WARN
// observation (MANUAL controls become "review" notes).
func WriteSARIF(w io.Writer, r *Report, toolVersion string) error {
	rep, err := sarif.New(sarif.Version210)
	if err != nil {
		return err
	}
	driver := sarif.NewDriver("bulwark-audit")
	if toolVersion != "" {
		driver.WithVersion(toolVersion)
	}
	run := sarif.NewRun(*sarif.NewTool(driver))
	for _, c := range Controls() {
		pb := sarif.NewPropertyBag()
		pb.Add("security-severity", securitySeverity(c.Severity))
		pb.Add("severity", c.Severity.String())
		pb.Add("automatable", string(c.Automatable))
		pb.Add("section", fmt.Sprintf("%d. %s", c.Section, SectionByNumber(c.Section).Name))
		pb.Add("tags", []string{"security", "hardening"})
		desc := c.Intent
		if c.Rationale != "" {
			desc += " " + c.Rationale
		}
		run.AddRule(c.ID).WithName(ruleName(c.Title)).WithDescription(c.Title).
			WithFullDescription(sarif.NewMultiformatMessageString(desc)).
			WithHelp(sarif.NewMultiformatMessageString(c.Remediation)).
			WithProperties(pb.Properties)
	}
	index := map[string]int{}
	for i, c := range Controls() {
		index[c.ID] = i
	}
	for _, f := range r.Findings {
		kind, level, ok := sarifResult(f.Verdict)
		if !ok {
			continue
		}
		emitted := false
		for _, e := range f.Evidence {
			if e.Verdict.rank() < Manual.rank() || (f.Verdict != Manual && e.Verdict == Manual) {
				continue
			}
			k, l, _ := sarifResult(e.Verdict)
			res := newSarifResult(f, index[f.Control.ID], k, l, e.Text)
			if e.Pos.File != "" {
				res.AddLocation(sarifLocation(e))
			}
			run.AddResult(res)
			emitted = true
		}
		if !emitted {
			run.AddResult(newSarifResult(f, index[f.Control.ID], kind, level, f.Summary))
		}
	}
	rep.AddRun(run)
	if err := rep.PrettyWrite(w); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

func newSarifResult(f Finding, idx int, kind, level, text string) *sarif.Result {
	msg := text
	if f.Verdict != Manual {
		msg += " — fix: " + f.Control.Remediation
	}
	return sarif.NewRuleResult(f.Control.ID).WithRuleIndex(idx).WithKind(kind).WithLevel(level).
		WithMessage(sarif.NewTextMessage(msg))
}

func sarifLocation(e Evidence) *sarif.Location {
	reg := sarif.NewRegion()
	if e.Pos.Line > 0 {
		reg.WithStartLine(e.Pos.Line)
		if e.Pos.Col > 0 {
			reg.WithStartColumn(e.Pos.Col)
		}
	} else {
		reg.WithStartLine(1)
	}
	art := sarif.NewSimpleArtifactLocation(filepath.ToSlash(e.Pos.File))
	return sarif.NewLocationWithPhysicalLocation(sarif.NewPhysicalLocation().WithArtifactLocation(art).WithRegion(reg))
}

// ruleName turns a title into the PascalCase identifier SARIF viewers show.
func ruleName(title string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(title, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
