package logfmt

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/acl"
)

// dump renders the compiled nodes as text, for the golden file.
func dump(f *Format) string {
	var b strings.Builder
	for _, n := range f.Nodes {
		switch n.Kind {
		case Text:
			fmt.Fprintf(&b, "T(%q)", n.Text)
		case Sep:
			b.WriteString("_")
		case Variable:
			fmt.Fprintf(&b, "V(%d,%d)", n.Var, n.Flags)
		case Sample:
			fmt.Fprintf(&b, "S(%s,%d)", n.Expr.Text(), n.Flags)
		}
	}
	return b.String()
}

func noExpr() Options {
	return Options{HTTP: true, MergeSpaces: true}
}

// TestParseGolden compiles each line of testdata/parse.golden's inputs
// and compares the node dump (or the error) with the golden output.
// Regenerate with -update after checking the differences by hand.
func TestParseGolden(t *testing.T) {
	inputs := []string{
		"%ci:%cp [%t] %ft",
		"%{+Q}o %{-Q}ci - - [%trg] %r",
		"a  b   c",
		"100%% sure",
		"%{+Q,+E}r %{+X}Ts %{+X}ci",
		"%zz",
		"%",
		"%{+Q}",
		"%1",
		"%{+Z}r",
		"%[src",
		"%B%U",
		"%H %pid %ID %HM %HU %HV %HP %HQ %HPO",
	}
	var b strings.Builder
	for _, in := range inputs {
		f, warns, err := Parse(in, noExpr())
		fmt.Fprintf(&b, "%q\n", in)
		for _, w := range warns {
			fmt.Fprintf(&b, "  warning: %s\n", w)
		}
		if err != nil {
			fmt.Fprintf(&b, "  error at %d: %s\n", err.Off, err.Msg)
			continue
		}
		fmt.Fprintf(&b, "  %s\n", dump(f))
	}
	golden := filepath.Join("testdata", "parse.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.WriteFile(golden, []byte(b.String()), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("parse output differs from %s:\n%s", golden, b.String())
	}
}

// Every built-in format parses, and the HTTP-only variables are refused
// in a TCP proxy with HAProxy's message.
func TestBuiltinsAndModes(t *testing.T) {
	expr := func(s string) (*acl.Expr, error) { return nil, nil }
	for _, f := range []string{TCPLog, HTTPLog, HTTPSLog, CLFLog} {
		if _, _, err := Parse(f, Options{HTTP: true, MergeSpaces: true, Expr: expr}); err != nil {
			t.Errorf("%s: %s", f, err.Msg)
		}
	}
	_, _, err := Parse(HTTPLog, Options{MergeSpaces: true})
	if err == nil || !strings.Contains(err.Msg, "reserved for HTTP mode") {
		t.Errorf("httplog in TCP mode: %v", err)
	}
	if _, _, err := Parse(TCPLog, Options{MergeSpaces: true}); err != nil {
		t.Errorf("tcplog in TCP mode: %s", err.Msg)
	}
	if _, _, err := Parse("%[src]", Options{}); err == nil {
		t.Error("a sample without a compiler must be refused")
	}
}

// Every variable of the manual's table parses on its own.
func TestEveryVariable(t *testing.T) {
	for _, n := range Names() {
		f, _, err := Parse("%"+n, noExpr())
		if err != nil {
			t.Errorf("%%%s: %s", n, err.Msg)
			continue
		}
		if n != "o" && (len(f.Nodes) != 1 || f.Nodes[0].Kind != Variable) {
			t.Errorf("%%%s: %s", n, dump(f))
		}
	}
	if len(Names()) != int(numVars)-1 {
		t.Errorf("%d names for %d variables", len(Names()), numVars-1)
	}
}

// FuzzParse: no input makes the parser panic, and errors carry an
// offset inside the text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{TCPLog, HTTPLog, CLFLog, "%{+Q}o %[src]", "%%", "%{", "%[", "%{+Q}[x]"} {
		f.Add(s)
	}
	expr := func(s string) (*acl.Expr, error) {
		if strings.ContainsAny(s, "()") {
			return nil, fmt.Errorf("bad")
		}
		return nil, nil
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _, err := Parse(s, Options{HTTP: true, MergeSpaces: true, Expr: expr})
		if err != nil && (err.Off < 0 || err.Off > len(s)) {
			t.Fatalf("offset %d outside %q", err.Off, s)
		}
	})
}
