package plan

import (
	"net/netip"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/h1"
	"bulwark/internal/model"
	"bulwark/internal/stick"
)

// globalTxn is the sample context of the global "set-var" lines: no
// stream, no connection; only variables (the proc ones set so far).
type globalTxn struct{ vars map[string]acl.Sample }

func (globalTxn) Src() netip.AddrPort       { return netip.AddrPort{} }
func (globalTxn) Dst() netip.AddrPort       { return netip.AddrPort{} }
func (globalTxn) Method() []byte            { return nil }
func (globalTxn) Target() []byte            { return nil }
func (globalTxn) Version() (int, int)       { return 0, 0 }
func (globalTxn) ReqHeaders() []h1.Header   { return nil }
func (globalTxn) RespHeaders() []h1.Header  { return nil }
func (globalTxn) Status() int               { return 0 }
func (globalTxn) TLS() (bool, []byte)       { return false, nil }
func (globalTxn) Now() int64                { return 0 }
func (globalTxn) Tracked(int) stick.Ref     { return stick.Ref{} }
func (globalTxn) SetTracked(int, stick.Ref) {}
func (globalTxn) Env() acl.Env              { return noEnv{} }
func (globalTxn) CacheHit() (bool, string)  { return false, "" }

func (t globalTxn) Var(name string) (acl.Sample, bool) {
	s, ok := t.vars[name]
	return s, ok
}

func (t globalTxn) SetVar(name string, s acl.Sample) {
	s.B = append([]byte(nil), s.B...)
	t.vars[name] = s
}

// compileProcVars evaluates the global set-var and set-var-fmt lines in
// order, as HAProxy does while it parses them (CM 3.1 "set-var"): the
// result seeds the proc variables of every session. An expression with
// no result leaves its variable unset.
func compileProcVars(m *model.Model, refs *acl.PatRefs, ds *config.Diagnostics) map[string]acl.Sample {
	if len(m.Global.Vars) == 0 {
		return nil
	}
	set, d := acl.Compile(&model.Proxy{Name: "global", Pos: m.Global.Pos}, m, acl.Options{Refs: refs})
	*ds = append(*ds, d...)
	vars := map[string]acl.Sample{}
	t := globalTxn{vars: vars}
	e := acl.NewEval(t)
	for _, v := range m.Global.Vars {
		e.Reset()
		if v.Fmt {
			f, err := set.Format(v.Text)
			if err != nil {
				ds.Alertf(v.Pos, "'set-var-fmt' : %v", err)
				continue
			}
			t.SetVar(v.Name, acl.Sample{Kind: acl.KindStr, B: f.Append(nil, e)})
			continue
		}
		x, err := set.Expr(v.Text)
		if err != nil {
			ds.Alertf(v.Pos, "'set-var' : %v", err)
			continue
		}
		if s, ok := x.Sample(e); ok {
			t.SetVar(v.Name, s)
		}
	}
	return vars
}
