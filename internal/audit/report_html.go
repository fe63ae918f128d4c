package audit

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
)

// Score is a weighted share of decided controls that pass: PASS counts 1,
// WARN one half, FAIL 0, each weighted by severity (Critical 4, High 3,
// Medium 2, Low 1). MANUAL and SKIP are not decided by the audit and do
// not count. Percent is -1 when nothing was decided.
type Score struct {
	Percent int
	Grade   string
	Decided int
}

func severityWeight(s Severity) float64 { return float64(s) }

// ScoreOf scores a set of findings. The grade follows the percentage (A
// from 90, B from 80, C from 70, D from 60, else F), except that a failed
// Critical control caps it at D: one open Critical is never a good grade.
func ScoreOf(fs []Finding) Score {
	num, den := 0.0, 0.0
	critFail, decided := false, 0
	for _, f := range fs {
		w := severityWeight(f.Control.Severity)
		switch f.Verdict {
		case Pass:
			num, den = num+w, den+w
		case Warn:
			num, den = num+w/2, den+w
		case Fail:
			den += w
			critFail = critFail || f.Control.Severity == Critical
		default:
			continue
		}
		decided++
	}
	if den == 0 {
		return Score{Percent: -1, Grade: "n/a"}
	}
	pct := int(100*num/den + 0.5)
	grade := "F"
	switch {
	case pct >= 90:
		grade = "A"
	case pct >= 80:
		grade = "B"
	case pct >= 70:
		grade = "C"
	case pct >= 60:
		grade = "D"
	}
	if critFail && grade < "D" {
		grade = "D"
	}
	return Score{Percent: pct, Grade: grade, Decided: decided}
}

func (s Score) label() string {
	if s.Percent < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d%%", s.Percent)
}

func (s Score) class() string {
	switch {
	case s.Percent < 0:
		return "na"
	case s.Percent < 50:
		return "bad"
	case s.Percent < 90:
		return "meh"
	}
	return "good"
}

type htmlSection struct {
	Number   int
	Name     string
	Score    string
	Class    string
	Counts   string
	Open     []htmlFinding // FAIL, WARN, MANUAL: shown
	Folded   []htmlFinding // PASS, SKIP: folded away
	FoldNote string
}

type htmlFinding struct {
	ID, Title, Severity, Verdict, Summary, Fix string
	Evidence                                   []htmlEvidence
}

type htmlEvidence struct{ Loc, Verdict, Text string }

var htmlTmpl = template.Must(template.New("audit").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bulwark audit — {{.Grade}} ({{.Score}})</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:72em;color:#1d1d1f;padding:0 1em}
h1{font-size:1.45em;margin:.2em 0}h2{font-size:1.15em;margin:1.8em 0 .4em;display:flex;justify-content:space-between;align-items:baseline;border-bottom:2px solid #ddd}
.files{color:#555;margin:.2em 0 1em}
.head{display:flex;gap:1.5em;align-items:center;border:1px solid #ddd;border-radius:8px;padding:1em 1.2em;margin:1em 0}
.grade{font-size:3.2em;font-weight:700;line-height:1;width:1.4em;height:1.4em;display:flex;align-items:center;justify-content:center;border-radius:10px}
.pct{font-size:1.6em;font-weight:600}.counts span{margin-right:1em;white-space:nowrap}
.score{font-weight:bold;padding:0 .5em;border-radius:4px;font-size:.9em}.good{background:#d4f4d4}.meh{background:#fbefc4}.bad{background:#f8d0d0}.na{background:#eee}
table{border-collapse:collapse;width:100%}td,th{padding:.35em .5em;vertical-align:top;border-bottom:1px solid #eee;text-align:left}
th{font-size:.85em;color:#555;font-weight:600}
.v{font-weight:bold;font-family:ui-monospace,monospace;white-space:nowrap}.PASS{color:#17702a}.FAIL{color:#b00020}.WARN{color:#8a5a00}.MANUAL{color:#0a5f8a}.SKIP{color:#777}
ul{margin:.3em 0;padding-left:1.2em}code{font-size:.92em;background:#f4f4f4;padding:0 .2em;border-radius:3px}
.fix{margin-top:.3em}.fix b{color:#333}
.first{border:2px solid #b00020;border-radius:8px;padding:.6em 1em;margin:1em 0}
.first h2{margin-top:.2em;border:0;color:#b00020}
.first li{margin:.5em 0}
.secs td.bar{width:40%}.bar div{height:.7em;border-radius:3px;background:#17702a}.bar span{display:block;background:#eee;border-radius:3px}
details{margin:.4em 0 0}summary{cursor:pointer;color:#555}
.sev-Critical{font-weight:700}
@media print{
 body{margin:0;max-width:none;font-size:11pt}
 .head,.first,tr,li{break-inside:avoid}
 h2{break-after:avoid}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 details>summary{list-style:none}
 a{color:inherit;text-decoration:none}
}
</style></head><body>
<h1>Bulwark audit of {{.Product}} configuration</h1>
<p class="files">Files: {{range $i, $f := .Files}}{{if $i}}, {{end}}<code>{{$f}}</code>{{end}}{{if .Live}} — static and live checks{{else}} — static checks{{end}}</p>
<div class="head"><div class="grade {{.Class}}">{{.Grade}}</div>
<div><div class="pct">Score {{.Score}}</div>
<div class="counts">{{range .Counts}}<span class="{{.V}}"><b>{{.N}}</b> {{.V}}</span>{{end}}</div>
<div class="files">Severity-weighted share of decided controls (PASS 1, WARN ½, FAIL 0); MANUAL and SKIP are not scored.{{if .CritCap}} A failed Critical control caps the grade at D.{{end}}</div></div></div>
{{if .First}}<div class="first"><h2>Fix first: {{len .First}} failed Critical and High control{{if gt (len .First) 1}}s{{end}}</h2><ol>
{{range .First}}<li><b class="sev-{{.Severity}}">{{.Severity}}</b> <b>{{.ID}}</b> {{.Title}} — {{.Summary}}
{{if .Evidence}}<ul>{{range .Evidence}}<li>{{if .Loc}}<code>{{.Loc}}</code> {{end}}{{.Text}}</li>{{end}}</ul>{{end}}
<div class="fix"><b>Fix:</b> {{.Fix}}</div></li>
{{end}}</ol></div>{{end}}
<h2><span>Scores by section</span></h2>
<table class="secs"><tr><th>Section</th><th>Score</th><th></th><th>Verdicts</th></tr>
{{range .Sections}}<tr><td>{{.Number}}. {{.Name}}</td><td><span class="score {{.Class}}">{{.Score}}</span></td><td class="bar"><span><div style="width:{{.Bar}}%"></div></span></td><td>{{.Counts}}</td></tr>
{{end}}</table>
{{range .Sections}}<h2><span>{{.Number}}. {{.Name}}</span><span class="score {{.Class}}">{{.Score}}</span></h2>
{{if .Open}}<table><tr><th>Verdict</th><th>Control</th><th>Severity</th><th>Findings</th></tr>
{{range .Open}}<tr><td class="v {{.Verdict}}">{{.Verdict}}</td><td><b>{{.ID}}</b><br>{{.Title}}</td><td class="sev-{{.Severity}}">{{.Severity}}</td>
<td>{{.Summary}}{{if .Evidence}}<ul>{{range .Evidence}}<li><span class="{{.Verdict}}">{{.Verdict}}</span> {{if .Loc}}<code>{{.Loc}}</code> {{end}}{{.Text}}</li>{{end}}</ul>{{end}}
{{if .Fix}}<div class="fix"><b>Fix:</b> {{.Fix}}</div>{{end}}</td></tr>
{{end}}</table>{{end}}
{{if .Folded}}<details><summary>{{.FoldNote}}</summary><table>
{{range .Folded}}<tr><td class="v {{.Verdict}}">{{.Verdict}}</td><td><b>{{.ID}}</b> {{.Title}}</td><td>{{.Summary}}{{if .Evidence}}<ul>{{range .Evidence}}<li>{{if .Loc}}<code>{{.Loc}}</code> {{end}}{{.Text}}</li>{{end}}</ul>{{end}}</td></tr>
{{end}}</table></details>{{end}}
{{end}}</body></html>
`))

type htmlSecRow struct {
	htmlSection
	Bar int
}

func htmlFindingOf(f Finding, only func(Evidence) bool) htmlFinding {
	hf := htmlFinding{ID: f.Control.ID, Title: f.Control.Title, Severity: f.Control.Severity.String(),
		Verdict: string(f.Verdict), Summary: f.Summary}
	if f.Verdict == Fail || f.Verdict == Warn {
		hf.Fix = f.Remediation()
	}
	for _, e := range f.Evidence {
		if only != nil && !only(e) {
			continue
		}
		loc := ""
		if e.Pos.File != "" {
			loc = strings.TrimSuffix(fmt.Sprintf("%s:%d", e.Pos.File, e.Pos.Line), ":0")
		}
		hf.Evidence = append(hf.Evidence, htmlEvidence{Loc: loc, Verdict: string(e.Verdict), Text: e.Text})
	}
	return hf
}

func verdictCounts(fs []Finding) string {
	c := map[Verdict]int{}
	for _, f := range fs {
		c[f.Verdict]++
	}
	var parts []string
	for _, v := range []Verdict{Fail, Warn, Manual, Pass, Skip} {
		if c[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[v], v))
		}
	}
	return strings.Join(parts, ", ")
}

// WriteHTML writes one self-contained page (inline CSS, no scripts or
// external assets) for a reader who is not going to read every line: a
// headline score and grade, the failed Critical and High controls first
// with their fix, a score per guide section, then each section with
// FAIL/WARN/MANUAL shown and PASS/SKIP folded.
func WriteHTML(w io.Writer, r *Report) error {
	total := ScoreOf(r.Findings)
	counts := r.Counts()
	type cnt struct {
		V Verdict
		N int
	}
	data := struct {
		Product, Score, Grade, Class string
		Files                        []string
		Live, CritCap                bool
		Counts                       []cnt
		First                        []htmlFinding
		Sections                     []htmlSecRow
	}{Product: r.Product, Files: r.Files, Live: r.Live, Score: total.label(), Grade: total.Grade, Class: total.class()}
	for _, v := range []Verdict{Fail, Warn, Manual, Pass, Skip} {
		data.Counts = append(data.Counts, cnt{v, counts[v]})
	}
	var first []Finding
	for _, f := range r.Findings {
		if f.Verdict == Fail && f.Control.Severity >= High {
			first = append(first, f)
		}
		if f.Verdict == Fail && f.Control.Severity == Critical && total.Percent >= 60 {
			data.CritCap = true
		}
	}
	sort.SliceStable(first, func(i, j int) bool { return first[i].Control.Severity > first[j].Control.Severity })
	for _, f := range first {
		data.First = append(data.First, htmlFindingOf(f, func(e Evidence) bool { return e.Verdict == Fail }))
	}
	bySec := map[int][]Finding{}
	for _, f := range r.Findings {
		bySec[f.Control.Section] = append(bySec[f.Control.Section], f)
	}
	for _, s := range Sections {
		fs := bySec[s.Number]
		if len(fs) == 0 {
			continue
		}
		sc := ScoreOf(fs)
		hs := htmlSection{Number: s.Number, Name: s.Name, Score: sc.label(), Class: sc.class(), Counts: verdictCounts(fs)}
		passed, skipped := 0, 0
		for _, f := range fs {
			switch f.Verdict {
			case Pass, Skip:
				if f.Verdict == Pass {
					passed++
				} else {
					skipped++
				}
				hs.Folded = append(hs.Folded, htmlFindingOf(f, func(e Evidence) bool { return e.Verdict == Pass }))
			default:
				hs.Open = append(hs.Open, htmlFindingOf(f, nil))
			}
		}
		var note []string
		if passed > 0 {
			note = append(note, fmt.Sprintf("%d passed", passed))
		}
		if skipped > 0 {
			note = append(note, fmt.Sprintf("%d not applicable (SKIP)", skipped))
		}
		hs.FoldNote = strings.Join(note, ", ")
		bar := sc.Percent
		if bar < 0 {
			bar = 0
		}
		data.Sections = append(data.Sections, htmlSecRow{hs, bar})
	}
	return htmlTmpl.Execute(w, data)
}
