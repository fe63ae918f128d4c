package config

import "fmt"

// CheckKeywords flags directives HAProxy 2.6 would not accept in their
// section: unknown keywords are alerts (with a suggestion), a keyword that
// exists but not in this kind of proxy is a warning, as HAProxy reports
// "ignored because ... has no backend capability". The directive stays in
// the AST either way, so the auditor sees what the operator wrote.
func CheckKeywords(cfg *Config) Diagnostics {
	var ds Diagnostics
	for _, s := range cfg.Sections {
		for _, d := range s.Directives {
			checkDirective(s, d, &ds)
		}
	}
	return ds
}

func checkDirective(s *Section, d *Directive, ds *Diagnostics) {
	name := d.Name
	if name == "no" || name == "default" {
		// "no option x" / "default option x" / "no log": the keyword is the
		// next word.
		if len(d.Args) == 0 {
			ds.Alertf(d.Pos, "'%s' expects a keyword after it", name)
			return
		}
		name = d.Args[0].Text
	}
	kw, ok := lookupAny(name)
	if !ok {
		diag := Diagnostic{Pos: d.Pos, Severity: SevAlert,
			Msg: fmt.Sprintf("unknown keyword '%s' in '%s' section", name, s.Kind)}
		if sug := Suggest(name, KeywordsFor(s.Kind)); sug != "" {
			diag.Hint = fmt.Sprintf("did you mean '%s' maybe ?", sug)
		}
		*ds = append(*ds, diag)
		return
	}
	if !ValidInSection(s.Kind, name) {
		if isProxyKind(s.Kind) && kw.Sections&proxyMask != 0 {
			ds.Warnf(d.Pos, "'%s' ignored because %s '%s' has no %s capability", name, s.Kind, s.Name, missingCapability(kw, s.Kind))
			return
		}
		diag := Diagnostic{Pos: d.Pos, Severity: SevAlert,
			Msg: fmt.Sprintf("unknown keyword '%s' in '%s' section", name, s.Kind)}
		if sug := Suggest(name, KeywordsFor(s.Kind)); sug != "" {
			diag.Hint = fmt.Sprintf("did you mean '%s' maybe ?", sug)
		}
		*ds = append(*ds, diag)
		return
	}
	if kw.NamedDefaultsOnly && s.Kind == KindDefaults && s.Name == "" {
		ds.Alertf(d.Pos, "a '%s' rule is not allowed in anonymous 'defaults' section; give the defaults section a name", name)
	}
	subIdx := 0
	if name != d.Name {
		subIdx = 1
	}
	if sub := SubKeywords(name); len(sub) > 0 {
		if len(d.Args) <= subIdx {
			ds.Alertf(d.Pos, "'%s' expects one of: %s", name, listWords(sub, 12))
			return
		}
		w := d.Args[subIdx]
		if !contains(sub, w.Text) {
			diag := Diagnostic{Pos: w.Pos, Severity: SevAlert,
				Msg: fmt.Sprintf("unknown keyword '%s %s' in '%s' section", name, w.Text, s.Kind)}
			if sug := Suggest(w.Text, sub); sug != "" {
				diag.Hint = fmt.Sprintf("did you mean '%s %s' maybe ?", name, sug)
			}
			*ds = append(*ds, diag)
			return
		}
		if name == "option" && isProxyKind(s.Kind) && !OptionValidIn(w.Text, s.Kind) {
			ds.Warnf(w.Pos, "'option %s' ignored because %s '%s' has no %s capability", w.Text, s.Kind, s.Name, otherSide(s.Kind))
		}
	}
}

func lookupAny(name string) (*Keyword, bool) {
	for _, k := range SectionKinds {
		if kw, ok := LookupKeyword(k, name); ok {
			return kw, true
		}
	}
	return nil, false
}

const proxyMask = SecDefaults | SecFrontend | SecListen | SecBackend

func isProxyKind(kind string) bool {
	return kind == KindFrontend || kind == KindBackend || kind == KindListen || kind == KindDefaults
}

func missingCapability(kw *Keyword, kind string) string {
	if kind == KindFrontend && kw.Sections&SecBackend != 0 {
		return "backend"
	}
	if kind == KindBackend && kw.Sections&SecFrontend != 0 {
		return "frontend"
	}
	return otherSide(kind)
}

func otherSide(kind string) string {
	if kind == KindFrontend {
		return "backend"
	}
	return "frontend"
}

func contains(list []string, w string) bool {
	for _, s := range list {
		if s == w {
			return true
		}
	}
	return false
}

func listWords(list []string, max int) string {
	out := ""
	for i, w := range list {
		if i == max {
			return out + ", ..."
		}
		if i > 0 {
			out += ", "
		}
		out += "'" + w + "'"
	}
	return out
}
