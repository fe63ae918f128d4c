package acl

import (
	"fmt"
	"strconv"
	"strings"
)

// PriorityTxn is implemented by a Txn whose stream has a queue priority
// (set-priority-class, set-priority-offset; prio_class, prio_offset).
type PriorityTxn interface {
	Priority() (class, offset int64)
}

// CaptureSetter is implemented by a Txn with capture slots that
// converters may fill (capture-req, capture-res): a slot it does not
// have takes nothing, and CaptureTxn.Captured then reports it missing.
type CaptureSetter interface {
	Capture(id int, v []byte)
	CaptureResponse(id int, v []byte)
}

// fetchPriority serves prio_class and prio_offset: 0 for a stream no rule
// gave a priority, as in HAProxy.
func fetchPriority(offset bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		pt, ok := e.Txn.(PriorityTxn)
		if !ok {
			return intSample(0), true
		}
		c, o := pt.Priority()
		if offset {
			return intSample(o), true
		}
		return intSample(c), true
	}
}

// CastInt converts a sample to an integer as HAProxy's sint cast does
// (set-priority-class and other actions taking an integer expression).
func CastInt(e *Eval, s Sample) (int64, bool) {
	v, ok := cast(e, s, KindInt)
	return v.I, ok
}

// streamConvs2 are the converters that act on the stream: captures into
// slots and stick-table entry ages.
func streamConvs2() map[string]*convDef {
	capture := func(resp bool) *convDef {
		return &convDef{in: KindStr, out: KindStr, minArgs: 1, maxArgs: 1, prep: prepCaptureID,
			fn: func(e *Eval, cc *convCall, s Sample) (Sample, bool) {
				cs, ok := e.Txn.(CaptureSetter)
				ct, ok2 := e.Txn.(CaptureTxn)
				if !ok || !ok2 {
					return Sample{}, false
				}
				id := int(cc.args[0].i)
				if resp {
					cs.CaptureResponse(id, s.B)
				} else {
					cs.Capture(id, s.B)
				}
				// A slot the frontend does not have fails the converter,
				// as in HAProxy 2.6.12 (str(a),capture-req(3) is empty).
				if _, ok := ct.Captured(resp, id); !ok {
					return Sample{}, false
				}
				return s, true
			}}
	}
	return map[string]*convDef{
		"capture-req":  capture(false),
		"capture-res":  capture(true),
		"table_expire": {out: KindInt, minArgs: 1, maxArgs: 2, prep: prepTableAge, fn: convTableAge(false)},
		"table_idle":   {out: KindInt, minArgs: 1, maxArgs: 2, prep: prepTableAge, fn: convTableAge(true)},
	}
}

func prepCaptureID(c *compiler, cc *convCall) error {
	n, err := strconv.ParseInt(strings.TrimSpace(cc.args[0].s), 10, 32)
	if err != nil || n < 0 {
		return fmt.Errorf("invalid capture id '%s' (expects a positive integer)", cc.args[0].s)
	}
	cc.args[0].i = n
	return nil
}

// prepTableAge resolves <table> and reads the optional <default_value>
// into args[1].
func prepTableAge(c *compiler, cc *convCall) error {
	t, err := c.table(cc.args[0].s)
	if err != nil {
		return err
	}
	cc.args[0].tbl = t
	if len(cc.args) == 2 {
		n, err := strconv.ParseInt(strings.TrimSpace(cc.args[1].s), 10, 64)
		if err != nil {
			return fmt.Errorf("invalid default value '%s' (expects an integer)", cc.args[1].s)
		}
		cc.args[1].i = n
	}
	return nil
}

// convTableAge is table_expire (idle false: the milliseconds before the
// entry expires) and table_idle (those since it was last updated). A key
// not in the table fails the converter unless a default is given.
func convTableAge(idle bool) convFn {
	return func(e *Eval, cc *convCall, s Sample) (Sample, bool) {
		miss := func() (Sample, bool) {
			if len(cc.args) == 2 {
				return intSample(cc.args[1].i), true
			}
			return Sample{}, false
		}
		k, ok := sampleKey(s)
		if !ok {
			return miss()
		}
		now := e.Txn.Now()
		r, found := cc.args[0].tbl.Lookup(k, now)
		if !found {
			return miss()
		}
		left, age, ok := r.Times(now)
		if !ok {
			return miss()
		}
		if idle {
			return intSample(age), true
		}
		return intSample(left), true
	}
}
