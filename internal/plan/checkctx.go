package plan

import (
	"net/netip"
	"strings"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/h1"
	"bulwark/internal/health"
	"bulwark/internal/stick"
)

// checkTxn is the sample context of a check run (acl.Txn over
// health.Context): the "check" variables, the last response's status and
// headers; no client, no request, no stick counters.
type checkTxn struct{ c *health.Context }

func (t checkTxn) Src() netip.AddrPort       { return netip.AddrPort{} }
func (t checkTxn) Dst() netip.AddrPort       { return netip.AddrPort{} }
func (t checkTxn) Method() []byte            { return nil }
func (t checkTxn) Target() []byte            { return nil }
func (t checkTxn) Version() (int, int)       { return 0, 0 }
func (t checkTxn) ReqHeaders() []h1.Header   { return nil }
func (t checkTxn) Status() int               { return t.c.Status }
func (t checkTxn) TLS() (bool, []byte)       { return false, nil }
func (t checkTxn) Now() int64                { return time.Now().UnixMilli() }
func (t checkTxn) Tracked(int) stick.Ref     { return stick.Ref{} }
func (t checkTxn) SetTracked(int, stick.Ref) {}
func (t checkTxn) Env() acl.Env              { return noEnv{} }
func (t checkTxn) CacheHit() (bool, string)  { return false, "" }

func (t checkTxn) RespHeaders() []h1.Header {
	if t.c.Headers == nil {
		return nil
	}
	hs := make([]h1.Header, len(t.c.Headers))
	for i, h := range t.c.Headers {
		hs[i] = h1.Header{Name: []byte(h[0]), Value: []byte(h[1])}
	}
	return hs
}

// ResPayload is what the server sent since the last send (res.payload
// in a check's expressions).
func (t checkTxn) ResPayload() []byte { return t.c.Payload }

// RespBody is the last HTTP response's body (res.body).
func (t checkTxn) RespBody() ([]byte, int64, bool) {
	if t.c.Body == nil && t.c.Status == 0 {
		return nil, 0, false
	}
	return t.c.Body, int64(len(t.c.Body)), true
}

func (t checkTxn) Var(name string) (acl.Sample, bool) {
	v, ok := t.c.Vars[name].(acl.Sample)
	return v, ok
}

func (t checkTxn) SetVar(name string, s acl.Sample) {
	if t.c.Vars == nil {
		t.c.Vars = map[string]any{}
	}
	s.B = append([]byte(nil), s.B...)
	t.c.Vars[name] = s
}

// noEnv answers the runtime questions a check has no answer to.
type noEnv struct{}

func (noEnv) NbSrv(string) int  { return 0 }
func (noEnv) BeConn(string) int { return 0 }
func (noEnv) FeConn(string) int { return 0 }

// checkFormat compiles a log-format string of a check rule; a literal one
// needs no evaluation and returns nil.
func checkFormat(set *acl.Set, ds *config.Diagnostics, pos config.Pos, what, text string) health.Dyn {
	if !strings.Contains(text, "%") {
		return nil
	}
	if set == nil {
		return nil // the proxy's ACLs failed; their errors are reported
	}
	f, err := set.Format(text)
	if err != nil {
		ds.Alertf(pos, "'%s' : %v", what, err)
		return nil
	}
	if lit, ok := f.Literal(); ok {
		s := string(lit)
		return func(*health.Context) string { return s }
	}
	return func(c *health.Context) string {
		return string(f.Append(nil, acl.NewEval(checkTxn{c})))
	}
}

// checkCode compiles the "status-code <expr>" of an expect rule: the
// sample cast to an integer as HAProxy does (leading digits of a string).
func checkCode(set *acl.Set, ds *config.Diagnostics, pos config.Pos, what, text string) func(*health.Context) (int, bool) {
	if set == nil {
		return nil
	}
	x, err := set.Expr(text)
	if err != nil {
		ds.Alertf(pos, "'%s' : %v", what, err)
		return nil
	}
	return func(c *health.Context) (int, bool) {
		e := acl.NewEval(checkTxn{c})
		s, ok := x.Sample(e)
		if !ok {
			return 0, false
		}
		n, ok := acl.CastInt(e, s)
		return int(n), ok
	}
}

// checkVarRule compiles set-var(<var>) <expr>, set-var-fmt(<var>) <fmt>
// and unset-var(<var>) of a check.
func checkVarRule(set *acl.Set, ds *config.Diagnostics, pos config.Pos, action, name string, args []config.Word) health.Do {
	if action == "unset-var" {
		return func(c *health.Context) { delete(c.Vars, name) }
	}
	if set == nil {
		return nil
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.Text
	}
	text := strings.Join(parts, " ")
	if action == "set-var-fmt" {
		f, err := set.Format(text)
		if err != nil {
			ds.Alertf(pos, "'%s(%s)' : %v", action, name, err)
			return nil
		}
		return func(c *health.Context) {
			v := f.Append(nil, acl.NewEval(checkTxn{c}))
			checkTxn{c}.SetVar(name, acl.Sample{Kind: acl.KindStr, B: v})
		}
	}
	x, err := set.Expr(text)
	if err != nil {
		ds.Alertf(pos, "'%s(%s)' : %v", action, name, err)
		return nil
	}
	return func(c *health.Context) {
		t := checkTxn{c}
		if s, ok := x.Sample(acl.NewEval(t)); ok {
			t.SetVar(name, s)
		}
	}
}

// Part names the checked server and its backend (be_name, srv_name in a
// check's log-format strings, as http-check.vtc sends them); the ids are
// not known here.
func (t checkTxn) Part(p acl.Part) (string, int, bool) {
	switch p {
	case acl.PartBackend:
		return t.c.Backend, 0, t.c.Backend != ""
	case acl.PartServer:
		return t.c.Server, 0, t.c.Server != ""
	}
	return "", 0, false
}

func (t checkTxn) TimeoutMs(acl.Timeout) (int64, bool) { return 0, false }

func (t checkTxn) ServerConn() (src, dst netip.AddrPort, httpMajor int, ok bool) {
	return netip.AddrPort{}, netip.AddrPort{}, 0, false
}

var (
	_ acl.StreamTxn     = checkTxn{}
	_ acl.ResPayloadTxn = checkTxn{}
	_ acl.RespBodyTxn   = checkTxn{}
)
