package proxy

import (
	"hash/maphash"
	"sync"
)

// registry is a concurrent map for the per-connection registers (every
// connection for a hard stop and "show sess", idle sessions for a soft
// stop). Each connection is added and removed once and looked up once per
// request, and tens of thousands of idle ones sit in it: a sync.Map costs
// about 300 bytes per entry in its trie, a plain map under a lock a few
// tens, and the shards keep the lock uncontended across accept loops.
type registry[K comparable, V any] struct {
	seed   maphash.Seed
	shards [registryShards]registryShard[K, V]
}

const registryShards = 32

type registryShard[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
	// peak is the most entries m has held since it was made.
	peak int
	_    [32]byte // a shard per cache line
}

// registryKeep is the size up to which an emptied shard keeps its map.
// With a connection per request the shards empty and fill again all the
// time (50 connections over 32 shards): dropping the map at every empty
// made two allocations per Store, four per connection over the two
// registries. A map that never held more than this is one small group.
const registryKeep = 8

func newRegistry[K comparable, V any]() *registry[K, V] {
	return &registry[K, V]{seed: maphash.MakeSeed()}
}

func (r *registry[K, V]) shard(k K) *registryShard[K, V] {
	return &r.shards[maphash.Comparable(r.seed, k)%registryShards]
}

func (r *registry[K, V]) Store(k K, v V) {
	sh := r.shard(k)
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = map[K]V{}
	}
	sh.m[k] = v
	if len(sh.m) > sh.peak {
		sh.peak = len(sh.m)
	}
	sh.mu.Unlock()
}

func (r *registry[K, V]) Load(k K) (V, bool) {
	sh := r.shard(k)
	sh.mu.Lock()
	v, ok := sh.m[k]
	sh.mu.Unlock()
	return v, ok
}

// Delete removes k; a map emptied after a burst gives its memory back
// (Go maps never shrink otherwise), a small one is kept for the next.
func (r *registry[K, V]) Delete(k K) {
	sh := r.shard(k)
	sh.mu.Lock()
	delete(sh.m, k)
	if len(sh.m) == 0 && sh.peak > registryKeep {
		sh.m, sh.peak = nil, 0
	}
	sh.mu.Unlock()
}

// Range calls f for a snapshot of the entries, outside the locks (f may
// close connections, whose end deletes them), until f returns false.
func (r *registry[K, V]) Range(f func(K, V) bool) {
	type kv struct {
		k K
		v V
	}
	var all []kv
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		for k, v := range sh.m {
			all = append(all, kv{k, v})
		}
		sh.mu.Unlock()
	}
	for _, e := range all {
		if !f(e.k, e.v) {
			return
		}
	}
}

// RangeLocked calls f for every entry with the entry's shard locked: once
// Delete(k) has returned, f is not running on k and will not be called
// with it, so that what k points to may be reused (a finished session
// goes back to a pool). f must be quick, must not use r and must take no
// other lock.
func (r *registry[K, V]) RangeLocked(f func(K, V)) {
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		for k, v := range sh.m {
			f(k, v)
		}
		sh.mu.Unlock()
	}
}
