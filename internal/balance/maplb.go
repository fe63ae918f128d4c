package balance

import "sync"

// mapLB is HAProxy's lb_map: a table of tot_weight slots filled by smooth
// weighted round robin, walked in order by static-rr and indexed by
// hash % tot_weight by map-based hashing.
type mapLB struct {
	mu     sync.Mutex
	pool   pool
	params Params
	ht     HashType
	hashed bool
	// wmult is the GCD of the configured weights, computed once like
	// HAProxy's init_server_map, so that weights 10:10:20 give a 4-slot
	// table and the same hash % total as HAProxy.
	wmult  int
	cfgW   []int // weights at New: static maps ignore later non-zero changes
	table  []int32
	wscore []int
	rrIdx  int
}

func newMapLB(p pool, params Params, ht HashType) *mapLB {
	b := &mapLB{pool: p, params: params, ht: ht, hashed: params.Hashed(), wscore: make([]int, len(p.srvs))}
	b.cfgW = make([]int, len(p.srvs))
	for i, s := range p.srvs {
		w := s.Weight()
		b.cfgW[i] = w
		if w > 0 {
			b.wmult = gcd(b.wmult, w)
		}
	}
	if b.wmult == 0 {
		b.wmult = 1
	}
	b.rebuild()
	return b
}

// eweight scales the configured weight down by its GCD, rounding up as
// HAProxy does. A current weight of 0 takes the server out; any other
// current weight means "100%", since static maps ignore weight changes.
func (b *mapLB) eweight(i int) int {
	if b.pool.srvs[i].Weight() == 0 {
		return 0
	}
	return (b.cfgW[i] + b.wmult - 1) / b.wmult
}

func (b *mapLB) Update() {
	b.mu.Lock()
	b.rebuild()
	b.mu.Unlock()
}

// rebuild is recalc_server_map: for each slot every candidate adds its
// weight to its score, the best (score+tot)/tot wins, first declared on
// ties, and pays tot back. With a single backup in use, the table only
// holds that backup (HAProxy may leak other heavy backups into it; we
// don't).
func (b *mapLB) rebuild() {
	p := &b.pool
	p.recount()
	backup, only, none := p.useBackup()
	b.table = b.table[:0]
	if none {
		return
	}
	tot := 0
	if only >= 0 {
		tot = b.eweight(only)
	} else {
		for i, s := range p.srvs {
			if s.Backup == backup && p.eligible(i) {
				tot += b.eweight(i) // 0 for a server configured with weight 0
			}
		}
	}
	if tot == 0 {
		return
	}
	if cap(b.table) < tot {
		b.table = make([]int32, 0, tot)
	}
	for i := range b.wscore {
		b.wscore[i] = 0
	}
	for range tot {
		best, bestV := -1, 0
		for i, s := range p.srvs {
			if s.Backup != backup || !p.eligible(i) || (only >= 0 && i != only) || b.eweight(i) == 0 {
				continue
			}
			if tot == 1 {
				best = i
				break
			}
			b.wscore[i] += b.eweight(i)
			if v := (b.wscore[i] + tot) / tot; best < 0 || v > bestV {
				best, bestV = i, v
			}
		}
		b.table = append(b.table, int32(best))
		b.wscore[best] -= tot
	}
	if b.rrIdx >= len(b.table) {
		b.rrIdx = 0
	}
}

func (b *mapLB) Pick(k Key) (int, Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, st := b.pick(k)
	if i >= 0 && !b.pool.eligible(i) {
		// The server went away without an Update: catch up and retry.
		if st == OK {
			b.pool.release(i)
		}
		b.rebuild()
		i, st = b.pick(k)
	}
	return i, st
}

func (b *mapLB) pick(k Key) (int, Status) {
	if len(b.table) == 0 {
		return -1, NoServer
	}
	if b.hashed {
		if h, ok := b.params.keyHash(b.ht, &k); ok {
			i := int(b.table[h%uint32(len(b.table))])
			if !b.pool.srvs[i].TryAcquire() {
				return i, ServerFull
			}
			return i, OK
		}
	}
	return b.nextRR(k.avoidIdx())
}

// nextRR is map_get_server_rr: walk the table from the last position,
// skipping servers at maxconn and, if possible, the one to avoid.
func (b *mapLB) nextRR(avoid int) (int, Status) {
	n := len(b.table)
	start := b.rrIdx
	idx := start
	avoided, avoidedNext := -1, 0
	for {
		i := int(b.table[idx])
		idx++
		if idx == n {
			idx = 0
		}
		if b.pool.srvs[i].hasRoom() {
			if i != avoid {
				b.rrIdx = idx
				return b.pool.take(i)
			}
			avoided, avoidedNext = i, idx
		}
		if idx == start {
			break
		}
	}
	if avoided >= 0 {
		b.rrIdx = avoidedNext
		return b.pool.take(avoided)
	}
	return -1, AllFull
}

func (b *mapLB) Release(i int) { b.pool.release(i) }

var _ Balancer = (*mapLB)(nil)
