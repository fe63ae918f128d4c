package audit

import (
	"strconv"
	"strings"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

// TLS protocol versions in order; index is the comparison key.
var tlsVersionNames = []string{"SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

const defaultMinTLS = 3 // TLSv1.2: HAProxy >= 2.2 and Bulwark default

func versionIndex(s string) int {
	for i, n := range tlsVersionNames {
		if n == s {
			return i
		}
	}
	return -1
}

// sslOpts is the protocol-relevant part of one option list.
type sslOpts struct {
	min, max int // -1 when unset
	force    int // -1 when unset
	no       [5]bool
	any      bool // some protocol option was given
}

func readSSLOpts(get func(name string) (string, bool)) sslOpts {
	o := sslOpts{min: -1, max: -1, force: -1}
	if v, ok := get("ssl-min-ver"); ok {
		o.min, o.any = versionIndex(v), true
	}
	if v, ok := get("ssl-max-ver"); ok {
		o.max, o.any = versionIndex(v), true
	}
	for i, n := range []string{"sslv3", "tlsv10", "tlsv11", "tlsv12", "tlsv13"} {
		if _, ok := get("no-" + n); ok {
			o.no[i], o.any = true, true
		}
		if _, ok := get("force-" + n); ok {
			o.force, o.any = i, true
		}
	}
	return o
}

func globalSSLOpts(m *model.Model) sslOpts {
	return readSSLOpts(func(name string) (string, bool) {
		v, ok := "", false
		for _, o := range m.Global.SSL.BindOptions {
			k, val, _ := strings.Cut(o, " ")
			if k == name {
				v, ok = val, true
			}
		}
		return v, ok
	})
}

func bindSSLOpts(b *model.Bind) sslOpts {
	return readSSLOpts(func(name string) (string, bool) { v, ok := b.Opts[name]; return v, ok })
}

// allowedVersions computes which protocol versions a bind accepts. A
// force-* option pins one version; ssl-min-ver/ssl-max-ver on the bind
// replace the global ones and make the bind ignore every no-tlsv* option
// (HAProxy 2.6 behaviour, see the semantics appendix); otherwise the global
// bounds apply and the no-* options of both levels remove versions.
func allowedVersions(g, b sslOpts) [5]bool {
	var out [5]bool
	switch {
	case b.force >= 0:
		out[b.force] = true
		return out
	case b.min < 0 && b.max < 0 && g.force >= 0:
		out[g.force] = true
		return out
	}
	min, max := defaultMinTLS, 4
	var no [5]bool
	if b.min >= 0 || b.max >= 0 {
		if b.min >= 0 {
			min = b.min
		}
		if b.max >= 0 {
			max = b.max
		}
	} else {
		if g.min >= 0 {
			min = g.min
		}
		if g.max >= 0 {
			max = g.max
		}
		for i := range no {
			no[i] = g.no[i] || b.no[i]
		}
	}
	for i := min; i <= max && i < 5; i++ {
		out[i] = i >= 0 && !no[i]
	}
	return out
}

func weakAllowed(v [5]bool) []string {
	var out []string
	for i := 0; i < defaultMinTLS; i++ {
		if v[i] {
			out = append(out, tlsVersionNames[i])
		}
	}
	return out
}

func allowedList(v [5]bool) string {
	var out []string
	for i, ok := range v {
		if ok {
			out = append(out, tlsVersionNames[i])
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func checkTLSProtocols(t *Target) Result {
	g := globalSSLOpts(t.Model)
	var evs []Evidence
	// The global defaults are judged on their own, at their first line,
	// whether or not a TLS bind exists yet: the next 'bind ... ssl' that
	// sets no versions of its own inherits them.
	if ds := globalDirectives(t.Model, "ssl-default-bind-options"); len(ds) > 0 {
		v := allowedVersions(g, sslOpts{min: -1, max: -1, force: -1})
		if w := weakAllowed(v); len(w) > 0 {
			evs = append(evs, ev(ds[0].Pos, Fail, "global ssl-default-bind-options allow %s (every 'bind ... ssl' without its own version options inherits them)", strings.Join(w, ", ")))
		} else {
			note := ""
			if !g.any {
				note = " (no version option: HAProxy's default minimum TLSv1.2)"
			}
			evs = append(evs, ev(ds[0].Pos, Pass, "global ssl-default-bind-options accept %s%s", allowedList(v), note))
		}
	}
	for _, p := range frontends(t.Model) {
		for _, b := range p.Binds {
			if !b.SSL {
				continue
			}
			bo := bindSSLOpts(b)
			v := allowedVersions(g, bo)
			if w := weakAllowed(v); len(w) > 0 {
				why := ""
				if bo.min >= 0 && (g.no[1] || g.no[2] || g.no[0]) {
					why = " (ssl-min-ver on the bind overrides the global no-tlsv* options)"
				}
				evs = append(evs, ev(b.Pos, Fail, "%s '%s' bind %s allows %s%s", p.Kind, p.Name, addrList(b), strings.Join(w, ", "), why))
				continue
			}
			note := ""
			if !bo.any && !g.any {
				note = " (default minimum TLSv1.2; set ssl-min-ver explicitly)"
			}
			evs = append(evs, ev(b.Pos, Pass, "%s '%s' bind %s accepts %s%s", p.Kind, p.Name, addrList(b), allowedList(v), note))
		}
	}
	if len(evs) == 0 {
		return skip("no TLS listener and no global ssl-default-bind-options")
	}
	return summarize(evs, "only TLS 1.2 and later are accepted", "legacy protocol versions are accepted")
}

func checkServerVerify(t *Target) Result {
	var evs []Evidence
	for _, d := range globalDirectives(t.Model, "ssl-server-verify") {
		if d.Arg(0) == "none" {
			evs = append(evs, ev(d.Pos, Fail, "'ssl-server-verify none' disables certificate verification for every server"))
		}
	}
	for _, p := range t.Model.Backends() {
		for _, sv := range p.Servers {
			if !sv.SSL {
				continue
			}
			if sv.Opts["verify"] == "none" {
				evs = append(evs, ev(sv.Pos, Fail, "%s '%s' server '%s' uses 'ssl verify none'", p.Kind, p.Name, sv.Name))
			} else {
				evs = append(evs, ev(sv.Pos, Pass, "%s '%s' server '%s' verifies its certificate", p.Kind, p.Name, sv.Name))
			}
		}
	}
	if len(evs) == 0 {
		return skip("no TLS server")
	}
	return summarize(evs, "every TLS server's certificate is verified", "server certificates not verified")
}

// weakCipher returns why a cipher-string element admits weak suites, and
// whether that is a hard failure (a weak family named outright) or a
// warning (a broad alias that also admits CBC suites).
func weakCipher(tok string) (string, Verdict) {
	if tok == "" || tok[0] == '!' || tok[0] == '-' || strings.HasPrefix(tok, "@") {
		return "", Pass
	}
	up := strings.ToUpper(strings.TrimPrefix(tok, "+"))
	for _, part := range strings.Split(up, "+") {
		switch {
		case strings.Contains(part, "RC4"):
			return "RC4", Fail
		case strings.Contains(part, "3DES") || strings.Contains(part, "DES-CBC3"):
			return "3DES", Fail
		case strings.Contains(part, "DES-CBC") || part == "DES":
			return "DES", Fail
		case strings.Contains(part, "NULL"):
			return "NULL/anonymous", Fail
		case strings.HasPrefix(part, "EXP") || part == "EXPORT":
			return "EXPORT", Fail
		case strings.Contains(part, "MD5"):
			return "MD5", Fail
		case strings.HasPrefix(part, "ADH") || strings.HasPrefix(part, "AECDH"):
			return "anonymous key exchange", Fail
		case part == "LOW" || part == "MEDIUM":
			return part + " strength class", Fail
		}
	}
	switch up {
	case "ALL", "DEFAULT", "HIGH", "COMPLEMENTOFDEFAULT", "COMPLEMENTOFALL", "AES", "AES128", "AES256",
		"SHA", "SHA1", "SHA256", "SHA384", "RSA", "KRSA", "ECDHE", "EECDH", "EDH", "DHE", "KEECDH", "KEDH",
		"CAMELLIA", "ARIA", "TLSV1", "SSLV3", "TLSV1.2":
		return "alias '" + tok + "' admits CBC suites", Warn
	}
	aead := strings.Contains(up, "GCM") || strings.Contains(up, "CHACHA20") || strings.Contains(up, "CCM")
	block := strings.Contains(up, "AES") || strings.Contains(up, "CAMELLIA") || strings.Contains(up, "ARIA") ||
		strings.Contains(up, "SEED") || strings.Contains(up, "IDEA")
	if strings.Contains(up, "-") && block && !aead {
		return "CBC suite", Fail
	}
	if strings.Contains(up, "+") && block && !aead {
		return "combination '" + tok + "' admits CBC suites", Warn
	}
	if strings.Contains(up, "-") && aead && !strings.HasPrefix(up, "ECDHE") && !strings.HasPrefix(up, "DHE") &&
		!strings.HasPrefix(up, "EDH") && !strings.HasPrefix(up, "TLS_") {
		return "no forward secrecy", Warn
	}
	return "", Pass
}

func cipherEvidence(pos config.Pos, where, list string) []Evidence {
	var evs []Evidence
	worst := Pass
	var reasons []string
	for _, tok := range strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		why, v := weakCipher(tok)
		if v == Pass {
			continue
		}
		if v.rank() > worst.rank() {
			worst = v
		}
		reasons = append(reasons, tok+" ("+why+")")
	}
	if worst == Pass {
		return append(evs, ev(pos, Pass, "%s: %s", where, list))
	}
	return append(evs, ev(pos, worst, "%s admits weak suites: %s", where, strings.Join(reasons, ", ")))
}

func checkCiphers(t *Target) Result {
	var evs []Evidence
	globalSet := false
	for _, name := range []string{"ssl-default-bind-ciphers", "ssl-default-server-ciphers"} {
		for _, d := range globalDirectives(t.Model, name) {
			globalSet = globalSet || name == "ssl-default-bind-ciphers"
			evs = append(evs, cipherEvidence(d.Pos, name, d.Arg(0))...)
		}
	}
	for _, d := range globalDirectives(t.Model, "ssl-default-bind-ciphersuites") {
		if strings.Contains(strings.ToUpper(d.Arg(0)), "CCM_8") {
			evs = append(evs, ev(d.Pos, Warn, "ssl-default-bind-ciphersuites includes a CCM_8 suite (short tag)"))
		}
	}
	tlsBinds := 0
	for _, p := range frontends(t.Model) {
		for _, b := range p.Binds {
			if !b.SSL {
				continue
			}
			tlsBinds++
			if c, ok := b.Opts["ciphers"]; ok {
				evs = append(evs, cipherEvidence(b.Pos, p.Kind+" '"+p.Name+"' bind ciphers", c)...)
			} else if !globalSet {
				if t.Product == "bulwark" {
					evs = append(evs, ev(b.Pos, Pass, "%s '%s' bind %s: Bulwark's default suites are AEAD with forward secrecy", p.Kind, p.Name, addrList(b)))
				} else {
					evs = append(evs, ev(b.Pos, Warn, "%s '%s' bind %s has no cipher list: the OpenSSL default admits CBC suites", p.Kind, p.Name, addrList(b)))
				}
			}
		}
	}
	for _, p := range t.Model.Backends() {
		for _, sv := range p.Servers {
			if c, ok := sv.Opts["ciphers"]; ok && sv.SSL {
				evs = append(evs, cipherEvidence(sv.Pos, p.Kind+" '"+p.Name+"' server '"+sv.Name+"' ciphers", c)...)
			}
		}
	}
	if tlsBinds == 0 && len(evs) == 0 {
		return skip("no TLS listener and no global cipher defaults")
	}
	r := summarize(evs, "only strong suites are enabled (client renegotiation is refused by HAProxy 2.6 and Bulwark)", "weak cipher suites enabled")
	return r
}

// headerFor finds a response header set for fe: in the frontend itself, or
// in every backend it routes to. missing lists the backends without it when
// only some set it.
func headerFor(t *Target, fe *model.Proxy, name string) (r *model.Rule, missing []string) {
	name = strings.ToLower(name)
	if r := headerRules(append(append([]*model.Rule(nil), fe.HTTPResponse...), fe.HTTPAfter...))[name]; r != nil {
		return r, nil
	}
	var first *model.Rule
	bes := backendsOf(t, fe)
	for _, be := range bes {
		if be == fe {
			continue
		}
		r := headerRules(append(append([]*model.Rule(nil), be.HTTPResponse...), be.HTTPAfter...))[name]
		if r == nil {
			missing = append(missing, be.Name)
		} else if first == nil {
			first = r
		}
	}
	if len(missing) > 0 {
		return nil, missing
	}
	return first, nil
}

// hstsMinAge is one year, the value browsers' preload lists require.
const hstsMinAge = 31536000

func checkHSTS(t *Target) Result {
	var evs []Evidence
	for _, fe := range appFrontends(t.Model) {
		if !tlsFrontend(fe) {
			continue
		}
		r, _ := headerFor(t, fe, "Strict-Transport-Security")
		if r == nil {
			evs = append(evs, ev(fe.Pos, Fail, "%s '%s' terminates TLS without Strict-Transport-Security", fe.Kind, fe.Name))
			continue
		}
		val := ""
		if len(r.Args) > 1 {
			val = r.Args[1].Text
		}
		age := -1
		for _, part := range strings.Split(val, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if strings.EqualFold(k, "max-age") {
				age, _ = strconv.Atoi(strings.Trim(v, `"`))
			}
		}
		switch {
		case age < hstsMinAge:
			evs = append(evs, ev(r.Pos, Warn, "%s '%s' HSTS max-age %d is below one year (%d)", fe.Kind, fe.Name, age, hstsMinAge))
		default:
			evs = append(evs, ev(r.Pos, Pass, "%s '%s' Strict-Transport-Security %s", fe.Kind, fe.Name, val))
		}
	}
	if len(evs) == 0 {
		return skip("no HTTP frontend terminates TLS")
	}
	return summarize(evs, "HSTS with max-age of at least one year on every TLS frontend", "HSTS missing or short")
}
