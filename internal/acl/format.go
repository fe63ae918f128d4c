package acl

import (
	"fmt"
	"strconv"
	"strings"
)

// Format is a compiled log-format string as rules use it ("set-header X
// %[src]"): literal text, "%%" for a percent sign, and %[expr] sample
// expressions. The full log-format language (%ci, %ST, ...) belongs to
// the logging package; here an unknown %-variable is an error.
type Format struct {
	parts []fmtPart
	// literal is the whole text when it has no expression.
	literal []byte
}

type fmtPart struct {
	lit  []byte
	expr *Expr
}

// Format compiles a log-format string.
func (s *Set) Format(text string) (*Format, error) {
	f := &Format{}
	var lit []byte
	for i := 0; i < len(text); i++ {
		ch := text[i]
		if ch != '%' {
			lit = append(lit, ch)
			continue
		}
		if i+1 < len(text) && text[i+1] == '%' {
			lit = append(lit, '%')
			i++
			continue
		}
		if i+1 >= len(text) || text[i+1] != '[' {
			end := i + 1
			for end < len(text) && (text[end] >= 'a' && text[end] <= 'z' || text[end] >= 'A' && text[end] <= 'Z') {
				end++
			}
			return nil, fmt.Errorf("log-format variable '%s' is not supported here (only %%[sample] and %%%%)", text[i:end])
		}
		end := strings.IndexByte(text[i:], ']')
		if end < 0 {
			return nil, fmt.Errorf("missing ']' after '%%[' in '%s'", text)
		}
		x, _, err := s.c.parseExpr(text[i+2:i+end], false)
		if err != nil {
			return nil, err
		}
		if len(lit) > 0 {
			f.parts = append(f.parts, fmtPart{lit: lit})
			lit = nil
		}
		f.parts = append(f.parts, fmtPart{expr: x})
		i += end
	}
	if len(lit) > 0 {
		f.parts = append(f.parts, fmtPart{lit: lit})
	}
	if len(f.parts) == 0 {
		f.literal = []byte{}
	} else if len(f.parts) == 1 && f.parts[0].expr == nil {
		f.literal = f.parts[0].lit
	}
	return f, nil
}

// Literal returns the text when the format has no expression.
func (f *Format) Literal() ([]byte, bool) { return f.literal, f.literal != nil }

// Append renders the format after dst. A missing sample renders as
// nothing, as in HAProxy's log-format. Scratch space is released.
func (f *Format) Append(dst []byte, e *Eval) []byte {
	mark := len(e.buf)
	for i := range f.parts {
		p := &f.parts[i]
		if p.expr == nil {
			dst = append(dst, p.lit...)
			continue
		}
		s, ok := p.expr.Sample(e)
		if !ok {
			continue
		}
		dst = AppendSample(dst, s)
	}
	e.buf = e.buf[:mark]
	return dst
}

// AppendSample appends the text form of s.
func AppendSample(dst []byte, s Sample) []byte {
	switch s.Kind {
	case KindBool, KindInt:
		return strconv.AppendInt(dst, s.I, 10)
	case KindIP:
		return s.IP.AppendTo(dst)
	case KindStr, KindBin:
		return append(dst, s.B...)
	}
	return dst
}

// AppendString appends the text form of x's value after dst; ok is false
// when the sample is missing. Scratch space is released, so log lines can
// render samples without growing the Eval.
func (x *Expr) AppendString(dst []byte, e *Eval) ([]byte, bool) {
	mark := len(e.buf)
	s, ok := x.Sample(e)
	if ok {
		dst = AppendSample(dst, s)
	}
	e.buf = e.buf[:mark]
	return dst, ok
}
