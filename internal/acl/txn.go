// Package acl compiles HAProxy ACLs, sample expressions and if/unless
// conditions (CM 7) into evaluators that run against a transaction view
// the proxy implements. Everything that can be decided at load time
// (fetch lookup, pattern parsing, regex compilation, pattern files, map
// files, table and userlist references) is decided by Compile, with the
// configuration position in every error; evaluation only reads.
package acl

import (
	"net/netip"

	"bulwark/internal/h1"
	"bulwark/internal/stick"
)

// Txn is the view of one transaction that fetches read. Byte slices alias
// the proxy's buffers; fetches never retain them beyond one evaluation.
// The proxy implements it once per session and reuses it, so calls must
// not allocate.
type Txn interface {
	Src() netip.AddrPort
	Dst() netip.AddrPort
	// Method, Target (the raw request-target) and Version of the request.
	Method() []byte
	Target() []byte
	Version() (major, minor int)
	// ReqHeaders and RespHeaders are the live header lists; RespHeaders is
	// nil before a response exists. Rules that edit headers change these
	// lists, and later fetches see the edits, as in HAProxy.
	ReqHeaders() []h1.Header
	RespHeaders() []h1.Header
	// Status is the response status, 0 before a response exists.
	Status() int
	// TLS reports whether the client connection is TLS and the SNI it
	// sent; in TCP mode on a clear connection, the SNI of the ClientHello
	// the content rules inspected (req.ssl_sni), with on false.
	TLS() (on bool, sni []byte)
	// Now is the stick-table clock in milliseconds (stick.Clock).
	Now() int64
	// Tracked returns the entry tracked in stick counter slot n (0..2);
	// an invalid Ref when the slot is empty.
	Tracked(n int) stick.Ref
	// SetTracked fills slot n; the proxy releases it when the stream
	// (http-request) or connection (tcp-request connection) ends.
	SetTracked(n int, r stick.Ref)
	// Var and SetVar hold variables by full name ("txn.x", "req.y",
	// "sess.z"). SetVar must copy s.B: it aliases scratch space.
	Var(name string) (Sample, bool)
	SetVar(name string, s Sample)
	// Env answers questions about the running configuration.
	Env() Env
	// CacheHit reports whether the response was delivered from a cache,
	// and which ("res.cache_hit", "res.cache_name").
	CacheHit() (hit bool, name string)
}

// Env is the part of the runtime that fetches consult beyond the
// transaction. An empty name means the transaction's own frontend or
// backend.
type Env interface {
	NbSrv(backend string) int
	BeConn(backend string) int
	FeConn(frontend string) int
}

// Kind is a sample's type (CM 7.1 "sample types").
type Kind uint8

// Sample kinds. KindNone is a missing sample: the fetch found nothing.
const (
	KindNone Kind = iota
	KindBool
	KindInt
	KindIP
	KindStr
	KindBin
)

func (k Kind) String() string {
	switch k {
	case KindBool:
		return "boolean"
	case KindInt:
		return "integer"
	case KindIP:
		return "ip"
	case KindStr:
		return "string"
	case KindBin:
		return "binary"
	}
	return "none"
}

// Sample is one fetched or converted value. For strings and binaries, B
// aliases the transaction or the Eval's scratch space and is valid until
// the next evaluation on the same Eval.
type Sample struct {
	Kind Kind
	I    int64 // bool (0/1) and int
	IP   netip.Addr
	B    []byte
}

// Eval is the per-transaction evaluation state. The proxy keeps one per
// session and calls Reset before each evaluation pass; its scratch buffer
// then keeps its capacity, so evaluation does not allocate.
type Eval struct {
	Txn Txn
	// Response is set while http-response rules run: "hdr" then reads
	// response headers, as HAProxy does.
	Response bool
	// Partial is set while the data a fetch reads may still grow
	// (tcp-response content before its inspect-delay ends): a condition
	// that a fetch marked as liable to change, and that did not match,
	// is then undecided rather than false (HAProxy's ACL_TEST_MISS).
	Partial bool
	// mayChange is set by a fetch whose answer could differ with more
	// data; missed by a condition found undecided.
	mayChange, missed bool
	buf               []byte
	it                iter
	// memo caches ACL results of the current pass: entry = gen<<1 | result.
	memo []uint32
	gen  uint32
}

// NewEval returns an Eval over t.
func NewEval(t Txn) *Eval { return &Eval{Txn: t, buf: make([]byte, 0, 512), gen: 1} }

// Reset forgets scratch space; samples from earlier evaluations become
// invalid.
func (e *Eval) Reset() {
	e.buf = e.buf[:0]
	e.Invalidate()
}

// Invalidate forgets cached ACL results; call it whenever the transaction
// changes (a rule edited a header, tracked a counter, a response arrived).
func (e *Eval) Invalidate() {
	e.gen++
	if e.gen == 1<<31 {
		clear(e.memo)
		e.gen = 1
	}
}

// Missed reports, and forgets, whether a condition evaluated while
// Partial was undecided for want of data.
func (e *Eval) Missed() bool {
	m := e.missed
	e.missed = false
	return m
}

// Shrink drops the scratch space and the memo, for a session that will be
// idle for a while; both grow again on the next evaluation.
func (e *Eval) Shrink() {
	e.buf = nil
	e.memo = nil
}
