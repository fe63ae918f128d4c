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
	p := &b.pool
	backup, only, none := p.useBackup()
	if none {
		return -1, NoServer
	}
	if only >= 0 {
		return p.takeOnly(only)
	}
	avoid, avoided := k.avoidIdx(), -1
	for _, i := range b.order {
		s := p.srvs[i]
		if s.Backup != backup || !p.eligible(i) || !s.hasRoom() {
			continue
		}
		if i == avoid {
			avoided = i
			continue
		}
		return p.take(i)
	}
	if avoided >= 0 {
		return p.take(avoided)
	}
	return -1, AllFull
}

func (b *first) Release(i int) { b.pool.release(i) }

var _ Balancer = (*first)(nil)
