package config

import ("testing";"fmt")

func TestScratch(t *testing.T) {
	src := "global#c\n  log-format \"%{+Q}o %t\"' %s'\\ %{-Q}r\n x \"${A[*]}\" y \"$B\" \"${C-def}\" '$A' \\x41\\$ \"\\$\"\n.if defined(A) && !defined(C)\n  yes\n.else\n  no\n.endif\n"
	lines, d := Lex("f", []byte(src), LexOptions{Env: func(n string) (string, bool) { m := map[string]string{"A": "1 2  3", "B": "b"}; v, ok := m[n]; return v, ok }})
	for _, l := range lines { for _, w := range l.Words { fmt.Printf("%d:%d %q %v | ", w.Pos.Line, w.Pos.Col, w.Text, w.Quoted) }; fmt.Println() }
	fmt.Println(d)
}
