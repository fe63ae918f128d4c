package config

import "strings"

// Word is one argument of a line after quoting, escapes and environment
// expansion have been applied. Pos points at the word's first byte in the
// source text.
type Word struct {
	Pos  Pos
	Text string
	// Quoted is true when any part of the word was quoted; an empty quoted
	// word ("") is still a word, an empty unquoted one cannot exist.
	Quoted bool
}

// Line is one logical statement: the words of a non-empty source line that
// survived conditional blocks.
type Line struct {
	Pos   Pos
	Words []Word
}

// Config is the AST of one or more configuration files, in the order they
// were read.
type Config struct {
	Files    []string
	Sections []*Section
}

// Section kinds, as the section keyword spells them.
const (
	KindGlobal     = "global"
	KindDefaults   = "defaults"
	KindFrontend   = "frontend"
	KindBackend    = "backend"
	KindListen     = "listen"
	KindUserlist   = "userlist"
	KindPeers      = "peers"
	KindResolvers  = "resolvers"
	KindMailers    = "mailers"
	KindProgram    = "program"
	KindHTTPErrors = "http-errors"
	KindCache      = "cache"
	KindRing       = "ring"
	KindLogForward = "log-forward"
	KindFCGIApp    = "fcgi-app"
)

// SectionKinds lists every section keyword the parser recognises.
var SectionKinds = []string{
	KindGlobal, KindDefaults, KindFrontend, KindBackend, KindListen,
	KindUserlist, KindPeers, KindResolvers, KindMailers, KindProgram,
	KindHTTPErrors, KindCache, KindRing, KindLogForward, KindFCGIApp,
}

// IsSectionKind reports whether word starts a section.
func IsSectionKind(word string) bool {
	for _, k := range SectionKinds {
		if k == word {
			return true
		}
	}
	return false
}

// Section is one section of the file with its directives in source order.
type Section struct {
	Kind string
	// Name is empty for global and for anonymous defaults.
	Name    string
	NamePos Pos
	// From names the defaults section given with "from NAME", if any.
	From    string
	FromPos Pos
	Pos     Pos
	// Header holds all words of the section line, for the auditor and for
	// diagnostics about unusual headers.
	Header     []Word
	Directives []*Directive
}

// Directive is one statement inside a section: its keyword (the first
// word) and its arguments. Multi-word keywords ("timeout client",
// "option httplog", "http-request deny") are resolved by consumers; Args
// keeps everything after the first word.
type Directive struct {
	Pos  Pos
	Name string
	Args []Word
}

// Arg returns the text of argument i, or "" when there is none.
func (d *Directive) Arg(i int) string {
	if i < 0 || i >= len(d.Args) {
		return ""
	}
	return d.Args[i].Text
}

// ArgPos returns the position of argument i, or of the directive.
func (d *Directive) ArgPos(i int) Pos {
	if i < 0 || i >= len(d.Args) {
		return d.Pos
	}
	return d.Args[i].Pos
}

// Texts returns the argument texts.
func (d *Directive) Texts() []string {
	out := make([]string, len(d.Args))
	for i, a := range d.Args {
		out[i] = a.Text
	}
	return out
}

// String renders the directive on one line, quoting words that need it.
func (d *Directive) String() string {
	var b strings.Builder
	b.WriteString(d.Name)
	for _, a := range d.Args {
		b.WriteByte(' ')
		b.WriteString(QuoteWord(a.Text))
	}
	return b.String()
}

// QuoteWord returns w in a form the lexer reads back as the same word.
func QuoteWord(w string) string {
	if w == "" {
		return `""`
	}
	if !strings.ContainsAny(w, " \t#'\"\\$\n\r") {
		return w
	}
	if !strings.ContainsAny(w, "'\n\r") {
		return "'" + w + "'"
	}
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		switch c := w[i]; c {
		case ' ', '\t', '#', '\'', '"', '\\', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Find returns the directives of s whose keyword is name, in order.
func (s *Section) Find(name string) []*Directive {
	var out []*Directive
	for _, d := range s.Directives {
		if d.Name == name {
			out = append(out, d)
		}
	}
	return out
}

// SectionsOf returns the sections of the given kind, in order.
func (c *Config) SectionsOf(kind string) []*Section {
	var out []*Section
	for _, s := range c.Sections {
		if s.Kind == kind {
			out = append(out, s)
		}
	}
	return out
}
