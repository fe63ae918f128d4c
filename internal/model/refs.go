package model

import (
	"regexp"
	"strings"

	"bulwark/internal/config"
)

// tableRefRE finds sample fetches and converters that name a stick table or
// a userlist in their arguments.
var tableRefRE = regexp.MustCompile(`\b(sc_[a-z0-9_]+|sc[0-9]_[a-z0-9_]+|src_[a-z0-9_]+|table_[a-z0-9_]+|http_auth_group|http_auth)\(([^()]*)\)`)

// checkTableRefs checks that every stick table and userlist a proxy names
// exists (CM 7.3.3: sc_*(ctr[,table]), scN_*([table]), src_*([table]),
// table_*(table); http_auth(userlist)).
func (c *compiler) checkTableRefs(p *Proxy) {
	check := func(pos config.Pos, text string) {
		for _, m := range tableRefRE.FindAllStringSubmatch(text, -1) {
			fn, args := m[1], splitArgs(m[2])
			// The array forms take the element index first:
			// sc_get_gpc(<idx>,<ctr>[,<table>]), src_get_gpc(<idx>,<table>),
			// table_gpc(<idx>,<table>).
			if arrayTableRef(fn) && len(args) > 0 {
				args = args[1:]
			}
			var ref string
			switch {
			case fn == "http_auth" || fn == "http_auth_group":
				if len(args) == 0 || args[0] == "" {
					c.ds.Alertf(pos, "'%s' expects a userlist name", fn)
					continue
				}
				if c.m.Userlists[args[0]] == nil {
					c.ds.Alertf(pos, "'%s' : unable to find userlist '%s'", fn, args[0])
				}
				continue
			case strings.HasPrefix(fn, "sc_"):
				if len(args) >= 2 {
					ref = args[1]
				}
			case strings.HasPrefix(fn, "table_"):
				// No name: the current proxy's table (checked by the
				// sample compiler).
				if len(args) > 0 {
					ref = args[0]
				}
			default:
				if len(args) >= 1 {
					ref = args[0]
				}
			}
			if ref != "" {
				c.checkTable(pos, fn, ref)
			}
		}
	}
	for _, a := range p.ACLs {
		check(a.Pos, a.Fetch)
	}
	rules := [][]*Rule{p.HTTPRequest, p.HTTPResponse, p.HTTPAfter, p.TCPRequest, p.TCPResponse}
	for _, list := range rules {
		for _, r := range list {
			for _, w := range r.Args {
				check(w.Pos, w.Text)
			}
			if r.Cond != nil {
				for _, t := range r.Cond.Terms {
					for _, ca := range t {
						if ca.Anon != nil {
							check(ca.Pos, ca.Anon.Fetch)
						}
					}
				}
			}
			if strings.HasPrefix(r.Action, "track-sc") {
				c.checkTrack(p, r)
			}
		}
	}
}

func (c *compiler) checkTrack(p *Proxy, r *Rule) {
	if len(r.Args) == 0 {
		c.ds.Alertf(r.Pos, "'%s %s' expects a key expression", r.Keyword, r.Action)
		return
	}
	for i := 1; i < len(r.Args); i++ {
		if r.Args[i].Text == "table" {
			if i+1 >= len(r.Args) {
				c.ds.Alertf(r.Args[i].Pos, "'%s' : 'table' expects a table name", r.Action)
				return
			}
			c.checkTable(r.Args[i+1].Pos, r.Action, r.Args[i+1].Text)
			return
		}
	}
	if p.StickTable == nil && p.Cap&CapDefaults == 0 {
		c.ds.Alertf(r.Pos, "'%s %s' : unable to find table '%s' (the proxy has no stick-table; add one or name another with 'table')", r.Keyword, r.Action, p.Name)
	}
}

func arrayTableRef(fn string) bool {
	switch fn {
	case "sc_get_gpc", "sc_gpc_rate", "sc_inc_gpc", "sc_clr_gpc", "sc_get_gpt",
		"src_get_gpc", "src_gpc_rate", "src_inc_gpc", "src_clr_gpc", "src_get_gpt",
		"table_gpc", "table_gpc_rate", "table_gpt":
		return true
	}
	return false
}

func (c *compiler) checkTable(pos config.Pos, who, name string) {
	if c.tables[name] {
		return
	}
	c.ds.Alertf(pos, "'%s' : unable to find stick-table '%s'", who, name)
}

func splitArgs(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// srvRefRE finds the fetches taking a "[<backend>/]<server>" argument.
var srvRefRE = regexp.MustCompile(`\b(srv_(?:conn|conn_free|is_up|queue|sess_rate|iweight|uweight|weight))\(([^()]*)\)`)

// checkDefaultsRuleArgs refuses, as HAProxy 2.6 does, rule arguments a
// named defaults section cannot resolve on its own: its rules are bound to
// the defaults section itself, so a server needs its backend spelt out and
// a track-sc action without "table" would track into the defaults
// section's own (never existing) stick table.
func (c *compiler) checkDefaultsRuleArgs(p *Proxy) {
	// where names the expression as HAProxy does; both http-response and
	// http-after-response read "http-response response" there.
	srv := func(pos config.Pos, where, text string) {
		for _, m := range srvRefRE.FindAllStringSubmatch(text, -1) {
			if args := splitArgs(m[2]); len(args) > 0 && !strings.Contains(args[0], "/") {
				c.ds.Alertf(pos, "backend name must be set in arg 1 of %s in proxy '%s'.", strings.Replace(where, "%s", m[1], 1), p.Name)
			}
		}
	}
	for _, a := range p.ACLs {
		srv(a.Pos, "ACL keyword '%s'", a.Fetch)
	}
	for _, list := range [][]*Rule{p.TCPRequest, p.TCPResponse, p.HTTPRequest, p.HTTPResponse, p.HTTPAfter} {
		for _, r := range list {
			expr := r.Keyword + " expression"
			if strings.HasPrefix(r.Keyword, "http-") && r.Keyword != "http-request" {
				expr = "http-response response"
			}
			for _, w := range r.Args {
				srv(r.Pos, "sample fetch keyword '%s' in "+expr, w.Text)
			}
			if r.Cond != nil {
				for _, t := range r.Cond.Terms {
					for _, ca := range t {
						if ca.Anon != nil {
							srv(r.Pos, "ACL keyword '%s'", ca.Anon.Fetch)
						}
					}
				}
			}
			if !strings.HasPrefix(r.Action, "track-sc") {
				continue
			}
			named := false
			for _, w := range r.Args {
				named = named || w.Text == "table"
			}
			if !named {
				c.ds.Alertf(r.Pos, "Proxy '%s': unable to find table '%s' referenced by %s.", p.Name, p.Name, r.Action)
			}
		}
	}
}
