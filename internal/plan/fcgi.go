package plan

import (
	"strings"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/model"
)

// FCGIApp is a compiled "fcgi-app" section: its private ACLs, and the
// conditions and formats of its pass-header and set-param lines.
type FCGIApp struct {
	App    *model.FCGIApp
	Pass   []FCGIRule
	Params []FCGIRule
}

// FCGIRule is one compiled pass-header (Value nil, Name in lower case) or
// set-param line.
type FCGIRule struct {
	Name  string
	Value *acl.Format
	Cond  *acl.Cond // nil: always
}

// compileFCGIApps compiles every fcgi-app section; a section whose ACLs
// fail is left out, with its alerts.
func compileFCGIApps(m *model.Model, refs *acl.PatRefs, ds *config.Diagnostics) map[string]*FCGIApp {
	out := make(map[string]*FCGIApp, len(m.FCGIApps))
	for _, app := range m.FCGIApps {
		set, d := acl.Compile(app.ACLs, m, acl.Options{Refs: refs})
		*ds = append(*ds, d...)
		if d.HasAlerts() {
			continue
		}
		ca := &FCGIApp{App: app}
		for _, r := range app.PassHeaders {
			c, d := set.Cond(r.Cond)
			*ds = append(*ds, d...)
			// Lower case: header names are matched without case.
			ca.Pass = append(ca.Pass, FCGIRule{Name: strings.ToLower(r.Name), Cond: c})
		}
		for _, r := range app.SetParams {
			c, d := set.Cond(r.Cond)
			*ds = append(*ds, d...)
			f, err := set.Format(r.Value)
			if err != nil {
				ds.Alertf(r.Pos, "'set-param %s' : failed to parse '%s' : %v", r.Name, r.Value, err)
				continue
			}
			ca.Params = append(ca.Params, FCGIRule{Name: r.Name, Value: f, Cond: c})
		}
		out[app.Name] = ca
	}
	return out
}
