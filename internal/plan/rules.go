package plan

import (
	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/rules"
	"bulwark/internal/stick"
)

// Rules are the compiled decision lists of one proxy.
type Rules struct {
	Set        *acl.Set
	Req, Resp  *rules.List
	After      *rules.List // http-after-response
	TCPConn    *rules.List
	TCPSession *rules.List
	TCPContent *rules.List
	TCPResp    *rules.List // tcp-response content
	Redirects  *rules.List // legacy "redirect" lines
	// UseBackend is parallel to model.Proxy.UseBackends.
	UseBackend []*acl.Cond
	// UseBackendName is parallel to UseBackend: the log-format of a
	// dynamic name, nil for a name resolved at configuration time.
	UseBackendName []*acl.Format
	// StatsAdmin are the "stats admin" conditions: any match enables the
	// stats page's admin actions.
	StatsAdmin []*acl.Cond
	// Persist is parallel to model.Proxy.PersistRules.
	Persist []*acl.Cond
	Stick   []StickRule
	// MonitorFail are the "monitor fail" conditions.
	MonitorFail []*acl.Cond
}

// compileTables makes every stick table declared by a proxy, or takes the
// one reuse offers for it.
func compileTables(m *model.Model, reuse func(string, stick.Spec) *stick.Table, ds *config.Diagnostics) map[string]*stick.Table {
	tables := map[string]*stick.Table{}
	sticky := stickTargets(m)
	for _, p := range m.Proxies {
		if p.StickTable == nil {
			continue
		}
		spec, err := stick.ParseTableSpec(p.StickTable.Args)
		if err != nil {
			ds.Alertf(p.StickTable.Pos, "'stick-table' : %v", err)
			continue
		}
		for _, w := range spec.Warnings {
			ds.Warnf(p.StickTable.Pos, "'stick-table' : %s", w)
		}
		if sticky[p.Name] {
			spec = withServerID(spec)
		}
		if reuse != nil {
			if t := reuse(p.Name, spec); t != nil {
				tables[p.Name] = t
				continue
			}
		}
		tables[p.Name] = stick.New(p.Name, spec)
	}
	// Tables of "peers" sections, named "<peers>/<table>", live here like
	// any other: local to this node, carried over reloads by reuse.
	for _, ps := range m.Peers {
		for _, pt := range ps.Tables {
			spec, err := stick.ParseTableSpec(pt.Args)
			if err != nil {
				continue // reported by the model
			}
			if reuse != nil {
				if t := reuse(pt.Name, spec); t != nil {
					tables[pt.Name] = t
					continue
				}
			}
			tables[pt.Name] = stick.New(pt.Name, spec)
		}
	}
	return tables
}

// compileRules compiles the ACLs, rule lists and use_backend conditions of
// p; nil when its ACLs do not compile (the rules would only repeat the
// errors).
func compileRules(m *model.Model, p *model.Proxy, tables map[string]*stick.Table, refs *acl.PatRefs, sf *sectionFiles, ds *config.Diagnostics) *Rules {
	lookup := func(name string) *stick.Table { return tables[name] }
	set, d := acl.Compile(p, m, acl.Options{Tables: lookup, Refs: refs})
	*ds = append(*ds, d...)
	if d.HasAlerts() {
		return nil
	}
	r := &Rules{Set: set}
	ropt := rules.Options{Tables: lookup, Errors: sf.Errors, Experimental: m.Global.Experimental,
		Resolvers: func(name string) bool { return m.Resolvers[name] != nil }}
	for _, l := range []struct {
		dst  **rules.List
		kind rules.Kind
	}{{&r.Req, rules.HTTPRequest}, {&r.Resp, rules.HTTPResponse}, {&r.After, rules.HTTPAfter},
		{&r.TCPConn, rules.TCPConnection}, {&r.TCPSession, rules.TCPSession}, {&r.TCPContent, rules.TCPContent},
		{&r.TCPResp, rules.TCPResponse}, {&r.Redirects, rules.Redirects}} {
		*l.dst, d = rules.Compile(p, l.kind, set, ropt)
		*ds = append(*ds, d...)
	}
	for _, ub := range p.UseBackends {
		c, d := set.Cond(ub.Cond)
		*ds = append(*ds, d...)
		r.UseBackend = append(r.UseBackend, c)
		var f *acl.Format
		if ub.Dynamic {
			var err error
			if f, err = set.Format(ub.Backend); err != nil {
				ds.Alertf(ub.Pos, "failed to parse use_backend rule '%s' : %v", ub.Backend, err)
			}
		}
		r.UseBackendName = append(r.UseBackendName, f)
	}
	for _, mc := range statsAdmin(p) {
		c, d := set.Cond(mc)
		*ds = append(*ds, d...)
		r.StatsAdmin = append(r.StatsAdmin, c)
	}
	for _, pr := range p.PersistRules {
		c, d := set.Cond(pr.Cond)
		*ds = append(*ds, d...)
		r.Persist = append(r.Persist, c)
	}
	for _, mf := range p.MonitorFail {
		c, d := set.Cond(mf.Cond)
		*ds = append(*ds, d...)
		r.MonitorFail = append(r.MonitorFail, c)
	}
	r.Stick = compileStick(p, set, tables, ds)
	return r
}

func statsAdmin(p *model.Proxy) []*model.Cond {
	if p.Stats == nil {
		return nil
	}
	return p.Stats.AdminConds
}
