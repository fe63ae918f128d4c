package audit

import (
	"strings"

	"bulwark/internal/model"
)

// requiredHeaders are the response headers HAP-5.1 asks of every HTTP
// frontend; HSTS is added for TLS frontends.
var requiredHeaders = []string{"X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy"}

func checkSecurityHeaders(t *Target) Result {
	var evs []Evidence
	for _, fe := range appFrontends(t.Model) {
		want := requiredHeaders
		if tlsFrontend(fe) {
			want = append(append([]string(nil), want...), "Strict-Transport-Security")
		}
		var missing []string
		for _, h := range want {
			r, bes := headerFor(t, fe, h)
			if r != nil {
				continue
			}
			if len(bes) > 0 {
				missing = append(missing, h+" (not in backends "+strings.Join(bes, ", ")+")")
			} else {
				missing = append(missing, h)
			}
		}
		if len(missing) > 0 {
			evs = append(evs, ev(fe.Pos, Fail, "%s '%s' does not set %s", fe.Kind, fe.Name, strings.Join(missing, ", ")))
		} else {
			evs = append(evs, ev(fe.Pos, Pass, "%s '%s' sets %s", fe.Kind, fe.Name, strings.Join(want, ", ")))
		}
	}
	if len(evs) == 0 {
		return skip("%s", noAppFrontend(t))
	}
	return summarize(evs, "every HTTP frontend sets the security headers", "security headers missing")
}

func checkForwardFor(t *Target) Result {
	var evs []Evidence
	for _, p := range t.Model.Proxies {
		if p.Disabled || p.Mode != model.ModeHTTP || p.ForwardFor == nil {
			continue
		}
		pos := p.Pos
		if d := p.OptionArgs["forwardfor"]; d != nil {
			pos = d.Pos
		}
		if p.ForwardFor.IfNone {
			evs = append(evs, ev(pos, Fail, "%s '%s': 'option forwardfor if-none' keeps a client-supplied %s", p.Kind, p.Name, p.ForwardFor.Header))
		} else {
			evs = append(evs, ev(pos, Pass, "%s '%s': option forwardfor appends the real address", p.Kind, p.Name))
		}
	}
	if len(evs) == 0 {
		return skip("no 'option forwardfor'")
	}
	return summarize(evs, "X-Forwarded-For always carries the real client address", "client-supplied X-Forwarded-For is trusted")
}

// denyActions end a request without reaching a server.
var denyActions = map[string]bool{"deny": true, "reject": true, "tarpit": true, "silent-drop": true, "return": true}

// traceValue evaluates one condition operand for a TRACE request: known is
// false when the operand depends on more than the method.
func traceValue(p *model.Proxy, op model.CondACL) (known, val bool) {
	acls := condACLs(p, op)
	if len(acls) == 0 {
		if op.Name == "TRUE" {
			return true, !op.Neg
		}
		if op.Name == "FALSE" {
			return true, op.Neg
		}
		return false, false
	}
	for _, a := range acls {
		if fetchName(a.Fetch) != "method" {
			return false, false
		}
		for _, pat := range patterns(a) {
			if strings.EqualFold(pat, "TRACE") {
				val = true
			}
		}
	}
	return true, val != op.Neg
}

// deniesTrace reports whether rule r certainly stops a TRACE request. A
// term that depends on anything besides the method is not counted, so the
// answer errs towards "not denied".
func deniesTrace(p *model.Proxy, r *model.Rule) bool {
	if !denyActions[r.Action] {
		return false
	}
	c := r.Cond
	if c == nil {
		return true
	}
	termTrue := func(term []model.CondACL) (known, val bool) {
		for _, op := range term {
			k, v := traceValue(p, op)
			if k && !v {
				return true, false
			}
			if !k {
				known = false
				return
			}
		}
		return true, true
	}
	if !c.Unless {
		for _, term := range c.Terms {
			if k, v := termTrue(term); k && v {
				return true
			}
		}
		return false
	}
	for _, term := range c.Terms {
		k, v := termTrue(term)
		if !k || v {
			return false
		}
	}
	return true
}

func checkTraceDenied(t *Target) Result {
	var evs []Evidence
	for _, fe := range appFrontends(t.Model) {
		var by *model.Rule
		for _, r := range fe.HTTPRequest {
			if deniesTrace(fe, r) {
				by = r
				break
			}
		}
		if by == nil {
			bes := backendsOf(t, fe)
			all := len(bes) > 0
			var first *model.Rule
			for _, be := range bes {
				var found *model.Rule
				for _, r := range be.HTTPRequest {
					if deniesTrace(be, r) {
						found = r
						break
					}
				}
				if found == nil {
					all = false
					break
				}
				if first == nil {
					first = found
				}
			}
			if all {
				by = first
			}
		}
		if by != nil {
			evs = append(evs, ev(by.Pos, Pass, "%s '%s': TRACE is denied", fe.Kind, fe.Name))
		} else {
			evs = append(evs, ev(fe.Pos, Fail, "%s '%s' does not deny TRACE", fe.Kind, fe.Name))
		}
	}
	if len(evs) == 0 {
		return skip("%s", noAppFrontend(t))
	}
	return summarize(evs, "every HTTP frontend denies TRACE", "TRACE reaches servers")
}

// noAppFrontend is the SKIP reason of the controls about application
// traffic: a stats-only section has no server for a header or a TRACE to
// reach, and is judged by HAP-6.1 and HAP-6.2 instead.
func noAppFrontend(t *Target) string {
	if len(httpFrontends(t.Model)) > 0 {
		return "no HTTP frontend besides stats pages (HAP-6.1 and HAP-6.2 judge those)"
	}
	return "no HTTP frontend"
}
