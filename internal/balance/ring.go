package balance

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sync"
)

// ringPoint is one of a server's points on the consistent-hash ring.
type ringPoint struct {
	key uint32
	srv int32
}

// ring is HAProxy's lb_chash, used by "hash-type consistent" and by
// "random". Each usable server owns eweight (= weight*16) points placed at
// avalanche(id*4096 + n), so a server's points depend only on its id and
// weight: adding, removing or reweighting one server moves only the keys
// landing near its own points.
type ring struct {
	mu     sync.Mutex
	pool   pool
	params Params
	ht     HashType
	hashed bool
	draws  int // > 0 for "random"
	rng    *rand.PCG
	points []ringPoint // points of the group in use, sorted by key
	ew     []int       // eweight per server at the last rebuild
	last   int         // round-robin position for the missing-input fallback
}

func newRing(p pool, params Params, ht HashType, draws int, seed uint64) *ring {
	r := &ring{pool: p, params: params, ht: ht, hashed: params.Hashed(), draws: draws, ew: make([]int, len(p.srvs))}
	if draws > 0 {
		r.rng = rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	}
	r.rebuild()
	return r
}

func (r *ring) Update() {
	r.mu.Lock()
	r.rebuild()
	r.mu.Unlock()
}

// rebuild lays out the points of the group in use (active servers, else
// all backups; a lone first backup needs no ring).
func (r *ring) rebuild() {
	p := &r.pool
	p.recount()
	r.points = r.points[:0]
	backup, only, none := p.useBackup()
	for i, s := range p.srvs {
		r.ew[i] = 0
		if p.eligible(i) {
			r.ew[i] = s.EWeight()
		}
		if none || only >= 0 || s.Backup != backup || r.ew[i] == 0 {
			continue
		}
		base := uint32(p.ids[i]) * maxEWeight
		for n := range r.ew[i] {
			r.points = append(r.points, ringPoint{key: avalanche(base + uint32(n)), srv: int32(i)})
		}
	}
	// Stable: colliding keys keep declaration order, like ebtree
	// duplicates keep insertion order.
	slices.SortStableFunc(r.points, func(a, b ringPoint) int { return cmp.Compare(a.key, b.key) })
	if r.last >= len(r.points) {
		r.last = 0
	}
}

// lookup is chash_get_server_hash: the point closest to h on either side
// (the previous one on a tie), then onwards past the server to avoid.
func (r *ring) lookup(h uint32, avoid int) int {
	pts := r.points
	n := len(pts)
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if pts[m].key < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	next := lo
	if next == n {
		next = 0
	}
	prev := next - 1
	if prev < 0 {
		prev = n - 1
	}
	pos := next
	if h-pts[prev].key <= pts[next].key-h {
		pos = prev
	}
	for step := 0; int(pts[pos].srv) == avoid && step < n; step++ {
		pos++
		if pos == n {
			pos = 0
		}
	}
	return int(pts[pos].srv)
}

func (r *ring) Pick(k Key) (int, Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, st := r.pick(k)
	if i >= 0 && !r.pool.eligible(i) {
		// The server went away without an Update: catch up and retry.
		if st == OK {
			r.pool.release(i)
		}
		r.rebuild()
		i, st = r.pick(k)
	}
	return i, st
}

func (r *ring) pick(k Key) (int, Status) {
	_, only, none := r.pool.useBackup()
	if none || (only < 0 && len(r.points) == 0) {
		return -1, NoServer
	}
	avoid := k.avoidIdx()
	if r.draws > 0 {
		if only >= 0 {
			return r.pool.take(only)
		}
		return r.random(avoid)
	}
	if r.hashed {
		if h, ok := r.params.keyHash(r.ht, &k); ok {
			i := only
			if i < 0 {
				i = r.lookup(h, avoid)
			}
			if !r.pool.srvs[i].TryAcquire() {
				return i, ServerFull
			}
			return i, OK
		}
	}
	if only >= 0 {
		return r.pool.take(only)
	}
	return r.nextRR(avoid)
}

// random is get_server_rnd: draw points at random and keep the least
// loaded relative to weight; a full winner sends the request to the
// backend queue rather than to a worse server.
func (r *ring) random(avoid int) (int, Status) {
	cur := -1
	for range r.draws {
		prev := cur
		cur = r.lookup(uint32(r.rng.Uint64()>>32), avoid)
		if prev >= 0 && prev != cur &&
			r.pool.srvs[cur].Inflight()*int64(r.ew[prev]) > r.pool.srvs[prev].Inflight()*int64(r.ew[cur]) {
			cur = prev
		}
	}
	if !r.pool.srvs[cur].TryAcquire() {
		return -1, AllFull
	}
	return cur, OK
}

// nextRR is chash_get_next_server: step along the ring one point per
// request, skipping servers at maxconn.
func (r *ring) nextRR(avoid int) (int, Status) {
	n := len(r.points)
	pos := r.last
	avoided, avoidedPos := -1, 0
	for range n {
		pos++
		if pos >= n {
			pos = 0
		}
		i := int(r.points[pos].srv)
		if !r.pool.srvs[i].hasRoom() {
			continue
		}
		if i != avoid {
			r.last = pos
			return r.pool.take(i)
		}
		if avoided < 0 {
			avoided, avoidedPos = i, pos
		}
	}
	if avoided >= 0 {
		r.last = avoidedPos
		return r.pool.take(avoided)
	}
	return -1, AllFull
}

func (r *ring) Release(i int) { r.pool.release(i) }

var _ Balancer = (*ring)(nil)
