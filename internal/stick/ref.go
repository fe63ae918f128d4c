package stick

// Counter updates and reads through a Ref. Every method locks the entry's
// shard; updates of a data type the table does not store are no-ops, and
// reads of one report stored == false.

func (t *Table) addUInt(d []uint32, dt DataType, n uint32) {
	if off := t.lay.off[dt]; off >= 0 {
		d[off] += n // 32-bit wrap, like HAProxy's std_t_uint
	}
}

func (t *Table) addULL(d []uint32, dt DataType, n uint64) {
	if off := t.lay.off[dt]; off >= 0 {
		v := uint64(d[off])<<32 | uint64(d[off+1])
		v += n
		d[off], d[off+1] = uint32(v>>32), uint32(v)
	}
}

func (t *Table) addRate(d []uint32, dt DataType, n uint32, now uint32) {
	if off := t.lay.off[dt]; off >= 0 {
		f := FreqCtr{CurrTick: d[off], CurrCtr: d[off+1], PrevCtr: d[off+2]}
		f.Update(now, t.lay.period[dt], n)
		d[off], d[off+1], d[off+2] = f.CurrTick, f.CurrCtr, f.PrevCtr
	}
}

func (t *Table) freq(d []uint32, dt DataType) FreqCtr {
	return freqAt(d, int(t.lay.off[dt]))
}

func freqAt(d []uint32, off int) FreqCtr {
	return FreqCtr{CurrTick: d[off], CurrCtr: d[off+1], PrevCtr: d[off+2]}
}

// valueAt reads the element of dt at word offset off. A dict reads as its
// number; the table's dict holds the string.
func (t *Table) valueAt(d []uint32, dt DataType, off int, now uint32) uint64 {
	switch dataTypes[dt].kind {
	case kindSInt:
		return uint64(int64(int32(d[off])))
	case kindULL:
		return uint64(d[off])<<32 | uint64(d[off+1])
	case kindFreq:
		f := freqAt(d, off)
		return uint64(f.Read(now, t.lay.period[dt]))
	}
	return uint64(d[off])
}

// resolve finds where element idx of dt lives: in dt itself, or, for the
// legacy gpc0/gpc1/gpt0 types the table does not store, in the array that
// stands for them. It returns the type holding the value and its offset,
// or off < 0.
func (t *Table) resolve(dt DataType, idx int) (DataType, int) {
	if off := t.lay.at(dt, idx); off >= 0 {
		return dt, off
	}
	if idx == 0 {
		if a, i, ok := legacyElem(dt); ok {
			return a, t.lay.at(a, i)
		}
	}
	return dt, -1
}

// Provides reports whether reading or updating dt finds a value: dt is
// stored, or dt is gpc0, gpc1, gpt0 or their rates and the table stores
// the array element standing for it (the fetches on gpc0 then read gpc's
// element 0). Stores stays strict for the runtime API, as HAProxy's
// "data.gpc0" is "not stored" in a table with gpc(2).
func (t *Table) Provides(dt DataType) bool {
	_, off := t.resolve(dt, 0)
	return off >= 0
}

// Elems returns the number of elements of a stored data type: 1 for a
// stored scalar, the count of an array, 0 when not stored.
func (t *Table) Elems(dt DataType) int {
	if !t.Stores(dt) {
		return 0
	}
	return int(t.lay.nelem[dt])
}

// lock returns the entry's data words with the shard locked, or ok ==
// false (and nothing locked) if the entry is gone.
func (r Ref) lock() ([]uint32, bool) {
	if r.sh == nil {
		return nil, false
	}
	r.sh.mu.Lock()
	m := &r.sh.meta[r.idx]
	if m.gen != r.gen || m.ref == freeRef {
		r.sh.mu.Unlock()
		return nil, false
	}
	return r.sh.words(r.t, r.idx), true
}

func (r Ref) unlock() { r.sh.mu.Unlock() }

func (r Ref) incPair(cnt, rate DataType, n uint32, now int64) {
	d, ok := r.lock()
	if !ok {
		return
	}
	r.t.addUInt(d, cnt, n)
	r.t.addRate(d, rate, n, uint32(now))
	r.unlock()
}

func (r Ref) addBytes(cnt, rate DataType, n uint64, now int64) {
	d, ok := r.lock()
	if !ok {
		return
	}
	r.t.addULL(d, cnt, n)
	r.t.addRate(d, rate, uint32(n), uint32(now))
	r.unlock()
}

// IncConn counts a connection: conn_cnt and conn_rate (Track already did
// this for the tracking connection).
func (r Ref) IncConn(now int64) { r.incPair(DTConnCnt, DTConnRate, 1, now) }

// IncSess counts a session: sess_cnt and sess_rate.
func (r Ref) IncSess(now int64) { r.incPair(DTSessCnt, DTSessRate, 1, now) }

// IncHTTPReq counts an HTTP request: http_req_cnt and http_req_rate.
func (r Ref) IncHTTPReq(now int64) { r.incPair(DTHTTPReqCnt, DTHTTPReqRate, 1, now) }

// IncHTTPErr counts a client error (invalid request, deny, failed auth,
// 4xx from a server): http_err_cnt and http_err_rate.
func (r Ref) IncHTTPErr(now int64) { r.incPair(DTHTTPErrCnt, DTHTTPErrRate, 1, now) }

// IncHTTPFail counts a server failure (invalid response, 5xx except 501
// and 505): http_fail_cnt and http_fail_rate.
func (r Ref) IncHTTPFail(now int64) { r.incPair(DTHTTPFailCnt, DTHTTPFailRate, 1, now) }

// AddBytesIn counts n client-to-server bytes: bytes_in_cnt, bytes_in_rate.
func (r Ref) AddBytesIn(n uint64, now int64) { r.addBytes(DTBytesInCnt, DTBytesInRate, n, now) }

// AddBytesOut counts n server-to-client bytes: bytes_out_cnt, bytes_out_rate.
func (r Ref) AddBytesOut(n uint64, now int64) { r.addBytes(DTBytesOutCnt, DTBytesOutRate, n, now) }

// IncGPC0 increments gpc0 and gpc0_rate (or the elements 0 of the gpc
// and gpc_rate arrays standing for them) and returns HAProxy's result:
// the new gpc0, else the rate's current-period count when only the rate
// is stored, else 0. ok is false only when the entry is gone.
func (r Ref) IncGPC0(now int64) (v uint64, ok bool) { return r.incGPC(DTGPC0, DTGPC0Rate, 0, now) }

// IncGPC1 is IncGPC0 for gpc1 (elements 1 of the arrays).
func (r Ref) IncGPC1(now int64) (v uint64, ok bool) { return r.incGPC(DTGPC1, DTGPC1Rate, 0, now) }

// IncGPC increments element idx of the gpc and gpc_rate arrays
// (sc-inc-gpc, sc_inc_gpc), with IncGPC0's result.
func (r Ref) IncGPC(idx int, now int64) (v uint64, ok bool) {
	return r.incGPC(DTGPC, DTGPCRate, idx, now)
}

func (r Ref) incGPC(cnt, rate DataType, idx int, now int64) (uint64, bool) {
	if r.t == nil {
		return 0, false
	}
	_, coff := r.t.resolve(cnt, idx)
	rdt, roff := r.t.resolve(rate, idx)
	d, ok := r.lock()
	if !ok {
		return 0, false
	}
	defer r.unlock()
	var v uint64
	if roff >= 0 {
		f := freqAt(d, roff)
		f.Update(uint32(now), r.t.lay.period[rdt], 1)
		d[roff], d[roff+1], d[roff+2] = f.CurrTick, f.CurrCtr, f.PrevCtr
		v = uint64(f.CurrCtr)
	}
	if coff >= 0 {
		d[coff]++
		v = uint64(d[coff])
	}
	return v, true
}

// ClrGPC0 resets gpc0 (or gpc's element 0) to 0 and returns its previous
// value.
func (r Ref) ClrGPC0() (prev uint64, ok bool) { return r.swap(DTGPC0, 0, 0) }

// ClrGPC1 resets gpc1 (or gpc's element 1) to 0 and returns its previous
// value.
func (r Ref) ClrGPC1() (prev uint64, ok bool) { return r.swap(DTGPC1, 0, 0) }

// ClrGPC resets element idx of the gpc array and returns its previous value.
func (r Ref) ClrGPC(idx int) (prev uint64, ok bool) { return r.swap(DTGPC, idx, 0) }

// SetGPT0 sets the general purpose tag gpt0 (or gpt's element 0).
func (r Ref) SetGPT0(v uint32) bool {
	_, ok := r.swap(DTGPT0, 0, v)
	return ok
}

// SetGPT sets element idx of the gpt array (sc-set-gpt).
func (r Ref) SetGPT(idx int, v uint32) bool {
	_, ok := r.swap(DTGPT, idx, v)
	return ok
}

// SetServerID records the server an entry sticks to (stick store rules).
func (r Ref) SetServerID(id int32) bool {
	_, ok := r.swap(DTServerID, 0, uint32(id))
	return ok
}

// SetServerKey records the server's key (its name or address, after the
// table's srvkey), when the table stores server_key.
func (r Ref) SetServerKey(key string) bool {
	if r.t == nil || !r.t.Stores(DTServerKey) {
		return false
	}
	n := r.t.dict.intern(key)
	_, ok := r.swap(DTServerKey, 0, n)
	return ok
}

// ServerKey returns the server key recorded in the entry; ok is false
// when server_key is not stored, none was recorded or the entry is gone.
func (r Ref) ServerKey() (string, bool) {
	v, ok := r.Get(DTServerKey, 0)
	if !ok || v == 0 {
		return "", false
	}
	return r.t.dict.name(uint32(v))
}

func (r Ref) swap(dt DataType, idx int, v uint32) (uint64, bool) {
	if r.t == nil {
		return 0, false
	}
	sdt, off := r.t.resolve(dt, idx)
	if off < 0 {
		return 0, false
	}
	d, ok := r.lock()
	if !ok {
		return 0, false
	}
	prev := r.t.valueAt(d, sdt, off, 0)
	d[off] = v
	r.unlock()
	return prev, true
}

// Get reads data type dt; rates are read with HAProxy's
// read_freq_ctr_period over the table's period for dt. server_id is
// returned as its two's-complement bit pattern (use int64(v)); an array
// reads as its element 0, and gpc0, gpc1, gpt0 and their rates read the
// array element standing for them when only the array is stored. ok is
// false when dt is not stored or the entry is gone.
func (r Ref) Get(dt DataType, now int64) (v uint64, ok bool) { return r.GetElem(dt, 0, now) }

// GetElem reads element idx of data type dt (sc_get_gpc, sc_gpc_rate,
// sc_get_gpt); ok is false when the table has no such element.
func (r Ref) GetElem(dt DataType, idx int, now int64) (v uint64, ok bool) {
	if r.t == nil {
		return 0, false
	}
	sdt, off := r.t.resolve(dt, idx)
	if off < 0 {
		return 0, false
	}
	d, ok := r.lock()
	if !ok {
		return 0, false
	}
	v = r.t.valueAt(d, sdt, off, uint32(now))
	r.unlock()
	return v, true
}

// RateRemain returns how many more events of rate type dt may happen now
// while staying within freq events per period, counting pend pending
// events (freq_ctr_remain_period, no flapping correction).
func (r Ref) RateRemain(dt DataType, now int64, freq, pend uint32) (uint32, bool) {
	if r.t == nil || !dt.IsRate() || !r.t.Stores(dt) {
		return 0, false
	}
	d, ok := r.lock()
	if !ok {
		return 0, false
	}
	f := r.t.freq(d, dt)
	rem := f.Remain(uint32(now), r.t.lay.period[dt], freq, pend)
	r.unlock()
	return rem, true
}

// Set overwrites data type dt ("set table ... data.<type> <v>"), element
// 0 of an array as in HAProxy. For a rate it sets the current period's
// count, starting a period at now. server_key takes no number: like
// HAProxy, the value is accepted and nothing changes.
func (r Ref) Set(dt DataType, v uint64, now int64) bool {
	if r.t == nil || !r.t.Stores(dt) {
		return false
	}
	d, ok := r.lock()
	if !ok {
		return false
	}
	off := r.t.lay.off[dt]
	switch dataTypes[dt].kind {
	case kindDict:
	case kindULL:
		d[off], d[off+1] = uint32(v>>32), uint32(v)
	case kindFreq:
		d[off], d[off+1], d[off+2] = uint32(now), uint32(v), 0
	default:
		d[off] = uint32(v)
	}
	r.unlock()
	return true
}

// Trackers returns how many references hold the entry ("trackers" fetch).
func (r Ref) Trackers() (uint32, bool) {
	if _, ok := r.lock(); !ok {
		return 0, false
	}
	n := r.sh.meta[r.idx].ref
	r.unlock()
	return n, true
}
