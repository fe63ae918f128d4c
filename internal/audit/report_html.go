package audit

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

type htmlSection struct {
	Number   int
	Name     string
	Score    string
	Class    string
	Findings []htmlFinding
}

type htmlFinding struct {
	ID, Title, Severity, Verdict, Summary, Remediation string
	Class                                              string
	Evidence                                           []htmlEvidence
}

type htmlEvidence struct{ Loc, Verdict, Text string }

// sectionScore is the share of decided controls that pass: PASS counts 1,
// WARN one half, FAIL 0; MANUAL and SKIP are not decided by the audit.
func sectionScore(fs []Finding) (string, string) {
	num, den := 0.0, 0.0
	for _, f := range fs {
		switch f.Verdict {
		case Pass:
			num, den = num+1, den+1
		case Warn:
			num, den = num+0.5, den+1
		case Fail:
			den++
		}
	}
	if den == 0 {
		return "n/a", "na"
	}
	pct := int(100*num/den + 0.5)
	class := "good"
	switch {
	case pct < 50:
		class = "bad"
	case pct < 100:
		class = "meh"
	}
	return fmt.Sprintf("%d%%", pct), class
}

var htmlTmpl = template.Must(template.New("audit").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bulwark audit</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;display:flex;justify-content:space-between;border-bottom:2px solid #ddd}
.score{font-weight:bold;padding:0 .5em;border-radius:4px}.good{background:#d4f4d4}.meh{background:#fbefc4}.bad{background:#f8d0d0}.na{background:#eee}
table{border-collapse:collapse;width:100%}td,th{padding:.35em .5em;vertical-align:top;border-bottom:1px solid #eee;text-align:left}
.v{font-weight:bold;font-family:monospace;white-space:nowrap}.PASS{color:#17702a}.FAIL{color:#b00020}.WARN{color:#9a6700}.MANUAL{color:#0a5f8a}.SKIP{color:#777}
ul{margin:.3em 0;padding-left:1.2em}code{font-size:.95em}.fix{color:#444}.sum{margin:.5em 0 1.5em}
</style></head><body>
<h1>Bulwark audit of {{.Product}} configuration</h1>
<p>Files: {{range $i, $f := .Files}}{{if $i}}, {{end}}<code>{{$f}}</code>{{end}}{{if .Live}} — static and live checks{{end}}</p>
<p class="sum">{{.Summary}}</p>
{{range .Sections}}<h2><span>{{.Number}}. {{.Name}}</span><span class="score {{.Class}}">{{.Score}}</span></h2>
<table><tr><th>Verdict</th><th>Control</th><th>Severity</th><th>Findings</th></tr>
{{range .Findings}}<tr><td class="v {{.Verdict}}">{{.Verdict}}</td><td><b>{{.ID}}</b><br>{{.Title}}</td><td>{{.Severity}}</td>
<td>{{.Summary}}{{if .Evidence}}<ul>{{range .Evidence}}<li><span class="{{.Verdict}}">{{.Verdict}}</span> {{if .Loc}}<code>{{.Loc}}</code> {{end}}{{.Text}}</li>{{end}}</ul>{{end}}
<div class="fix"><b>Remediation:</b> {{.Remediation}}</div></td></tr>
{{end}}</table>
{{end}}</body></html>
`))

// WriteHTML writes one self-contained page: inline CSS, no scripts or
// external assets, a score per guide section and every finding.
func WriteHTML(w io.Writer, r *Report) error {
	data := struct {
		Product, Summary string
		Files            []string
		Live             bool
		Sections         []htmlSection
	}{Product: r.Product, Files: r.Files, Live: r.Live, Summary: summaryLine(r, false)}
	bySec := map[int][]Finding{}
	for _, f := range r.Findings {
		bySec[f.Control.Section] = append(bySec[f.Control.Section], f)
	}
	for _, s := range Sections {
		fs := bySec[s.Number]
		if len(fs) == 0 {
			continue
		}
		hs := htmlSection{Number: s.Number, Name: s.Name}
		hs.Score, hs.Class = sectionScore(fs)
		for _, f := range fs {
			hf := htmlFinding{ID: f.Control.ID, Title: f.Control.Title, Severity: f.Control.Severity.String(),
				Verdict: string(f.Verdict), Summary: f.Summary, Remediation: f.Control.Remediation}
			for _, e := range f.Evidence {
				loc := ""
				if e.Pos.File != "" {
					loc = strings.TrimSuffix(fmt.Sprintf("%s:%d", e.Pos.File, e.Pos.Line), ":0")
				}
				hf.Evidence = append(hf.Evidence, htmlEvidence{Loc: loc, Verdict: string(e.Verdict), Text: e.Text})
			}
			hs.Findings = append(hs.Findings, hf)
		}
		data.Sections = append(data.Sections, hs)
	}
	return htmlTmpl.Execute(w, data)
}
