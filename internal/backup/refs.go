// Package backup archives a configuration with every file it references
// (HAP-10.1), verifies such an archive against its SHA-256 manifest, and
// restores it without letting an entry escape the destination.
package backup

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"bulwark/internal/config"
)

// Ref is one file the configuration depends on.
type Ref struct {
	Path string     // as resolved on this host
	Pos  config.Pos // where the configuration names it; zero for the config itself
	Why  string     // the directive or option that names it
}

// fileOpts are bind/server options whose value is a file; the flag tells
// whether crt-base (true) or ca-base (false) resolves a relative value.
var fileOpts = map[string]bool{"crt": true, "crt-list": true, "ca-file": false, "crl-file": false,
	"ca-verify-file": false, "ca-sni-file": false, "ca-ignore-err-file": false}

// fileDirectives name their file in the argument at the given index.
var fileDirectives = map[string]int{"lua-load": 0, "lua-load-per-thread": 0, "ssl-dh-param-file": 0,
	"server-state-file": 0, "51degrees-data-file": 0, "wurfl-data-file": 0, "deviceatlas-json-file": 0,
	"h1-case-adjust-file": 0, "ssl-server-verify-file": 0, "errorfile": 1}

// fetchFiles finds file arguments inside sample expressions and actions:
// map*(FILE...), set-map(FILE), del-map(FILE), add-acl(FILE), del-acl(FILE).
var fetchFiles = regexp.MustCompile(`(?:\bmap(?:_[a-z0-9]+)?|set-map|del-map|add-acl|del-acl)\(([^,)\s]+)`)

// References returns every file cfg names, the configuration files first,
// each once, in a stable order. Missing files are returned too, so that
// the caller can report them. A crt directory contributes its files, a
// crt-list its listed certificates, and each certificate its sibling
// .key/.ocsp/.issuer/.sctl files.
func References(cfg *config.Config) []Ref {
	var refs []Ref
	seen := map[string]bool{}
	add := func(r Ref) {
		if r.Path == "" || seen[r.Path] {
			return
		}
		seen[r.Path] = true
		refs = append(refs, r)
	}
	for _, f := range cfg.Files {
		add(Ref{Path: absPath(f), Why: "configuration"})
	}
	crtBase, caBase, stateBase := "", "", ""
	for _, s := range cfg.Sections {
		if s.Kind != config.KindGlobal {
			continue
		}
		for _, d := range s.Directives {
			switch d.Name {
			case "crt-base":
				crtBase = d.Arg(0)
			case "ca-base":
				caBase = d.Arg(0)
			case "server-state-base":
				stateBase = d.Arg(0)
			}
		}
	}
	cfgDir := ""
	if len(cfg.Files) > 0 {
		cfgDir = filepath.Dir(absPath(cfg.Files[0]))
	}
	resolve := func(base, p string) string { return resolvePath(cfgDir, base, p) }
	for _, s := range cfg.Sections {
		for _, d := range s.Directives {
			addCert := func(p string, why string) {
				for _, c := range expandCrt(p) {
					add(Ref{Path: c, Pos: d.Pos, Why: why})
					for _, ext := range []string{".key", ".ocsp", ".issuer", ".sctl"} {
						if _, err := os.Stat(c + ext); err == nil {
							add(Ref{Path: c + ext, Pos: d.Pos, Why: why})
						}
					}
				}
			}
			if i, ok := fileDirectives[d.Name]; ok && i < len(d.Args) {
				base := ""
				if d.Name == "server-state-file" {
					base = stateBase
				}
				add(Ref{Path: resolve(base, d.Arg(i)), Pos: d.Pos, Why: d.Name})
			}
			if d.Name == "filter" && d.Arg(0) == "spoe" {
				for i := 1; i+1 < len(d.Args); i++ {
					if d.Args[i].Text == "config" {
						add(Ref{Path: resolve("", d.Arg(i+1)), Pos: d.Pos, Why: "filter spoe config"})
					}
				}
			}
			if d.Name == "bind" || d.Name == "server" || d.Name == "default-server" {
				for i := 0; i+1 < len(d.Args); i++ {
					crt, ok := fileOpts[d.Args[i].Text]
					if !ok {
						continue
					}
					opt, val := d.Args[i].Text, d.Args[i+1].Text
					if strings.HasPrefix(val, "@") {
						continue // @system-ca and the like
					}
					base := caBase
					if crt {
						base = crtBase
					}
					p := resolve(base, val)
					switch opt {
					case "crt":
						addCert(p, d.Name+" crt")
					case "crt-list":
						add(Ref{Path: p, Pos: d.Pos, Why: d.Name + " crt-list"})
						for _, c := range crtListEntries(p) {
							addCert(resolve(crtBase, c), d.Name+" crt-list entry")
						}
					default:
						add(Ref{Path: p, Pos: d.Pos, Why: d.Name + " " + opt})
					}
				}
			}
			for i, w := range d.Args {
				if w.Text == "-f" && i+1 < len(d.Args) && isPatternDirective(d) {
					add(Ref{Path: resolve("", d.Args[i+1].Text), Pos: d.Pos, Why: "pattern file (-f)"})
				}
				for _, m := range fetchFiles.FindAllStringSubmatch(w.Text, -1) {
					add(Ref{Path: resolve("", m[1]), Pos: d.Pos, Why: "map/ACL file"})
				}
			}
		}
	}
	return refs
}

// isPatternDirective limits "-f FILE" to where it means a pattern file:
// ACL lines and rules with inline conditions.
func isPatternDirective(d *config.Directive) bool {
	switch d.Name {
	case "bind", "server", "default-server", "stats":
		return false
	}
	return true
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// resolvePath applies a base directory, then tries the working directory
// (as HAProxy does) and falls back to the configuration's directory.
func resolvePath(cfgDir, base, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	if base != "" {
		p = filepath.Join(base, p)
		if filepath.IsAbs(p) {
			return p
		}
	}
	if _, err := os.Stat(p); err != nil && cfgDir != "" {
		if alt := filepath.Join(cfgDir, p); fileExists(alt) {
			return alt
		}
	}
	return absPath(p)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// expandCrt lists what a crt value loads: the file, or every certificate of
// a directory (HAProxy skips the sibling key/ocsp/issuer/sctl files, which
// addCert adds back).
func expandCrt(p string) []string {
	st, err := os.Stat(p)
	if err != nil || !st.IsDir() {
		return []string{p}
	}
	ents, _ := os.ReadDir(p)
	var out []string
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		out = append(out, filepath.Join(p, e.Name()))
	}
	sort.Strings(out)
	return out
}

// crtListEntries returns the certificate path of each crt-list line.
func crtListEntries(list string) []string {
	f, err := os.Open(list)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 0 && !strings.HasPrefix(fs[0], "#") {
			out = append(out, fs[0])
		}
	}
	return out
}
