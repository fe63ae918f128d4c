package stick

import (
	"bytes"
	"io"
	"net/netip"
	"strconv"
)

// Dump writes the table in the runtime API's "show table <name>" format:
//
//	# table: <name>, type: <type>, size:<size>, used:<used>
//	0x...: key=127.0.0.1 use=0 exp=3594729 http_req_rate(10000)=1
//
// use is the number of trackers, exp the milliseconds left before expiry
// (0 without expire), data types in HAProxy's order. The 0x... id is a
// stable slot number, not a memory address. Each shard is formatted under
// its lock and written after releasing it, so a slow writer never blocks
// traffic.
func (t *Table) Dump(w io.Writer, now int64) error {
	// Entries past their expiry date are not listed: purge them first so
	// that "used" counts what is listed (HAProxy's expiry task would have
	// removed them by the time a client asks).
	t.Expire(now)
	var buf bytes.Buffer
	t.appendHeader(&buf)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	for i := range t.shards {
		buf.Reset()
		sh := &t.shards[i]
		sh.mu.Lock()
		for idx := range sh.meta {
			if sh.meta[idx].ref == freeRef || t.expired(&sh.meta[idx], uint32(now)) {
				continue
			}
			t.appendEntry(&buf, i, int32(idx), uint32(now))
		}
		sh.mu.Unlock()
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// DumpKey writes the header and the entry for k alone, if present
// ("show table <name> key <k>").
func (t *Table) DumpKey(w io.Writer, k Key, now int64) error {
	t.Expire(now)
	var buf bytes.Buffer
	t.appendHeader(&buf)
	if r, ok := t.Lookup(k, now); ok {
		if _, ok := r.lock(); ok {
			t.appendEntry(&buf, t.shardIndex(r.sh), r.idx, uint32(now))
			r.unlock()
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func (t *Table) shardIndex(sh *shard) int {
	for i := range t.shards {
		if &t.shards[i] == sh {
			return i
		}
	}
	return 0
}

func (t *Table) appendHeader(b *bytes.Buffer) {
	b.WriteString("# table: ")
	b.WriteString(t.name)
	b.WriteString(", type: ")
	b.WriteString(t.spec.Type.String())
	b.WriteString(", size:")
	b.WriteString(strconv.FormatUint(uint64(t.spec.Size), 10))
	b.WriteString(", used:")
	b.WriteString(strconv.FormatInt(t.used.Load(), 10))
	b.WriteByte('\n')
}

func (t *Table) appendEntry(b *bytes.Buffer, si int, idx int32, now uint32) {
	sh := &t.shards[si]
	m := &sh.meta[idx]
	b.WriteString("0x")
	b.WriteString(strconv.FormatUint(uint64(si+1)<<32|uint64(idx), 16))
	b.WriteString(": key=")
	t.appendKey(b, sh, idx)
	b.WriteString(" use=")
	b.WriteString(strconv.FormatUint(uint64(m.ref), 10))
	b.WriteString(" exp=")
	exp := int32(0)
	if t.spec.Expire != 0 && m.ref == 0 {
		if exp = int32(m.exp - now); exp < 0 {
			exp = 0
		}
	} else if t.spec.Expire != 0 {
		exp = int32(t.spec.Expire) // tracked: refreshed on release
	}
	b.WriteString(strconv.FormatInt(int64(exp), 10))
	d := sh.words(t, idx)
	for dt := DataType(0); dt < numDataTypes; dt++ {
		if !t.Stores(dt) {
			continue
		}
		if !dt.IsArray() {
			t.appendValue(b, d, dt, dataTypes[dt].name, int(t.lay.off[dt]), now)
			continue
		}
		for i := 0; i < int(t.lay.nelem[dt]); i++ {
			t.appendValue(b, d, dt, dt.ElemName(i), t.lay.at(dt, i), now)
		}
	}
	b.WriteByte('\n')
}

func (t *Table) appendValue(b *bytes.Buffer, d []uint32, dt DataType, name string, off int, now uint32) {
	b.WriteByte(' ')
	b.WriteString(name)
	if dt.IsRate() {
		b.WriteByte('(')
		b.WriteString(strconv.FormatUint(uint64(t.lay.period[dt]), 10))
		b.WriteByte(')')
	}
	b.WriteByte('=')
	v := t.valueAt(d, dt, off, now)
	switch dataTypes[dt].kind {
	case kindSInt:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case kindDict:
		if name, ok := t.dict.name(uint32(v)); ok {
			b.WriteString(name)
		} else {
			b.WriteByte('-')
		}
	default:
		b.WriteString(strconv.FormatUint(v, 10))
	}
}

func (t *Table) appendKey(b *bytes.Buffer, sh *shard, idx int32) {
	switch t.spec.Type {
	case KeyIP:
		b.WriteString(netip.AddrFrom4(sh.k4[idx]).String())
	case KeyIPv6:
		b.WriteString(netip.AddrFrom16(sh.k16[idx]).String())
	case KeyInteger:
		b.WriteString(strconv.FormatUint(uint64(sh.ki[idx]), 10))
	case KeyString:
		appendText(b, sh.ks[idx])
	default:
		const hexdigits = "0123456789ABCDEF"
		k := sh.ks[idx]
		for i := 0; i < t.spec.KeyLen; i++ {
			c := byte(0)
			if i < len(k) {
				c = k[i]
			}
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
		}
	}
}

// appendText escapes a string key so one entry stays on one line and
// "key=value" splitting stays unambiguous.
func appendText(b *bytes.Buffer, s string) {
	const hexdigits = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '=' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
}

// keyOf rebuilds a Key for entry idx (used to carry entries over).
func (t *Table) keyOf(sh *shard, idx int32) Key {
	switch t.spec.Type {
	case KeyIP:
		return IPv4Key(sh.k4[idx])
	case KeyIPv6:
		return IPv6Key(sh.k16[idx])
	case KeyInteger:
		return IntKey(int64(sh.ki[idx]))
	}
	return StringKey(sh.ks[idx])
}
