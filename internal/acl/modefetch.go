package acl

// ModeTxn is implemented by a Txn that knows whether its stream is an
// HTTP one: a TCP session before "switch-mode http" is not, the HTTP
// session it becomes is.
type ModeTxn interface {
	IsHTTP() bool
}

// modeFetches: internal.strm.is_htx is HAProxy's debugging fetch for
// "the stream is HTX" (its HTTP representation), which the reg-tests use
// to tell a TCP stream from an upgraded one.
var modeFetches = map[string]*fetchDef{
	"internal.strm.is_htx": {out: KindBool, fn: fetchIsHTX},
}

func fetchIsHTX(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	mt, ok := e.Txn.(ModeTxn)
	return boolSample(ok && mt.IsHTTP()), true
}
