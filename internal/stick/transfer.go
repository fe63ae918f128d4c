package stick

import (
	"fmt"
	"time"
)

// Exported is a table's content carried from one process to another (a
// master/worker reload: the old worker exports, the new one imports), the
// cross-process form of Adopt. Both processes must read one Clock origin
// (ClockFrom), since rate counters hold ticks.
type Exported struct {
	Name    string
	Type    KeyType
	Off     []int16 // the data words' layout, by DataType
	Elems   []uint8 // element counts, by DataType
	Entries []ExportedEntry
}

// ExportedEntry is one entry; only the key field of the table's type is
// set.
type ExportedEntry struct {
	V4      [4]byte
	V16     [16]byte
	Int     int64
	Str     string
	Words   []uint32
	ExpLeft int32 // ticks left before expiry, when HasExp
	HasExp  bool
	Tracked bool
	SrvKey  string // server_key, "" when none
}

// Export copies every live entry of t. Each shard is copied under its lock;
// t is not changed.
func (t *Table) Export(now int64) *Exported {
	tick := uint32(now)
	e := &Exported{Name: t.name, Type: t.spec.Type, Off: append([]int16(nil), t.lay.off[:]...),
		Elems: append([]uint8(nil), t.lay.nelem[:]...)}
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for idx := range sh.meta {
			m := &sh.meta[idx]
			if m.ref == freeRef || t.expired(m, tick) {
				continue
			}
			w := sh.words(t, int32(idx))
			x := ExportedEntry{Words: append([]uint32(nil), w...),
				ExpLeft: int32(m.exp - tick), HasExp: t.spec.Expire != 0, Tracked: m.ref > 0,
				SrvKey: t.srvKeyOf(w)}
			switch t.spec.Type {
			case KeyIP:
				x.V4 = sh.k4[idx]
			case KeyIPv6:
				x.V16 = sh.k16[idx]
			case KeyInteger:
				x.Int = int64(sh.ki[idx])
			default:
				x.Str = sh.ks[idx]
			}
			e.Entries = append(e.Entries, x)
		}
		sh.mu.Unlock()
	}
	return e
}

// Import inserts the entries of e, as Adopt does from a table of the same
// process (same rules for key types, data types, conn_cur and expiry). It
// returns how many entries t received.
func (t *Table) Import(e *Exported, now int64) (int, error) {
	if e.Type != t.spec.Type {
		return 0, fmt.Errorf("stick table '%s': cannot carry entries over from type %s to type %s",
			t.name, e.Type, t.spec.Type)
	}
	var src srcLayout
	if len(e.Off) != len(src.off) || len(e.Elems) != len(src.nelem) {
		return 0, fmt.Errorf("stick table '%s': the exported layout has %d data types, not %d", t.name, len(e.Off), len(src.off))
	}
	copy(src.off[:], e.Off)
	copy(src.nelem[:], e.Elems)
	stride := 0
	for dt, o := range src.off {
		if o >= 0 {
			stride = max(stride, int(o)+int(src.nelem[dt])*dataTypes[dt].kind.words())
		}
	}
	tick := uint32(now)
	n := 0
	for i := range e.Entries {
		x := &e.Entries[i]
		if len(x.Words) < stride {
			continue
		}
		c := carried{words: x.Words, exp: tick + uint32(x.ExpLeft), hasExp: x.HasExp, tracked: x.Tracked, srvKey: x.SrvKey}
		switch e.Type {
		case KeyIP:
			c.key = IPv4Key(x.V4)
		case KeyIPv6:
			c.key = IPv6Key(x.V16)
		case KeyInteger:
			c.key = IntKey(x.Int)
		default:
			c.key = StringKey(x.Str)
		}
		if t.adoptOne(&src, &c, tick) {
			n++
		}
	}
	return n, nil
}

// ClockFrom returns a clock whose tick 0 is start: processes that share
// tables (a master's workers) read the same ticks.
func ClockFrom(start time.Time) Clock { return Clock{start: start} }
