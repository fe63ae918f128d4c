package rules_test

import (
	"net/netip"
	"testing"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/acl/acltest"
	"bulwark/internal/config"
	"bulwark/internal/h1"
	"bulwark/internal/model"
	"bulwark/internal/rules"
	"bulwark/internal/stick"
)

// txn adds the editing half of rules.Txn to the acl fake.
type txn struct {
	*acltest.Txn
	level    string
	captures map[int]string
	reason   string
	// cacheUse and cacheStore name the caches the actions asked for.
	cacheUse, cacheStore string
	serverTO             time.Duration
	tunnelTO             time.Duration
}

func (t *txn) CacheUse(name string)   { t.cacheUse = name }
func (t *txn) CacheStore(name string) { t.cacheStore = name }

func (t *txn) HeaderList(resp bool) *[]h1.Header {
	if resp {
		return &t.Resp
	}
	return &t.Req
}
func (t *txn) SetTarget(b []byte)                 { t.Tgt = string(b) }
func (t *txn) SetStatus(c int, r []byte)          { t.Code, t.reason = c, string(r) }
func (t *txn) SetLogLevel(l string)               { t.level = l }
func (t *txn) SetMethod(m []byte)                 { t.Meth = string(m) }
func (t *txn) SetSockOpt(bool, int)               {}
func (t *txn) WaitBody(time.Duration, int64) bool { return true }
func (t *txn) SetTimeout(tunnel bool, d time.Duration) {
	if tunnel {
		t.tunnelTO = d
	} else {
		t.serverTO = d
	}
}
func (t *txn) SetAddr(dst bool, ap netip.AddrPort) {
	if dst {
		t.DstAddr = ap
	} else {
		t.SrcAddr = ap
	}
}
func (t *txn) Capture(id int, v []byte) {
	if t.captures == nil {
		t.captures = map[int]string{}
	}
	t.captures[id] = string(v)
}

func newTxn() *txn { return &txn{Txn: acltest.New()} }

type env struct {
	p      *model.Proxy
	tables map[string]*stick.Table
	req    *rules.List
	resp   *rules.List
	tcp    *rules.List
}

// setup compiles a config's first frontend: its stick tables, ACLs and
// rule lists. Compile errors fail the test unless wantErr.
func setup(t testing.TB, text string) (*env, config.Diagnostics) {
	t.Helper()
	cfg, ds := config.Parse("test.cfg", []byte(text), config.LexOptions{})
	if ds.HasAlerts() {
		t.Fatalf("parse: %v", ds)
	}
	m, ds := model.Compile(cfg, model.Options{})
	for _, d := range ds {
		if d.Severity == config.SevAlert && d.Code != model.CodeUnsupported {
			t.Fatalf("model: %v", d)
		}
	}
	ev := &env{tables: map[string]*stick.Table{}}
	for _, p := range m.Proxies {
		if p.StickTable != nil {
			spec, err := stick.ParseTableSpec(p.StickTable.Args)
			if err != nil {
				t.Fatalf("table: %v", err)
			}
			ev.tables[p.Name] = stick.New(p.Name, spec)
		}
		if ev.p == nil && p.Cap&model.CapFrontend != 0 {
			ev.p = p
		}
	}
	tables := func(n string) *stick.Table { return ev.tables[n] }
	set, all := acl.Compile(ev.p, m, acl.Options{Tables: tables})
	var d config.Diagnostics
	ev.req, d = rules.Compile(ev.p, rules.HTTPRequest, set, rules.Options{Tables: tables, Experimental: true})
	all = append(all, d...)
	ev.resp, d = rules.Compile(ev.p, rules.HTTPResponse, set, rules.Options{Tables: tables, Experimental: true})
	all = append(all, d...)
	ev.tcp, d = rules.Compile(ev.p, rules.TCPConnection, set, rules.Options{Tables: tables, Experimental: true})
	all = append(all, d...)
	return ev, all
}

func mustSetup(t testing.TB, text string) *env {
	t.Helper()
	ev, ds := setup(t, text)
	if ds.HasAlerts() {
		t.Fatalf("compile: %v", ds)
	}
	return ev
}

func run(l *rules.List, tx *txn) rules.Result {
	x := &rules.Exec{E: acl.NewEval(tx), T: tx}
	return l.Run(x)
}

func hdr(hs []h1.Header, name string) []string {
	var out []string
	for _, h := range hs {
		if string(h.Name) == name {
			out = append(out, string(h.Value))
		}
	}
	return out
}

func accept(s string) acl.Sample { return acl.Sample{Kind: acl.KindStr, B: []byte(s)} }
