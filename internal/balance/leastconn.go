package balance

import "sync"

// leastConn is HAProxy's FWLC. Servers are ordered by
// inflight ? (inflight+1)*4096/eweight : 0, so an idle server always wins
// and weights scale the load a server is expected to carry. Among equal
// keys the server whose load changed least recently goes first, which is
// how the ebtree's insertion order round-robins HAProxy's equal servers.
// A linear scan over atomically read counters replaces the tree: the
// proxy changes Inflight outside the balancer (Acquire, queues), and a
// scan cannot go stale.
type leastConn struct {
	mu   sync.Mutex
	pool pool
	seq  []uint64 // when each server's load last changed
	tick uint64
}

func newLeastConn(p pool) *leastConn {
	b := &leastConn{pool: p, seq: make([]uint64, len(p.srvs))}
	for i := range b.seq {
		b.seq[i] = uint64(i) // initial order: declaration order
	}
	b.tick = uint64(len(p.srvs))
	b.pool.recount()
	return b
}

func (b *leastConn) Update() {
	b.mu.Lock()
	b.pool.recount()
	b.mu.Unlock()
}

func lcKey(inflight int64, weight int) uint64 {
	if inflight <= 0 {
		return 0
	}
	return uint64(inflight+1) * maxEWeight / uint64(weight)
}

func (b *leastConn) Pick(k Key) (int, Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, st, seen := b.pick(k.avoidIdx())
	if st == AllFull && !seen {
		// Every server of the group went away without an Update: the
		// group choice is stale (backups may apply now).
		b.pool.recount()
		i, st, _ = b.pick(k.avoidIdx())
	}
	return i, st
}

// pick scans the group in use; seen reports whether any of its servers
// was still usable.
func (b *leastConn) pick(avoid int) (int, Status, bool) {
	p := &b.pool
	backup, only, none := p.useBackup()
	if none {
		return -1, NoServer, true
	}
	if only >= 0 {
		i, st := b.took(p.take(only))
		return i, st, true
	}
	best, avoided, seen := -1, -1, false
	var bestKey, bestSeq uint64
	for i, s := range p.srvs {
		if s.Backup != backup || !p.eligible(i) {
			continue
		}
		seen = true
		if !s.hasRoom() {
			continue
		}
		if i == avoid {
			avoided = i
			continue
		}
		key := lcKey(s.Inflight(), s.EWeight())
		if best < 0 || key < bestKey || key == bestKey && b.seq[i] < bestSeq {
			best, bestKey, bestSeq = i, key, b.seq[i]
		}
	}
	if best < 0 {
		best = avoided
	}
	if best < 0 {
		return -1, AllFull, seen
	}
	i, st := b.took(p.take(best))
	return i, st, true
}

// took moves a server whose load just grew to the back of its key group.
func (b *leastConn) took(i int, st Status) (int, Status) {
	if st == OK {
		b.tick++
		b.seq[i] = b.tick
	}
	return i, st
}

func (b *leastConn) Release(i int) {
	if i < 0 || i >= len(b.pool.srvs) {
		return
	}
	b.mu.Lock()
	b.pool.release(i)
	b.tick++
	b.seq[i] = b.tick
	b.mu.Unlock()
}

var _ Balancer = (*leastConn)(nil)
