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
	// The array forms, on element argVal.i of args[1]: sc_get_gpc,
	// sc_gpc_rate, sc_get_gpt read; sc_inc_gpc and sc_clr_gpc update.
	opGetElem
	opIncElem
	opClrElem
)

// counterSpec is what one sc_/src_/table_ name does to an entry.
type counterSpec struct {
	op counterOp
	dt stick.DataType
}

// Array-element names: sc_<x>(<idx>,<ctr>[,<table>]), src_<x>(<idx>,<table>)
// (scArrayNames) and table_<x>(<idx>,<table>) (tableArrayNames). HAProxy
// 2.6 has no sc<N>_ forms of these.
var (
	scArrayNames = map[string]counterSpec{
		"get_gpc":  {opGetElem, stick.DTGPC},
		"gpc_rate": {opGetElem, stick.DTGPCRate},
		"get_gpt":  {opGetElem, stick.DTGPT},
		"inc_gpc":  {opIncElem, stick.DTGPC},
		"clr_gpc":  {opClrElem, stick.DTGPC},
	}
	tableArrayNames = map[string]counterSpec{
		"gpc":      {opGetElem, stick.DTGPC},
		"gpc_rate": {opGetElem, stick.DTGPCRate},
		"gpt":      {opGetElem, stick.DTGPT},
	}
)

// arrayName maps the <x> of an array-element fetch or converter to its
// operation.
func arrayName(x string, table bool) (counterOp, stick.DataType, bool) {
	names := scArrayNames
	if table {
		names = tableArrayNames
	}
	c, ok := names[x]
	return c.op, c.dt, ok
}

// parseElemIdx reads an array index argument. HAProxy takes any integer
// and an index past the array is "not stored" at run time, so a negative
// one is kept as such and never finds an element.
func parseElemIdx(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("failed to parse '%s' as an array index (expects an integer)", s)
	}
	if n > 1<<31-1 || n < -1 {
		n = -1
	}
	return n, nil
}

// stickArrayFetch builds sc_<x>(<idx>,<ctr>[,<table>]) and
// src_<x>(<idx>,<table>) for the gpc/gpc_rate/gpt arrays.
func stickArrayFetch(name string) *fetchDef {
	x, src := "", false
	switch {
	case strings.HasPrefix(name, "sc_"):
		x = name[3:]
	case strings.HasPrefix(name, "src_"):
		x, src = name[4:], true
	default:
		return nil
	}
	op, dt, ok := arrayName(x, false)
	if !ok {
		return nil
	}
	// The table is mandatory for src_ (ARG2(2,SINT,TAB) in HAProxy).
	d := &fetchDef{out: KindInt, minArgs: 2, maxArgs: 3}
	if src {
		d.maxArgs = 2
	}
	d.prep = func(c *compiler, xp *Expr) error {
		idx, err := parseElemIdx(xp.args[0].s)
		if err != nil {
			return err
		}
		slot := -2
		tname := xp.args[1].s
		if !src {
			n, err := strconv.Atoi(xp.args[1].s)
			if err != nil || n < 0 || n > 2 {
				return fmt.Errorf("invalid stick counter '%s' (expects 0, 1 or 2)", xp.args[1].s)
			}
			slot, tname = n, ""
			if len(xp.args) > 2 {
				tname = xp.args[2].s
			}
		}
		a := argVal{i: int64(slot), dt: dt}
		if src || tname != "" {
			t, err := c.table(tname)
			if err != nil {
				return err
			}
			a.tbl = t
		}
		xp.args = []argVal{a, {i: idx}}
		return nil
	}
	d.fn = func(e *Eval, xp *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		a, idx := &xp.args[0], int(xp.args[1].i)
		now := e.Txn.Now()
		if a.i == -2 {
			return srcElem(e, a, op, idx, now)
		}
		r := e.Txn.Tracked(int(a.i))
		if !r.Valid() {
			return Sample{}, false
		}
		return refElem(r, op, a.dt, idx, now)
	}
	return d
}

func srcElem(e *Eval, a *argVal, op counterOp, idx int, now int64) (Sample, bool) {
	k := stick.AddrKey(e.Txn.Src().Addr())
	if op == opIncElem {
		// src_inc_gpc creates the entry, as src_inc_gpc0 does.
		r, err := a.tbl.GetOrCreate(k, now)
		if err != nil {
			return Sample{}, false
		}
		s, ok := refElem(r, op, a.dt, idx, now)
		r.Release(now)
		return s, ok
	}
	r, found := a.tbl.Lookup(k, now)
	if !found {
		return intSample(0), true
	}
	return refElem(r, op, a.dt, idx, now)
}

// refElem applies an array operation to an entry. Reading an element the
// table does not have gives no sample; increments answer 0 (HAProxy's
// sc_inc_gpc answers 0 when neither gpc nor gpc_rate has the element).
func refElem(r stick.Ref, op counterOp, dt stick.DataType, idx int, now int64) (Sample, bool) {
	var v uint64
	var ok bool
	switch op {
	case opGetElem:
		v, ok = r.GetElem(dt, idx, now)
	case opIncElem:
		v, ok = r.IncGPC(idx, now)
	case opClrElem:
		v, ok = r.ClrGPC(idx)
	}
	if !ok {
		return Sample{}, false
	}
	return intSample(int64(v)), true
}

// tableArrayConv builds table_gpc(<idx>,<table>), table_gpc_rate and
// table_gpt: the input sample is a key looked up without refreshing it.
func tableArrayConv(name string) *convDef {
	x, ok := strings.CutPrefix(name, "table_")
	if !ok {
		return nil
	}
	_, dt, ok := arrayName(x, true)
	if !ok {
		return nil
	}
	return &convDef{out: KindInt, minArgs: 2, maxArgs: 2,
		prep: func(c *compiler, cc *convCall) error {
			idx, err := parseElemIdx(cc.args[0].s)
			if err != nil {
				return err
			}
			t, err := c.table(cc.args[1].s)
			if err != nil {
				return err
			}
			cc.args = []argVal{{tbl: t, dt: dt}, {i: idx}}
			return nil
		},
		fn: func(e *Eval, cc *convCall, s Sample) (Sample, bool) {
			a, idx := &cc.args[0], int(cc.args[1].i)
			k, ok := sampleKey(s)
			if !ok {
				return Sample{}, false
			}
			now := e.Txn.Now()
			r, found := a.tbl.Lookup(k, now)
			if !found {
				return intSample(0), true
			}
			return refElem(r, opGetElem, a.dt, idx, now)
		}}
}

// Single-value names. Those in both families (sharedCounterNames) are
// read the same way; the sc_/src_ fetches name reads get_<x> and have the
// updating forms (scCounterNames), the table_ converters read the stored
// type by its own name (tableCounterNames).
var (
	sharedCounterNames = map[string]counterSpec{
		"kbytes_in":      {opKBytes, stick.DTBytesInCnt},
		"kbytes_out":     {opKBytes, stick.DTBytesOutCnt},
		"trackers":       {opTrackers, 0},
		"bytes_in_rate":  {opGet, stick.DTBytesInRate},
		"bytes_out_rate": {opGet, stick.DTBytesOutRate},
		"conn_cnt":       {opGet, stick.DTConnCnt},
		"conn_cur":       {opGet, stick.DTConnCur},
		"conn_rate":      {opGet, stick.DTConnRate},
		"gpc0_rate":      {opGet, stick.DTGPC0Rate},
		"gpc1_rate":      {opGet, stick.DTGPC1Rate},
		"http_err_cnt":   {opGet, stick.DTHTTPErrCnt},
		"http_err_rate":  {opGet, stick.DTHTTPErrRate},
		"http_fail_cnt":  {opGet, stick.DTHTTPFailCnt},
		"http_fail_rate": {opGet, stick.DTHTTPFailRate},
		"http_req_cnt":   {opGet, stick.DTHTTPReqCnt},
		"http_req_rate":  {opGet, stick.DTHTTPReqRate},
		"sess_cnt":       {opGet, stick.DTSessCnt},
		"sess_rate":      {opGet, stick.DTSessRate},
	}
	scCounterNames = map[string]counterSpec{
		"get_gpc0": {opGet, stick.DTGPC0},
		"get_gpc1": {opGet, stick.DTGPC1},
		"get_gpt0": {opGet, stick.DTGPT0},
		"inc_gpc0": {opIncGPC0, stick.DTGPC0},
		"inc_gpc1": {opIncGPC1, stick.DTGPC1},
		"clr_gpc0": {opClrGPC0, stick.DTGPC0},
		"clr_gpc1": {opClrGPC1, stick.DTGPC1},
		"tracked":  {opTracked, 0},
	}
	tableCounterNames = map[string]counterSpec{
		"gpc0":          {opGet, stick.DTGPC0},
		"gpc1":          {opGet, stick.DTGPC1},
		"gpt0":          {opGet, stick.DTGPT0},
		"server_id":     {opGet, stick.DTServerID},
		"bytes_in_cnt":  {opGet, stick.DTBytesInCnt},
		"bytes_out_cnt": {opGet, stick.DTBytesOutCnt},
	}
)

// counterName maps the <x> of sc_<x>/src_<x>/table_<x> to an operation.
func counterName(x string, table bool) (counterOp, stick.DataType, bool) {
	if c, ok := sharedCounterNames[x]; ok {
		return c.op, c.dt, true
	}
	names := scCounterNames
	if table {
		names = tableCounterNames
	}
	c, ok := names[x]
	return c.op, c.dt, ok
}

// stickFetch builds the definition of sc_<x>(ctr[,table]),
// sc<N>_<x>([table]) and src_<x>([table]).
func stickFetch(name string) *fetchDef {
	if d := stickArrayFetch(name); d != nil {
		return d
	}
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
		if !a.tbl.Provides(a.dt) {
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
	if d := tableArrayConv(name); d != nil {
		return d
	}
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
			if (op == opGet || op == opKBytes) && !a.tbl.Provides(a.dt) {
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
