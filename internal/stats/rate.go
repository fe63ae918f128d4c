package stats

import "sync/atomic"

// Rate counts events per second as HAProxy's frequency counters do: the
// count of the current second plus the previous second's, weighted by the
// part of that second still inside the sliding window. It is lock-free:
// the request path pays one or two atomic operations.
//
// The current second and its count share one word, so that a rotation and
// the increments of the new second cannot interleave.
type Rate struct {
	cur  atomic.Uint64 // second<<32 | count
	prev atomic.Uint32 // count of the second before cur's
	max  atomic.Int64
}

// Add counts one event at nowMs (milliseconds of a monotonic-ish clock).
func (r *Rate) Add(nowMs int64) { r.AddN(nowMs, 1) }

// AddN counts n events at nowMs. The count of a second saturates at 2^32-1
// rather than spill into the second it shares a word with.
func (r *Rate) AddN(nowMs int64, n uint32) {
	if n == 0 {
		return
	}
	sec := uint32(nowMs / 1000)
	for {
		old := r.cur.Load()
		osec, cnt := uint32(old>>32), uint32(old)
		if osec == sec {
			if r.cur.CompareAndSwap(old, uint64(sec)<<32|uint64(cnt+min(n, ^uint32(0)-cnt))) {
				break
			}
			continue
		}
		if r.cur.CompareAndSwap(old, uint64(sec)<<32|uint64(n)) {
			if osec+1 == sec {
				r.prev.Store(cnt)
			} else {
				r.prev.Store(0)
			}
			break
		}
	}
	if v := r.Read(nowMs); v > r.max.Load() {
		// A lost race leaves a max a little low for an instant; the next
		// event at that rate fixes it.
		r.max.Store(v)
	}
}

// Read is the number of events over the last second at nowMs.
func (r *Rate) Read(nowMs int64) int64 {
	sec := uint32(nowMs / 1000)
	old := r.cur.Load()
	osec, cnt := uint32(old>>32), uint64(uint32(old))
	var prev uint64
	switch {
	case osec == sec:
		prev = uint64(r.prev.Load())
	case osec+1 == sec:
		prev, cnt = cnt, 0
	default:
		return 0
	}
	elapsed := uint64(nowMs % 1000)
	return int64(cnt + (prev*(1000-elapsed)+999)/1000)
}

// Max is the highest rate seen.
func (r *Rate) Max() int64 { return r.max.Load() }

// Max64 keeps the highest value seen of a gauge (smax, qmax).
type Max64 struct{ v atomic.Int64 }

// Observe raises the maximum to v if it is higher.
func (m *Max64) Observe(v int64) {
	for {
		old := m.v.Load()
		if v <= old || m.v.CompareAndSwap(old, v) {
			return
		}
	}
}

// Load is the maximum seen.
func (m *Max64) Load() int64 { return m.v.Load() }

// Avg is HAProxy's sliding average over the last n samples ("swrate"):
// each sample moves the sum by v - sum/n. Lock-free by compare-and-swap.
type Avg struct {
	sum atomic.Int64
	max Max64
}

const avgSamples = 1024

// Add records one sample.
func (a *Avg) Add(v int64) {
	for {
		old := a.sum.Load()
		if a.sum.CompareAndSwap(old, old-(old+avgSamples-1)/avgSamples+v) {
			break
		}
	}
	a.max.Observe(v)
}

// Read is the average; n is how many samples were taken, so that the
// first ones are not diluted by the window's empty slots.
func (a *Avg) Read(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return a.sum.Load() / min(n, avgSamples)
}

// Max is the largest sample.
func (a *Avg) Max() int64 { return a.max.Load() }

// ResetMax forgets the highest rate ("clear counters").
func (r *Rate) ResetMax() { r.max.Store(0) }

// Reset forgets everything ("clear counters all").
func (r *Rate) Reset() {
	r.cur.Store(0)
	r.prev.Store(0)
	r.max.Store(0)
}

// Reset forgets the maximum.
func (m *Max64) Reset() { m.v.Store(0) }

// Reset forgets the samples.
func (a *Avg) Reset() {
	a.sum.Store(0)
	a.max.Reset()
}
