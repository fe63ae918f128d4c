package audit

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

func evidenceText(f Finding, all bool) string {
	var b strings.Builder
	for _, e := range f.Evidence {
		if e.Verdict == Pass && !all {
			continue
		}
		if e.Pos.File != "" {
			fmt.Fprintf(&b, "%s: ", e.Pos)
		}
		fmt.Fprintf(&b, "[%s] %s\n", e.Verdict, e.Text)
	}
	return b.String()
}

// WriteJUnit writes one testsuite per guide section and one testcase per
// control: FAIL is a failure, SKIP is skipped, WARN and MANUAL pass with
// their findings in system-out (CI should not break on them).
func WriteJUnit(w io.Writer, r *Report) error {
	out := junitSuites{Name: "bulwark-audit"}
	idx := map[int]int{}
	for _, f := range r.Findings {
		c := f.Control
		i, ok := idx[c.Section]
		if !ok {
			i = len(out.Suites)
			idx[c.Section] = i
			out.Suites = append(out.Suites, junitSuite{Name: fmt.Sprintf("%d. %s", c.Section, SectionByNumber(c.Section).Name)})
		}
		s := &out.Suites[i]
		tc := junitCase{Name: c.ID + " " + c.Title, ClassName: fmt.Sprintf("bulwark.audit.section%d", c.Section)}
		switch f.Verdict {
		case Fail:
			tc.Failure = &junitMessage{Message: f.Summary, Type: c.Severity.String(),
				Body: evidenceText(f, false) + "fix: " + f.Remediation() + "\n"}
			s.Failures++
		case Skip:
			tc.Skipped = &junitMessage{Message: f.Summary}
			s.Skipped++
		default:
			tc.SystemOut = fmt.Sprintf("%s: %s\n%s", f.Verdict, f.Summary, evidenceText(f, f.Verdict == Pass))
		}
		s.Tests++
		s.Cases = append(s.Cases, tc)
	}
	for _, s := range out.Suites {
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
