package acl

import (
	"fmt"
	"strconv"
	"strings"

	"bulwark/internal/stick"
)

// counterOp is what a stick-counter fetch or table_* converter does with
// the entry (CM 7.3.3).
type counterOp uint8

const (
	opGet counterOp = iota
	opKBytes
	opIncGPC0
	opIncGPC1
	opClrGPC0
	opClrGPC1
	opTracked
	opTrackers
)

// counterName maps the <x> of sc_<x>/src_<x>/table_<x> to an operation.
func counterName(x string, table bool) (counterOp, stick.DataType, bool) {
	switch x {
	case "kbytes_in":
		return opKBytes, stick.DTBytesInCnt, true
	case "kbytes_out":
		return opKBytes, stick.DTBytesOutCnt, true
	case "trackers":
		return opTrackers, 0, true
	}
	if table {
		switch x {
		case "gpc0", "gpc1", "gpt0", "server_id", "bytes_in_cnt", "bytes_out_cnt":
			dt, _ := stick.DataTypeByName(x)
			return opGet, dt, true
		}
	} else {
		switch x {
		case "get_gpc0":
			return opGet, stick.DTGPC0, true
		case "get_gpc1":
			return opGet, stick.DTGPC1, true
		case "get_gpt0":
			return opGet, stick.DTGPT0, true
		case "inc_gpc0":
			return opIncGPC0, stick.DTGPC0, true
		case "inc_gpc1":
			return opIncGPC1, stick.DTGPC1, true
		case "clr_gpc0":
			return opClrGPC0, stick.DTGPC0, true
		case "clr_gpc1":
			return opClrGPC1, stick.DTGPC1, true
		case "tracked":
			return opTracked, 0, true
		}
	}
	switch x {
	case "bytes_in_rate", "bytes_out_rate", "conn_cnt", "conn_cur", "conn_rate", "gpc0_rate",
		"gpc1_rate", "http_err_cnt", "http_err_rate", "http_fail_cnt", "http_fail_rate",
		"http_req_cnt", "http_req_rate", "sess_cnt", "sess_rate":
		dt, _ := stick.DataTypeByName(x)
		return opGet, dt, true
	}
	return 0, 0, false
}

// stickFetch builds the definition of sc_<x>(ctr[,table]),
// sc<N>_<x>([table]) and src_<x>([table]).
func stickFetch(name string) *fetchDef {
	var x string
	slot := -1 // -1: from the first argument; -2: src
	switch {
	case strings.HasPrefix(name, "sc_"):
		x = name[3:]
	case len(name) > 4 && name[0] == 's' && name[1] == 'c' && name[2] >= '0' && name[2] <= '2' && name[3] == '_':
		x, slot = name[4:], int(name[2]-'0')
	case strings.HasPrefix(name, "src_"):
		x, slot = name[4:], -2
	default:
		return nil
	}
	op, dt, ok := counterName(x, false)
	if !ok || slot == -2 && op == opTracked {
		return nil
	}
	out := KindInt
	if op == opTracked {
		out = KindBool
	}
	d := &fetchDef{out: out, maxArgs: 1}
	if slot == -1 {
		d.minArgs, d.maxArgs = 1, 2
	}
	d.prep = func(c *compiler, xp *Expr) error {
		var tname string
		s := slot
		if slot == -1 {
			n, err := strconv.Atoi(xp.args[0].s)
			if err != nil || n < 0 || n > 2 {
				return fmt.Errorf("invalid stick counter '%s' (expects 0, 1 or 2)", xp.args[0].s)
			}
			s = n
			xp.args[0].i = int64(n)
			if len(xp.args) > 1 {
				tname = xp.args[1].s
			}
		} else {
			if len(xp.args) > 0 {
				tname = xp.args[0].s
			}
			xp.args = append(xp.args[:0:0], argVal{i: int64(s)})
			if len(xp.args) > 1 {
				xp.args = xp.args[:1]
			}
		}
		xp.args[0].dt = dt
		if s == -2 || tname != "" {
			t, err := c.table(tname)
			if err != nil {
				return err
			}
			xp.args[0].tbl = t
		}
		return nil
	}
	d.fn = func(e *Eval, xp *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		a := &xp.args[0]
		now := e.Txn.Now()
		if a.i == -2 {
			return srcCounter(e, a, op, now)
		}
		r := e.Txn.Tracked(int(a.i))
		if op == opTracked {
			return boolSample(r.Valid()), true
		}
		if !r.Valid() {
			return Sample{}, false
		}
		return refCounter(r, op, a.dt, now)
	}
	return d
}

func srcCounter(e *Eval, a *argVal, op counterOp, now int64) (Sample, bool) {
	if a.tbl == nil {
		return Sample{}, false
	}
	k := stick.AddrKey(e.Txn.Src().Addr())
	if op == opIncGPC0 || op == opIncGPC1 {
		r, err := a.tbl.GetOrCreate(k, now)
		if err != nil {
			return Sample{}, false
		}
		s, ok := refCounter(r, op, a.dt, now)
		r.Release(now)
		return s, ok
	}
	if op == opGet || op == opKBytes {
		if !a.tbl.Stores(a.dt) {
			return Sample{}, false
		}
	}
	r, found := a.tbl.Lookup(k, now)
	if !found {
		return intSample(0), true
	}
	return refCounter(r, op, a.dt, now)
}

func refCounter(r stick.Ref, op counterOp, dt stick.DataType, now int64) (Sample, bool) {
	var v uint64
	var ok bool
	switch op {
	case opGet:
		v, ok = r.Get(dt, now)
		if ok && dt == stick.DTServerID {
			return intSample(int64(int32(uint32(v)))), true
		}
	case opKBytes:
		v, ok = r.Get(dt, now)
		v >>= 10
	case opIncGPC0:
		v, ok = r.IncGPC0(now)
	case opIncGPC1:
		v, ok = r.IncGPC1(now)
	case opClrGPC0:
		v, ok = r.ClrGPC0()
	case opClrGPC1:
		v, ok = r.ClrGPC1()
	case opTrackers:
		var n uint32
		n, ok = r.Trackers()
		v = uint64(n)
	}
	if !ok {
		return Sample{}, false
	}
	return intSample(int64(v)), true
}

// tableConv builds table_<x>([table]): the input sample is a key looked up
// without refreshing the entry.
func tableConv(name string) *convDef {
	x, ok := strings.CutPrefix(name, "table_")
	if !ok {
		return nil
	}
	op, dt, ok := counterName(x, true)
	if !ok {
		return nil
	}
	// Without a table name the converter reads the current proxy's table,
	// as HAProxy 2.6 does.
	return &convDef{out: KindInt, minArgs: 0, maxArgs: 1,
		prep: func(c *compiler, cc *convCall) error {
			if len(cc.args) == 0 {
				cc.args = append(cc.args, argVal{})
			}
			t, err := c.table(cc.args[0].s)
			if err != nil {
				return err
			}
			cc.args[0].tbl, cc.args[0].dt = t, dt
			return nil
		},
		fn: func(e *Eval, cc *convCall, s Sample) (Sample, bool) {
			a := &cc.args[0]
			if (op == opGet || op == opKBytes) && !a.tbl.Stores(a.dt) {
				return Sample{}, false
			}
			k, ok := sampleKey(s)
			if !ok {
				return Sample{}, false
			}
			now := e.Txn.Now()
			r, found := a.tbl.Lookup(k, now)
			if !found {
				return intSample(0), true
			}
			return refCounter(r, op, a.dt, now)
		}}
}

// sampleKey turns a sample into a stick-table key; the table converts it
// to its own key type.
func sampleKey(s Sample) (stick.Key, bool) {
	switch s.Kind {
	case KindIP:
		return stick.AddrKey(s.IP), true
	case KindInt, KindBool:
		return stick.IntKey(s.I), true
	case KindStr, KindBin:
		return stick.BytesKey(s.B), true
	}
	return stick.Key{}, false
}

// SampleKey is sampleKey for the rules package (track-sc keys).
func SampleKey(s Sample) (stick.Key, bool) { return sampleKey(s) }
