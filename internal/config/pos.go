// Package config reads HAProxy 2.6 configuration text: the lexer (quoting,
// escapes, environment expansion, conditional blocks), the parser into an
// AST that keeps every directive with its position, and diagnostics.
//
// The AST is faithful to the text: it keeps directives Bulwark does not run,
// so that the auditor can read any real HAProxy configuration. Deciding what
// Bulwark can run is the compile step's job (package model).
package config

import "fmt"

// Pos is a position in a configuration file. Line and Col are 1-based; Col
// counts bytes, as editors and HAProxy's own messages do.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// IsValid reports whether the position points into a file.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Within reports whether p names a place in src, the text of file: a line
// that exists and a column at most one past its end. A diagnostic pointing
// elsewhere would send the operator to the wrong line.
func (p Pos) Within(file string, src []byte) bool {
	if p.File != file || p.Line < 1 {
		return false
	}
	line := 1
	start := 0
	for i, c := range src {
		if line == p.Line {
			break
		}
		if c == '\n' {
			line++
			start = i + 1
		}
	}
	if line != p.Line {
		return false
	}
	end := start
	for end < len(src) && src[end] != '\n' {
		end++
	}
	return p.Col >= 0 && p.Col <= end-start+1
}
