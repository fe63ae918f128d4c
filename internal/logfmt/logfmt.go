// Package logfmt compiles HAProxy 2.6 log-format strings (CM 8.2.6): text,
// separators, %-variables with their {+Q,+X,+E,+M} flags, the %o flag
// carrier and %[sample,converter] expressions. The plan stage compiles
// every format once (log-format, log-format-sd, error-log-format,
// unique-id-format and the built-in httplog/httpslog/tcplog/clf strings);
// the logging package renders the compiled nodes for every line.
//
// The package only parses: it knows nothing of connections, so that the
// plan can compile formats without importing the proxy.
package logfmt

import (
	"fmt"
	"strings"

	"bulwark/internal/acl"
)

// Flags are a node's output options (CM 8.2.6 "Flags").
type Flags uint8

// Flag bits, as HAProxy's LOG_OPT_*.
const (
	// Mandatory prints "-" for an empty value (set on every variable).
	Mandatory Flags = 1 << iota
	// Quote surrounds strings with double quotes.
	Quote
	// Hex prints IPs, ports, %Ts, %rt and %pid in hexadecimal.
	Hex
	// Escape prefixes '"', '\' and ']' with '\' (RFC 5424 SD values).
	Escape
)

// NodeKind tells what a Node renders.
type NodeKind uint8

// Node kinds.
const (
	// Text is literal text.
	Text NodeKind = iota
	// Sep is a run of spaces: one space, unless the output already ends
	// with a separator (so that an empty %hr leaves one space, not two).
	Sep
	// Variable is a %-variable.
	Variable
	// Sample is a %[fetch,converters] expression.
	Sample
)

// Node is one compiled element of a format.
type Node struct {
	Kind  NodeKind
	Text  string // Text nodes
	Var   Var    // Variable nodes
	Flags Flags
	Expr  *acl.Expr // Sample nodes
}

// Format is a compiled log-format string. It is read-only.
type Format struct {
	Source string
	Nodes  []Node
	// HasSample is true when some node needs a sample evaluation, which
	// the renderer can only do while the transaction is alive.
	HasSample bool
}

// Error is a parse error at byte offset Off of the source text.
type Error struct {
	Off int
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// Options say where a format is compiled.
type Options struct {
	// HTTP is true in a proxy in HTTP mode: variables marked "H" in the
	// manual's table are refused elsewhere, as HAProxy does.
	HTTP bool
	// MergeSpaces turns spaces into separators (log-format, log-format-sd
	// and unique-id-format); without it spaces are text.
	MergeSpaces bool
	// Expr compiles a sample expression; nil refuses %[...].
	Expr func(text string) (*acl.Expr, error)
}

// Parse compiles text. The first error is returned with its offset;
// warnings (flags HAProxy would silently ignore) come back separately so
// that nothing is dropped without a word.
func Parse(text string, opt Options) (f *Format, warnings []string, err *Error) {
	f = &Format{Source: text}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.Nodes = append(f.Nodes, Node{Kind: Text, Text: lit.String()})
			lit.Reset()
		}
	}
	global := Mandatory // %o carries flags to every later variable
	for i := 0; i < len(text); {
		c := text[i]
		if c == ' ' && opt.MergeSpaces {
			flush()
			for i < len(text) && text[i] == ' ' {
				i++
			}
			f.Nodes = append(f.Nodes, Node{Kind: Sep})
			continue
		}
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		start := i
		i++
		if i >= len(text) {
			return nil, warnings, &Error{start, "truncated line after '%'"}
		}
		switch c := text[i]; {
		case c == '%':
			lit.WriteByte('%')
			i++
			continue
		case c >= '0' && c <= '9' || c == ' ' || c == '\t':
			return nil, warnings, &Error{start, fmt.Sprintf("unexpected variable name near '%c' at position %d line : '%s'. Maybe you want to write a single '%%', use the syntax '%%%%'", c, i, text)}
		case c != '{' && c != '[' && !isAlpha(c):
			// HAProxy sends "%" followed by other characters as text.
			lit.WriteByte('%')
			continue
		}
		flags := global
		arg := ""
		if text[i] == '{' {
			end := strings.IndexByte(text[i:], '}')
			if end < 0 {
				return nil, warnings, &Error{start, fmt.Sprintf("truncated line after '%s'", text[i+1:])}
			}
			arg = text[i+1 : i+end]
			i += end + 1
			var ws []string
			flags, ws = applyFlags(flags, arg)
			warnings = append(warnings, ws...)
			if i >= len(text) || !(text[i] == '[' || isAlnum(text[i])) {
				return nil, warnings, &Error{start, fmt.Sprintf("parse argument modifier without variable name near '%%{%s}'", arg)}
			}
		}
		if text[i] == '[' {
			end, perr := exprEnd(text, i+1)
			if perr != "" {
				return nil, warnings, &Error{i, perr}
			}
			src := text[i+1 : end]
			if opt.Expr == nil {
				return nil, warnings, &Error{i, "sample fetch expressions are not allowed here"}
			}
			x, xerr := opt.Expr(src)
			if xerr != nil {
				return nil, warnings, &Error{start, fmt.Sprintf("failed to parse sample expression <%s> : %v", src, xerr)}
			}
			flush()
			f.Nodes = append(f.Nodes, Node{Kind: Sample, Expr: x, Flags: flags})
			f.HasSample = true
			i = end + 1
			continue
		}
		j := i
		for j < len(text) && isAlnum(text[j]) {
			j++
		}
		name := text[i:j]
		v, ok := LookupVar(name)
		if !ok {
			return nil, warnings, &Error{start, fmt.Sprintf("no such format variable '%s'. If you wanted to emit the '%%' character verbatim, you need to use '%%%%'", name)}
		}
		if v.HTTPOnly() && !opt.HTTP {
			return nil, warnings, &Error{start, fmt.Sprintf("format variable '%s' is reserved for HTTP mode", name)}
		}
		i = j
		if v == VarGlobal {
			global = flags
			continue
		}
		flush()
		f.Nodes = append(f.Nodes, Node{Kind: Variable, Var: v, Flags: flags})
	}
	flush()
	return f, warnings, nil
}

// MustParse compiles one of the built-in formats; they are constants
// of this package, so an error is a programming error.
func MustParse(text string, opt Options) *Format {
	f, _, err := Parse(text, opt)
	if err != nil {
		panic("logfmt: built-in format: " + err.Msg)
	}
	return f
}

// applyFlags applies "+Q,-X,..." to f. HAProxy ignores unknown flags
// without a word; Bulwark warns, since a typo there changes the output.
func applyFlags(f Flags, arg string) (Flags, []string) {
	var warns []string
	for _, a := range strings.Split(arg, ",") {
		if len(a) < 2 || (a[0] != '+' && a[0] != '-') {
			if a != "" {
				warns = append(warns, fmt.Sprintf("ignoring log-format option '%s' (expects +X or -X with X one of M, Q, X, E)", a))
			}
			continue
		}
		var bit Flags
		switch a[1:] {
		case "M":
			bit = Mandatory
		case "Q":
			bit = Quote
		case "X":
			bit = Hex
		case "E":
			bit = Escape
		default:
			warns = append(warns, fmt.Sprintf("ignoring unknown log-format flag '%s' (expects M, Q, X or E)", a[1:]))
			continue
		}
		if a[0] == '+' {
			f |= bit
		} else {
			f &^= bit
		}
	}
	return f, warns
}

// exprEnd finds the ']' closing a %[ expression that starts at i,
// skipping brackets inside quotes and parentheses (regsub patterns).
func exprEnd(text string, i int) (int, string) {
	depth := 0
	var quote byte
	for j := i; j < len(text); j++ {
		c := text[j]
		switch {
		case quote != 0:
			if c == '\\' {
				j++
			} else if c == quote {
				quote = 0
			}
		case c == '\\':
			j++
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == ']' && depth == 0:
			return j, ""
		}
	}
	return 0, fmt.Sprintf("missing ']' after '%s'", text[i:])
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }
