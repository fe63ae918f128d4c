package stick

import (
	"runtime"
	"sync/atomic"
	"testing"
)

const benchSpec = "type ip size 1m expire 10s store http_req_rate(10s)"

// BenchmarkTrackAndRate is the per-request hot path for an existing IPv4
// key: track counting the request, read the rate, release.
func BenchmarkTrackAndRate(b *testing.B) {
	tab := mustTable(b, "b", benchSpec)
	k := IPv4Key([4]byte{192, 0, 2, 1})
	r, _ := tab.Track(k, 0)
	r.Release(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := int64(i >> 10)
		r, err := tab.TrackHTTPReq(k, now)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := r.Get(DTHTTPReqRate, now); !ok {
			b.Fatal("not stored")
		}
		r.Release(now)
	}
}

// BenchmarkTrackIncGetRelease is the same with a separate IncHTTPReq
// (four critical sections instead of three).
func BenchmarkTrackIncGetRelease(b *testing.B) {
	tab := mustTable(b, "b", benchSpec)
	k := IPv4Key([4]byte{192, 0, 2, 1})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r, _ := tab.Track(k, 1)
		r.IncHTTPReq(1)
		r.Get(DTHTTPReqRate, 1)
		r.Release(1)
	}
}

// BenchmarkLookupRate is src_http_req_rate: a lookup without tracking.
func BenchmarkLookupRate(b *testing.B) {
	tab := mustTable(b, "b", benchSpec)
	k := IPv4Key([4]byte{192, 0, 2, 1})
	r, _ := tab.Track(k, 0)
	r.Release(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, _ := tab.Lookup(k, 1)
		r.Get(DTHTTPReqRate, 1)
	}
}

// BenchmarkHotKeyParallel: every goroutine tracks the same key, the worst
// case for the shard mutex.
func BenchmarkHotKeyParallel(b *testing.B) {
	tab := mustTable(b, "b", benchSpec)
	k := IPv4Key([4]byte{192, 0, 2, 1})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := tab.TrackHTTPReq(k, 1)
			if err != nil {
				b.Error(err)
				return
			}
			r.Get(DTHTTPReqRate, 1)
			r.Release(1)
		}
	})
}

// BenchmarkDistinctKeysParallel: each goroutine has its own keys, which
// spread over shards.
func BenchmarkDistinctKeysParallel(b *testing.B) {
	tab := mustTable(b, "b", benchSpec)
	var gid atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		g := gid.Add(1)
		i := uint32(0)
		for pb.Next() {
			i++
			k := IPv4Key([4]byte{10, byte(g), byte(i >> 8 & 3), byte(i)})
			r, err := tab.TrackHTTPReq(k, 1)
			if err != nil {
				b.Error(err)
				return
			}
			r.Get(DTHTTPReqRate, 1)
			r.Release(1)
		}
	})
}

func BenchmarkTrackStringKey(b *testing.B) {
	tab := mustTable(b, "b", "type string len 64 size 1m expire 10s store http_req_rate(10s)")
	key := []byte("Mozilla/5.0 (X11; Linux x86_64) session=abcdef0123456789")
	r, _ := tab.Track(BytesKey(key), 0)
	r.Release(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, _ := tab.Track(BytesKey(key), 1)
		r.IncHTTPReq(1)
		r.Release(1)
	}
}

func TestHotPathAllocs(t *testing.T) {
	tab := mustTable(t, "b", benchSpec)
	k := IPv4Key([4]byte{192, 0, 2, 1})
	r, _ := tab.Track(k, 0)
	r.Release(0)
	n := testing.AllocsPerRun(1000, func() {
		r, _ := tab.TrackHTTPReq(k, 5)
		r.IncHTTPReq(5)
		r.Get(DTHTTPReqRate, 5)
		r.Release(5)
	})
	if n != 0 {
		t.Fatalf("track+rate allocates %.1f times per op", n)
	}
	st := mustTable(t, "s", "type string size 10 store http_req_cnt")
	key := []byte("some-session-id")
	r, _ = st.Track(BytesKey(key), 0)
	r.Release(0)
	if n := testing.AllocsPerRun(1000, func() {
		r, _ := st.Track(BytesKey(key), 5)
		r.Release(5)
	}); n != 0 {
		t.Fatalf("string-key track allocates %.1f times per op", n)
	}
}

// TestMemoryMillionIPs fills a 1m-entry ip table (plus overflow) and
// checks the size bound and the heap it takes.
func TestMemoryMillionIPs(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 1,048,576 entries")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tab := mustTable(t, "m", benchSpec)
	const n = 1 << 20
	for i := uint32(0); i < n+1000; i++ {
		k := IPv4Key([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		r, err := tab.Track(k, int64(i>>10))
		if err != nil {
			t.Fatal(err)
		}
		r.IncHTTPReq(int64(i >> 10))
		r.Release(int64(i >> 10))
	}
	if tab.Used() != n {
		t.Fatalf("used = %d, want %d", tab.Used(), n)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	inuse := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("1m ip entries with http_req_rate: HeapInuse +%d MB, %d bytes/entry", inuse>>20, inuse/n)
	if inuse > 250<<20 {
		t.Fatalf("HeapInuse grew by %d MB, want < 250 MB", inuse>>20)
	}
	runtime.KeepAlive(tab)
}
