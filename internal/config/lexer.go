package config

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// LexOptions parameterises Lex and EvalCond.
type LexOptions struct {
	// Env looks up environment variables; nil means os.LookupEnv.
	Env func(name string) (string, bool)
	// Version is the HAProxy version the conditions compare against
	// (version_atleast/version_before); "" means "2.6.12".
	Version string
	// Features are the names feature(NAME) reports as present; nil means
	// DefaultFeatures.
	Features []string
	// MaxLineLen bounds one physical line (0 = 65536); longer lines are an
	// alert with their position and are skipped.
	MaxLineLen int
}

// DefaultFeatures is what Bulwark supports, named as in the "Feature list"
// of haproxy -vv (the USE_* build options of HAProxy 2.6's Makefile), so
// that ".if feature(X)" picks the branch that matches what Bulwark can do,
// and "bulwark -vv" prints the same list (a test ties each name to what
// exists):
//
//   - EPOLL: the Go runtime's poller is epoll on Linux (and the only one:
//     no POLL, no select);
//   - THREAD: goroutines serve connections on several threads ("nbthread"
//     sets how many);
//   - LINUX_SPLICE: "option splice-*" splices HTTP/1 bodies and tunnels
//     (splice(2) through a pipe), and a TCP tunnel without timeouts copies
//     with io.Copy between the two sockets, which splices;
//   - TPROXY/LINUX_TPROXY/NETFILTER: "bind ... transparent" and "source
//     ... usesrc" set IP_TRANSPARENT, and "option transparent" reads
//     netfilter's SO_ORIGINAL_DST;
//   - ACCEPT4: what the Go net package accepts with;
//   - OPENSSL: TLS termination and origination exist (Go crypto/tls, not
//     OpenSSL), which is what configurations test before "bind ... ssl";
//   - PRCTL: workers start with PR_SET_NO_NEW_PRIVS;
//   - PROMEX: the "prometheus-exporter" service exists;
//   - SYSTEMD: readiness for systemd (sd_notify, go-systemd);
//   - ZLIB: HTTP compression exists (deflate and gzip with
//     klauspost/compress, not zlib), which is what configurations test
//     before "compression algo gzip";
//   - BULWARK: this program. HAProxy evaluates an unknown feature as false,
//     so ".if feature(BULWARK)" blocks hold the Bulwark-only directives
//     (docs/extensions.md) and the file stays valid for "haproxy -c".
//
// The other names of HAProxyFeatures are absent: PCRE/PCRE2 (regexes are
// RE2, whose syntax differs), LUA, QUIC, SLZ (libslz itself),
// NS, TFO, CPU_AFFINITY (cpu-map has no
// effect), GETADDRINFO (names resolve with Go's own resolver), crypt(3)
// (the "$5$"/"$6$" password hashes are Bulwark's own code), the device
// detection modules, OpenTracing.
var DefaultFeatures = []string{
	"ACCEPT4", "EPOLL", "LINUX_SPLICE", "OPENSSL", "PRCTL", "PROMEX", "SYSTEMD", "THREAD", "ZLIB",
	"TPROXY", "LINUX_TPROXY", "NETFILTER", "BULWARK",
}

// HAProxyFeatures are the names of HAProxy 2.6's "Feature list", each of
// which "bulwark -vv" prints with "+" or "-".
var HAProxyFeatures = []string{
	"51DEGREES", "ACCEPT4", "BACKTRACE", "CLOSEFROM", "CPU_AFFINITY", "CRYPT_H", "DEVICEATLAS",
	"DL", "ENGINE", "EPOLL", "EVPORTS", "GETADDRINFO", "KQUEUE", "LIBCRYPT", "LINUX_SPLICE",
	"LINUX_TPROXY", "LUA", "MEMORY_PROFILING", "NETFILTER", "NS", "OBSOLETE_LINKER", "OPENSSL",
	"OT", "PCRE", "PCRE2", "PCRE2_JIT", "PCRE_JIT", "POLL", "PRCTL", "PROCCTL", "PROMEX", "QUIC",
	"RT", "SLZ", "STATIC_PCRE", "STATIC_PCRE2", "SYSTEMD", "TFO", "THREAD", "THREAD_DUMP",
	"TPROXY", "WURFL", "ZLIB",
}

const (
	defaultMaxLineLen = 65536
	// maxLineArgs is HAProxy's MAX_LINE_ARGS.
	maxLineArgs = 64
	// maxNestedConds is HAProxy's MAXNESTEDCONDS.
	maxNestedConds = 100
	// maxAlerts stops a file that is not a configuration (binary garbage)
	// from producing one alert per line.
	maxAlerts = 100
)

// condFrame is one open .if level.
type condFrame struct {
	pos Pos
	// active: lines in the current branch are kept.
	active bool
	// taken: a branch of this level was already kept, or an outer level
	// masks this one, so later .elif/.else branches must be dropped.
	taken   bool
	sawElse bool
}

type lexer struct {
	file    string
	opt     LexOptions
	diags   Diagnostics
	alerts  int
	stop    bool
	section string
	kind    string // keyword of the section being read
	lineNo  int
	// env is what setenv, presetenv, unsetenv and resetenv in global did
	// to the environment seen by later lines (nil value: unset); with
	// reset, names not in env are unset too.
	env   map[string]*string
	reset bool
	conds []condFrame
	lines []Line

	// Scratch reused across lines: the bytes of all words of the line
	// being split, and where each word lies in it.
	buf   []byte
	spans []span
	// slab hands out the Words of successive lines from one allocation.
	slab []Word
}

// wordSlab is how many Words are allocated at once.
const wordSlab = 512

type span struct {
	start, end int // in lexer.buf
	col        int
	quoted     bool
}

// lexError is a syntax error of one line: 1-based byte column and message.
type lexError struct {
	col int
	msg string
}

// Lex splits src into logical lines of words. It applies quoting, escapes,
// environment expansion and conditional blocks; .diag/.notice/.warning/
// .alert become diagnostics (.alert is fatal = SevAlert; .warning
// SevWarning; .notice/.diag SevNotice). Comments and blank lines produce no
// Line.
//
// Deliberate differences from HAProxy 2.6:
//   - lines inside a false .if branch are only scanned for nesting
//     directives, neither expanded nor checked (HAProxy tokenises them and
//     fails on a bad quote there);
//   - a condition error, .alert or a bad .else/.endif does not stop reading
//     the file, so that one run lists every problem; a failed condition
//     drops every branch of its level;
//   - a trailing backslash, a carriage return inside a line, invalid UTF-8
//     outside comments and overlong lines are alerts (HAProxy keeps the
//     backslash, cuts the line at the CR, ignores encodings and has no
//     length limit);
//   - a missing LF at the end of the file is a warning, not HAProxy's alert,
//     and a UTF-8 byte order mark is skipped with a warning;
//   - "\<TAB>" yields a tab as the manual's table says (2.6's parser keeps
//     the backslash and splits), but "\$" outside quotes keeps its
//     backslash as 2.6's parser does (the manual says "$"): see escape.
func Lex(file string, src []byte, opt LexOptions) ([]Line, Diagnostics) {
	if opt.Env == nil {
		opt.Env = os.LookupEnv
	}
	if opt.MaxLineLen <= 0 {
		opt.MaxLineLen = defaultMaxLineLen
	}
	l := &lexer{file: file, opt: opt}
	// Most lines of a configuration are statements: sizing for all of
	// them avoids regrowing a large slice of pointer-holding structs.
	// The cap keeps a file of blank lines from reserving memory it will
	// never use.
	l.lines = make([]Line, 0, min(bytes.Count(src, []byte{'\n'})+1, 1<<16))
	if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) {
		l.diags.Warnf(Pos{File: file, Line: 1, Col: 1}, "UTF-8 byte order mark ignored (HAProxy 2.6 would read it as part of the first word)")
		src = src[3:]
	}
	lineNo := 0
	for off := 0; off < len(src) && !l.stop; {
		lineNo++
		line := src[off:]
		if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
			line = line[:nl]
			off += nl + 1
		} else {
			off = len(src)
			if len(bytes.TrimLeft(line, " \t\r")) > 0 {
				// HAProxy 2.6 refuses this ("Missing LF on last line, file
				// might have been truncated"); a warning keeps hand-made
				// files usable while still flagging possible truncation.
				l.diags.Warnf(Pos{File: file, Line: lineNo}, "missing LF on last line, file might have been truncated")
			}
		}
		l.physLine(line, lineNo)
	}
	if !l.stop {
		for _, c := range l.conds {
			l.alertf(c.pos, "non-terminated '.if' block")
		}
	}
	return l.lines, l.diags
}

func (l *lexer) alertf(pos Pos, format string, args ...any) {
	if l.stop {
		return
	}
	l.diags.Alertf(pos, format, args...)
	l.alerts++
	if l.alerts >= maxAlerts {
		l.diags.Alertf(pos, "too many errors, giving up")
		l.stop = true
	}
}

func (l *lexer) pos(line, col int) Pos { return Pos{File: l.file, Line: line, Col: col} }

func (l *lexer) active() bool { return len(l.conds) == 0 || l.conds[len(l.conds)-1].active }

func (l *lexer) physLine(line []byte, n int) {
	l.lineNo = n
	if len(line) > l.opt.MaxLineLen {
		l.alertf(l.pos(n, 1), "line too long (%d bytes, limit %d), skipped", len(line), l.opt.MaxLineLen)
		return
	}
	if i := bytes.IndexByte(line, 0); i >= 0 {
		l.alertf(l.pos(n, i+1), "stray NUL character, line skipped")
		return
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if !l.active() {
		l.inactiveLine(line, n)
		return
	}
	words, ok := l.words(line, n)
	if !ok || len(words) == 0 {
		return
	}
	if strings.HasPrefix(words[0].Text, ".") {
		l.directive(words)
		return
	}
	if IsSectionKind(words[0].Text) {
		// CM 2.3 .SECTION: the section's name, or its keyword when it has
		// none; set after the header line itself was expanded, and from the
		// second word whatever it is, as 2.6 does.
		l.section = words[0].Text
		if len(words) > 1 {
			l.section = words[1].Text
		}
		l.kind = words[0].Text
	}
	if l.kind == KindGlobal {
		l.envDirective(words)
	}
	l.lines = append(l.lines, Line{Pos: words[0].Pos, Words: words})
}

// envDirective applies setenv, presetenv, unsetenv and resetenv as HAProxy
// does while it reads global: "${NAME}" on the lines after them sees the
// change. Wrong arity is the model's to report.
func (l *lexer) envDirective(words []Word) {
	set := func(name string, v *string) {
		if l.env == nil {
			l.env = map[string]*string{}
		}
		l.env[name] = v
	}
	switch words[0].Text {
	case "setenv", "presetenv":
		if len(words) != 3 {
			return
		}
		if _, exists := l.lookupEnv(words[1].Text); words[0].Text == "presetenv" && exists {
			return
		}
		v := words[2].Text
		set(words[1].Text, &v)
	case "unsetenv":
		for _, w := range words[1:] {
			set(w.Text, nil)
		}
	case "resetenv":
		keep := map[string]*string{}
		for _, w := range words[1:] {
			if v, ok := l.lookupEnv(w.Text); ok {
				keep[w.Text] = &v
			}
		}
		l.env, l.reset = keep, true
	}
}

// lookupEnv is the environment as the current line sees it.
func (l *lexer) lookupEnv(name string) (string, bool) {
	if v, ok := l.env[name]; ok {
		if v == nil {
			return "", false
		}
		return *v, true
	}
	if l.reset {
		return "", false
	}
	return l.opt.Env(name)
}

// inactiveLine handles a line of a dropped branch: only the directives that
// change nesting matter, and nothing is expanded or reported unless an
// .elif condition has to be evaluated.
func (l *lexer) inactiveLine(line []byte, n int) {
	// A syntax error later in the line does not hide a leading directive:
	// the words finished before it are still good.
	if l.split(line, n, false); len(l.spans) == 0 {
		return
	}
	switch string(l.buf[l.spans[0].start:l.spans[0].end]) {
	case ".if", ".else", ".endif":
	case ".elif":
		if top := l.conds[len(l.conds)-1]; top.taken || top.sawElse {
			break
		}
		// This branch may be taken: its condition is read for real. If it
		// cannot be read, no later branch of this level is taken either.
		if words, ok := l.words(line, n); ok {
			l.directive(words)
		} else {
			l.conds[len(l.conds)-1].taken = true
		}
		return
	default:
		return
	}
	// Only the keyword and a possible stray argument matter here.
	l.spans = l.spans[:min(len(l.spans), 2)]
	l.directive(l.collect())
}

// words splits an active line with expansion, reporting errors.
func (l *lexer) words(line []byte, n int) ([]Word, bool) {
	err := l.split(line, n, true)
	if err != nil {
		l.alertf(l.pos(n, err.col), "%s", err.msg)
		return nil, false
	}
	// Truncating before collect keeps the dropped words from being
	// allocated at all.
	if len(l.spans) > maxLineArgs {
		l.alertf(l.pos(n, l.spans[maxLineArgs].col), "too many words, truncating after word %d", maxLineArgs)
		l.spans = l.spans[:maxLineArgs]
		l.buf = l.buf[:l.spans[maxLineArgs-1].end]
	}
	return l.collect(), true
}

// collect turns the spans of the last split into Words, with one string
// allocation for the whole line.
func (l *lexer) collect() []Word {
	if len(l.spans) == 0 {
		return nil
	}
	s := string(l.buf)
	n := len(l.spans)
	if n > len(l.slab) {
		l.slab = make([]Word, max(n, wordSlab))
	}
	words := l.slab[:n:n]
	l.slab = l.slab[n:]
	for i, sp := range l.spans {
		words[i] = Word{Pos: l.pos(l.lineNo, sp.col), Text: s[sp.start:sp.end], Quoted: sp.quoted}
	}
	return words
}

// split tokenises one line into l.buf/l.spans (CM 2.1, 2.2, 2.3).
// With expand false (dropped branches), "$" is not interpreted and
// content checks are skipped.
func (l *lexer) split(line []byte, n int, expand bool) *lexError {
	l.buf = l.buf[:0]
	l.spans = l.spans[:0]
	inWord := false
	var cur span
	var sq, dq bool
	quoteCol := 0
	begin := func(col int) {
		inWord = true
		cur = span{start: len(l.buf), col: col}
	}
	finish := func() {
		if inWord {
			cur.end = len(l.buf)
			l.spans = append(l.spans, cur)
			inWord = false
		}
	}
	i := 0
	end := len(line)
	for i < len(line) {
		c := line[i]
		if !sq && !dq {
			if c == ' ' || c == '\t' || c == '\v' || c == '\f' {
				finish()
				i++
				continue
			}
			if c == '#' {
				end = i
				break
			}
		}
		if c == '\r' {
			return &lexError{i + 1, "carriage return in the middle of a line"}
		}
		if !inWord {
			begin(i + 1)
		}
		switch {
		case sq:
			// CM 2.2: inside single quotes nothing is interpreted.
			if c == '\'' {
				sq = false
			} else {
				l.buf = append(l.buf, c)
			}
			i++
		case c == '\'' && !dq:
			sq, cur.quoted, quoteCol = true, true, i+1
			i++
		case c == '"':
			dq = !dq
			cur.quoted, quoteCol = true, i+1
			i++
		case c == '\\':
			adv, err := l.escape(line, i, dq)
			if err != nil {
				return err
			}
			i += adv
		case c == '$' && dq && expand:
			// CM 2.3: "Those variables are interpreted only within double
			// quotes"; an unquoted $ is an ordinary character in 2.6.
			adv, err := l.expandVar(line, i, n, &cur, begin, finish)
			if err != nil {
				return err
			}
			i += adv
		default:
			l.buf = append(l.buf, c)
			i++
		}
	}
	if sq || dq {
		return &lexError{quoteCol, "unmatched quote"}
	}
	finish()
	if expand && !utf8.Valid(line[:end]) {
		return &lexError{firstInvalidUTF8(line[:end]) + 1, "invalid UTF-8"}
	}
	return nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// escape handles a backslash at line[i] and returns how many bytes it used.
// It follows the CM 2.2 table, with one exception taken from 2.6's parser
// rather than its manual: outside double quotes "\$" keeps its backslash
// (the manual's table says it yields "$"), because regexes such as
// `path_reg ^/a\$` depend on what HAProxy really does. Unknown sequences
// such as "\d" or "\1" stay as written, as in HAProxy.
func (l *lexer) escape(line []byte, i int, dq bool) (int, *lexError) {
	if i+1 >= len(line) {
		if dq {
			l.buf = append(l.buf, '\\')
			return 1, nil // the unmatched quote is reported instead
		}
		return 0, &lexError{i + 1, "trailing backslash (HAProxy has no line continuation)"}
	}
	switch d := line[i+1]; d {
	case ' ', '\t', '\\', '#', '\'', '"':
		l.buf = append(l.buf, d)
	case 't':
		l.buf = append(l.buf, '\t')
	case 'n':
		l.buf = append(l.buf, '\n')
	case 'r':
		l.buf = append(l.buf, '\r')
	case '$':
		if !dq {
			l.buf = append(l.buf, '\\')
		}
		l.buf = append(l.buf, '$')
	case 'x':
		if i+3 >= len(line) || !isHex(line[i+2]) || !isHex(line[i+3]) {
			return 0, &lexError{i + 1, "truncated or invalid hexadecimal sequence"}
		}
		l.buf = append(l.buf, unhex(line[i+2])<<4|unhex(line[i+3]))
		return 4, nil
	default:
		l.buf = append(l.buf, '\\')
		return 1, nil
	}
	return 2, nil
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func isVarStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isVarChar(c byte) bool { return isVarStart(c) || c >= '0' && c <= '9' }

// expandVar expands $NAME, ${NAME}, ${NAME-default} or ${NAME[*]} at
// line[i] (CM 2.3) and returns how many bytes it used. An unset variable
// expands to nothing; the default applies only when the variable is unset,
// not when it is empty. With [*] the value is split on spaces into several
// words, wherever in the word the expansion sits, as 2.6 does.
func (l *lexer) expandVar(line []byte, i, n int, cur *span, begin func(int), finish func()) (int, *lexError) {
	j := i + 1
	brace := -1
	if j < len(line) && line[j] == '{' {
		brace = j
		j++
	}
	if j >= len(line) || !(isVarStart(line[j]) || line[j] == '.') {
		return 0, &lexError{j + 1, "forbidden first char in environment variable name"}
	}
	nameStart := j
	if line[j] == '.' {
		j++ // pseudo-variables are the only names with a dot
	}
	for j < len(line) && isVarChar(line[j]) {
		j++
	}
	name := string(line[nameStart:j])
	var value string
	var set bool
	if name[0] == '.' {
		set = true
		switch name {
		case ".LINE":
			value = strconv.Itoa(n)
		case ".FILE":
			value = l.file
		case ".SECTION":
			value = l.section
		default:
			return 0, &lexError{nameStart + 1, fmt.Sprintf("unsupported pseudo-variable name '%s'", name)}
		}
	} else {
		value, set = l.lookupEnv(name)
	}
	wordExpand := false
	if brace >= 0 && j < len(line) && line[j] == '[' {
		if j+2 >= len(line) || line[j+1] != '*' || line[j+2] != ']' {
			return 0, &lexError{j + 1, "truncated or invalid word expansion sequence"}
		}
		wordExpand = true
		j += 3
	}
	if brace >= 0 {
		switch {
		case j < len(line) && line[j] == '-':
			// The default runs raw up to the next '}', quotes and all.
			k := bytes.IndexByte(line[j:], '}')
			if k < 0 {
				return 0, &lexError{brace + 1, "unmatched brace in environment variable name"}
			}
			if !set {
				value = string(line[j+1 : j+k])
			}
			j += k + 1
		case j < len(line) && line[j] == '}':
			j++
		default:
			return 0, &lexError{brace + 1, "unmatched brace in environment variable name"}
		}
	}
	if !wordExpand {
		l.buf = append(l.buf, value...)
		return j - i, nil
	}
	for k := 0; k < len(value); {
		c := value[k]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' {
			finish()
			for k < len(value) && strings.IndexByte(" \t\n\r\v\f", value[k]) >= 0 {
				k++
			}
			begin(i + 1)
			cur.quoted = true
			continue
		}
		l.buf = append(l.buf, c)
		k++
	}
	return j - i, nil
}

// directive runs a dot-directive of CM 2.4. For .if/.elif the words after
// the keyword form the condition.
func (l *lexer) directive(words []Word) {
	w0 := words[0]
	kw := w0.Text
	extra := func(max int) bool {
		if len(words) > max {
			msg := "Unexpected argument '%s' for '%s'."
			if max == 2 {
				msg += " Use quotes if the message should contain spaces."
			}
			l.alertf(words[max].Pos, msg, words[max].Text, kw)
			return true
		}
		return false
	}
	switch kw {
	case ".if":
		if len(l.conds) >= maxNestedConds-1 {
			l.alertf(w0.Pos, "too many nested '.if', max is %d", maxNestedConds)
			l.stop = true
			return
		}
		// Inside a dropped branch the new level is masked: never taken.
		f := condFrame{pos: w0.Pos, taken: true}
		if l.active() {
			v, ok := l.cond(words)
			// A condition in error drops every branch of its level.
			f.active, f.taken = v, v || !ok
		}
		l.conds = append(l.conds, f)
	case ".elif":
		top := l.top(kw, w0.Pos)
		if top == nil {
			return
		}
		if top.sawElse {
			l.alertf(w0.Pos, "'.elif' after '.else' is not permitted")
			return
		}
		if top.taken {
			top.active = false
			return
		}
		v, ok := l.cond(words)
		top.active, top.taken = v, v || !ok
	case ".else":
		extra(1)
		top := l.top(kw, w0.Pos)
		if top == nil {
			return
		}
		if top.sawElse {
			l.alertf(w0.Pos, "'.else' after '.else' is not permitted")
			return
		}
		top.active, top.taken, top.sawElse = !top.taken, true, true
	case ".endif":
		extra(1)
		if l.top(kw, w0.Pos) != nil {
			l.conds = l.conds[:len(l.conds)-1]
		}
	case ".diag", ".notice", ".warning", ".alert":
		if extra(2) {
			return
		}
		msg := ""
		if len(words) > 1 {
			msg = words[1].Text
		}
		switch kw {
		case ".alert":
			l.alertf(w0.Pos, "%s", msg)
		case ".warning":
			l.diags.Warnf(w0.Pos, "%s", msg)
		default:
			l.diags.Noticef(w0.Pos, "%s", msg)
		}
	default:
		l.alertf(w0.Pos, "unknown directive '%s'", kw)
	}
}

// top returns the innermost open level, or reports a lone directive.
func (l *lexer) top(kw string, pos Pos) *condFrame {
	if len(l.conds) == 0 {
		l.alertf(pos, "lone '%s' with no matching '.if'", kw)
		return nil
	}
	return &l.conds[len(l.conds)-1]
}

// cond evaluates the condition of an .if/.elif line; ok is false when the
// condition is in error, which has then been reported.
func (l *lexer) cond(words []Word) (v, ok bool) {
	texts := make([]string, 0, len(words)-1)
	starts := make([]int, 0, len(words)-1)
	off := 0
	for _, w := range words[1:] {
		starts = append(starts, off)
		texts = append(texts, w.Text)
		off += len(w.Text) + 1
	}
	v, err := evalCondText(strings.Join(texts, " "), &l.opt)
	if err == nil {
		return v, true
	}
	// Point at the word holding the offending character; inside it the
	// offset is exact unless quotes or escapes were removed before it.
	pos := words[0].Pos
	if ce, isCond := err.(*condError); isCond && len(starts) > 0 {
		k := 0
		for k+1 < len(starts) && starts[k+1] <= ce.off {
			k++
		}
		pos = words[k+1].Pos
		if d := ce.off - starts[k]; d >= 0 && d <= len(texts[k]) && !words[k+1].Quoted {
			pos.Col += d
		}
	}
	l.alertf(pos, "%s in '%s'", err.Error(), words[0].Text)
	return false, false
}
