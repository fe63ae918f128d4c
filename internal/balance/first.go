package balance

import (
	"cmp"
	"slices"
	"sync"
)

// first is HAProxy's "first" (lb_fas): the usable server with the lowest
// id that still has a free slot. Weights only matter as 0 (excluded).
type first struct {
	mu    sync.Mutex
	pool  pool
	order []int // server indexes by id, then declaration order
}

func newFirst(p pool) *first {
	b := &first{pool: p, order: make([]int, len(p.srvs))}
	for i := range b.order {
		b.order[i] = i
	}
	slices.SortStableFunc(b.order, func(x, y int) int { return cmp.Compare(p.ids[x], p.ids[y]) })
	b.pool.recount()
	return b
}

func (b *first) Update() {
	b.mu.Lock()
	b.pool.recount()
	b.mu.Unlock()
}

func (b *first) Pick(k Key) (int, Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, st, seen := b.pick(k.avoidIdx())
	if st == AllFull && !seen {
		// The group went away without an Update; backups may apply now.
		b.pool.recount()
		i, st, _ = b.pick(k.avoidIdx())
	}
	return i, st
}

func (b *first) pick(avoid int) (int, Status, bool) {
	p := &b.pool
	backup, only, none := p.useBackup()
	if none {
		return -1, NoServer, true
	}
	if only >= 0 {
		i, st := p.take(only)
		return i, st, true
	}
	avoided, seen := -1, false
	for _, i := range b.order {
		s := p.srvs[i]
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
		i, st := p.take(i)
		return i, st, true
	}
	if avoided >= 0 {
		i, st := p.take(avoided)
		return i, st, true
	}
	return -1, AllFull, seen
}

func (b *first) Release(i int) { b.pool.release(i) }

var _ Balancer = (*first)(nil)
