package config

import (
	"fmt"
	"sort"
	"strings"
)

// Severity orders diagnostics the way HAProxy does: an alert is fatal, a
// warning is not (unless zero-warning or --strict), a notice is informative.
type Severity int

const (
	SevNotice Severity = iota
	SevWarning
	SevAlert
)

func (s Severity) String() string {
	switch s {
	case SevAlert:
		return "ALERT"
	case SevWarning:
		return "WARNING"
	default:
		return "NOTICE"
	}
}

// Diagnostic is one message about the configuration, tied to a position
// when there is one.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
	// Hint is an optional suggestion ("did you mean 'timeout'?").
	Hint string
	// Code classifies a diagnostic for tools (e.g. "unsupported" for a
	// directive HAProxy accepts but Bulwark does not run).
	Code string
}

// HAProxy renders a diagnostic in the form that wrappers around haproxy -c
// grep for: "[ALERT] ... parsing [file:line] : message". The column is
// appended after the line so the standard token still matches.
func (d Diagnostic) HAProxy() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s]", d.Severity)
	if d.Severity == SevAlert {
		b.WriteString("   ")
	}
	b.WriteString(" (bulwark) : config : ")
	if d.Pos.IsValid() {
		fmt.Fprintf(&b, "parsing [%s:%d] : ", d.Pos.File, d.Pos.Line)
	}
	b.WriteString(d.Msg)
	if d.Pos.Col > 0 {
		fmt.Fprintf(&b, " (column %d)", d.Pos.Col)
	}
	if d.Hint != "" {
		b.WriteString("; ")
		b.WriteString(d.Hint)
	}
	return b.String()
}

func (d Diagnostic) Error() string {
	s := d.Msg
	if d.Hint != "" {
		s += "; " + d.Hint
	}
	if d.Pos.IsValid() {
		return d.Pos.String() + ": " + strings.ToLower(d.Severity.String()) + ": " + s
	}
	return strings.ToLower(d.Severity.String()) + ": " + s
}

// Diagnostics collects every message of a run rather than stopping at the
// first, so that one `bulwark -c` shows all problems of a file.
type Diagnostics []Diagnostic

func (ds *Diagnostics) Add(pos Pos, sev Severity, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Pos: pos, Severity: sev, Msg: fmt.Sprintf(format, args...)})
}

func (ds *Diagnostics) Alertf(pos Pos, format string, args ...any) {
	ds.Add(pos, SevAlert, format, args...)
}

func (ds *Diagnostics) Warnf(pos Pos, format string, args ...any) {
	ds.Add(pos, SevWarning, format, args...)
}

func (ds *Diagnostics) Noticef(pos Pos, format string, args ...any) {
	ds.Add(pos, SevNotice, format, args...)
}

// HasAlerts reports whether any diagnostic is fatal.
func (ds Diagnostics) HasAlerts() bool { return ds.Count(SevAlert) > 0 }

// Count returns the number of diagnostics of severity sev.
func (ds Diagnostics) Count(sev Severity) int {
	n := 0
	for _, d := range ds {
		if d.Severity == sev {
			n++
		}
	}
	return n
}

// Sorted returns the diagnostics ordered by file, line and column; the
// order of files is the order they were given in.
func (ds Diagnostics) Sorted(files []string) Diagnostics {
	rank := map[string]int{}
	for i, f := range files {
		rank[f] = i + 1
	}
	out := append(Diagnostics(nil), ds...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.File != b.File {
			return rank[a.File] < rank[b.File]
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}
