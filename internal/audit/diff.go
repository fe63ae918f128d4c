package audit

import (
	"fmt"
	"io"
	"strings"

	"bulwark/internal/config"
)

// DiffSkipped are the controls a diff does not compare: their verdict
// depends on where the files lie (git state, backup archives next to
// them), not on the configuration text, so two checkouts of one
// repository would differ in them for no reason.
var DiffSkipped = []string{"HAP-9.2", "HAP-10.1"}

// Change is one control whose verdict differs between two versions of a
// configuration.
type Change struct {
	Control  *Control
	Old, New Finding
}

// Worse reports whether the change is a regression: the new verdict ranks
// above the old one (FAIL > WARN > MANUAL > PASS > SKIP).
func (c Change) Worse() bool { return c.New.Verdict.rank() > c.Old.Verdict.rank() }

// DiffReport is what "bulwark audit --diff OLD NEW" reports.
type DiffReport struct {
	Product  string
	OldFiles []string
	NewFiles []string
	Compared int
	Changes  []Change
}

// Diff compares two audits of the same selection, in catalogue order.
func Diff(old, new *Report) *DiffReport {
	d := &DiffReport{Product: new.Product, OldFiles: old.Files, NewFiles: new.Files}
	before := map[string]Finding{}
	for _, f := range old.Findings {
		before[f.Control.ID] = f
	}
	for _, f := range new.Findings {
		o, ok := before[f.Control.ID]
		if !ok {
			continue
		}
		d.Compared++
		if o.Verdict != f.Verdict {
			d.Changes = append(d.Changes, Change{Control: f.Control, Old: o, New: f})
		}
	}
	return d
}

// Failed reports whether a control of at least min severity newly FAILs,
// which is what makes "--diff" exit 1: a change that keeps an existing
// FAIL is not the change's fault.
func (d *DiffReport) Failed(min Severity) bool {
	for _, c := range d.Changes {
		if c.New.Verdict == Fail && c.Control.Severity >= min {
			return true
		}
	}
	return false
}

// WriteDiffText writes the changed controls, regressions first, each with
// the new evidence (for a regression) and the fix.
func WriteDiffText(w io.Writer, d *DiffReport, opt TextOptions) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Bulwark audit diff of %s configuration: %s -> %s\n", d.Product,
		strings.Join(d.OldFiles, ", "), strings.Join(d.NewFiles, ", "))
	worse, better := 0, 0
	for _, pass := range []bool{true, false} {
		for _, c := range d.Changes {
			if c.Worse() != pass {
				continue
			}
			if pass {
				worse++
			} else {
				better++
			}
			fmt.Fprintf(&b, "\n  %s -> %s  %-10s %-8s  %s\n", paint(opt.Color, c.Old.Verdict, fmt.Sprintf("%-6s", c.Old.Verdict)),
				paint(opt.Color, c.New.Verdict, fmt.Sprintf("%-6s", c.New.Verdict)), c.Control.ID, c.Control.Severity, c.Control.Title)
			indent := strings.Repeat(" ", 20)
			fmt.Fprintf(&b, "%swas: %s\n%snow: %s\n", indent, c.Old.Summary, indent, c.New.Summary)
			if !pass {
				continue
			}
			for _, e := range c.New.Evidence {
				if e.Verdict == Pass || e.Verdict == Skip {
					continue
				}
				loc := ""
				if e.Pos.File != "" {
					loc = fmt.Sprintf("%s:%d  ", e.Pos.File, e.Pos.Line)
				}
				fmt.Fprintf(&b, "%s- %s%s\n", indent, loc, e.Text)
			}
			if c.New.Verdict == Fail || c.New.Verdict == Warn {
				fmt.Fprintf(&b, "%sfix: %s\n", indent, c.New.Remediation())
			}
		}
	}
	if len(d.Changes) == 0 {
		fmt.Fprintf(&b, "\nNo control changes its verdict (%d controls compared).\n", d.Compared)
	} else {
		fmt.Fprintf(&b, "\nSummary: %d worse, %d better (%d controls compared; %s not compared)\n",
			worse, better, d.Compared, strings.Join(DiffSkipped, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteDiffSARIF writes the regressions as SARIF results located in the new
// files, so that code review shows them on the lines of the change.
// Improvements are recorded as "pass" results (level none) so that a
// viewer can list what the change fixed.
func WriteDiffSARIF(out io.Writer, d *DiffReport, opt SARIFOptions) error {
	w := newSARIF(opt)
	for _, c := range d.Changes {
		props := map[string]any{"oldVerdict": string(c.Old.Verdict), "newVerdict": string(c.New.Verdict)}
		change := fmt.Sprintf("%s -> %s: ", c.Old.Verdict, c.New.Verdict)
		if !c.Worse() {
			w.add(c.Control, Pass, change+c.New.Summary, config.Pos{}, c.New.Anchor, props)
			continue
		}
		fix := ""
		if c.New.Verdict == Fail || c.New.Verdict == Warn {
			fix = " — fix: " + c.New.Remediation()
		}
		emitted := false
		for _, e := range c.New.Evidence {
			if e.Verdict.rank() < Manual.rank() || (c.New.Verdict != Manual && e.Verdict == Manual) {
				continue
			}
			w.add(c.Control, e.Verdict, change+e.Text+fix, e.Pos, c.New.Anchor, props)
			emitted = true
		}
		if !emitted {
			w.add(c.Control, c.New.Verdict, change+c.New.Summary+fix, config.Pos{}, c.New.Anchor, props)
		}
	}
	return w.write(out)
}
