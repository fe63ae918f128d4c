package proxy

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// After a burst (thousands of connections opened at once, say) the Go
// heap stays at the size the burst needed: the garbage collector runs only
// when something allocates, an idle proxy allocates nothing, the buffers
// the burst gave back wait in sync.Pools (freed only by two collections),
// and the runtime returns memory to the system only down to the goal of
// the last collection. Left alone, the memory comes back after the
// runtime's forced collections, two minutes apart. So once the proxy has
// been quiet for trimQuiet after activity, and the heap it holds grew
// notably since the last trim, it collects twice and hands the free pages
// back: as HAProxy trims its allocator where much memory can be reclaimed,
// and as HAProxy's "no-memory-trimming" turns off.
const (
	trimTick  = time.Second      // how often the activity is sampled
	trimQuiet = time.Second      // no new connection nor request for this long
	trimGap   = 10 * time.Second // at least this between two trims
	// trimGrowth is the least growth of the held heap since the last trim
	// (besides a quarter of it) worth two collections.
	trimGrowth = 8 << 20
)

// trimmer decides when to trim from samples of the activity (connections
// and requests counted so far) and of the heap held; it keeps no clock of
// its own, so that tests can drive it.
type trimmer struct {
	lastAct uint64
	changed time.Time // when lastAct last moved
	dirty   bool      // activity since the last decision
	base    uint64    // heap held just after the last trim (or at start)
	last    time.Time // the last trim
}

// due reports whether to trim now, given the activity count act and the
// heap held, sampled at now. One quiet period after activity gets one
// decision.
func (tr *trimmer) due(act, held uint64, now time.Time) bool {
	if act != tr.lastAct {
		tr.lastAct, tr.changed, tr.dirty = act, now, true
		return false
	}
	if !tr.dirty || now.Sub(tr.changed) < trimQuiet || now.Sub(tr.last) < trimGap {
		return false
	}
	tr.dirty = false
	return held > tr.base+max(tr.base/4, trimGrowth)
}

// trimmed records a trim done at now, after which the heap held is held.
func (tr *trimmer) trimmed(held uint64, now time.Time) { tr.base, tr.last = held, now }

// heapHeld reads the heap memory the runtime holds and has not returned:
// spans with objects, free and unused ones, and goroutine stacks.
type heapHeld struct{ s []metrics.Sample }

func newHeapHeld() *heapHeld {
	return &heapHeld{s: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}}
}

func (h *heapHeld) read() uint64 {
	metrics.Read(h.s)
	var n uint64
	for _, s := range h.s {
		if s.Value.Kind() == metrics.KindUint64 {
			n += s.Value.Uint64()
		}
	}
	return n
}

// activity is the number of connections accepted and requests received by
// the generation so far.
func (rt *Runtime) activity() uint64 {
	var n int64
	for _, f := range rt.frontends {
		n += f.stats.connTot.Load() + f.stats.reqTot.Load()
	}
	return uint64(n)
}

// trimWhenQuiet runs for the life of the generation ("no-memory-trimming":
// not at all); Start takes the first samples, so that the base is the heap
// before anything the generation serves.
func (rt *Runtime) trimWhenQuiet(h *heapHeld, tr trimmer) {
	t := time.NewTicker(trimTick)
	defer t.Stop()
	for {
		select {
		case <-rt.ctx.Done():
			return
		case <-rt.stopped:
			return
		case now := <-t.C:
			if tr.due(rt.activity(), h.read(), now) {
				// The first collection moves what the pools hold to their
				// victim caches, the second frees it, then the free pages
				// go back.
				runtime.GC()
				debug.FreeOSMemory()
				tr.trimmed(h.read(), time.Now())
				rt.trims.Add(1)
			}
		}
	}
}
