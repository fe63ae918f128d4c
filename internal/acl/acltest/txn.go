// Package acltest provides a fake transaction for tests of code that
// evaluates ACLs and rules.
package acltest

import (
	"net/netip"

	"bulwark/internal/acl"
	"bulwark/internal/h1"
	"bulwark/internal/stick"
)

// Txn is an in-memory acl.Txn; set its fields directly.
type Txn struct {
	SrcAddr, DstAddr netip.AddrPort
	Meth, Tgt        string
	Major, Minor     int
	Req, Resp        []h1.Header
	Code             int
	TLSOn            bool
	SNI              string
	Clock            int64
	Slots            [3]stick.Ref
	Vars             map[string]acl.Sample
	Environment      acl.Env
	// CacheName is the cache the response came from, "" when it did not.
	CacheName string

	meth, tgt []byte
}

// New returns a GET / HTTP/1.1 request from 192.0.2.10:40000 to 10.0.0.1:80.
func New() *Txn {
	return &Txn{
		SrcAddr: netip.MustParseAddrPort("192.0.2.10:40000"),
		DstAddr: netip.MustParseAddrPort("10.0.0.1:80"),
		Meth:    "GET", Tgt: "/", Major: 1, Minor: 1,
		Vars: map[string]acl.Sample{},
	}
}

// Header appends a request header and returns t.
func (t *Txn) Header(name, value string) *Txn {
	t.Req = append(t.Req, h1.Header{Name: []byte(name), Value: []byte(value)})
	return t
}

func (t *Txn) Src() netip.AddrPort { return t.SrcAddr }
func (t *Txn) Dst() netip.AddrPort { return t.DstAddr }

func (t *Txn) Method() []byte {
	if string(t.meth) != t.Meth {
		t.meth = []byte(t.Meth)
	}
	return t.meth
}

func (t *Txn) Target() []byte {
	if string(t.tgt) != t.Tgt {
		t.tgt = []byte(t.Tgt)
	}
	return t.tgt
}

func (t *Txn) Version() (int, int)           { return t.Major, t.Minor }
func (t *Txn) ReqHeaders() []h1.Header       { return t.Req }
func (t *Txn) RespHeaders() []h1.Header      { return t.Resp }
func (t *Txn) Status() int                   { return t.Code }
func (t *Txn) TLS() (bool, []byte)           { return t.TLSOn, []byte(t.SNI) }
func (t *Txn) Now() int64                    { return t.Clock }
func (t *Txn) Tracked(n int) stick.Ref       { return t.Slots[n] }
func (t *Txn) SetTracked(n int, r stick.Ref) { t.Slots[n] = r }
func (t *Txn) Env() acl.Env                  { return t.Environment }
func (t *Txn) CacheHit() (bool, string)      { return t.CacheName != "", t.CacheName }

func (t *Txn) Var(name string) (acl.Sample, bool) {
	s, ok := t.Vars[name]
	return s, ok
}

func (t *Txn) SetVar(name string, s acl.Sample) {
	if t.Vars == nil {
		t.Vars = map[string]acl.Sample{}
	}
	s.B = append([]byte(nil), s.B...)
	t.Vars[name] = s
}

// Env is a fixed acl.Env.
type Env struct {
	Servers map[string]int
	BeConns map[string]int
	FeConns map[string]int
}

func (e Env) NbSrv(b string) int  { return lookup(e.Servers, b) }
func (e Env) BeConn(b string) int { return lookup(e.BeConns, b) }
func (e Env) FeConn(f string) int { return lookup(e.FeConns, f) }

func lookup(m map[string]int, k string) int {
	v, ok := m[k]
	if !ok {
		return -1
	}
	return v
}
