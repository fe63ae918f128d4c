package stick

// FreqCtr is HAProxy's two-bucket period rate counter (struct freq_ctr,
// src/freq_ctr.c, include/haproxy/freq_ctr.h) reproduced event for event,
// because users tune rate thresholds empirically against its readings.
//
// Time is a 32-bit millisecond tick that wraps, like HAProxy's now_ms: all
// arithmetic is done modulo 2^32, so callers may pass uint32(ms) of any
// monotonic millisecond clock. The zero value is a valid empty counter.
//
// FreqCtr is not safe for concurrent use; the table guards it with a shard
// mutex.
type FreqCtr struct {
	// CurrTick is the start of the current period. HAProxy uses bit 0 as a
	// rotation lock and always stores it cleared after a rotation, so a
	// rotated period starts on an even tick; we keep that 1 ms bias.
	CurrTick uint32
	CurrCtr  uint32 // events in the current period
	PrevCtr  uint32 // events in the previous period
}

// Update adds inc events at time now for a counter with the given period
// (ms, > 0) and returns the current-period count after the update.
func (f *FreqCtr) Update(now, period, inc uint32) uint32 {
	if now-f.CurrTick >= period {
		f.PrevCtr = f.CurrCtr
		f.CurrCtr = 0
		tick := f.CurrTick + period
		if now-tick >= period {
			// Two or more periods went by without an event: nothing of
			// the previous period is still relevant.
			f.PrevCtr = 0
			tick = now
		}
		f.CurrTick = tick &^ 1
	}
	f.CurrCtr += inc
	return f.CurrCtr
}

// total returns the number of events over the sliding period multiplied by
// the period (freq_ctr_total). pend < 0 enables the low-rate flapping
// correction used by plain reads; pend >= 0 adds pend pending events and
// disables it, as the limit checks do.
func (f *FreqCtr) total(now, period uint32, pend int64) uint64 {
	curr := uint64(f.CurrCtr)
	past := uint64(f.PrevCtr)
	remain := int32(f.CurrTick + period - now)
	if remain < 0 {
		// The current period is over but no event rotated it yet; it
		// may still count as the previous one.
		remain += int32(period)
		if remain >= 0 {
			past = curr
		} else {
			past = 0
		}
		curr = 0
	}
	if pend < 0 {
		pend = 0
		// Without this, a single event would read as 1 then 0 then 1 as
		// the weighted window slides (HAProxy's "flapping correction").
		if curr == 0 && past <= 1 {
			return past * uint64(period)
		}
	}
	if remain < 0 {
		remain = 0 // past is 0 here anyway; avoid a negative product
	}
	return past*uint64(remain) + (curr+uint64(pend))*uint64(period)
}

// Read returns the event rate over the last period as HAProxy's
// read_freq_ctr_period does: current-period events plus previous-period
// events weighted by the fraction of the current period still to run.
func (f *FreqCtr) Read(now, period uint32) uint32 {
	if period == 0 {
		return 0
	}
	return uint32(f.total(now, period, -1) / uint64(period))
}

// Remain returns how many more events may happen now without exceeding
// freq events per period, given pend events already pending
// (freq_ctr_remain_period). It applies no flapping correction.
func (f *FreqCtr) Remain(now, period, freq, pend uint32) uint32 {
	if period == 0 {
		return freq
	}
	avg := f.total(now, period, int64(pend)) / uint64(period)
	if avg > uint64(freq) {
		avg = uint64(freq)
	}
	return freq - uint32(avg)
}
