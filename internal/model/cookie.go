package model

import (
	"strings"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/units"
)

// CookieMode is how a "cookie" directive treats the server's cookie.
type CookieMode uint8

const (
	// CookiePassive only reads the cookie the application sets.
	CookiePassive CookieMode = iota
	CookieRewrite
	CookieInsert
	CookiePrefix
)

// Cookie is a backend's "cookie" persistence directive.
type Cookie struct {
	Pos      config.Pos
	Name     string
	Mode     CookieMode
	Indirect bool
	NoCache  bool
	PostOnly bool
	Preserve bool
	HTTPOnly bool
	Secure   bool
	Dynamic  bool
	Domains  []string
	Attrs    []string
	MaxIdle  time.Duration
	MaxLife  time.Duration
}

// cookie reads "cookie <name> [rewrite|insert|prefix] [indirect] ...",
// with HAProxy's checks and messages.
func (c *compiler) cookie(p *Proxy, d *config.Directive) {
	if len(d.Args) == 0 || d.Arg(0) == "" {
		c.ds.Alertf(d.Pos, "'%s' expects <cookie_name> as argument.", d.Name)
		return
	}
	ck := &Cookie{Pos: d.Pos, Name: d.Arg(0)}
	modes := 0
	for i := 1; i < len(d.Args); i++ {
		w := d.Args[i]
		switch w.Text {
		case "rewrite":
			ck.Mode, modes = CookieRewrite, modes+1
		case "insert":
			ck.Mode, modes = CookieInsert, modes+1
		case "prefix":
			ck.Mode, modes = CookiePrefix, modes+1
		case "indirect":
			ck.Indirect = true
		case "nocache":
			ck.NoCache = true
		case "postonly":
			ck.PostOnly = true
		case "preserve":
			ck.Preserve = true
		case "httponly":
			ck.HTTPOnly = true
		case "secure":
			ck.Secure = true
		case "dynamic":
			ck.Dynamic = true
		case "domain", "maxidle", "maxlife", "attr":
			if i+1 >= len(d.Args) {
				what := map[string]string{"domain": "<domain>", "maxidle": "<idletime> in seconds",
					"maxlife": "<lifetime> in seconds", "attr": "<value>"}[w.Text]
				c.ds.Alertf(w.Pos, "'%s' expects %s as argument.", w.Text, what)
				return
			}
			i++
			v := d.Args[i]
			switch w.Text {
			case "domain":
				if !strings.Contains(v.Text, ".") {
					c.ds.Warnf(v.Pos, "domain '%s' contains no embedded dot, and might not be accepted by some browsers.", v.Text)
				}
				if j := strings.IndexAny(v.Text, ";, \t"); j >= 0 {
					c.ds.Alertf(v.Pos, "character '%c' is not permitted in domain name '%s'.", v.Text[j], v.Text)
					return
				}
				ck.Domains = append(ck.Domains, v.Text)
			case "attr":
				for _, r := range []byte(v.Text) {
					if r < 0x20 || r == 0x7f || r == ';' {
						c.ds.Alertf(v.Pos, "character '%%x%02X' is not permitted in attribute value.", r)
						return
					}
				}
				ck.Attrs = append(ck.Attrs, v.Text)
			default:
				t, err := units.ParseTimeUnit(v.Text, time.Second)
				if err != nil {
					c.ds.Alertf(v.Pos, "unexpected character in argument to <%s>.", w.Text)
					return
				}
				if t > 0 && t < time.Second {
					c.ds.Alertf(v.Pos, "timer underflow in argument <%s> to <%s>, minimum non-null value is 1 s.", v.Text, w.Text)
					return
				}
				if w.Text == "maxidle" {
					ck.MaxIdle = t
				} else {
					ck.MaxLife = t
				}
			}
		default:
			c.ds.Alertf(w.Pos, "'%s' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.", d.Name)
			return
		}
	}
	if ck.Mode == CookieRewrite && ck.Indirect {
		c.ds.Alertf(d.Pos, "cookie 'rewrite' and 'indirect' modes are incompatible.")
	}
	if modes > 1 {
		c.ds.Alertf(d.Pos, "cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.")
	}
	if (ck.MaxIdle > 0 || ck.MaxLife > 0) && ck.Mode != CookieInsert {
		c.ds.Warnf(d.Pos, "cookie 'maxidle' and 'maxlife' may only be used with 'insert' mode. Ignoring.")
		ck.MaxIdle, ck.MaxLife = 0, 0
	}
	p.Cookie = ck
}

// stick reads "stick match|on|store-request|store-response <pattern>
// [table <table>] [{if|unless} <cond>]" into p.StickRules: Action is the
// kind, Args[0] the pattern, Args[2] the table when given.
func (c *compiler) stick(p *Proxy, d *config.Directive) {
	switch d.Arg(0) {
	case "match", "on", "store-request", "store-response":
	default:
		c.ds.Alertf(d.Pos, "'stick' expects 'match', 'on', 'store-request' or 'store-response'.")
		return
	}
	r := c.rule(p, d, "stick", 0)
	if r == nil {
		return
	}
	if len(r.Args) == 0 {
		c.ds.Alertf(d.Pos, "'stick %s' expects a fetch method.", r.Action)
		return
	}
	if len(r.Args) != 1 && (len(r.Args) != 3 || r.Args[1].Text != "table") {
		c.ds.Alertf(r.Args[1].Pos, "'stick %s' : unexpected argument '%s' (expects 'table <name>', 'if' or 'unless').", r.Action, r.Args[1].Text)
		return
	}
	p.StickRules = append(p.StickRules, r)
}
