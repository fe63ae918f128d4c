package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"bulwark/internal/config"
)

// SARIFOptions describe the run for the SARIF log: code-scanning services
// need the invocation (exit code, times) and a source root to resolve
// relative paths against.
type SARIFOptions struct {
	ToolVersion string
	// SrcRoot is the absolute directory that %SRCROOT% stands for
	// (usually the repository root, the working directory by default).
	// Files below it get URIs relative to it; others absolute file URIs.
	SrcRoot    string
	Start, End time.Time
	ExitCode   int
	// CommandLine is recorded in the invocation when not empty.
	CommandLine string
}

// The SARIF 2.1.0 objects the audit writes. Own types rather than a
// library's, so that every property code scanning reads
// (originalUriBaseIds, invocations, partialFingerprints, rule properties)
// is under our control and the output is byte-stable for the golden test.
type sarifLog struct {
	Version string     `json:"version"`
	Schema  string     `json:"$schema"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	Invocations        []sarifInvocation           `json:"invocations"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds"`
	Results            []sarifResult               `json:"results"`
	ColumnKind         string                      `json:"columnKind"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name    string      `json:"name"`
	Version string      `json:"version,omitempty"`
	Rules   []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool   `json:"executionSuccessful"`
	ExitCode            int    `json:"exitCode"`
	StartTimeUTC        string `json:"startTimeUtc,omitempty"`
	EndTimeUTC          string `json:"endTimeUtc,omitempty"`
	CommandLine         string `json:"commandLine,omitempty"`
}

type sarifArtifactLoc struct {
	URI       string `json:"uri,omitempty"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
	EndLine     int `json:"endLine"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           sarifRegion      `json:"region"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Kind                string            `json:"kind"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

// sarifResultKind maps verdicts to SARIF result kind and level; PASS and
// SKIP produce no result.
func sarifResultKind(v Verdict) (kind, level string, ok bool) {
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

// securitySeverity is the numeric scale code-scanning UIs sort by (GitHub:
// over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, below low).
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

// srcRootID is the uriBaseId of every relative URI.
const srcRootID = "%SRCROOT%"

// fingerprintKey names the partialFingerprints entry; the version suffix
// changes if the recipe does.
const fingerprintKey = "bulwarkFinding/v1"

type sarifWriter struct {
	opt   SARIFOptions
	index map[string]int
	run   sarifRun
}

func newSARIF(opt SARIFOptions) *sarifWriter {
	w := &sarifWriter{opt: opt, index: map[string]int{}}
	driver := sarifDriver{Name: "bulwark-audit", Version: opt.ToolVersion}
	for i, c := range Controls() {
		w.index[c.ID] = i
		desc := c.Intent
		if c.Rationale != "" {
			desc += " " + c.Rationale
		}
		level := "warning"
		if c.Severity >= High {
			level = "error"
		}
		driver.Rules = append(driver.Rules, sarifRule{
			ID: c.ID, Name: ruleName(c.Title),
			ShortDescription:     sarifText{Text: c.Title},
			FullDescription:      sarifText{Text: desc},
			Help:                 sarifText{Text: "Fix: " + c.Remediation, Markdown: "**Fix:** " + c.Remediation},
			DefaultConfiguration: sarifConfig{Level: level},
			Properties: map[string]any{
				"security-severity": securitySeverity(c.Severity),
				"severity":          c.Severity.String(),
				"automatable":       string(c.Automatable),
				"section":           fmt.Sprintf("%d. %s", c.Section, SectionByNumber(c.Section).Name),
				"tags":              []string{"security", "hardening", "haproxy"},
				"precision":         "high",
			}})
	}
	inv := sarifInvocation{ExecutionSuccessful: true, ExitCode: opt.ExitCode, CommandLine: opt.CommandLine}
	if !opt.Start.IsZero() {
		inv.StartTimeUTC = opt.Start.UTC().Format(time.RFC3339Nano)
	}
	if !opt.End.IsZero() {
		inv.EndTimeUTC = opt.End.UTC().Format(time.RFC3339Nano)
	}
	w.run = sarifRun{Tool: sarifTool{Driver: driver}, Invocations: []sarifInvocation{inv},
		OriginalURIBaseIDs: map[string]sarifArtifactLoc{srcRootID: {URI: dirURI(opt.SrcRoot)}},
		Results:            []sarifResult{}, ColumnKind: "unicodeCodePoints"}
	return w
}

// dirURI is the file URI of an absolute directory, with the trailing slash
// SARIF requires of a base URI.
func dirURI(dir string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}
	s := u.String()
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s
}

// artifact turns a path as reported (as given on the command line) into a
// URI relative to %SRCROOT% when it lies below it.
func (w *sarifWriter) artifact(file string) sarifArtifactLoc {
	abs := file
	if !filepath.IsAbs(abs) {
		if a, err := filepath.Abs(file); err == nil {
			abs = a
		}
	}
	if w.opt.SrcRoot != "" {
		if rel, err := filepath.Rel(w.opt.SrcRoot, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			u := url.URL{Path: filepath.ToSlash(rel)}
			return sarifArtifactLoc{URI: u.String(), URIBaseID: srcRootID}
		}
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	return sarifArtifactLoc{URI: u.String()}
}

func (w *sarifWriter) location(pos config.Pos) sarifLocation {
	line := pos.Line
	if line < 1 {
		// A whole-file observation points at the first line.
		line = 1
	}
	reg := sarifRegion{StartLine: line, EndLine: line}
	if pos.Line > 0 && pos.Col > 0 {
		reg.StartColumn = pos.Col
	}
	return sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: w.artifact(pos.File), Region: reg}}
}

// lineRefs are the line numbers inside messages ("file:12", "line 12"),
// left out of fingerprints so that a finding keeps its identity when
// unrelated lines are inserted above it.
var lineRefs = regexp.MustCompile(`:[0-9]+(:[0-9]+)?|line [0-9]+`)

func fingerprint(ruleID string, loc sarifArtifactLoc, msg string) string {
	h := sha256.Sum256([]byte(ruleID + "\x00" + loc.URI + "\x00" + lineRefs.ReplaceAllString(msg, "")))
	return hex.EncodeToString(h[:16])
}

// add appends one result; pos is where it is, anchor where it goes when
// pos names no file.
func (w *sarifWriter) add(c *Control, v Verdict, msg string, pos, anchor config.Pos, props map[string]any) {
	kind, level, ok := sarifResultKind(v)
	if !ok {
		kind, level = "pass", "none"
	}
	if pos.File == "" {
		pos = anchor
	}
	var locs []sarifLocation
	if pos.File != "" {
		locs = []sarifLocation{w.location(pos)}
	}
	res := sarifResult{RuleID: c.ID, RuleIndex: w.index[c.ID], Kind: kind, Level: level,
		Message: sarifText{Text: msg}, Locations: locs, Properties: props}
	if len(locs) > 0 {
		res.PartialFingerprints = map[string]string{fingerprintKey: fingerprint(c.ID, locs[0].PhysicalLocation.ArtifactLocation, msg)}
	}
	w.run.Results = append(w.run.Results, res)
}

func (w *sarifWriter) write(out io.Writer) error {
	log := sarifLog{Version: "2.1.0", Schema: "https://json.schemastore.org/sarif-2.1.0.json", Runs: []sarifRun{w.run}}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

// WriteSARIF writes a SARIF 2.1.0 log with a rule for every control in the
// catalogue and a located result for every FAIL or WARN observation (MANUAL
// controls become "review" notes). An observation without a line (an
// absence, a live probe) is placed at the finding's anchor: the global
// section, where the missing directive belongs.
func WriteSARIF(out io.Writer, r *Report, opt SARIFOptions) error {
	w := newSARIF(opt)
	for _, f := range r.Findings {
		if _, _, ok := sarifResultKind(f.Verdict); !ok {
			continue
		}
		fix := ""
		if f.Verdict != Manual {
			fix = " — fix: " + f.Remediation()
		}
		emitted := false
		for _, e := range f.Evidence {
			if e.Verdict.rank() < Manual.rank() || (f.Verdict != Manual && e.Verdict == Manual) {
				continue
			}
			w.add(f.Control, e.Verdict, e.Text+fix, e.Pos, f.Anchor, nil)
			emitted = true
		}
		if !emitted {
			w.add(f.Control, f.Verdict, f.Summary+fix, config.Pos{}, f.Anchor, nil)
		}
	}
	return w.write(out)
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
