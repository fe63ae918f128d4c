// Package audit checks a configuration (and, with live facts, a running
// deployment) against the hardening guide's controls. The catalogue is one
// registry of typed Go checks over the parsed AST and compiled Model, with
// several reporters over one result model.
package audit

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

// Severity is the guide's severity of a control.
type Severity int

const (
	Low Severity = iota + 1
	Medium
	High
	Critical
)

func (s Severity) String() string {
	switch s {
	case Low:
		return "Low"
	case Medium:
		return "Medium"
	case High:
		return "High"
	case Critical:
		return "Critical"
	}
	return "Unknown"
}

// ParseSeverity reads a --fail-on value (case-insensitive).
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "low":
		return Low, nil
	case "medium", "med":
		return Medium, nil
	case "high":
		return High, nil
	case "critical", "crit":
		return Critical, nil
	}
	return 0, fmt.Errorf("unknown severity %q (expects critical, high, medium or low)", s)
}

// Automatable is the guide's judgement of how far a control can be checked
// by a program.
type Automatable string

const (
	AutoYes     Automatable = "Yes"
	AutoPartial Automatable = "Partial"
	AutoNo      Automatable = "No"
)

// Verdict is the outcome of one control.
type Verdict string

const (
	Pass   Verdict = "PASS"
	Fail   Verdict = "FAIL"
	Warn   Verdict = "WARN"
	Manual Verdict = "MANUAL"
	Skip   Verdict = "SKIP"
)

// Verdicts lists every verdict in report order.
var Verdicts = []Verdict{Pass, Fail, Warn, Manual, Skip}

// rank orders verdicts so that a control's verdict is its worst item's.
func (v Verdict) rank() int {
	switch v {
	case Fail:
		return 4
	case Warn:
		return 3
	case Manual:
		return 2
	case Pass:
		return 1
	}
	return 0
}

// Section is a numbered section of the guide.
type Section struct {
	Number int
	Name   string
}

// Sections are the guide's ten sections, in order.
var Sections = []Section{
	{1, "Installation & Supply Chain Security"},
	{2, "Process & Privilege Hardening"},
	{3, "Network Exposure & Listener Security"},
	{4, "TLS & Cryptographic Hardening"},
	{5, "HTTP Security Controls"},
	{6, "Authentication & Administrative Access"},
	{7, "Logging, Monitoring & Detection"},
	{8, "Availability & Resilience"},
	{9, "Configuration Management & Change Control"},
	{10, "Backup, Recovery & Incident Readiness"},
}

// SectionByNumber returns the guide section n.
func SectionByNumber(n int) Section {
	for _, s := range Sections {
		if s.Number == n {
			return s
		}
	}
	return Section{Number: n, Name: "Other"}
}

// Control is one entry of the catalogue.
type Control struct {
	ID          string
	Title       string
	Section     int
	Intent      string
	Rationale   string
	Severity    Severity
	Automatable Automatable
	Remediation string
	// GuideAudit is the audit method the guide gives, verbatim where it
	// gives one.
	GuideAudit string
	// Extra marks controls Bulwark adds under a guide section; Parent
	// names the guide control they refine.
	Extra  bool
	Parent string
	// Static checks the configuration; Live checks the running
	// deployment and is nil where the catalogue has no live half.
	Static func(t *Target) Result
	Live   func(t *Target, lf *LiveFacts) Result
}

// Evidence is one observation behind a verdict.
type Evidence struct {
	Pos     config.Pos // zero when the observation is not about a line
	Verdict Verdict
	Text    string
}

// Result is what a check returns: a verdict, a one-line summary and the
// observations behind it.
type Result struct {
	Verdict  Verdict
	Summary  string
	Evidence []Evidence
	// Fix replaces the control's remediation when this result calls for
	// a different one (e.g. a feature built into the binary, where
	// "remove lua-load" would be wrong advice); empty keeps the
	// catalogue's.
	Fix string
}

// Finding is a control's result together with its metadata.
type Finding struct {
	Control  *Control
	Verdict  Verdict
	Summary  string
	Evidence []Evidence
	// Fix is the remediation that fits this finding (see Result.Fix).
	Fix string
	// Anchor is where a finding without a located observation belongs:
	// the global section (or the first file's first line when there is
	// none), where the missing directives would go. SARIF needs a
	// location for every result.
	Anchor config.Pos
}

// Remediation is the fix to show for the finding.
func (f Finding) Remediation() string {
	if f.Fix != "" {
		return f.Fix
	}
	return f.Control.Remediation
}

// Target is everything the checks may look at.
type Target struct {
	Files  []string
	Config *config.Config
	Model  *model.Model
	// Diags are the parse and compile diagnostics that count for the
	// target product (for HAProxy, "unsupported by Bulwark" is dropped).
	Diags config.Diagnostics
	// Product is "bulwark" or "haproxy": defaults differ between them.
	Product string
	// Now is the reference time for certificate expiry and backup age.
	Now time.Time
	// Git reports whether file is tracked by git and clean; nil means
	// git is not available (HAP-9.2 is then MANUAL).
	Git func(file string) (tracked, clean bool, err error)
	// HAProxyCheck runs "haproxy -c" on the files of an HAProxy target
	// (HAP-9.1 reports its verdict beside Bulwark's); nil when there is no
	// haproxy binary or the target is Bulwark.
	HAProxyCheck func(files []string) HAProxyVerdict
	// BackupDirs are searched for bulwark-backup-*.tar.gz in addition to
	// each configuration file's directory.
	BackupDirs []string
	// Live holds facts about the running deployment, nil for a static
	// audit.
	Live *LiveFacts

	beIdx  map[string]*model.Proxy
	secIdx map[*config.Directive]*config.Section
}

// Report is the outcome of a whole audit.
type Report struct {
	Product  string
	Files    []string
	Live     bool
	Findings []Finding
}

// Counts returns the number of findings per verdict.
func (r *Report) Counts() map[Verdict]int {
	c := map[Verdict]int{}
	for _, f := range r.Findings {
		c[f.Verdict]++
	}
	return c
}

// Failed reports whether a finding at or above min severity failed.
func (r *Report) Failed(min Severity) bool {
	for _, f := range r.Findings {
		if f.Verdict == Fail && f.Control.Severity >= min {
			return true
		}
	}
	return false
}

// Selection narrows which controls run.
type Selection struct {
	Only []string // IDs or ID prefixes ("HAP-4" selects HAP-4.x); empty = all
	Skip []string
}

func matchID(id string, pats []string) bool {
	for _, p := range pats {
		if id == p || strings.HasPrefix(id, p+".") {
			return true
		}
	}
	return false
}

// Selected reports whether the control c is selected.
func (s Selection) Selected(c *Control) bool {
	if len(s.Only) > 0 && !matchID(c.ID, s.Only) {
		return false
	}
	return !matchID(c.ID, s.Skip)
}

// Unknown returns the patterns that select no control, for a usage error.
func (s Selection) Unknown() []string {
	var out []string
	for _, p := range append(append([]string(nil), s.Only...), s.Skip...) {
		found := false
		for _, c := range Controls() {
			if matchID(c.ID, []string{p}) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, p)
		}
	}
	return out
}

// Run checks t against every selected control, in catalogue order. A check
// that panics is reported as a FAIL of that control rather than aborting
// the audit, so one unexpected construct never hides every other finding.
func Run(t *Target, sel Selection) *Report {
	r := &Report{Product: t.Product, Files: t.Files, Live: t.Live != nil}
	for _, c := range Controls() {
		if !sel.Selected(c) {
			continue
		}
		r.Findings = append(r.Findings, runOne(c, t))
	}
	return r
}

func runOne(c *Control, t *Target) (f Finding) {
	f.Control = c
	defer func() {
		if p := recover(); p != nil {
			f.Verdict, f.Summary = Fail, fmt.Sprintf("internal error in check: %v", p)
			f.Evidence = nil
		}
	}()
	res := Result{Verdict: Skip, Summary: "no static check"}
	if c.Static != nil {
		res = c.Static(t)
	}
	if t.Live != nil && c.Live != nil {
		lr := c.Live(t, t.Live)
		res = merge(res, lr)
	}
	res = finish(res)
	f.Verdict, f.Summary, f.Evidence, f.Fix = res.Verdict, res.Summary, res.Evidence, res.Fix
	if t.Model != nil {
		f.Anchor = t.globalPos()
	}
	return f
}

// merge combines the static and live results of a control: live evidence is
// appended and the worse verdict wins, except that a live PASS settles a
// static MANUAL or SKIP.
func merge(st, lv Result) Result {
	out := Result{Summary: st.Summary, Fix: st.Fix, Evidence: append(append([]Evidence(nil), st.Evidence...), lv.Evidence...)}
	switch {
	case lv.Verdict == Skip:
		out.Verdict = st.Verdict
	case st.Verdict == Skip || st.Verdict == Manual:
		out.Verdict, out.Summary, out.Fix = lv.Verdict, lv.Summary, lv.Fix
	case lv.Verdict.rank() > st.Verdict.rank():
		out.Verdict, out.Summary, out.Fix = lv.Verdict, lv.Summary, lv.Fix
	default:
		out.Verdict = st.Verdict
	}
	return out
}

// finish derives an unset verdict from the evidence and orders evidence by
// position so that reports are stable.
func finish(r Result) Result {
	if r.Verdict == "" {
		r.Verdict = Pass
		for _, e := range r.Evidence {
			if e.Verdict.rank() > r.Verdict.rank() {
				r.Verdict = e.Verdict
			}
		}
	}
	sort.SliceStable(r.Evidence, func(i, j int) bool {
		a, b := r.Evidence[i].Pos, r.Evidence[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return r
}

// summarize builds a Result from evidence: the worst item's verdict, and a
// summary chosen by that verdict.
func summarize(ev []Evidence, pass, fail string) Result {
	r := finish(Result{Evidence: ev})
	if r.Verdict == Pass {
		r.Summary = pass
	} else {
		r.Summary = fail
	}
	return r
}

func ev(pos config.Pos, v Verdict, format string, args ...any) Evidence {
	return Evidence{Pos: pos, Verdict: v, Text: fmt.Sprintf(format, args...)}
}

// globalPos is where a directive of the global section that is missing
// belongs: the global section's header, or line 1 of the first file when
// the configuration has no global section.
func (t *Target) globalPos() config.Pos {
	if t.Model.Global.Pos.File != "" {
		return t.Model.Global.Pos
	}
	if len(t.Files) > 0 {
		return config.Pos{File: t.Files[0], Line: 1}
	}
	return config.Pos{}
}

// inGlobal names the global section in absence evidence, so that a
// configuration without one is not told about a section it lacks.
func (t *Target) inGlobal() string {
	if t.Model.Global.Pos.File != "" {
		return "in global"
	}
	return "(the configuration has no global section)"
}

func skip(format string, args ...any) Result {
	return Result{Verdict: Skip, Summary: fmt.Sprintf(format, args...)}
}

func manual(format string, args ...any) Result {
	return Result{Verdict: Manual, Summary: fmt.Sprintf(format, args...)}
}
