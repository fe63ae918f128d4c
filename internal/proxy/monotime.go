package proxy

import "time"

// monoTime is a reading of the monotonic clock alone, for ages and
// intervals that no log or counter shows as a date: time.Now reads the
// wall clock as well, two vDSO calls where this makes one, and a
// keep-alive request read the clock about twenty-five times.
type monoTime time.Duration

// monoBase anchors every monoTime. It is set once, when the package
// loads, and never changes: readings from different runtimes (reloads)
// compare.
var monoBase = time.Now()

func monoNow() monoTime { return monoTime(time.Since(monoBase)) }

// since returns the time elapsed from t to now.
func (t monoTime) since() time.Duration { return time.Duration(monoNow() - t) }

// sub returns the time from u to t.
func (t monoTime) sub(u monoTime) time.Duration { return time.Duration(t - u) }
