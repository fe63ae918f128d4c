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

func unknownKeyword(pos Pos, s *Section, name string, candidates []string) Diagnostic {
	d := Diagnostic{Pos: pos, Severity: SevAlert,
		Msg: fmt.Sprintf("unknown keyword '%s' in '%s' section", name, s.Kind)}
	if sug := Suggest(name, candidates); sug != "" {
		d.Hint = fmt.Sprintf("did you mean '%s' maybe ?", sug)
	}
	return d
}

func checkDirective(s *Section, d *Directive, ds *Diagnostics) {
	name := d.Name
	prefixed := name == "no" || name == "default"
	if prefixed {
		// "no option x" / "default option x" / "no log": the keyword is the
		// next word.
		if len(d.Args) == 0 {
			ds.Alertf(d.Pos, "'%s' expects a keyword after it", name)
			return
		}
		name = d.Args[0].Text
	}
	kw, ok := LookupKeyword(s.Kind, name)
	if !ok {
		*ds = append(*ds, unknownKeyword(d.Pos, s, name, KeywordsFor(s.Kind)))
		return
	}
	proxy := isProxyKind(s.Kind)
	if !ValidInSection(s.Kind, name) {
		if proxy {
			ds.Warnf(d.Pos, "'%s' ignored because %s '%s' has no %s capability", name, s.Kind, s.Name, missingCapability(kw, s.Kind))
			return
		}
		*ds = append(*ds, unknownKeyword(d.Pos, s, name, KeywordsFor(s.Kind)))
		return
	}
	if kw.NamedDefaultsOnly && s.Kind == KindDefaults && s.Name == "" {
		anonymousDefaultsRule(d, name, ds)
	}
	subIdx := 0
	if prefixed {
		subIdx = 1
	}
	if kw.Sub == nil {
		if prefixed && !NegationAllowed(s.Kind, name, "") {
			ds.Alertf(d.Pos, "negation/default is not supported for '%s'", name)
		}
		return
	}
	if len(d.Args) <= subIdx {
		ds.Alertf(d.Pos, "'%s' expects one of: %s", name, listWords(SubKeywordsIn(s.Kind, name), 12))
		return
	}
	w := d.Args[subIdx]
	if _, known := kw.Lookup(w.Text); !known {
		diag := Diagnostic{Pos: w.Pos, Severity: SevAlert,
			Msg: fmt.Sprintf("unknown keyword '%s %s' in '%s' section", name, w.Text, s.Kind)}
		if sug := Suggest(w.Text, SubKeywordsIn(s.Kind, name)); sug != "" {
			diag.Hint = fmt.Sprintf("did you mean '%s %s' maybe ?", name, sug)
		}
		*ds = append(*ds, diag)
		return
	}
	if prefixed && !NegationAllowed(s.Kind, name, w.Text) {
		ds.Alertf(d.Pos, "negation/default is not supported for '%s %s'", name, w.Text)
		return
	}
	if !SubValidIn(s.Kind, name, w.Text) {
		if proxy {
			ds.Warnf(w.Pos, "'%s %s' ignored because %s '%s' has no %s capability", name, w.Text, s.Kind, s.Name, otherSide(s.Kind))
			return
		}
		ds.Alertf(w.Pos, "'%s %s' is not allowed in '%s' section", name, w.Text, s.Kind)
	}
}

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

func contains(list []string, w string) bool {
	for _, s := range list {
		if s == w {
			return true
		}
	}
	return false
}

// anonymousDefaultsRule refuses a rule in an anonymous defaults section
// in HAProxy 2.6.12's own words, which differ by rule set.
func anonymousDefaultsRule(d *Directive, name string, ds *Diagnostics) {
	switch name {
	case "tcp-request":
		ds.Alertf(d.Pos, "tcp-request %s is not allowed in anonymous 'defaults' sections", d.Arg(0))
	case "tcp-response":
		ds.Alertf(d.Pos, "tcp-response %s is only allowed in 'backend' sections or 'defaults' section with a name", d.Arg(0))
	default:
		ds.Alertf(d.Pos, "'%s' not allowed in anonymous 'defaults' section.", name)
	}
}
