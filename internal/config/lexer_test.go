package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testEnv is the environment every lexer test sees, so that results do not
// depend on the machine.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{
		"FD_APP1":      "3",
		"HAPROXY_USER": "haproxy",
		"LIST":         "a  b\tc",
		"EMPTY":        "",
		"WITH_SSL":     "yes",
		"SSL_ONLY":     "no",
		"SPACED":       "x y",
	}[name]
	return v, ok
}

func testOpts() LexOptions { return LexOptions{Env: testEnv} }

// texts returns the word texts of a single-line result, failing otherwise.
func lexOne(t *testing.T, src string, opt LexOptions) ([]Word, Diagnostics) {
	t.Helper()
	lines, diags := Lex("t.cfg", []byte(src+"\n"), opt)
	if len(lines) > 1 {
		t.Fatalf("Lex(%q): %d lines, want at most 1", src, len(lines))
	}
	if len(lines) == 0 {
		return nil, diags
	}
	return lines[0].Words, diags
}

func wordTexts(ws []Word) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Text
	}
	return out
}

func quotedMask(ws []Word) string {
	var b strings.Builder
	for _, w := range ws {
		if w.Quoted {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}

type wordCase struct {
	name string
	in   string
	want []string
	// q is one '0'/'1' per word for Quoted; "" skips the check.
	q string
}

func runWordCases(t *testing.T, cases []wordCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, diags := lexOne(t, tc.in, testOpts())
			if len(diags) != 0 {
				t.Fatalf("Lex(%q): unexpected diagnostics %v", tc.in, diags)
			}
			if got := wordTexts(ws); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("Lex(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if tc.q != "" {
				if got := quotedMask(ws); got != tc.q {
					t.Errorf("Lex(%q) quoted = %s, want %s", tc.in, got, tc.q)
				}
			}
		})
	}
}

// TestLexQuotingMatrix covers every cell of the CM 2.2 matrix "how special
// characters can be entered in different contexts", each inside a word.
func TestLexQuotingMatrix(t *testing.T) {
	runWordCases(t, []wordCase{
		{"tab unquoted escaped", "k a\\\tb", []string{"k", "a\tb"}, "00"},
		{"tab unquoted hex", `k a\x09b`, []string{"k", "a\tb"}, "00"},
		{"tab weak raw", "k \"a\tb\"", []string{"k", "a\tb"}, "01"},
		{"tab weak escaped", "k \"a\\\tb\"", []string{"k", "a\tb"}, "01"},
		{"tab weak hex", `k "a\x09b"`, []string{"k", "a\tb"}, "01"},
		{"tab strong", "k 'a\tb'", []string{"k", "a\tb"}, "01"},

		{"lf unquoted", `k a\nb`, []string{"k", "a\nb"}, "00"},
		{"lf unquoted hex", `k a\x0ab`, []string{"k", "a\nb"}, "00"},
		{"lf weak", `k "a\nb"`, []string{"k", "a\nb"}, "01"},
		{"lf weak hex", `k "a\x0Ab"`, []string{"k", "a\nb"}, "01"},
		{"lf strong is literal", `k 'a\nb'`, []string{"k", `a\nb`}, "01"},

		{"cr unquoted", `k a\rb`, []string{"k", "a\rb"}, "00"},
		{"cr unquoted hex", `k a\x0db`, []string{"k", "a\rb"}, "00"},
		{"cr weak", `k "a\rb"`, []string{"k", "a\rb"}, "01"},
		{"cr weak hex", `k "a\x0db"`, []string{"k", "a\rb"}, "01"},

		{"space unquoted escaped", `k a\ b`, []string{"k", "a b"}, "00"},
		{"space unquoted hex", `k a\x20b`, []string{"k", "a b"}, "00"},
		{"space weak raw", `k "a b"`, []string{"k", "a b"}, "01"},
		{"space weak escaped", `k "a\ b"`, []string{"k", "a b"}, "01"},
		{"space weak hex", `k "a\x20b"`, []string{"k", "a b"}, "01"},
		{"space strong", `k 'a b'`, []string{"k", "a b"}, "01"},

		{"dquote unquoted", `k a\"b`, []string{"k", `a"b`}, "00"},
		{"dquote unquoted hex", `k a\x22b`, []string{"k", `a"b`}, "00"},
		{"dquote weak", `k "a\"b"`, []string{"k", `a"b`}, "01"},
		{"dquote weak hex", `k "a\x22b"`, []string{"k", `a"b`}, "01"},
		{"dquote strong", `k 'a"b'`, []string{"k", `a"b`}, "01"},

		{"hash unquoted", `k a\#b`, []string{"k", "a#b"}, "00"},
		{"hash unquoted hex", `k a\x23b`, []string{"k", "a#b"}, "00"},
		{"hash weak raw", `k "a#b"`, []string{"k", "a#b"}, "01"},
		{"hash weak escaped", `k "a\#b"`, []string{"k", "a#b"}, "01"},
		{"hash weak hex", `k "a\x23b"`, []string{"k", "a#b"}, "01"},
		{"hash strong", `k 'a#b'`, []string{"k", "a#b"}, "01"},

		{"dollar unquoted raw", `k a$b`, []string{"k", "a$b"}, "00"},
		// The manual's table says "\$" gives "$" here; 2.6's parser keeps
		// the backslash, which regexes rely on. We follow the parser.
		{"dollar unquoted escaped keeps backslash", `k a\$b`, []string{"k", `a\$b`}, "00"},
		{"dollar unquoted hex", `k a\x24b`, []string{"k", "a$b"}, "00"},
		{"dollar weak escaped", `k "a\$b"`, []string{"k", "a$b"}, "01"},
		{"dollar weak hex", `k "a\x24b"`, []string{"k", "a$b"}, "01"},
		{"dollar strong", `k 'a$b'`, []string{"k", "a$b"}, "01"},

		{"squote unquoted", `k a\'b`, []string{"k", "a'b"}, "00"},
		{"squote unquoted hex", `k a\x27b`, []string{"k", "a'b"}, "00"},
		{"squote weak raw", `k "a'b"`, []string{"k", "a'b"}, "01"},
		{"squote weak escaped", `k "a\'b"`, []string{"k", "a'b"}, "01"},
		{"squote weak hex", `k "a\x27b"`, []string{"k", "a'b"}, "01"},

		{"backslash unquoted", `k a\\b`, []string{"k", `a\b`}, "00"},
		{"backslash unquoted hex", `k a\x5cb`, []string{"k", `a\b`}, "00"},
		{"backslash weak", `k "a\\b"`, []string{"k", `a\b`}, "01"},
		{"backslash weak hex", `k "a\x5Cb"`, []string{"k", `a\b`}, "01"},
		{"backslash strong", `k 'a\b'`, []string{"k", `a\b`}, "01"},
	})
}

// TestLexManualExamples covers the other examples of CM 2.1 and 2.2.
func TestLexManualExamples(t *testing.T) {
	const lf = "%{+Q}o %t %s %{-Q}r"
	runWordCases(t, []wordCase{
		{"log-format escaped", `log-format %{+Q}o\ %t\ %s\ %{-Q}r`, []string{"log-format", lf}, "00"},
		{"log-format weak", `log-format "%{+Q}o %t %s %{-Q}r"`, []string{"log-format", lf}, "01"},
		{"log-format strong", `log-format '%{+Q}o %t %s %{-Q}r'`, []string{"log-format", lf}, "01"},
		{"log-format weak+strong", `log-format "%{+Q}o %t"' %s %{-Q}r'`, []string{"log-format", lf}, "01"},
		{"log-format concatenated", `log-format "%{+Q}o %t"' %s'\ %{-Q}r`, []string{"log-format", lf}, "01"},

		{"comment glued", "    global#this is the global section", []string{"global"}, "0"},
		{"comment glued 2", "daemon#daemonize", []string{"daemon"}, "0"},
		{"comment after spaces", "    mode             http   # or tcp", []string{"mode", "http"}, "00"},
		{"tabs separate", "frontend\t\tfoo", []string{"frontend", "foo"}, "00"},

		{"regsub plain", `http-request set-path %[path,regsub(foo,blah,g)]`,
			[]string{"http-request", "set-path", "%[path,regsub(foo,blah,g)]"}, "000"},
		{"regsub quotes removed", `http-request set-path %[path,regsub("(foo|bar)",blah,g)]`,
			[]string{"http-request", "set-path", "%[path,regsub((foo|bar),blah,g)]"}, "001"},
		{"regsub escaped quotes", `http-request set-path %[path,regsub(\"(foo|bar)\",blah,g)]`,
			[]string{"http-request", "set-path", `%[path,regsub("(foo|bar)",blah,g)]`}, "000"},
		{"regsub strong outside", `http-request set-path '%[path,regsub("(foo|bar)",blah,g)]'`,
			[]string{"http-request", "set-path", `%[path,regsub("(foo|bar)",blah,g)]`}, "001"},
		{"regsub dollar backslash", `http-request set-path '%[path,regsub("^/(here)(/|$)","my/\1",g)]'`,
			[]string{"http-request", "set-path", `%[path,regsub("^/(here)(/|$)","my/\1",g)]`}, "001"},
		{"set-var double escaped 1", `http-request set-var(txn.foo) str("\\'foo\\'")`,
			[]string{"http-request", "set-var(txn.foo)", `str(\'foo\')`}, "001"},
		{"set-var double escaped 2", `http-request set-var(txn.foo) str(\"\'foo\'\")`,
			[]string{"http-request", "set-var(txn.foo)", `str("'foo'")`}, "000"},
		{"set-var double escaped 3", `http-request set-var(txn.foo) str(\\\'foo\\\')`,
			[]string{"http-request", "set-var(txn.foo)", `str(\'foo\')`}, "000"},

		{"empty dquote word", `k "" x`, []string{"k", "", "x"}, "010"},
		{"empty squote word", `k '' x`, []string{"k", "", "x"}, "010"},
		{"unknown escape kept", `k ^/a\d+\.b`, []string{"k", `^/a\d+\.b`}, "00"},
		{"backslash in strong kept", `k '\x41\'`, []string{"k", `\x41\`}, "01"},
		{"hex upper", `k \x41\x7E`, []string{"k", "A~"}, "00"},
		{"dollar in strong not expanded", `k '$FD_APP1'`, []string{"k", "$FD_APP1"}, "01"},
		{"dollar unquoted not expanded", `k $FD_APP1 ${FD_APP1}`, []string{"k", "$FD_APP1", "${FD_APP1}"}, "000"},
		{"trailing spaces", "k a   \t", []string{"k", "a"}, "00"},
		{"crlf", "k a\r", []string{"k", "a"}, "00"},
		{"vertical tab and form feed separate", "k\va\fb", []string{"k", "a", "b"}, "000"},
	})
}

func TestLexEnv(t *testing.T) {
	runWordCases(t, []wordCase{
		{"manual fd", `bind "fd@${FD_APP1}"`, []string{"bind", "fd@3"}, "01"},
		{"manual default unset", `log "${LOCAL_SYSLOG-127.0.0.1}:514" local0 notice`, []string{"log", "127.0.0.1:514", "local0", "notice"}, "0100"},
		{"manual plain", `user "$HAPROXY_USER"`, []string{"user", "haproxy"}, "01"},
		{"name stops at non-name char", `k "$HAPROXY_USER.x"`, []string{"k", "haproxy.x"}, "01"},
		{"unset is empty", `k "$NOPE"`, []string{"k", ""}, "01"},
		{"unset inside word", `k "a${NOPE}b"`, []string{"k", "ab"}, "01"},
		{"default not used when set", `k "${FD_APP1-9}"`, []string{"k", "3"}, "01"},
		{"default not used when empty", `k "${EMPTY-x}"`, []string{"k", ""}, "01"},
		{"default empty", `k "${NOPE-}"`, []string{"k", ""}, "01"},
		{"default raw text", `k "${NOPE-a b'c}"`, []string{"k", "a b'c"}, "01"},
		{"value with spaces stays one word", `k "$SPACED"`, []string{"k", "x y"}, "01"},
		{"word expansion", `k "${LIST[*]}" z`, []string{"k", "a", "b", "c", "z"}, "01110"},
		{"word expansion glued", `k "p${SPACED[*]}s"`, []string{"k", "px", "ys"}, "011"},
		{"word expansion default", `k "${NOPE[*]-1 2}"`, []string{"k", "1", "2"}, "011"},
		{"word expansion of empty", `k "${EMPTY[*]}"`, []string{"k", ""}, "01"},
		{"brackets without braces are literal", `k "$SPACED[*]"`, []string{"k", "x y[*]"}, "01"},
		{"escaped dollar", `k "\$FD_APP1"`, []string{"k", "$FD_APP1"}, "01"},
		{"pseudo file", `k "${.FILE}"`, []string{"k", "t.cfg"}, "01"},
		{"pseudo line", `k "$.LINE"`, []string{"k", "1"}, "01"},
		{"pseudo section before any", `k "x${.SECTION}x"`, []string{"k", "xx"}, "01"},
		{"mixed with strong", `k "$FD_APP1"'$FD_APP1'`, []string{"k", "3$FD_APP1"}, "01"},
	})
}

func TestLexPseudoVars(t *testing.T) {
	src := "global\n  a \"${.SECTION}\" \"$.LINE\"\nfrontend \"fe-${.SECTION}\"\n  b \"${.SECTION}\"\ndefaults\n  c \"${.SECTION}\" \"${.FILE}\"\n"
	lines, diags := Lex("dir/h.cfg", []byte(src), testOpts())
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	want := [][]string{
		{"global"},
		{"a", "global", "2"},
		// The header line is expanded before it changes the section.
		{"frontend", "fe-global"},
		{"b", "fe-global"},
		{"defaults"},
		{"c", "defaults", "dir/h.cfg"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d", len(lines), len(want))
	}
	for i, l := range lines {
		if got := wordTexts(l.Words); fmt.Sprint(got) != fmt.Sprint(want[i]) {
			t.Errorf("line %d = %q, want %q", i+1, got, want[i])
		}
	}
}

func TestLexPositions(t *testing.T) {
	src := "global\n\t# comment\n\n  bind  \"a b\"\t'c'd  e\\ f\r\n"
	lines, diags := Lex("p.cfg", []byte(src), testOpts())
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2", len(lines))
	}
	type wp struct {
		text      string
		line, col int
	}
	var got []wp
	for _, l := range lines {
		if l.Pos != l.Words[0].Pos {
			t.Errorf("Line.Pos %v != first word %v", l.Pos, l.Words[0].Pos)
		}
		for _, w := range l.Words {
			if w.Pos.File != "p.cfg" {
				t.Errorf("file %q", w.Pos.File)
			}
			got = append(got, wp{w.Text, w.Pos.Line, w.Pos.Col})
		}
	}
	want := []wp{{"global", 1, 1}, {"bind", 4, 3}, {"a b", 4, 9}, {"cd", 4, 15}, {"e f", 4, 21}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("positions:\n got %v\nwant %v", got, want)
	}
}

type diagCase struct {
	name string
	in   string
	opt  LexOptions
	// want lists "line:col severity message" for every diagnostic.
	want []string
	// lines are the texts of the lines that survive, one string per line.
	lines []string
}

func diagString(d Diagnostic) string {
	return fmt.Sprintf("%d:%d %s %s", d.Pos.Line, d.Pos.Col, strings.ToLower(d.Severity.String()), d.Msg)
}

func runDiagCases(t *testing.T, cases []diagCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.opt
			if opt.Env == nil {
				opt.Env = testEnv
			}
			lines, diags := Lex("e.cfg", []byte(tc.in), opt)
			var got []string
			for _, d := range diags {
				got = append(got, diagString(d))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("diagnostics:\n got %q\nwant %q", got, tc.want)
			}
			var gotLines []string
			for _, l := range lines {
				gotLines = append(gotLines, strings.Join(wordTexts(l.Words), " "))
			}
			if strings.Join(gotLines, "\n") != strings.Join(tc.lines, "\n") {
				t.Errorf("lines:\n got %q\nwant %q", gotLines, tc.lines)
			}
		})
	}
}

func TestLexErrors(t *testing.T) {
	runDiagCases(t, []diagCase{
		{name: "unmatched dquote", in: "a \"bc\nok\n", want: []string{"1:3 alert unmatched quote"}, lines: []string{"ok"}},
		{name: "unmatched squote", in: "a  'b\"c\n", want: []string{"1:4 alert unmatched quote"}},
		{name: "quote closed then reopened", in: "a \"b\"'c\n", want: []string{"1:6 alert unmatched quote"}},
		{name: "trailing backslash", in: "a b\\\nok\n", want: []string{"1:4 alert trailing backslash (HAProxy has no line continuation)"}, lines: []string{"ok"}},
		{name: "trailing backslash in dquote", in: "a \"b\\\n", want: []string{"1:3 alert unmatched quote"}},
		{name: "bad hex", in: "a \\xZ1\n", want: []string{"1:3 alert truncated or invalid hexadecimal sequence"}},
		{name: "short hex", in: "a \"\\x4\"\n", want: []string{"1:4 alert truncated or invalid hexadecimal sequence"}},
		{name: "hex at end", in: "a b\\x\n", want: []string{"1:4 alert truncated or invalid hexadecimal sequence"}},
		{name: "bad var first char", in: "a \"$1\"\n", want: []string{"1:5 alert forbidden first char in environment variable name"}},
		{name: "lone dollar", in: "a \"x$\"\n", want: []string{"1:6 alert forbidden first char in environment variable name"}},
		{name: "unmatched brace", in: "a \"${FD_APP1\"\n", want: []string{"1:5 alert unmatched brace in environment variable name"}},
		{name: "unmatched brace default", in: "a \"${X-abc\"\n", want: []string{"1:5 alert unmatched brace in environment variable name"}},
		{name: "bad word expansion", in: "a \"${LIST[x]}\"\n", want: []string{"1:10 alert truncated or invalid word expansion sequence"}},
		{name: "bad pseudo", in: "a \"$.FOO\"\n", want: []string{"1:5 alert unsupported pseudo-variable name '.FOO'"}},
		{name: "carriage return inside", in: "a b\rc\n", want: []string{"1:4 alert carriage return in the middle of a line"}},
		{name: "carriage return in comment ok", in: "a b # x\ry\n", lines: []string{"a b"}},
		{name: "nul byte", in: "ok\nab\x00c\nok2\n", want: []string{"2:3 alert stray NUL character, line skipped"}, lines: []string{"ok", "ok2"}},
		{name: "nul in comment", in: "# \x00\n", want: []string{"1:3 alert stray NUL character, line skipped"}},
		{name: "invalid utf8", in: "a b\xffc\n", want: []string{"1:4 alert invalid UTF-8"}},
		{name: "invalid utf8 via hex is fine", in: "a \\xff\n", lines: []string{"a \xff"}},
		{name: "utf8 in comment ignored", in: "a # caf\xe9\n", lines: []string{"a"}},
		{name: "valid utf8", in: "description café ☕\n", lines: []string{"description café ☕"}},
		{name: "long line", in: "short\n" + strings.Repeat("x", 11) + "\nok\n", opt: LexOptions{MaxLineLen: 10},
			want: []string{"2:1 alert line too long (11 bytes, limit 10), skipped"}, lines: []string{"short", "ok"}},
		{name: "line at limit", in: strings.Repeat("x", 10) + "\n", opt: LexOptions{MaxLineLen: 10}, lines: []string{strings.Repeat("x", 10)}},
		{name: "missing final LF", in: "a\nb", want: []string{"2:0 warning missing LF on last line, file might have been truncated"}, lines: []string{"a", "b"}},
		{name: "bom", in: "\xef\xbb\xbfglobal\n", want: []string{"1:1 warning UTF-8 byte order mark ignored (HAProxy 2.6 would read it as part of the first word)"}, lines: []string{"global"}},
	})
}

func TestLexTooManyWords(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 70; i++ {
		fmt.Fprintf(&b, "w%d ", i)
	}
	lines, diags := Lex("w.cfg", []byte(b.String()+"\n"), testOpts())
	if len(lines) != 1 || len(lines[0].Words) != 64 {
		t.Fatalf("want one line of 64 words, got %d lines", len(lines))
	}
	if last := lines[0].Words[63].Text; last != "w64" {
		t.Errorf("last word %q, want w64", last)
	}
	// "w65" starts at column 1 + 9*3 + 55*4 = 248.
	want := []string{"1:248 alert too many words, truncating after word 64"}
	if got := []string{diagString(diags[0])}; len(diags) != 1 || got[0] != want[0] {
		t.Errorf("diagnostics %v, want %v", diags, want)
	}
	// Exactly 64 words is fine.
	ws, diags := lexOne(t, strings.Repeat("w ", 64), testOpts())
	if len(ws) != 64 || len(diags) != 0 {
		t.Errorf("64 words: got %d words, %v", len(ws), diags)
	}
}

func TestLexGivesUp(t *testing.T) {
	src := strings.Repeat("\x00garbage\n", 500)
	lines, diags := Lex("bin", []byte(src), testOpts())
	if len(lines) != 0 {
		t.Errorf("got %d lines from garbage", len(lines))
	}
	if len(diags) != maxAlerts+1 {
		t.Fatalf("got %d diagnostics, want %d", len(diags), maxAlerts+1)
	}
	if last := diags[len(diags)-1]; last.Msg != "too many errors, giving up" || last.Pos.Line != maxAlerts {
		t.Errorf("last diagnostic %v", last)
	}
}

func TestLexDirectives(t *testing.T) {
	runDiagCases(t, []diagCase{
		{name: "messages", in: ".diag \"d\"\n.notice \"n m\"\n.warning w\n.alert 'a'\nx\n",
			want:  []string{"1:1 notice d", "2:1 notice n m", "3:1 warning w", "4:1 alert a"},
			lines: []string{"x"}},
		{name: "message without text", in: ".notice\n", want: []string{"1:1 notice "}},
		{name: "message extra args", in: ".warning two words\n",
			want: []string{"1:14 alert Unexpected argument 'words' for '.warning'. Use quotes if the message should contain spaces."}},
		{name: "message expands env", in: ".notice \"user=$HAPROXY_USER\"\n", want: []string{"1:1 notice user=haproxy"}},
		{name: "unknown directive", in: ".iff 1\n.endif\n",
			want: []string{"1:1 alert unknown directive '.iff'", "2:1 alert lone '.endif' with no matching '.if'"}},
		{name: "messages in dropped branch are silent", in: ".if 0\n.alert x\n.endif\n"},
	})
}

func TestLexConditionals(t *testing.T) {
	runDiagCases(t, []diagCase{
		{name: "if true", in: ".if 1\na\n.else\nb\n.endif\nc\n", lines: []string{"a", "c"}},
		{name: "if false", in: ".if 0\na\n.else\nb\n.endif\nc\n", lines: []string{"b", "c"}},
		{name: "empty condition is false", in: ".if\na\n.endif\n.if \"\"\nb\n.endif\n"},
		{name: "elif chain", in: ".if 0\na\n.elif 0\nb\n.elif 1\nc\n.elif 1\nd\n.else\ne\n.endif\n", lines: []string{"c"}},
		{name: "elif not evaluated after taken", in: ".if 1\na\n.elif nosuch(\nb\n.endif\n", lines: []string{"a"}},
		{name: "nested", in: ".if 1\n .if 0\n  a\n .else\n  b\n .endif\n c\n.endif\n", lines: []string{"b", "c"}},
		{name: "nested in dropped not evaluated", in: ".if 0\n .if nosuch(\n  a\n .else\n  b\n .endif\n.else\n c\n.endif\n", lines: []string{"c"}},
		{name: "dropped lines not expanded or checked", in: ".if 0\nx \"$1\" \"unterminated\n.endif\ny\n", lines: []string{"y"}},
		{name: "env in condition", in: ".if streq(\"$WITH_SSL\",yes)\nssl\n.endif\n.if strneq(\"$SSL_ONLY\",no)\nplain\n.endif\n", lines: []string{"ssl"}},
		{name: "quoted directive keyword", in: "\".if\" 1\na\n.endif\n", lines: []string{"a"}},
		{name: "comment after directive", in: ".if 1 # yes\na\n.endif # done\n", lines: []string{"a"}},
		{name: "lone else", in: ".else\na\n", want: []string{"1:1 alert lone '.else' with no matching '.if'"}, lines: []string{"a"}},
		{name: "lone elif", in: ".elif 1\n", want: []string{"1:1 alert lone '.elif' with no matching '.if'"}},
		{name: "lone endif", in: "a\n  .endif\n", want: []string{"2:3 alert lone '.endif' with no matching '.if'"}, lines: []string{"a"}},
		{name: "elif after else", in: ".if 0\n.else\na\n.elif 1\nb\n.endif\n",
			want: []string{"4:1 alert '.elif' after '.else' is not permitted"}, lines: []string{"a", "b"}},
		{name: "else after else", in: ".if 1\n.else\n.else\na\n.endif\n",
			want: []string{"3:1 alert '.else' after '.else' is not permitted"}},
		{name: "else with argument", in: ".if 0\n.else x\na\n.endif y\n",
			want: []string{"2:7 alert Unexpected argument 'x' for '.else'.", "4:8 alert Unexpected argument 'y' for '.endif'."}, lines: []string{"a"}},
		{name: "unterminated if", in: "a\n  .if 1\n.if 0\n.endif\nb\n",
			want: []string{"2:3 alert non-terminated '.if' block"}, lines: []string{"a", "b"}},
		{name: "unterminated nested ifs", in: ".if 1\n .if 0\n",
			want: []string{"1:1 alert non-terminated '.if' block", "2:2 alert non-terminated '.if' block"}},
		{name: "unknown predicate drops whole block", in: ".if foo(1)\na\n.else\nb\n.endif\nc\n",
			want: []string{"1:5 alert unknown predicate 'foo' in conditional expression in '.if'"}, lines: []string{"c"}},
		{name: "error offset inside later word", in: ".if 1 && foo\n.endif\n",
			want: []string{"1:10 alert unparsable conditional expression 'foo' in '.if'"}},
		{name: "trailing garbage", in: ".if 1 )\n.endif\n",
			want: []string{"1:7 alert unexpected character ')' at the end of conditional expression '1 )' in '.if'"}},
		{name: "elif error", in: ".if 0\n.elif streq(a)\na\n.else\nb\n.endif\n",
			want: []string{"2:12 alert missing arguments (got 1/2) in predicate 'streq' used in conditional expression in '.elif'"}},
		{name: "bad quote in evaluated elif drops the rest", in: ".if 0\n.elif \"1\na\n.else\nb\n.endif\n", want: []string{"2:7 alert unmatched quote"}},
		{name: "bad quote after directive in dropped branch", in: ".if 0\n.else \"x\na\n.endif\n", lines: []string{"a"}},
		{name: "version", in: ".if version_atleast(2.6)\na\n.endif\n.if version_before(2.6.12)\nb\n.endif\n", lines: []string{"a"}},
		{name: "version option", in: ".if version_atleast(3.0)\na\n.endif\n", opt: LexOptions{Version: "3.0.1"}, lines: []string{"a"}},
		{name: "features option", in: ".if feature(LUA)\na\n.endif\n.if feature(OPENSSL)\nb\n.endif\n", opt: LexOptions{Features: []string{"LUA"}}, lines: []string{"a"}},
	})
}

// TestLexManualCondExample runs the CM 2.4 nested example for every value
// of A, B, C and D.
func TestLexManualCondExample(t *testing.T) {
	const src = `.if "${A}"
  .if "${B}"
     .notice "A=1, B=1"
  .elif "${C}"
     .notice "A=1, B=0, C=1"
  .elif "${D}"
     .warning "A=1, B=0, C=0, D=1"
  .else
     .alert "A=1, B=0, C=0, D=0"
  .endif
.else
     .notice "A=0"
.endif
`
	for mask := range 16 {
		env := map[string]string{}
		var want string
		for i, n := range []string{"A", "B", "C", "D"} {
			env[n] = fmt.Sprint(mask >> i & 1)
		}
		switch {
		case env["A"] == "0":
			want = "A=0"
		case env["B"] == "1":
			want = "A=1, B=1"
		case env["C"] == "1":
			want = "A=1, B=0, C=1"
		case env["D"] == "1":
			want = "A=1, B=0, C=0, D=1"
		default:
			want = "A=1, B=0, C=0, D=0"
		}
		lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
		_, diags := Lex("m.cfg", []byte(src), LexOptions{Env: lookup})
		if len(diags) != 1 || diags[0].Msg != want {
			t.Errorf("env %v: diagnostics %v, want one %q", env, diags, want)
		}
	}
}

func TestLexNestingLimit(t *testing.T) {
	src := strings.Repeat(".if 1\n", 150) + "x\n"
	_, diags := Lex("n.cfg", []byte(src), testOpts())
	if len(diags) != 1 || diags[0].Msg != "too many nested '.if', max is 100" || diags[0].Pos.Line != 100 {
		t.Errorf("diagnostics %v", diags)
	}
}

func TestLexDefaultEnv(t *testing.T) {
	t.Setenv("BULWARK_LEXER_TEST", "v")
	ws, diags := lexOne(t, `k "$BULWARK_LEXER_TEST"`, LexOptions{})
	if len(diags) != 0 || len(ws) != 2 || ws[1].Text != "v" {
		t.Errorf("got %v %v", ws, diags)
	}
}

// dumpLex renders a Lex result for golden files.
func dumpLex(lines []Line, diags Diagnostics) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%d:%d", l.Pos.Line, l.Pos.Col)
		for _, w := range l.Words {
			q := ""
			if w.Quoted {
				q = "q"
			}
			fmt.Fprintf(&b, " %d%s%q", w.Pos.Col, q, w.Text)
		}
		b.WriteByte('\n')
	}
	b.WriteString("-- diagnostics\n")
	for _, d := range diags {
		b.WriteString(d.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestLexGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "lexer", "*.cfg"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := dumpLex(Lex(filepath.Base(in), src, testOpts()))
			golden := strings.TrimSuffix(in, ".cfg") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from golden file; got:\n%s", in, got)
			}
		})
	}
}

// benchConfig builds a realistic configuration of at least n lines.
func benchConfig(n int) []byte {
	var b strings.Builder
	b.WriteString("global\n    maxconn 50000\n    log \"${LOG_HOST-127.0.0.1}:514\" local0\n\ndefaults\n    mode http\n    timeout client 30s\n")
	// Each iteration below writes 8 lines.
	for i, lines := 0, 7; lines < n; i, lines = i+1, lines+8 {
		fmt.Fprintf(&b, "\n# backend number %d\nbackend be_%d\n", i, i)
		b.WriteString("    balance roundrobin\n    option httpchk GET /health\n")
		b.WriteString("    http-request set-header X-Forwarded-Proto https if { ssl_fc }\n")
		b.WriteString("    http-request set-path '%[path,regsub(\"^/api/(.*)\",/\\1,g)]'\n")
		fmt.Fprintf(&b, "    server s1 10.0.%d.1:8080 check inter 2s weight 10\n", i%256)
		fmt.Fprintf(&b, "    server s2 10.0.%d.2:8080 check inter 2s weight 10 # spare\n", i%256)
	}
	return []byte(b.String())
}

func BenchmarkLex(b *testing.B) {
	src := benchConfig(30000)
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		lines, diags := Lex("bench.cfg", src, LexOptions{Env: testEnv})
		if len(diags) != 0 || len(lines) == 0 {
			b.Fatalf("unexpected result: %d lines, %v", len(lines), diags)
		}
	}
}
