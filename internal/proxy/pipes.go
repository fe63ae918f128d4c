package proxy

import (
	"sync/atomic"

	"bulwark/internal/model"
)

// pipeBudget bounds the pipes the splicing transfers hold at once
// ("maxpipes", CM 3.2): a transfer that finds none left copies through
// user space instead, as HAProxy falls back to its buffers. "nosplice"
// leaves no pipe at all. A generation has its own budget; transfers of
// an older one still running at a reload hold theirs until they end.
type pipeBudget struct {
	off  bool
	max  int64 // 0: no bound
	used atomic.Int64
}

func newPipeBudget(g *model.Global) *pipeBudget {
	b := &pipeBudget{off: g.NoSplice, max: int64(g.MaxPipes)}
	if b.max == 0 {
		// HAProxy's default; without maxconn Bulwark has no connection
		// bound to derive one from.
		b.max = int64(g.MaxConn / 4)
	}
	return b
}

// take reserves a pipe, false when none is left.
func (b *pipeBudget) take() bool {
	if b.off {
		return false
	}
	if b.max <= 0 {
		b.used.Add(1)
		return true
	}
	for {
		n := b.used.Load()
		if n >= b.max {
			return false
		}
		if b.used.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// put gives back a pipe take reserved.
func (b *pipeBudget) put() { b.used.Add(-1) }
