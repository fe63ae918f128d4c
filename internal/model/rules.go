package model

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"bulwark/internal/config"
	"bulwark/internal/units"
)

// PredefinedACLs are the ACL names HAProxy declares itself (CM 7.4).
var PredefinedACLs = map[string]bool{
	"FALSE": true, "HTTP": true, "HTTP_1.0": true, "HTTP_1.1": true, "HTTP_2.0": true,
	"HTTP_CONTENT": true, "HTTP_URL_ABS": true, "HTTP_URL_SLASH": true, "HTTP_URL_STAR": true,
	"LOCALHOST": true, "METH_CONNECT": true, "METH_DELETE": true, "METH_GET": true,
	"METH_HEAD": true, "METH_OPTIONS": true, "METH_POST": true, "METH_PUT": true,
	"METH_TRACE": true, "RDP_COOKIE": true, "REQ_CONTENT": true, "TRUE": true, "WAIT_END": true,
}

func (c *compiler) acl(p *Proxy, d *config.Directive) {
	if len(d.Args) < 2 {
		c.ds.Alertf(d.Pos, "'acl' expects an ACL name and a criterion")
		return
	}
	name := d.Arg(0)
	if err := config.CheckProxyName(name); err != nil {
		c.ds.Alertf(d.ArgPos(0), "ACL name '%s' is invalid: %v", name, err)
		return
	}
	if PredefinedACLs[name] {
		c.ds.Warnf(d.ArgPos(0), "acl '%s' : this name is reserved for a predefined ACL; the predefined one wins", name)
	}
	p.ACLs = append(p.ACLs, &ACL{Pos: d.Pos, Name: name, Fetch: d.Arg(1), Args: d.Args[2:]})
}

// hasACL reports whether name is declared in p (before this point) or predefined.
func hasACL(p *Proxy, name string) bool {
	if PredefinedACLs[name] {
		return true
	}
	for _, a := range p.ACLs {
		if a.Name == name {
			return true
		}
	}
	return false
}

// splitCond finds the first unquoted "if"/"unless" word at or after start
// and returns the words before it and the condition words (with the
// keyword).
func splitCond(args []config.Word) (before, cond []config.Word) {
	for i, w := range args {
		if !w.Quoted && (w.Text == "if" || w.Text == "unless") {
			return args[:i], args[i:]
		}
	}
	return args, nil
}

// cond parses "if|unless <condition>" (CM 7.2).
func (c *compiler) cond(p *Proxy, words []config.Word, at config.Pos) (*Cond, bool) {
	if len(words) == 0 {
		return nil, true
	}
	kw := words[0]
	if kw.Text != "if" && kw.Text != "unless" {
		c.ds.Alertf(kw.Pos, "expects 'if' or 'unless' followed by a condition, found '%s'", kw.Text)
		return nil, false
	}
	cd := &Cond{Pos: kw.Pos, Unless: kw.Text == "unless"}
	words = words[1:]
	if len(words) == 0 {
		c.ds.Alertf(kw.Pos, "missing condition after '%s'", kw.Text)
		return nil, false
	}
	var term []CondACL
	neg := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w.Text == "||" || strings.EqualFold(w.Text, "or"):
			if len(term) == 0 || neg {
				c.ds.Alertf(w.Pos, "missing ACL before '%s'", w.Text)
				return nil, false
			}
			cd.Terms = append(cd.Terms, term)
			term = nil
		case w.Text == "!":
			neg = !neg
		case strings.TrimLeft(w.Text, "!") == "{" && !w.Quoted:
			// "!{" negates an anonymous ACL, as "! {" does.
			if len(w.Text)%2 == 0 {
				neg = !neg
			}
			end := -1
			depth := 0
			for j := i + 1; j < len(words); j++ {
				if words[j].Text == "{" && !words[j].Quoted {
					depth++
				}
				if words[j].Text == "}" && !words[j].Quoted {
					if depth == 0 {
						end = j
						break
					}
					depth--
				}
			}
			if end < 0 {
				c.ds.Alertf(w.Pos, "missing closing '}' in condition")
				return nil, false
			}
			body := words[i+1 : end]
			if len(body) == 0 {
				c.ds.Alertf(w.Pos, "empty anonymous ACL '{ }'")
				return nil, false
			}
			term = append(term, CondACL{Pos: w.Pos, Neg: neg,
				Anon: &ACL{Pos: w.Pos, Fetch: body[0].Text, Args: body[1:]}})
			neg = false
			i = end
		case w.Text == "}":
			c.ds.Alertf(w.Pos, "unexpected '}' in condition")
			return nil, false
		default:
			name := w.Text
			for strings.HasPrefix(name, "!") {
				neg = !neg
				name = name[1:]
			}
			if !hasACL(p, name) {
				c.ds.Alertf(w.Pos, "no such ACL : '%s'", name)
				return nil, false
			}
			term = append(term, CondACL{Pos: w.Pos, Neg: neg, Name: name})
			neg = false
		}
	}
	if len(term) == 0 || neg {
		c.ds.Alertf(at, "incomplete condition after '%s'", kw.Text)
		return nil, false
	}
	cd.Terms = append(cd.Terms, term)
	return cd, true
}

// rule builds a Rule from a directive whose action starts at Args[skip].
func (c *compiler) rule(p *Proxy, d *config.Directive, keyword string, skip int) *Rule {
	if len(d.Args) <= skip && d.Name != "redirect" {
		c.ds.Alertf(d.Pos, "'%s' expects an action", keyword)
		return nil
	}
	before, condWords := splitCond(d.Args[skip:])
	r := &Rule{Pos: d.Pos, Keyword: keyword}
	if len(before) > 0 {
		r.Action, r.ActionArg = splitAction(before[0].Text)
		r.Args = before[1:]
	}
	cd, ok := c.cond(p, condWords, d.Pos)
	if !ok {
		return nil
	}
	r.Cond = cd
	return r
}

// splitAction separates an action's parenthesised argument:
// "set-var(txn.x)" is action "set-var" with argument "txn.x".
func splitAction(word string) (name, arg string) {
	i := strings.IndexByte(word, '(')
	if i <= 0 || !strings.HasSuffix(word, ")") {
		return word, ""
	}
	return word[:i], word[i+1 : len(word)-1]
}

// parenRequired are the actions whose argument must be given in
// parentheses; parenOptional may have one ("sc-inc-gpc0(1)" names the
// counter, sticky counter 0 without it).
var (
	parenRequired = set("set-var", "unset-var", "set-var-fmt", "sc-inc-gpc", "sc-set-gpt",
		"sc-add-gpc", "add-acl", "del-acl", "set-map", "del-map", "do-resolve")
	parenOptional = set("sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt0")
)

// actionName returns the action's name for table lookups, and whether its
// parentheses are as the action requires.
func actionName(word string) (string, bool) {
	name, arg := splitAction(word)
	if name == word {
		return name, !parenRequired[name]
	}
	return name, (parenRequired[name] || parenOptional[name]) && arg != ""
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

func (c *compiler) httpRule(p *Proxy, s *config.Section, d *config.Directive, inherited bool) {
	if len(d.Args) == 0 {
		c.ds.Alertf(d.Pos, "'%s' expects an action", d.Name)
		return
	}
	// Whether Bulwark runs the action is the rule compiler's registry's
	// call (internal/rules); here only HAProxy 2.6's list decides what is
	// an action at all, so the two cannot drift.
	act, okParen := actionName(d.Arg(0))
	if !config.IsAction(d.Name, d.Arg(0)) || !okParen {
		diag := config.Diagnostic{Pos: d.ArgPos(0), Severity: config.SevAlert,
			Msg: "'" + d.Name + "' unknown action '" + d.Arg(0) + "'"}
		if sug := config.Suggest(act, config.Actions(d.Name)); sug != "" {
			diag.Hint = "did you mean '" + sug + "' maybe ?"
		}
		c.ds = append(c.ds, diag)
		return
	}
	if p.Mode == ModeTCP && !inherited && p.Cap&CapDefaults == 0 {
		// Said once the section is read (finishProxy): a switch-mode
		// rule, wherever it stands, makes them apply.
		p.httpInTCP = append(p.httpInTCP, d)
	}
	r := c.rule(p, d, d.Name, 0)
	if r == nil {
		return
	}
	r.FromDefaults = inherited
	if d.Name == "http-request" && !inherited && (len(p.UseBackends) > 0 || len(p.Redirects) > 0) {
		c.ds.Warnf(d.Pos, "a 'http-request' rule placed after a 'use_backend' rule will still be processed before")
	}
	if d.Name == "http-request" && r.Action == "capture" && len(r.Args) == 3 && r.Args[1].Text == "len" {
		// The slot is numbered where the rule stands; its length is
		// checked with the rule (internal/rules).
		n, _ := strconv.Atoi(r.Args[2].Text)
		p.Captures = append(p.Captures, Capture{Pos: r.Pos, Len: n, Rule: r})
	}
	switch d.Name {
	case "http-request":
		p.HTTPRequest = append(p.HTTPRequest, r)
	case "http-response":
		p.HTTPResponse = append(p.HTTPResponse, r)
	default:
		p.HTTPAfter = append(p.HTTPAfter, r)
	}
}

func (c *compiler) tcpRule(p *Proxy, s *config.Section, d *config.Directive, inherited bool) {
	if len(d.Args) == 0 {
		c.ds.Alertf(d.Pos, "'%s' expects 'connection', 'session', 'content' or 'inspect-delay'", d.Name)
		return
	}
	sub := d.Arg(0)
	switch {
	case d.Name == "tcp-request" && sub == "inspect-delay", d.Name == "tcp-response" && sub == "inspect-delay":
		if len(d.Args) != 2 {
			c.ds.Alertf(d.Pos, "'%s inspect-delay' expects a delay", d.Name)
			return
		}
		v, err := units.ParseTime(d.Arg(1))
		if err != nil {
			c.ds.Alertf(d.ArgPos(1), "'%s inspect-delay' : %v", d.Name, err)
			return
		}
		if d.Name == "tcp-response" {
			p.ResInspectDelay = v
			return
		}
		p.InspectDelay = v
		return
	case d.Name == "tcp-request" && (sub == "connection" || sub == "session" || sub == "content"),
		d.Name == "tcp-response" && sub == "content":
	default:
		c.ds.Alertf(d.ArgPos(0), "'%s' expects 'connection', 'session', 'content' or 'inspect-delay', found '%s'", d.Name, sub)
		return
	}
	if len(d.Args) < 2 {
		c.ds.Alertf(d.Pos, "'%s %s' expects an action", d.Name, sub)
		return
	}
	act, okParen := actionName(d.Arg(1))
	if !config.IsAction(d.Name+" "+sub, d.Arg(1)) || !okParen {
		diag := config.Diagnostic{Pos: d.ArgPos(1), Severity: config.SevAlert,
			Msg: fmt.Sprintf("'%s %s' unknown action '%s'", d.Name, sub, d.Arg(1))}
		if sug := config.Suggest(act, config.Actions(d.Name+" "+sub)); sug != "" {
			diag.Hint = "did you mean '" + sug + "' maybe ?"
		}
		c.ds = append(c.ds, diag)
		return
	}
	// Which actions Bulwark runs is the rule compiler's registry's call.
	r := c.rule(p, d, d.Name+" "+sub, 1)
	if r == nil {
		return
	}
	r.FromDefaults = inherited
	if d.Name == "tcp-request" && sub == "content" && r.Action == "capture" && len(r.Args) == 3 && r.Args[1].Text == "len" {
		// A request slot, numbered where the rule stands as for
		// "http-request capture ... len".
		n, _ := strconv.Atoi(r.Args[2].Text)
		p.Captures = append(p.Captures, Capture{Pos: r.Pos, Len: n, Rule: r})
	}
	if d.Name == "tcp-request" {
		p.TCPRequest = append(p.TCPRequest, r)
	} else {
		p.TCPResponse = append(p.TCPResponse, r)
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
