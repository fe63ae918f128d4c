package proxy

import "testing"

// TestRegistryKeepsSmallMaps: a shard that empties and fills again (a
// connection per request) makes no new map each time, and one emptied
// after a burst gives its map back.
func TestRegistryKeepsSmallMaps(t *testing.T) {
	r := newRegistry[int, struct{}]()
	r.Store(1, struct{}{})
	r.Delete(1)
	if a := testing.AllocsPerRun(100, func() {
		r.Store(1, struct{}{})
		r.Delete(1)
	}); a != 0 {
		t.Errorf("%v allocations per Store and Delete on an emptied shard, want 0", a)
	}
	// A burst: more than registryKeep keys in every shard.
	n := registryShards * (registryKeep + 1) * 4
	for k := range n {
		r.Store(k, struct{}{})
	}
	for k := range n {
		r.Delete(k)
	}
	for i := range r.shards {
		if sh := &r.shards[i]; sh.m != nil && sh.peak > registryKeep {
			t.Fatalf("shard %d kept a map of peak %d after the burst", i, sh.peak)
		}
	}
	dropped := 0
	for i := range r.shards {
		if r.shards[i].m == nil {
			dropped++
		}
	}
	if dropped == 0 {
		t.Fatal("no shard gave its map back after the burst")
	}
}
