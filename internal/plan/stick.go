package plan

import (
	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/stick"
)

// StickRule is one compiled "stick" rule of a backend.
type StickRule struct {
	Kind  string // match, on, store-request, store-response
	Key   *acl.Expr
	Table *stick.Table
	Cond  *acl.Cond // nil: always
}

// stickTableName is the table a stick rule of p uses: its "table"
// argument, else p's own.
func stickTableName(p *model.Proxy, r *model.Rule) string {
	if len(r.Args) == 3 {
		return r.Args[2].Text
	}
	return p.Name
}

// stickTargets are the tables stick rules store servers in: like HAProxy,
// they get server_id and server_key whether or not "store" names them.
func stickTargets(m *model.Model) map[string]bool {
	out := map[string]bool{}
	for _, p := range m.Proxies {
		for _, r := range p.StickRules {
			out[stickTableName(p, r)] = true
		}
	}
	return out
}

func withServerID(spec stick.Spec) stick.Spec {
	for _, dt := range []stick.DataType{stick.DTServerID, stick.DTServerKey} {
		if !spec.Stores(dt) {
			spec.Store = append(spec.Store[:len(spec.Store):len(spec.Store)], stick.StoredData{Type: dt})
		}
	}
	return spec
}

func compileStick(p *model.Proxy, set *acl.Set, tables map[string]*stick.Table, ds *config.Diagnostics) []StickRule {
	var out []StickRule
	for _, r := range p.StickRules {
		name := stickTableName(p, r)
		t := tables[name]
		if t == nil {
			ds.Alertf(r.Pos, "'stick %s' : unable to find stick-table '%s'.", r.Action, name)
			continue
		}
		x, err := set.Expr(r.Args[0].Text)
		if err != nil {
			ds.Alertf(r.Args[0].Pos, "'stick %s' : %v", r.Action, err)
			continue
		}
		sr := StickRule{Kind: r.Action, Key: x, Table: t}
		if r.Cond != nil {
			c, d := set.Cond(r.Cond)
			*ds = append(*ds, d...)
			sr.Cond = c
		}
		out = append(out, sr)
	}
	return out
}
