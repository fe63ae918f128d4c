// Package stick implements HAProxy 2.6 stick tables: keyed entries with
// per-entry counters and HAProxy-exact rate counters, bounded in size,
// expiring, and evicted least-recently-used first when full.
//
// All operations take the current time as a millisecond count ("now") on
// any monotonic clock the caller chooses (see Clock); it is truncated to a
// 32-bit wrapping tick as in HAProxy. Nothing in the package reads the
// wall clock or sleeps.
//
// Concurrency: a table is split into shards by key hash, each with its own
// mutex, key index, LRU list and entry arena, so operations on different
// keys rarely contend. Tables of up to 4096 entries use one shard and so
// evict in exact LRU order; larger ones evict the least recently used
// entry of the shard the new key falls in (HAProxy itself only purges
// "a few of the oldest" entries, so neither is exact global LRU).
package stick

import (
	"errors"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by table operations.
var (
	ErrFull    = errors.New("stick table full")
	ErrKeyType = errors.New("key cannot be converted to the table key type")
)

const (
	freeRef      = ^uint32(0) // meta.ref of a slot on the free list
	nilIdx       = int32(-1)
	entriesShard = 4096 // target entries per shard when sizing shards
	maxShards    = 64
)

// meta is the fixed per-entry bookkeeping: 20 bytes.
type meta struct {
	prev, next int32  // LRU links (untracked entries) or free-list link
	exp        uint32 // expiry tick, valid when the table has an expire
	ref        uint32 // trackers; freeRef when the slot is free
	gen        uint32 // bumped when the slot is freed, to detect stale Refs
}

// shard owns a slice of the table's entries. Entries live in parallel
// arrays indexed by slot number (keys, meta, data words) so that an entry
// costs no pointers and no per-entry allocation; only the key index of
// the table's key type is non-nil.
type shard struct {
	mu   sync.Mutex
	m4   map[[4]byte]int32
	m16  map[[16]byte]int32
	mi   map[uint32]int32
	ms   map[string]int32
	k4   [][4]byte
	k16  [][16]byte
	ki   []uint32
	ks   []string
	meta []meta
	data []uint32

	head, tail int32 // LRU of untracked entries: head is most recent
	free       int32 // free slot list
	live       int32
	_          [64]byte // keep neighbouring shards' locks on separate cache lines
}

// Table is a stick table. Create one with New.
type Table struct {
	name   string
	spec   Spec
	lay    layout
	size   int64
	shards []shard
	shift  uint8 // 64 - log2(len(shards))
	seed   maphash.Seed
	mix    uint64
	used   atomic.Int64
	dict   srvDict // server_key values
}

// New creates an empty table named name from spec (see ParseTableSpec).
func New(name string, spec Spec) *Table {
	if (spec.Type == KeyString || spec.Type == KeyBinary) && spec.KeyLen <= 0 {
		spec.KeyLen = DefaultKeyLen
	}
	n := 1
	if spec.Size > entriesShard {
		n = 1 << bits.Len32((spec.Size-1)/entriesShard)
		if n > maxShards {
			n = maxShards
		}
	}
	t := &Table{
		name:   name,
		spec:   spec,
		lay:    newLayout(spec.Store),
		size:   int64(spec.Size),
		shards: make([]shard, n),
		shift:  uint8(64 - bits.TrailingZeros(uint(n))),
		seed:   maphash.MakeSeed(),
	}
	t.mix = maphash.String(t.seed, name) | 1
	for i := range t.shards {
		sh := &t.shards[i]
		sh.head, sh.tail, sh.free = nilIdx, nilIdx, nilIdx
		switch spec.Type {
		case KeyIP:
			sh.m4 = make(map[[4]byte]int32)
		case KeyIPv6:
			sh.m16 = make(map[[16]byte]int32)
		case KeyInteger:
			sh.mi = make(map[uint32]int32)
		default:
			sh.ms = make(map[string]int32)
		}
	}
	return t
}

// Name returns the table name.
func (t *Table) Name() string { return t.name }

// Spec returns the table's spec.
func (t *Table) Spec() Spec { return t.spec }

// Used returns the number of entries currently in the table.
func (t *Table) Used() int { return int(t.used.Load()) }

// Stores reports whether entries carry data type dt. ACLs on a data type
// that is not stored must silently not match.
func (t *Table) Stores(dt DataType) bool { return dt < numDataTypes && t.lay.off[dt] >= 0 }

// Period returns the period in ms of a stored rate data type, else 0.
func (t *Table) Period(dt DataType) uint32 {
	if !t.Stores(dt) {
		return 0
	}
	return t.lay.period[dt]
}

func (t *Table) shardFor(c *ckey) *shard {
	if len(t.shards) == 1 {
		return &t.shards[0]
	}
	var h uint64
	switch t.spec.Type {
	case KeyIP:
		h = uint64(c.a4[0])<<24 | uint64(c.a4[1])<<16 | uint64(c.a4[2])<<8 | uint64(c.a4[3])
		h = (h ^ t.mix) * 0x9e3779b97f4a7c15
	case KeyIPv6:
		var x uint64
		for i, b := range c.a16 {
			x ^= uint64(b) << (8 * (i & 7))
			if i == 7 {
				x *= 0xff51afd7ed558ccd
			}
		}
		h = (x ^ t.mix) * 0x9e3779b97f4a7c15
	case KeyInteger:
		h = (uint64(c.n) ^ t.mix) * 0x9e3779b97f4a7c15
	default:
		if c.useS {
			h = maphash.String(t.seed, c.s)
		} else {
			h = maphash.Bytes(t.seed, c.b)
		}
	}
	return &t.shards[h>>t.shift]
}

func (sh *shard) find(kt KeyType, c *ckey) (int32, bool) {
	var idx int32
	var ok bool
	switch kt {
	case KeyIP:
		idx, ok = sh.m4[c.a4]
	case KeyIPv6:
		idx, ok = sh.m16[c.a16]
	case KeyInteger:
		idx, ok = sh.mi[c.n]
	default:
		if c.useS {
			idx, ok = sh.ms[c.s]
		} else {
			idx, ok = sh.ms[string(c.b)]
		}
	}
	return idx, ok
}

// insert stores a new untracked entry at the LRU head.
func (sh *shard) insert(t *Table, c *ckey, now uint32) int32 {
	idx := sh.free
	if idx != nilIdx {
		sh.free = sh.meta[idx].next
		sh.meta[idx].ref = 0
	} else {
		idx = int32(len(sh.meta))
		sh.meta = append(sh.meta, meta{})
		for i := 0; i < t.lay.stride; i++ {
			sh.data = append(sh.data, 0)
		}
		switch t.spec.Type {
		case KeyIP:
			sh.k4 = append(sh.k4, [4]byte{})
		case KeyIPv6:
			sh.k16 = append(sh.k16, [16]byte{})
		case KeyInteger:
			sh.ki = append(sh.ki, 0)
		default:
			sh.ks = append(sh.ks, "")
		}
	}
	switch t.spec.Type {
	case KeyIP:
		sh.k4[idx] = c.a4
		sh.m4[c.a4] = idx
	case KeyIPv6:
		sh.k16[idx] = c.a16
		sh.m16[c.a16] = idx
	case KeyInteger:
		sh.ki[idx] = c.n
		sh.mi[c.n] = idx
	default:
		s := c.str()
		sh.ks[idx] = s
		sh.ms[s] = idx
	}
	m := &sh.meta[idx]
	m.exp = now + t.spec.Expire
	sh.pushHead(idx)
	sh.live++
	return idx
}

// remove frees an entry (tracked or not) and gives its place back.
func (sh *shard) remove(t *Table, idx int32) {
	m := &sh.meta[idx]
	if m.ref == 0 {
		sh.unlink(idx)
	}
	switch t.spec.Type {
	case KeyIP:
		delete(sh.m4, sh.k4[idx])
	case KeyIPv6:
		delete(sh.m16, sh.k16[idx])
	case KeyInteger:
		delete(sh.mi, sh.ki[idx])
	default:
		delete(sh.ms, sh.ks[idx])
		sh.ks[idx] = ""
	}
	clear(sh.words(t, idx))
	m.ref = freeRef
	m.gen++
	m.prev = nilIdx
	m.next = sh.free
	sh.free = idx
	sh.live--
	t.used.Add(-1)
}

func (sh *shard) words(t *Table, idx int32) []uint32 {
	off := int(idx) * t.lay.stride
	return sh.data[off : off+t.lay.stride : off+t.lay.stride]
}

func (sh *shard) pushHead(idx int32) {
	m := &sh.meta[idx]
	m.prev, m.next = nilIdx, sh.head
	if sh.head != nilIdx {
		sh.meta[sh.head].prev = idx
	} else {
		sh.tail = idx
	}
	sh.head = idx
}

func (sh *shard) unlink(idx int32) {
	m := &sh.meta[idx]
	if m.prev != nilIdx {
		sh.meta[m.prev].next = m.next
	} else {
		sh.head = m.next
	}
	if m.next != nilIdx {
		sh.meta[m.next].prev = m.prev
	} else {
		sh.tail = m.prev
	}
	m.prev, m.next = nilIdx, nilIdx
}

func (t *Table) expired(m *meta, now uint32) bool {
	return t.spec.Expire != 0 && m.ref == 0 && int32(m.exp-now) <= 0
}

// touch refreshes the expiry date and, for an untracked entry, makes it
// the most recently used.
func (sh *shard) touch(t *Table, idx int32, now uint32) {
	m := &sh.meta[idx]
	m.exp = now + t.spec.Expire
	if m.ref == 0 && sh.head != idx {
		sh.unlink(idx)
		sh.pushHead(idx)
	}
}

// evictTail frees the shard's least recently used untracked entry if the
// table may purge, or if it has expired. Tracked entries are not on the
// LRU list, so they are never candidates.
func (sh *shard) evictTail(t *Table, now uint32) bool {
	idx := sh.tail
	if idx == nilIdx {
		return false
	}
	if t.spec.NoPurge && !t.expired(&sh.meta[idx], now) {
		return false
	}
	sh.remove(t, idx)
	return true
}

// lookupLocked finds the entry for c, dropping it if it has expired.
func (t *Table) lookupLocked(sh *shard, c *ckey, now uint32) (int32, bool) {
	idx, ok := sh.find(t.spec.Type, c)
	if ok && t.expired(&sh.meta[idx], now) {
		sh.remove(t, idx)
		return 0, false
	}
	return idx, ok
}

// getOrCreate returns the locked shard and the entry for c, creating it.
// On success the caller must unlock sh.mu.
func (t *Table) getOrCreate(c *ckey, now uint32) (sh *shard, idx int32, created bool, err error) {
	sh = t.shardFor(c)
	sh.mu.Lock()
	if idx, ok := t.lookupLocked(sh, c, now); ok {
		return sh, idx, false, nil
	}
	for !t.reserve() {
		if sh.evictTail(t, now) {
			continue
		}
		// Nothing to take in our shard: look elsewhere without holding
		// our lock, so two shards never wait on each other.
		sh.mu.Unlock()
		ok := t.evictOther(sh, now)
		sh.mu.Lock()
		if idx, found := t.lookupLocked(sh, c, now); found {
			return sh, idx, false, nil // someone created it meanwhile
		}
		if !ok {
			sh.mu.Unlock()
			return nil, 0, false, ErrFull
		}
	}
	return sh, sh.insert(t, c, now), true, nil
}

// reserve counts one more entry unless the table is full, so that Used
// never exceeds the size, even transiently.
func (t *Table) reserve() bool {
	for {
		u := t.used.Load()
		if u >= t.size {
			return false
		}
		if t.used.CompareAndSwap(u, u+1) {
			return true
		}
	}
}

func (t *Table) evictOther(skip *shard, now uint32) bool {
	for i := range t.shards {
		o := &t.shards[i]
		if o == skip {
			continue
		}
		o.mu.Lock()
		ok := o.evictTail(t, now)
		o.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// Ref designates one entry. A Ref from Track or GetOrCreate holds a
// reference: the entry cannot expire or be evicted until Release. A Ref
// from Lookup holds none; if its entry goes away, operations on it do
// nothing and reads report not found.
type Ref struct {
	t    *Table
	sh   *shard
	idx  int32
	gen  uint32
	held bool // counts in meta.ref
	conn bool // Track: Release decrements conn_cur
}

// Valid reports whether r designates an entry (it may since have gone).
func (r Ref) Valid() bool { return r.sh != nil }

// Lookup finds the entry for k without creating it and without refreshing
// its expiry or LRU position (HAProxy's table_* converters and src_*
// fetches). An expired entry is removed and not found.
func (t *Table) Lookup(k Key, now int64) (Ref, bool) {
	var c ckey
	if !t.convert(&k, &c) {
		return Ref{}, false
	}
	sh := t.shardFor(&c)
	sh.mu.Lock()
	idx, ok := t.lookupLocked(sh, &c, uint32(now))
	var r Ref
	if ok {
		r = Ref{t: t, sh: sh, idx: idx, gen: sh.meta[idx].gen}
	}
	sh.mu.Unlock()
	return r, ok
}

// Track is HAProxy's track-sc: it finds or creates the entry for k, takes
// a reference, increments conn_cur, conn_cnt and conn_rate (when stored)
// and refreshes the expiry. Release the Ref when the tracking stream or
// connection ends. It fails with ErrFull (full table, nopurge or every
// entry tracked) or ErrKeyType.
func (t *Table) Track(k Key, now int64) (Ref, error) {
	return t.acquire(&k, uint32(now), true, false)
}

// GetOrCreate finds or creates the entry for k and takes a reference
// without touching any counter (stick on/store rules, "set table").
// Release it like a tracked Ref.
func (t *Table) GetOrCreate(k Key, now int64) (Ref, error) {
	return t.acquire(&k, uint32(now), false, false)
}

// TrackHTTPReq is Track followed by IncHTTPReq in one critical section:
// "http-request track-sc" counts the current request at tracking time.
func (t *Table) TrackHTTPReq(k Key, now int64) (Ref, error) {
	return t.acquire(&k, uint32(now), true, true)
}

func (t *Table) acquire(k *Key, now uint32, conn, httpReq bool) (Ref, error) {
	var c ckey
	if !t.convert(k, &c) {
		return Ref{}, ErrKeyType
	}
	sh, idx, _, err := t.getOrCreate(&c, now)
	if err != nil {
		return Ref{}, err
	}
	m := &sh.meta[idx]
	sh.touch(t, idx, now)
	if m.ref == 0 {
		sh.unlink(idx)
	}
	m.ref++
	if conn {
		d := sh.words(t, idx)
		t.addUInt(d, DTConnCur, 1)
		t.addUInt(d, DTConnCnt, 1)
		t.addRate(d, DTConnRate, 1, now)
	}
	if httpReq {
		d := sh.words(t, idx)
		t.addUInt(d, DTHTTPReqCnt, 1)
		t.addRate(d, DTHTTPReqRate, 1, now)
	}
	r := Ref{t: t, sh: sh, idx: idx, gen: m.gen, held: true, conn: conn}
	sh.mu.Unlock()
	return r, nil
}

// Release drops the reference taken by Track or GetOrCreate: conn_cur is
// decremented for Track, the expiry is refreshed and, once nobody tracks
// the entry, it becomes evictable again as the most recently used one.
// Releasing a Ref from Lookup, or twice, does nothing harmful.
func (r *Ref) Release(now int64) {
	if !r.held {
		return
	}
	r.held = false
	sh := r.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	m := &sh.meta[r.idx]
	if m.gen != r.gen || m.ref == freeRef || m.ref == 0 {
		return
	}
	if r.conn {
		d := sh.words(r.t, r.idx)
		if off := r.t.lay.off[DTConnCur]; off >= 0 && d[off] > 0 {
			d[off]--
		}
	}
	m.ref--
	m.exp = uint32(now) + r.t.spec.Expire
	if m.ref == 0 {
		sh.pushHead(r.idx)
	}
}

// Expire removes every untracked entry whose expiry date has passed and
// returns how many it removed. The proxy calls it periodically; lookups
// also drop expired entries lazily.
func (t *Table) Expire(now int64) int {
	if t.spec.Expire == 0 {
		return 0
	}
	n := 0
	tick := uint32(now)
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		// Untracked entries are ordered by last touch, and every touch
		// sets exp = touch + expire, so the LRU tail expires first.
		for sh.tail != nilIdx && t.expired(&sh.meta[sh.tail], tick) {
			sh.remove(t, sh.tail)
			n++
		}
		sh.mu.Unlock()
	}
	return n
}

// Delete removes the entry for k unless a session tracks it ("clear
// table <t> key <k>"); it reports whether an entry went.
func (t *Table) Delete(k Key, now int64) bool {
	var c ckey
	if !t.convert(&k, &c) {
		return false
	}
	sh := t.shardFor(&c)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	idx, ok := t.lookupLocked(sh, &c, uint32(now))
	if !ok || sh.meta[idx].ref != 0 {
		return false
	}
	sh.remove(t, idx)
	return true
}

// Clear removes every untracked entry ("clear table").
func (t *Table) Clear() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for sh.tail != nilIdx {
			sh.remove(t, sh.tail)
			n++
		}
		sh.mu.Unlock()
	}
	return n
}

// Clock is a monotonic millisecond clock for production callers; tests
// pass their own "now" values instead.
type Clock struct{ start time.Time }

// NewClock returns a clock reading 0 now.
func NewClock() Clock { return Clock{start: time.Now()} }

// NowMs returns the milliseconds elapsed since NewClock.
func (c Clock) NowMs() int64 { return time.Since(c.start).Milliseconds() }

// MsAt returns the clock's reading at t, a time.Now() reading: a caller
// that also needs the wall time reads the system clock once for both.
func (c Clock) MsAt(t time.Time) int64 { return t.Sub(c.start).Milliseconds() }
