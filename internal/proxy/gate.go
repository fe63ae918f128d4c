package proxy

import (
	"sync"
	"sync/atomic"
)

// gate is a connection bound the runtime API can move ("set maxconn
// frontend|global") and close ("disable frontend"): an accept loop takes a
// slot before accepting, so at the bound or while paused new connections
// wait in the kernel backlog, as in HAProxy. A channel semaphore cannot
// change its size, hence this.
type gate struct {
	mu sync.Mutex
	// cur changes under mu; atomic so that the idle pools can read the
	// connections open without the lock (fdBudget).
	cur    atomic.Int64
	max    int64 // 0: no bound
	paused bool
	// wake is closed and replaced when a slot may be free, only when
	// someone waits: a release on the accept path allocates nothing.
	wake    chan struct{}
	waiting bool
}

func newGate(max int) *gate { return &gate{max: int64(max), wake: make(chan struct{})} }

// acquire takes a slot, or returns false once stop is closed.
func (g *gate) acquire(stop <-chan struct{}) bool {
	for {
		g.mu.Lock()
		if !g.paused && (g.max <= 0 || g.cur.Load() < g.max) {
			g.cur.Add(1)
			g.mu.Unlock()
			return true
		}
		w := g.wake
		g.waiting = true
		g.mu.Unlock()
		select {
		case <-w:
		case <-stop:
			return false
		}
	}
}

func (g *gate) release() {
	g.mu.Lock()
	g.cur.Add(-1)
	if g.waiting {
		g.signal()
	}
	g.mu.Unlock()
}

// signal wakes the waiters; the caller holds mu.
func (g *gate) signal() {
	close(g.wake)
	g.wake = make(chan struct{})
	g.waiting = false
}

func (g *gate) setMax(n int) {
	g.mu.Lock()
	g.max = int64(n)
	g.signal()
	g.mu.Unlock()
}

// open returns the slots taken: the connections open.
func (g *gate) open() int64 { return g.cur.Load() }

func (g *gate) limit() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return int(g.max)
}

// pause stops or resumes the acceptance; it returns false when the gate
// was already in that state.
func (g *gate) pause(on bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused == on {
		return false
	}
	g.paused = on
	g.signal()
	return true
}

func (g *gate) isPaused() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.paused
}
