package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// TextOptions tune the text report.
type TextOptions struct {
	Color   bool
	Verbose bool // show PASS evidence too
	// MaxEvidence bounds the lines shown per control (0 = 20); the JSON
	// report always has everything.
	MaxEvidence int
}

// IsTerminal reports whether f is a character device, the test for
// colouring output without a terminal library.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

var verdictColor = map[Verdict]string{Pass: "32", Fail: "1;31", Warn: "33", Manual: "36", Skip: "2"}

func paint(on bool, v Verdict, s string) string {
	if !on {
		return s
	}
	return "\x1b[" + verdictColor[v] + "m" + s + "\x1b[0m"
}

// WriteText writes the report grouped by guide section, with a summary line.
func WriteText(w io.Writer, r *Report, opt TextOptions) error {
	max := opt.MaxEvidence
	if max <= 0 {
		max = 20
	}
	var b strings.Builder
	mode := "static"
	if r.Live {
		mode = "static + live"
	}
	fmt.Fprintf(&b, "Bulwark audit (%s) of %s configuration: %s\n", mode, r.Product, strings.Join(r.Files, ", "))
	cur := 0
	for _, f := range r.Findings {
		c := f.Control
		if c.Section != cur {
			cur = c.Section
			fmt.Fprintf(&b, "\n%d. %s\n", cur, SectionByNumber(cur).Name)
		}
		fmt.Fprintf(&b, "  %s  %-10s %-8s  %s\n", paint(opt.Color, f.Verdict, fmt.Sprintf("%-6s", f.Verdict)), c.ID, c.Severity, c.Title)
		indent := strings.Repeat(" ", 10)
		if f.Summary != "" {
			fmt.Fprintf(&b, "%s%s\n", indent, f.Summary)
		}
		shown, hidden := 0, 0
		for _, e := range f.Evidence {
			if (e.Verdict == Pass || e.Verdict == Skip) && !opt.Verbose {
				continue
			}
			if shown >= max {
				hidden++
				continue
			}
			shown++
			loc := ""
			if e.Pos.File != "" {
				loc = e.Pos.File
				if e.Pos.Line > 0 {
					loc = fmt.Sprintf("%s:%d", e.Pos.File, e.Pos.Line)
				}
				loc += "  "
			}
			fmt.Fprintf(&b, "%s- %s%s\n", indent, loc, e.Text)
		}
		if hidden > 0 {
			fmt.Fprintf(&b, "%s- ... %d more (see --format json)\n", indent, hidden)
		}
		if f.Verdict == Fail || f.Verdict == Warn {
			fmt.Fprintf(&b, "%sfix: %s\n", indent, f.Remediation())
		}
	}
	fmt.Fprintf(&b, "\n%s\n", summaryLine(r, opt.Color))
	_, err := io.WriteString(w, b.String())
	return err
}

func summaryLine(r *Report, color bool) string {
	counts := r.Counts()
	parts := make([]string, 0, len(Verdicts))
	for _, v := range Verdicts {
		parts = append(parts, paint(color && counts[v] > 0, v, fmt.Sprintf("%d %s", counts[v], v)))
	}
	return fmt.Sprintf("Summary: %s (%d controls)", strings.Join(parts, ", "), len(r.Findings))
}

// SchemaVersion names the JSON report format; it changes only on an
// incompatible change.
const SchemaVersion = "bulwark-audit/v1"

type jsonReport struct {
	Schema   string        `json:"schema"`
	Target   string        `json:"target"`
	Live     bool          `json:"live"`
	Files    []string      `json:"files"`
	Summary  jsonSummary   `json:"summary"`
	Findings []jsonFinding `json:"findings"`
}

type jsonSummary struct {
	Total  int `json:"total"`
	Pass   int `json:"PASS"`
	Fail   int `json:"FAIL"`
	Warn   int `json:"WARN"`
	Manual int `json:"MANUAL"`
	Skip   int `json:"SKIP"`
}

type jsonSection struct {
	Number int    `json:"number"`
	Name   string `json:"name"`
}

type jsonFinding struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Section     jsonSection    `json:"section"`
	Severity    string         `json:"severity"`
	Automatable string         `json:"automatable"`
	Extra       bool           `json:"extra"`
	Verdict     Verdict        `json:"verdict"`
	Summary     string         `json:"summary"`
	Remediation string         `json:"remediation"`
	Evidence    []jsonEvidence `json:"evidence"`
}

type jsonEvidence struct {
	File    string  `json:"file,omitempty"`
	Line    int     `json:"line,omitempty"`
	Column  int     `json:"column,omitempty"`
	Verdict Verdict `json:"verdict"`
	Text    string  `json:"text"`
}

// WriteJSON writes the report in the bulwark-audit/v1 schema (docs/audit.md).
func WriteJSON(w io.Writer, r *Report) error {
	c := r.Counts()
	out := jsonReport{Schema: SchemaVersion, Target: r.Product, Live: r.Live, Files: r.Files,
		Summary: jsonSummary{Total: len(r.Findings), Pass: c[Pass], Fail: c[Fail], Warn: c[Warn],
			Manual: c[Manual], Skip: c[Skip]},
		Findings: []jsonFinding{}}
	if out.Files == nil {
		out.Files = []string{}
	}
	for _, f := range r.Findings {
		ctl := f.Control
		s := SectionByNumber(ctl.Section)
		jf := jsonFinding{ID: ctl.ID, Title: ctl.Title, Section: jsonSection(s),
			Severity: ctl.Severity.String(), Automatable: string(ctl.Automatable), Extra: ctl.Extra,
			Verdict: f.Verdict, Summary: f.Summary, Remediation: f.Remediation(), Evidence: []jsonEvidence{}}
		for _, e := range f.Evidence {
			jf.Evidence = append(jf.Evidence, jsonEvidence{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Col,
				Verdict: e.Verdict, Text: e.Text})
		}
		out.Findings = append(out.Findings, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
