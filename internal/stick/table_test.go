package stick

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func mustTable(t testing.TB, name, spec string) *Table {
	t.Helper()
	s, err := ParseTableSpec(strings.Fields(spec))
	if err != nil {
		t.Fatalf("ParseTableSpec(%q): %v", spec, err)
	}
	return New(name, s)
}

func ip4(s string) Key { return AddrKey(netip.MustParseAddr(s)) }

// touch creates or refreshes an entry the way a finished stream does.
func touch(t *testing.T, tab *Table, k Key, now int64) {
	t.Helper()
	r, err := tab.GetOrCreate(k, now)
	if err != nil {
		t.Fatalf("GetOrCreate at %d: %v", now, err)
	}
	r.Release(now)
}

func keysOf(tab *Table) []string {
	var out []string
	for i := range tab.shards {
		sh := &tab.shards[i]
		for idx := sh.head; idx != nilIdx; idx = sh.meta[idx].next {
			k := tab.keyOf(sh, idx)
			out = append(out, k.addr().String())
		}
	}
	return out
}

func TestEvictionOrderLRU(t *testing.T) {
	tab := mustTable(t, "t", "type ip size 3 store gpc0")
	for i, k := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		touch(t, tab, ip4(k), int64(i))
	}
	touch(t, tab, ip4("10.0.0.1"), 10)                 // 1 becomes most recent
	if _, ok := tab.Lookup(ip4("10.0.0.2"), 11); !ok { // Lookup does not refresh
		t.Fatal("10.0.0.2 missing")
	}
	touch(t, tab, ip4("10.0.0.4"), 12) // evicts 2, the least recently used
	if got, want := strings.Join(keysOf(tab), " "), "10.0.0.4 10.0.0.1 10.0.0.3"; got != want {
		t.Fatalf("LRU order %q, want %q", got, want)
	}
	touch(t, tab, ip4("10.0.0.5"), 13) // evicts 3
	if _, ok := tab.Lookup(ip4("10.0.0.3"), 13); ok {
		t.Fatal("10.0.0.3 should have been evicted")
	}
	if tab.Used() != 3 {
		t.Fatalf("used = %d, want 3", tab.Used())
	}
}

func TestTrackedEntriesAreNotEvicted(t *testing.T) {
	tab := mustTable(t, "t", "type ip size 2 store conn_cur")
	a, err := tab.Track(ip4("1.1.1.1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	touch(t, tab, ip4("2.2.2.2"), 1)
	touch(t, tab, ip4("3.3.3.3"), 2) // evicts 2.2.2.2, not the tracked 1.1.1.1
	if _, ok := tab.Lookup(ip4("1.1.1.1"), 3); !ok {
		t.Fatal("tracked entry evicted")
	}
	b, err := tab.Track(ip4("4.4.4.4"), 3) // evicts 3.3.3.3
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Track(ip4("5.5.5.5"), 4); !errors.Is(err, ErrFull) {
		t.Fatalf("all entries tracked: err = %v, want ErrFull", err)
	}
	a.Release(5)
	b.Release(5)
	if _, err := tab.Track(ip4("5.5.5.5"), 6); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	tab := mustTable(t, "t", "type ip size 10 expire 10s store http_req_cnt")
	touch(t, tab, ip4("1.0.0.1"), 1000)
	touch(t, tab, ip4("1.0.0.2"), 2000)
	touch(t, tab, ip4("1.0.0.3"), 3000)
	touch(t, tab, ip4("1.0.0.1"), 4000) // refreshed: expires at 14000

	if _, ok := tab.Lookup(ip4("1.0.0.2"), 11999); !ok {
		t.Fatal("1.0.0.2 expired early")
	}
	if _, ok := tab.Lookup(ip4("1.0.0.2"), 12000); ok { // exp <= now: expired, dropped lazily
		t.Fatal("1.0.0.2 not expired at 12000")
	}
	if tab.Used() != 2 {
		t.Fatalf("lazy expiry: used = %d, want 2", tab.Used())
	}
	if n := tab.Expire(12999); n != 0 {
		t.Fatalf("Expire(12999) removed %d, want 0", n)
	}
	if n := tab.Expire(13000); n != 1 {
		t.Fatalf("Expire(13000) removed %d, want 1", n)
	}
	if _, ok := tab.Lookup(ip4("1.0.0.1"), 13999); !ok {
		t.Fatal("refreshed entry gone")
	}
	if n := tab.Expire(20000); n != 1 || tab.Used() != 0 {
		t.Fatalf("Expire(20000) = %d, used %d", n, tab.Used())
	}
	// A Ref from Lookup goes stale when its entry goes.
	touch(t, tab, ip4("1.0.0.9"), 30000)
	r, _ := tab.Lookup(ip4("1.0.0.9"), 30000)
	tab.Expire(40000)
	if _, ok := r.Get(DTHTTPReqCnt, 40000); ok {
		t.Fatal("stale Ref still readable")
	}
	r.IncHTTPReq(40000) // must not touch another entry
}

func TestTrackedEntriesDoNotExpire(t *testing.T) {
	tab := mustTable(t, "t", "type ip size 10 expire 1s store conn_cur,conn_cnt")
	r, err := tab.Track(ip4("9.9.9.9"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := tab.Expire(60000); n != 0 {
		t.Fatalf("tracked entry expired (%d removed)", n)
	}
	if _, ok := tab.Lookup(ip4("9.9.9.9"), 60000); !ok {
		t.Fatal("tracked entry not found")
	}
	r.Release(60000) // refreshes expiry to 61000
	if n := tab.Expire(60999); n != 0 {
		t.Fatal("expired before expire after release")
	}
	if n := tab.Expire(61000); n != 1 {
		t.Fatalf("Expire after release removed %d, want 1", n)
	}
}

func TestNoPurge(t *testing.T) {
	tab := mustTable(t, "t", "type integer size 2 expire 10s nopurge")
	touch(t, tab, IntKey(1), 0)
	touch(t, tab, IntKey(2), 5000)
	if _, err := tab.GetOrCreate(IntKey(3), 6000); !errors.Is(err, ErrFull) {
		t.Fatalf("err = %v, want ErrFull", err)
	}
	if _, ok := tab.Lookup(IntKey(1), 6000); !ok {
		t.Fatal("nopurge evicted an entry")
	}
	// Once an entry has expired its place can be reused.
	touch(t, tab, IntKey(3), 10000)
	if _, ok := tab.Lookup(IntKey(1), 10000); ok {
		t.Fatal("expired entry still present")
	}
	if tab.Used() != 2 {
		t.Fatalf("used = %d", tab.Used())
	}
}

func TestConnCurAndCounters(t *testing.T) {
	tab := mustTable(t, "t", "type ip size 10 expire 1m store conn_cur,conn_cnt,conn_rate(10s),http_req_cnt,http_req_rate(10s),http_err_rate(10s),bytes_in_cnt,gpc0,gpt0,server_id")
	k := ip4("192.0.2.1")
	a, _ := tab.Track(k, 100000)
	b, _ := tab.Track(k, 100001)
	want := map[DataType]uint64{DTConnCur: 2, DTConnCnt: 2, DTConnRate: 2}
	for dt, w := range want {
		if v, ok := a.Get(dt, 100002); !ok || v != w {
			t.Errorf("%s = %d,%v; want %d", dt, v, ok, w)
		}
	}
	if n, _ := a.Trackers(); n != 2 {
		t.Errorf("trackers = %d", n)
	}
	b.Release(100002)
	b.Release(100002) // double release is harmless
	if v, _ := a.Get(DTConnCur, 100002); v != 1 {
		t.Errorf("conn_cur after release = %d, want 1", v)
	}
	// "sc_http_req_rate includes the current request": with gt 20 the
	// 21st request is the first denied.
	for i := 0; i < 20; i++ {
		a.IncHTTPReq(100010)
	}
	c, _ := tab.TrackHTTPReq(k, 100010) // the 21st request, counted at tracking
	c.Release(100010)
	if v, _ := a.Get(DTHTTPReqRate, 100010); v != 21 {
		t.Errorf("http_req_rate = %d, want 21", v)
	}
	a.AddBytesIn(5<<30, 100010)
	a.AddBytesIn(1, 100010)
	if v, _ := a.Get(DTBytesInCnt, 100010); v != 5<<30+1 {
		t.Errorf("bytes_in_cnt = %d (64-bit)", v)
	}
	if v, ok := a.IncGPC0(100010); !ok || v != 1 {
		t.Errorf("IncGPC0 = %d,%v", v, ok)
	}
	if v, ok := a.ClrGPC0(); !ok || v != 1 {
		t.Errorf("ClrGPC0 = %d,%v", v, ok)
	}
	a.SetGPT0(7)
	a.SetServerID(-3)
	if v, _ := a.Get(DTGPT0, 0); v != 7 {
		t.Errorf("gpt0 = %d", v)
	}
	if v, _ := a.Get(DTServerID, 0); int64(v) != -3 {
		t.Errorf("server_id = %d", int64(v))
	}
	// Not stored: reads report it, updates are no-ops.
	if _, ok := a.Get(DTHTTPFailRate, 0); ok {
		t.Error("http_fail_rate reported as stored")
	}
	a.IncHTTPFail(100010)
	// HAProxy's sc_inc_gpc1 then answers 0 rather than no sample.
	if v, ok := a.IncGPC1(0); !ok || v != 0 {
		t.Errorf("IncGPC1 on unstored gpc1 = %d,%v; want 0,true", v, ok)
	}
	if rem, ok := a.RateRemain(DTHTTPReqRate, 100010, 30, 0); !ok || rem != 9 {
		t.Errorf("RateRemain = %d,%v; want 9", rem, ok)
	}
	a.Release(100020)
	if v, _ := a.Get(DTConnCur, 100020); v != 0 {
		t.Errorf("conn_cur = %d after all releases", v)
	}
}

func TestKeyConversion(t *testing.T) {
	v6 := mustTable(t, "v6", "type ipv6 size 10")
	touch(t, v6, ip4("10.1.2.3"), 0)
	if _, ok := v6.Lookup(AddrKey(netip.MustParseAddr("::ffff:10.1.2.3")), 0); !ok {
		t.Error("IPv4 key not stored as v4-mapped IPv6")
	}
	v4 := mustTable(t, "v4", "type ip size 10")
	touch(t, v4, AddrKey(netip.MustParseAddr("::ffff:10.1.2.3")), 0)
	if _, ok := v4.Lookup(ip4("10.1.2.3"), 0); !ok {
		t.Error("v4-mapped key not converted to IPv4")
	}
	if _, err := v4.Track(AddrKey(netip.MustParseAddr("2001:db8::1")), 0); !errors.Is(err, ErrKeyType) {
		t.Errorf("IPv6 into ip table: err = %v", err)
	}
	if _, ok := v4.Lookup(StringKey("10.1.2.3"), 0); !ok {
		t.Error("textual address not parsed for ip table")
	}
	in := mustTable(t, "int", "type integer size 10")
	touch(t, in, IntKey(1<<32+5), 0)
	if _, ok := in.Lookup(IntKey(5), 0); !ok {
		t.Error("integer key not cut to 32 bits")
	}
	if _, ok := v4.Lookup(Key{}, 0); ok {
		t.Error("zero Key matched")
	}
}

func TestStringAndBinaryTruncation(t *testing.T) {
	s := mustTable(t, "s", "type string len 4 size 10 store gpc0")
	touch(t, s, StringKey("abcdef"), 0)
	for _, k := range []Key{StringKey("abcdxyz"), BytesKey([]byte("abcd")), StringKey("abcd\x00zz")} {
		if _, ok := s.Lookup(k, 0); !ok {
			t.Errorf("%q did not match the truncated key", k.text())
		}
	}
	if _, ok := s.Lookup(StringKey("abc"), 0); ok {
		t.Error("shorter key matched")
	}
	touch(t, s, StringKey("ab\x00cd"), 0) // C string: cut at NUL
	if _, ok := s.Lookup(StringKey("ab"), 0); !ok {
		t.Error("key not cut at NUL")
	}
	if s.Used() != 2 {
		t.Errorf("used = %d, want 2", s.Used())
	}

	b := mustTable(t, "b", "type binary len 4 size 10")
	touch(t, b, BytesKey([]byte{1, 2}), 0)
	if _, ok := b.Lookup(BytesKey([]byte{1, 2, 0, 0, 9}), 0); !ok {
		t.Error("binary key not zero padded / truncated")
	}
	if _, ok := b.Lookup(BytesKey([]byte{1, 2, 0, 1}), 0); ok {
		t.Error("different binary key matched")
	}
	var out bytes.Buffer
	if err := b.Dump(&out, 0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " key=01020000 ") {
		t.Errorf("binary dump: %q", out.String())
	}
}

func TestDumpFormat(t *testing.T) {
	tab := mustTable(t, "be_rl", "type ip size 200k expire 1h store http_req_rate(10s),gpc0,conn_cur")
	r, _ := tab.Track(ip4("127.0.0.1"), 1000)
	r.IncHTTPReq(1000)
	r.Release(5271)
	var out bytes.Buffer
	if err := tab.Dump(&out, 10000); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || lines[0] != "# table: be_rl, type: ip, size:204800, used:1" {
		t.Fatalf("dump:\n%s", out.String())
	}
	_, rest, ok := strings.Cut(lines[1], ": ")
	if want := "key=127.0.0.1 use=0 exp=3595271 gpc0=0 conn_cur=0 http_req_rate(10000)=1"; !ok ||
		!strings.HasPrefix(lines[1], "0x") || rest != want {
		t.Fatalf("entry line %q, want 0x...: %s", lines[1], want)
	}
	// An entry past its expiry date is neither listed nor counted.
	out.Reset()
	if err := tab.Dump(&out, 5271+3600*1000); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "# table: be_rl, type: ip, size:204800, used:0\n" {
		t.Fatalf("dump after expiry:\n%s", got)
	}
	s := mustTable(t, "s", "type string size 10")
	touch(t, s, StringKey("a b=c\\\x01"), 0)
	out.Reset()
	if err := s.DumpKey(&out, StringKey("a b=c\\\x01"), 0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), ` key=a\ b\=c\\\x01 use=0 exp=0`) {
		t.Fatalf("string key dump %q", out.String())
	}
}

func TestAdopt(t *testing.T) {
	old := mustTable(t, "t", "type string len 8 size 10 expire 10s store http_req_cnt,gpc0,conn_cur")
	touch(t, old, StringKey("alpha"), 1000)
	r, _ := old.GetOrCreate(StringKey("beta"), 2000)
	r.IncHTTPReq(2000)
	r.IncHTTPReq(2000)
	tr, _ := old.Track(StringKey("gamma"), 3000)

	nw := mustTable(t, "t", "type string len 4 size 10 expire 5s store http_req_cnt,http_req_rate(1s)")
	if n, err := nw.Adopt(old, 4000); err != nil || n != 3 {
		t.Fatalf("Adopt = %d, %v", n, err)
	}
	if old.Used() != 2 { // untracked "alpha" moved; "beta", "gamma" held
		t.Errorf("old used = %d, want 2", old.Used())
	}
	b, ok := nw.Lookup(StringKey("beta"), 4000)
	if !ok {
		t.Fatal("beta not carried over")
	}
	if v, _ := b.Get(DTHTTPReqCnt, 4000); v != 2 {
		t.Errorf("carried http_req_cnt = %d", v)
	}
	if _, ok := nw.Lookup(StringKey("gammaXX"), 4000); !ok {
		t.Error("key not re-cut to the new len")
	}
	// alpha had 7000 ms left in old (exp 11000), capped to new expire 5s.
	if _, ok := nw.Lookup(StringKey("alpha"), 8999); !ok {
		t.Error("alpha expired early")
	}
	// Copies of tracked entries start with the full new expire: 4000+5000.
	if n := nw.Expire(8999); n != 0 {
		t.Errorf("Expire(8999) removed %d", n)
	}
	if n := nw.Expire(9000); n != 3 {
		t.Errorf("Expire(9000) removed %d, want 3", n)
	}
	r.Release(5000)
	tr.Release(5000)

	ip := mustTable(t, "t", "type ip size 10")
	if _, err := ip.Adopt(old, 0); err == nil {
		t.Error("Adopt across key types succeeded")
	}
}

// Two goroutines per shard hammer a multi-shard table; -race checks the
// locking, the size bound must hold throughout.
func TestConcurrentBound(t *testing.T) {
	tab := mustTable(t, "t", "type ip size 5000 expire 1s store http_req_rate(1s),conn_cur")
	if len(tab.shards) < 2 {
		t.Fatalf("expected several shards, got %d", len(tab.shards))
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 4000; i++ {
				k := IPv4Key([4]byte{10, byte(g), byte(i >> 8), byte(i)})
				r, err := tab.Track(k, int64(i))
				if err != nil {
					t.Errorf("Track: %v", err)
					return
				}
				r.IncHTTPReq(int64(i))
				if i%7 == 0 {
					tab.Expire(int64(i))
				}
				r.Release(int64(i))
				if u := tab.Used(); u > 5000 {
					t.Errorf("used %d > size", u)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	n := 0
	for i := range tab.shards {
		n += int(tab.shards[i].live)
	}
	if n != tab.Used() || n > 5000 {
		t.Fatalf("live %d, used %d", n, tab.Used())
	}
}

func ExampleTable_Dump() {
	spec, _ := ParseTableSpec(strings.Fields("type ip size 1m expire 10s store http_req_rate(10s)"))
	tab := New("st_src", spec)
	r, _ := tab.Track(IPv4Key([4]byte{127, 0, 0, 1}), 0)
	r.IncHTTPReq(0)
	r.Release(0)
	var b bytes.Buffer
	_ = tab.Dump(&b, 2500)
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if _, rest, ok := strings.Cut(line, ": key="); ok {
			line = "0x...: key=" + rest // the id varies
		}
		fmt.Println(line)
	}
	// Output:
	// # table: st_src, type: ip, size:1048576, used:1
	// 0x...: key=127.0.0.1 use=0 exp=7500 http_req_rate(10000)=1
}
