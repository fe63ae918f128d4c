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
	off := t.lay.off[dt]
	return FreqCtr{CurrTick: d[off], CurrCtr: d[off+1], PrevCtr: d[off+2]}
}

// value reads a stored data type; the caller checked it is stored.
func (t *Table) value(d []uint32, dt DataType, now uint32) uint64 {
	off := t.lay.off[dt]
	switch dataTypes[dt].kind {
	case kindSInt:
		return uint64(int64(int32(d[off])))
	case kindULL:
		return uint64(d[off])<<32 | uint64(d[off+1])
	case kindFreq:
		f := t.freq(d, dt)
		return uint64(f.Read(now, t.lay.period[dt]))
	}
	return uint64(d[off])
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

// IncGPC0 increments gpc0 and gpc0_rate and returns the new gpc0 value
// (0 when only the rate is stored). ok is false when neither is stored or
// the entry is gone.
func (r Ref) IncGPC0(now int64) (v uint64, ok bool) { return r.incGPC(DTGPC0, DTGPC0Rate, now) }

// IncGPC1 is IncGPC0 for gpc1.
func (r Ref) IncGPC1(now int64) (v uint64, ok bool) { return r.incGPC(DTGPC1, DTGPC1Rate, now) }

func (r Ref) incGPC(cnt, rate DataType, now int64) (uint64, bool) {
	if !r.t.Stores(cnt) && !r.t.Stores(rate) {
		return 0, false
	}
	d, ok := r.lock()
	if !ok {
		return 0, false
	}
	defer r.unlock()
	r.t.addUInt(d, cnt, 1)
	r.t.addRate(d, rate, 1, uint32(now))
	if !r.t.Stores(cnt) {
		return 0, true
	}
	return uint64(d[r.t.lay.off[cnt]]), true
}

// ClrGPC0 resets gpc0 to 0 and returns its previous value.
func (r Ref) ClrGPC0() (prev uint64, ok bool) { return r.swap(DTGPC0, 0) }

// ClrGPC1 resets gpc1 to 0 and returns its previous value.
func (r Ref) ClrGPC1() (prev uint64, ok bool) { return r.swap(DTGPC1, 0) }

// SetGPT0 sets the general purpose tag gpt0.
func (r Ref) SetGPT0(v uint32) bool {
	_, ok := r.swap(DTGPT0, v)
	return ok
}

// SetServerID records the server an entry sticks to (stick store rules).
func (r Ref) SetServerID(id int32) bool {
	_, ok := r.swap(DTServerID, uint32(id))
	return ok
}

func (r Ref) swap(dt DataType, v uint32) (uint64, bool) {
	if !r.t.Stores(dt) {
		return 0, false
	}
	d, ok := r.lock()
	if !ok {
		return 0, false
	}
	off := r.t.lay.off[dt]
	prev := r.t.value(d, dt, 0)
	d[off] = v
	r.unlock()
	return prev, true
}

// Get reads data type dt; rates are read with HAProxy's
// read_freq_ctr_period over the table's period for dt. server_id is
// returned as its two's-complement bit pattern (use int64(v)). ok is
// false when dt is not stored or the entry is gone.
func (r Ref) Get(dt DataType, now int64) (v uint64, ok bool) {
	if r.t == nil || !r.t.Stores(dt) {
		return 0, false
	}
	d, ok := r.lock()
	if !ok {
		return 0, false
	}
	v = r.t.value(d, dt, uint32(now))
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

// Set overwrites data type dt ("set table ... data.<type> <v>"). For a
// rate it sets the current period's count, starting a period at now.
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
