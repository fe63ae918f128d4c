package rules

import (
	"bulwark/internal/acl"
	"bulwark/internal/model"
)

// PriorityTxn is implemented by a Txn whose stream may wait in a backend
// queue: the queue serves lower classes first, then earlier (offset
// adjusted) arrival dates (set-priority-class, set-priority-offset).
type PriorityTxn interface {
	SetPriority(offset bool, v int64)
}

// RetryTxn is implemented by a Txn that may send its request again after
// a failure other than a connection failure ("retry-on"):
// disable-l7-retry turns that off for this request.
type RetryTxn interface {
	DisableL7Retry()
}

// EarlyHintTxn is implemented by a Txn that can send the client an
// interim "103 Early Hints" response before the final one. The proxy
// gathers the fields of consecutive early-hint rules into one 103.
type EarlyHintTxn interface {
	EarlyHint(name, value []byte)
}

// The ranges of CM 4.2 "set-priority-class" and "set-priority-offset":
// values outside are truncated to them.
const (
	maxPrioClass  = 2047
	maxPrioOffset = 524287
)

// compilePriority compiles "set-priority-class <expr>" and
// "set-priority-offset <expr>".
func compilePriority(c *compiler, r *model.Rule) action {
	if len(r.Args) == 0 {
		c.errf(r.Pos, r, "missing fetch method")
		return nil
	}
	if len(r.Args) > 1 {
		c.errf(r.Args[1].Pos, r, "unexpected argument '%s'", r.Args[1].Text)
		return nil
	}
	x, err := c.set.Expr(r.Args[0].Text)
	if err != nil {
		c.errf(r.Args[0].Pos, r, "%v", err)
		return nil
	}
	return &priorityAction{x: x, offset: r.Action == "set-priority-offset"}
}

type priorityAction struct {
	x      *acl.Expr
	offset bool
}

func (a *priorityAction) run(x *Exec, r *rule, res *Result) bool {
	pt, ok := x.T.(PriorityTxn)
	if !ok {
		return false
	}
	s, ok := a.x.Sample(x.E)
	if !ok {
		return false // no sample: the priority stays as it was
	}
	v, ok := acl.CastInt(x.E, s)
	if !ok {
		return false
	}
	lim := int64(maxPrioClass)
	if a.offset {
		lim = maxPrioOffset
	}
	pt.SetPriority(a.offset, max(-lim, min(lim, v)))
	return false
}

// compileNoArgs compiles an action without arguments; run is what it does.
func compileNoArgs(run func(x *Exec)) func(c *compiler, r *model.Rule) action {
	return func(c *compiler, r *model.Rule) action {
		if len(r.Args) > 0 {
			c.errf(r.Args[0].Pos, r, "unexpected argument '%s'", r.Args[0].Text)
			return nil
		}
		return funcAction(run)
	}
}

type funcAction func(x *Exec)

func (f funcAction) run(x *Exec, r *rule, res *Result) bool {
	f(x)
	return false
}

var (
	compileDisableL7Retry = compileNoArgs(func(x *Exec) {
		if rt, ok := x.T.(RetryTxn); ok {
			rt.DisableL7Retry()
		}
	})
	// compileWaitForHandshake: the action delays a request received as
	// TLS 1.3 early data until the handshake completes. Bulwark never
	// accepts early data (Go's TLS server has no 0-RTT), so every request
	// already follows a complete handshake and there is nothing to wait
	// for.
	compileWaitForHandshake = compileNoArgs(func(*Exec) {})
)

// compileEarlyHint compiles "early-hint <name> <fmt>".
func compileEarlyHint(c *compiler, r *model.Rule) action {
	a := r.Args
	if len(a) != 2 {
		c.errf(r.Pos, r, "expects exactly 2 arguments")
		return nil
	}
	if !validHeaderName(a[0].Text) {
		c.errf(a[0].Pos, r, "invalid header name '%s'", a[0].Text)
		return nil
	}
	f := c.format(r, a[1])
	if f == nil {
		return nil
	}
	return &earlyHint{name: []byte(a[0].Text), f: f}
}

type earlyHint struct {
	name []byte
	f    *acl.Format
}

func (a *earlyHint) run(x *Exec, r *rule, res *Result) bool {
	et, ok := x.T.(EarlyHintTxn)
	if !ok {
		return false
	}
	v := x.render(a.f)
	if !validValue(v) {
		return false // never a field that could split the interim response
	}
	et.EarlyHint(a.name, v)
	return false
}
