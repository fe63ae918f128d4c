package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ParseOptions controls reading configuration files.
type ParseOptions struct {
	Lex LexOptions
	// MaxFileSize bounds one file (0 = DefaultMaxFileSize). A larger file is
	// refused before it is read, so a 100 MB mistake cannot exhaust memory.
	MaxFileSize int64
}

// DefaultMaxFileSize is far above any real configuration (a 2,000-backend
// file is about 1 MB) and low enough to keep memory bounded.
const DefaultMaxFileSize = 32 << 20

// ExpandPaths turns the -f arguments into the ordered list of files to read.
// A directory contributes its *.cfg files in lexical order, without
// dotfiles, as HAProxy does.
func ExpandPaths(args []string) ([]string, Diagnostics) {
	var files []string
	var ds Diagnostics
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			ds.Alertf(Pos{}, "Cannot open configuration file/directory %s : %v", a, unwrapPathErr(err))
			continue
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			ds.Alertf(Pos{}, "Cannot open configuration directory %s : %v", a, unwrapPathErr(err))
			continue
		}
		var names []string
		for _, e := range ents {
			n := e.Name()
			if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".cfg") || e.IsDir() {
				continue
			}
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			files = append(files, filepath.Join(a, n))
		}
	}
	return files, ds
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// ParseFiles reads, lexes and parses the files named by the -f arguments
// (files or directories) into one AST. Every problem is returned; the AST
// holds whatever parsed, so that the auditor can still work on it.
func ParseFiles(args []string, opt ParseOptions) (*Config, Diagnostics) {
	files, ds := ExpandPaths(args)
	cfg := &Config{}
	limit := opt.MaxFileSize
	if limit <= 0 {
		limit = DefaultMaxFileSize
	}
	for _, f := range files {
		src, err := readBounded(f, limit)
		if err != nil {
			ds.Alertf(Pos{File: f}, "Cannot read configuration file %s : %v", f, err)
			continue
		}
		cfg.Files = append(cfg.Files, f)
		part, pds := Parse(f, src, opt.Lex)
		ds = append(ds, pds...)
		cfg.Sections = append(cfg.Sections, part.Sections...)
	}
	return cfg, ds
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, unwrapPathErr(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("is a directory")
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("file is %d bytes, larger than the %d-byte limit", st.Size(), limit)
	}
	buf := make([]byte, 0, st.Size()+1)
	for {
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("file is larger than the %d-byte limit", limit)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	return buf, nil
}

// Parse lexes and parses one file. A file always starts outside any section:
// HAProxy does not let a file continue the previous file's section.
func Parse(file string, src []byte, opt LexOptions) (*Config, Diagnostics) {
	lines, ds := Lex(file, src, opt)
	cfg := &Config{Files: []string{file}}
	var cur *Section
	for _, ln := range lines {
		first := ln.Words[0]
		if IsSectionKind(first.Text) {
			cur = parseSectionHeader(ln, &ds)
			cfg.Sections = append(cfg.Sections, cur)
			continue
		}
		if cur == nil {
			ds.Alertf(ln.Pos, "unknown keyword '%s' out of section", first.Text)
			continue
		}
		cur.Directives = append(cur.Directives, &Directive{Pos: ln.Pos, Name: first.Text, Args: ln.Words[1:]})
	}
	ds = append(ds, CheckKeywords(cfg)...)
	return cfg, ds
}

// sectionNeedsName lists the sections whose name is mandatory.
var sectionNeedsName = map[string]bool{
	KindFrontend: true, KindBackend: true, KindListen: true, KindUserlist: true,
	KindPeers: true, KindResolvers: true, KindMailers: true, KindProgram: true,
	KindHTTPErrors: true, KindCache: true, KindRing: true, KindLogForward: true, KindFCGIApp: true,
}

// sectionTakesFrom lists the sections that accept "from <defaults>".
var sectionTakesFrom = map[string]bool{
	KindDefaults: true, KindFrontend: true, KindBackend: true, KindListen: true,
}

func parseSectionHeader(ln Line, ds *Diagnostics) *Section {
	kind := ln.Words[0].Text
	s := &Section{Kind: kind, Pos: ln.Pos, Header: ln.Words}
	args := ln.Words[1:]
	if kind == KindGlobal {
		if len(args) > 0 {
			ds.Alertf(args[0].Pos, "'global' section does not take any argument (found '%s')", args[0].Text)
		}
		return s
	}
	if len(args) > 0 && !(args[0].Text == "from" && sectionTakesFrom[kind] && !args[0].Quoted) {
		s.Name, s.NamePos = args[0].Text, args[0].Pos
		args = args[1:]
		if err := CheckProxyName(s.Name); err != nil {
			ds.Alertf(s.NamePos, "%s name '%s' is invalid: %v", kind, s.Name, err)
		}
	}
	if s.Name == "" && sectionNeedsName[kind] {
		ds.Alertf(ln.Pos, "'%s' expects <name> as an argument", kind)
	}
	if len(args) > 0 && args[0].Text == "from" && sectionTakesFrom[kind] {
		if len(args) < 2 {
			ds.Alertf(args[0].Pos, "'%s %s' : 'from' expects a defaults section name", kind, s.Name)
			return s
		}
		s.From, s.FromPos = args[1].Text, args[1].Pos
		args = args[2:]
	}
	if len(args) > 0 && kind != KindMailers && kind != KindPeers && kind != KindResolvers {
		ds.Alertf(args[0].Pos, "'%s %s' : unexpected argument '%s'", kind, s.Name, args[0].Text)
	}
	return s
}

// CheckProxyName applies HAProxy's rule for proxy and section names:
// letters, digits, '-', '_', '.' and ':' only.
func CheckProxyName(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':' {
			continue
		}
		return fmt.Errorf("character '%c' is not permitted (only letters, digits, '-', '_', '.' and ':')", c)
	}
	return nil
}
