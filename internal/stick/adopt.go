package stick

import "fmt"

// carried is one entry copied out of an old table.
type carried struct {
	key     Key
	words   []uint32
	exp     uint32
	hasExp  bool
	tracked bool
	srvKey  string // server_key, "" when none
}

// srcLayout is where the data types sit in a carried entry's words.
type srcLayout struct {
	off   [numDataTypes]int16
	nelem [numDataTypes]uint8
}

// Adopt carries the entries of old, the same-named table of the previous
// configuration, into t across a reload, the in-process equivalent of
// HAProxy teaching the new process its tables through the local peer.
//
// The key types must match (string/binary lengths may differ: keys are
// re-cut to t's length, and a key that collides after cutting keeps the
// first entry seen). Data types stored by both tables are copied; rate
// counters are copied as raw buckets even if the period changed; types
// new to t start at zero, and conn_cur restarts at 0 since nobody tracks
// the entry in t yet. Each untracked entry keeps the time it had left before
// expiring, capped at t's expire (entries of an old table without expire
// get t's full expire).
//
// Untracked entries are moved: they leave old. Tracked entries are
// copied and stay in old, where the streams of the old configuration keep
// updating and finally release them; updates made there after Adopt are
// not reflected in t. Per shard, entries are inserted oldest first so the
// LRU order survives; when t is smaller than old, the oldest entries are
// evicted (or, with nopurge, the newest are refused). It returns how many
// entries t received.
func (t *Table) Adopt(old *Table, now int64) (int, error) {
	if old == nil || old == t {
		return 0, nil
	}
	if old.spec.Type != t.spec.Type {
		return 0, fmt.Errorf("stick table '%s': cannot carry entries over from type %s to type %s",
			t.name, old.spec.Type, t.spec.Type)
	}
	tick := uint32(now)
	n := 0
	src := srcLayout{off: old.lay.off, nelem: old.lay.nelem}
	for i := range old.shards {
		batch := old.drainShard(&old.shards[i], tick)
		for j := range batch {
			if t.adoptOne(&src, &batch[j], tick) {
				n++
			}
		}
	}
	return n, nil
}

// drainShard copies a shard's live entries, oldest untracked first, then
// the tracked ones, removing the untracked ones from old.
func (old *Table) drainShard(sh *shard, now uint32) []carried {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	out := make([]carried, 0, sh.live)
	copyOut := func(idx int32, tracked bool) {
		m := &sh.meta[idx]
		k := old.keyOf(sh, idx)
		w := sh.words(old, idx)
		out = append(out, carried{
			key:     k,
			words:   append([]uint32(nil), w...),
			exp:     m.exp,
			hasExp:  old.spec.Expire != 0,
			tracked: tracked,
			srvKey:  old.srvKeyOf(w),
		})
	}
	for sh.tail != nilIdx {
		idx := sh.tail
		if !old.expired(&sh.meta[idx], now) {
			copyOut(idx, false)
		}
		sh.remove(old, idx)
	}
	for idx := range sh.meta {
		if r := sh.meta[idx].ref; r != freeRef && r > 0 {
			copyOut(int32(idx), true)
		}
	}
	return out
}

// srvKeyOf returns the server key held in an entry's words, "" if none:
// carried entries hold the string, as dictionary numbers are per table.
func (t *Table) srvKeyOf(w []uint32) string {
	if off := t.lay.off[DTServerKey]; off >= 0 {
		if s, ok := t.dict.name(w[off]); ok {
			return s
		}
	}
	return ""
}

// adoptOne inserts c, whose data words are laid out as src says. Arrays
// keep their first min(old, new) elements.
func (t *Table) adoptOne(src *srcLayout, c *carried, now uint32) bool {
	var ck ckey
	if !t.convert(&c.key, &ck) {
		return false
	}
	sh, idx, created, err := t.getOrCreate(&ck, now)
	if err != nil {
		return false
	}
	defer sh.mu.Unlock()
	if !created {
		return false // collision after re-cutting the key: keep the first
	}
	d := sh.words(t, idx)
	for dt := DataType(0); dt < numDataTypes; dt++ {
		from, to := src.off[dt], t.lay.off[dt]
		if from < 0 || to < 0 || dt == DTServerKey {
			continue
		}
		n := min(int(src.nelem[dt]), int(t.lay.nelem[dt])) * dataTypes[dt].kind.words()
		if int(from)+n > len(c.words) {
			continue
		}
		copy(d[to:int(to)+n], c.words[from:int(from)+n])
	}
	if off := t.lay.off[DTServerKey]; off >= 0 && c.srvKey != "" {
		d[off] = t.dict.intern(c.srvKey)
	}
	if off := t.lay.off[DTConnCur]; off >= 0 {
		// Nobody tracks the entry in t yet; old's trackers release old.
		d[off] = 0
	}
	if t.spec.Expire != 0 {
		left := t.spec.Expire
		if c.hasExp && !c.tracked {
			if l := int32(c.exp - now); l < int32(left) {
				left = uint32(max(l, 1))
			}
		}
		sh.meta[idx].exp = now + left
	}
	return true
}
