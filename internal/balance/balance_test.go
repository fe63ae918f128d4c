package balance

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func servers(weights ...int) []*Server {
	s := make([]*Server, len(weights))
	for i, w := range weights {
		s[i] = NewServer(0, w, false)
	}
	return s
}

func newB(t testing.TB, line string, ht HashType, srvs []*Server, opts ...Option) Balancer {
	t.Helper()
	p, err := ParseParams(strings.Fields(line))
	if err != nil {
		t.Fatalf("ParseParams(%q): %v", line, err)
	}
	b, err := New(p, ht, srvs, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", line, err)
	}
	return b
}

// run picks n times with keys from key (nil = zero Key), releasing each
// slot at once, and counts picks per server.
func run(t testing.TB, b Balancer, nsrv, n int, key func(i int) Key) []int {
	t.Helper()
	counts := make([]int, nsrv)
	for i := range n {
		var k Key
		if key != nil {
			k = key(i)
		}
		idx, st := b.Pick(k)
		if st != OK {
			t.Fatalf("pick %d: status %v", i, st)
		}
		counts[idx]++
		b.Release(idx)
	}
	return counts
}

func TestStaticRRExactWindow(t *testing.T) {
	for _, w := range [][]int{{3, 1}, {1, 1, 1}, {5, 3, 2}, {20, 10}, {7, 0, 2}} {
		srvs := servers(w...)
		b := newB(t, "static-rr", HashType{}, srvs)
		g, tot := 0, 0
		for _, x := range w {
			g = gcd(g, x)
		}
		for _, x := range w {
			tot += x / g
		}
		counts := run(t, b, len(w), 3*tot, nil)
		for i := range w {
			if want := 3 * w[i] / g; counts[i] != want {
				t.Errorf("weights %v: server %d got %d picks over 3 windows, want exactly %d", w, i, counts[i], want)
			}
		}
	}
}

func TestStaticRRTableOrder(t *testing.T) {
	// recalc_server_map on 3:1: the quantised score makes the first
	// declared server win every tie.
	srvs := servers(3, 1)
	b := newB(t, "static-rr", HashType{}, srvs)
	var got []int
	for range 8 {
		i, _ := b.Pick(Key{})
		b.Release(i)
		got = append(got, i)
	}
	if fmt.Sprint(got) != "[0 0 0 1 0 0 0 1]" {
		t.Errorf("sequence %v", got)
	}
}

func TestRoundRobinProportions(t *testing.T) {
	// A window is total-eweight picks long, and FWRR's carried remainder
	// gives every server exactly its eweight turns in each window.
	for _, w := range [][]int{{3, 1}, {1, 1, 1}, {5, 3, 2}, {1, 256}, {2, 0, 1}, {7, 5, 3, 2}} {
		srvs := servers(w...)
		b := newB(t, "roundrobin", HashType{}, srvs)
		tot := 0
		for _, x := range w {
			tot += x * WeightScale
		}
		for win := range 3 {
			counts := run(t, b, len(w), tot, nil)
			for i := range w {
				if want := w[i] * WeightScale; counts[i] != want {
					t.Errorf("weights %v window %d: server %d got %d picks, want %d", w, win, i, counts[i], want)
				}
			}
		}
	}
}

func TestRoundRobinInterleaves(t *testing.T) {
	// FWRR spreads turns over the window: with 3:1 the light server must
	// come back at least every few picks, never in one burst.
	srvs := servers(3, 1)
	b := newB(t, "roundrobin", HashType{}, srvs)
	run1, maxRun := 0, 0
	for range 640 {
		i, _ := b.Pick(Key{})
		b.Release(i)
		if i == 0 {
			run1++
			maxRun = max(maxRun, run1)
		} else {
			run1 = 0
		}
	}
	if maxRun > 4 {
		t.Errorf("heavy server got %d picks in a row, want interleaving (<= 4)", maxRun)
	}
}

func TestRoundRobinDynamicWeight(t *testing.T) {
	srvs := servers(1, 1)
	b := newB(t, "roundrobin", HashType{}, srvs)
	c := run(t, b, 2, 320, nil)
	if c[0] != 160 || c[1] != 160 {
		t.Fatalf("1:1 gave %v", c)
	}
	srvs[0].SetWeight(3)
	b.Update()
	run(t, b, 2, 64, nil) // let the current window end
	c = run(t, b, 2, 640, nil)
	if c[0] < 470 || c[0] > 490 {
		t.Errorf("after weight 3:1, got %v, want about 480:160", c)
	}
	srvs[0].SetWeight(0)
	b.Update()
	c = run(t, b, 2, 100, nil)
	if c[0] != 0 {
		t.Errorf("weight 0 server still picked: %v", c)
	}
	srvs[0].SetWeight(1)
	b.Update()
	run(t, b, 2, 32, nil)
	c = run(t, b, 2, 320, nil)
	if c[0] < 150 || c[0] > 170 {
		t.Errorf("back to 1:1, got %v", c)
	}
}

// algos lists one line per algorithm with the key it needs.
var algos = []struct {
	line string
	ht   HashType
	key  func(i int) Key
}{
	{"roundrobin", HashType{}, nil},
	{"static-rr", HashType{}, nil},
	{"leastconn", HashType{}, nil},
	{"first", HashType{}, nil},
	{"random", HashType{}, nil},
	{"random(1)", HashType{}, nil},
	{"source", HashType{}, func(i int) Key { return Key{Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})} }},
	{"source", HashType{Method: Consistent, Avalanche: true}, func(i int) Key { return Key{Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})} }},
	{"uri", HashType{}, func(i int) Key { return Key{URI: fmt.Sprintf("/obj/%d?x", i)} }},
	{"uri", HashType{Method: Consistent, Avalanche: true}, func(i int) Key { return Key{URI: fmt.Sprintf("/obj/%d", i)} }},
	{"url_param id", HashType{Func: DJB2, Avalanche: true}, func(i int) Key { return Key{Value: fmt.Sprint(i), HasValue: true} }},
	{"hdr(host)", HashType{Func: WT6}, func(i int) Key { return Key{Value: fmt.Sprintf("h%d.example", i), HasValue: true} }},
	{"hash req.cookie(x)", HashType{Method: Consistent, Func: CRC32}, func(i int) Key { return Key{Value: fmt.Sprint(i), HasValue: true} }},
}

func TestWeightZeroExcluded(t *testing.T) {
	for _, a := range algos {
		t.Run(a.line+"/"+a.ht.String(), func(t *testing.T) {
			srvs := servers(1, 0, 1)
			b := newB(t, a.line, a.ht, srvs)
			c := run(t, b, 3, 300, a.key)
			if c[1] != 0 {
				t.Errorf("weight-0 server picked %d times: %v", c[1], c)
			}
			if c[0] == 0 || (a.line != "first" && c[2] == 0) {
				t.Errorf("usable servers not used: %v", c)
			}
		})
	}
}

func TestBackupFailover(t *testing.T) {
	for _, a := range algos {
		for _, all := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/%v/allbackups=%v", a.line, a.ht, all), func(t *testing.T) {
				srvs := servers(1, 1)
				srvs = append(srvs, NewServer(0, 1, true), NewServer(0, 1, true))
				var opts []Option
				if all {
					opts = append(opts, AllBackups())
				}
				b := newB(t, a.line, a.ht, srvs, opts...)
				c := run(t, b, 4, 200, a.key)
				if c[2]+c[3] != 0 {
					t.Fatalf("backups used while actives are up: %v", c)
				}
				srvs[0].SetUsable(false)
				srvs[1].SetUsable(false)
				b.Update()
				c = run(t, b, 4, 200, a.key)
				switch {
				case c[0]+c[1] != 0:
					t.Errorf("down actives picked: %v", c)
				case !all && (c[2] != 200 || c[3] != 0):
					t.Errorf("without allbackups only the first backup must serve: %v", c)
				case all && a.line != "first" && (c[2] == 0 || c[3] == 0):
					t.Errorf("with allbackups every backup must serve: %v", c)
				}
				srvs[2].SetUsable(false)
				b.Update()
				c = run(t, b, 4, 50, a.key)
				if c[3] != 50 {
					t.Errorf("second backup must take over: %v", c)
				}
				srvs[3].SetUsable(false)
				b.Update()
				if i, st := b.Pick(Key{}); st != NoServer {
					t.Errorf("all down: got %d, %v; want NoServer", i, st)
				}
				srvs[1].SetUsable(true)
				b.Update()
				c = run(t, b, 4, 50, a.key)
				if c[1] != 50 {
					t.Errorf("active back up must take all traffic: %v", c)
				}
			})
		}
	}
}

func TestStaleStateWithoutUpdate(t *testing.T) {
	// A server marked down but not yet followed by Update must not be
	// handed out by algorithms that notice it.
	for _, line := range []string{"roundrobin", "static-rr", "leastconn", "first"} {
		srvs := servers(1, 1)
		b := newB(t, line, HashType{}, srvs)
		srvs[0].SetUsable(false)
		c := run(t, b, 2, 20, nil)
		if c[0] != 0 {
			t.Errorf("%s: picked a down server without Update: %v", line, c)
		}
	}
}

func TestFirstFillsByID(t *testing.T) {
	srvs := []*Server{NewServer(3, 1, false), NewServer(1, 1, false), NewServer(2, 50, false)}
	for _, s := range srvs {
		s.SetMaxConn(2)
	}
	b := newB(t, "first", HashType{}, srvs)
	var got []int
	for range 6 {
		i, st := b.Pick(Key{})
		if st != OK {
			t.Fatalf("status %v", st)
		}
		got = append(got, i)
	}
	if fmt.Sprint(got) != "[1 1 2 2 0 0]" {
		t.Errorf("fill order %v, want ids 1,1,2,2,3,3", got)
	}
	if i, st := b.Pick(Key{}); st != AllFull {
		t.Errorf("all at maxconn: got %d, %v; want AllFull", i, st)
	}
	b.Release(2)
	if i, st := b.Pick(Key{}); st != OK || i != 2 {
		t.Errorf("after release: got %d, %v; want 2, OK", i, st)
	}
}

func TestLeastConn(t *testing.T) {
	srvs := servers(1, 1, 1)
	b := newB(t, "leastconn", HashType{}, srvs)
	// Idle servers rotate.
	var seq []int
	for range 6 {
		i, _ := b.Pick(Key{})
		b.Release(i)
		seq = append(seq, i)
	}
	if fmt.Sprint(seq) != "[0 1 2 0 1 2]" {
		t.Errorf("round robin among equals: %v", seq)
	}
	// Loaded servers are avoided.
	for range 5 {
		srvs[0].Acquire()
	}
	srvs[1].Acquire()
	if i, _ := b.Pick(Key{}); i != 2 {
		t.Errorf("picked %d, want the idle server 2", i)
	}
	if i, _ := b.Pick(Key{}); i != 1 {
		t.Errorf("picked %d, want server 1 (1 inflight, tie broken by age)", i)
	}
}

func TestLeastConnWeights(t *testing.T) {
	srvs := servers(3, 1)
	b := newB(t, "leastconn", HashType{}, srvs)
	for range 400 {
		if _, st := b.Pick(Key{}); st != OK {
			t.Fatal(st)
		}
	}
	a, c := srvs[0].Inflight(), srvs[1].Inflight()
	if a < 295 || a > 305 || a+c != 400 {
		t.Errorf("inflight %d:%d, want about 300:100", a, c)
	}
}

func TestMaxConnStatuses(t *testing.T) {
	for _, line := range []string{"roundrobin", "static-rr", "leastconn", "first", "random(5)", "url_param id"} {
		srvs := servers(1, 1)
		for _, s := range srvs {
			s.SetMaxConn(3)
		}
		b := newB(t, line, HashType{}, srvs)
		for n := range 6 {
			_, st := b.Pick(Key{})
			// random gives up (AllFull) when its draws land on a full
			// server, like HAProxy; the others look further.
			for tries := 0; st == AllFull && strings.HasPrefix(line, "random") && tries < 100; tries++ {
				_, st = b.Pick(Key{})
			}
			if st != OK {
				t.Fatalf("%s: pick %d: %v", line, n, st)
			}
		}
		if srvs[0].Inflight() != 3 || srvs[1].Inflight() != 3 {
			t.Errorf("%s: maxconn not respected: %d %d", line, srvs[0].Inflight(), srvs[1].Inflight())
		}
		if _, st := b.Pick(Key{}); st != AllFull {
			t.Errorf("%s: got %v, want AllFull", line, st)
		}
	}
	// A hashed request keeps its server and reports it full.
	srvs := servers(1, 1)
	srvs[0].SetMaxConn(1)
	srvs[1].SetMaxConn(1)
	b := newB(t, "url_param id", HashType{}, srvs)
	k := Key{Value: "abc", HasValue: true}
	i, st := b.Pick(k)
	if st != OK {
		t.Fatal(st)
	}
	if j, st := b.Pick(k); st != ServerFull || j != i {
		t.Errorf("hash to a full server: got %d, %v; want %d, ServerFull", j, st, i)
	}
}

func TestAvoid(t *testing.T) {
	for _, a := range algos {
		if a.key != nil && a.ht.Method == MapBased {
			continue // HAProxy's map lookup ignores the server to avoid
		}
		srvs := servers(1, 1, 1)
		b := newB(t, a.line, a.ht, srvs)
		for n := range 30 {
			var k Key
			if a.key != nil {
				k = a.key(n)
			}
			i, st := b.Pick(k.Avoiding(1))
			if st != OK || i == 1 {
				t.Errorf("%s: pick avoiding 1 gave %d, %v", a.line, i, st)
			}
			b.Release(i)
		}
		// The avoided server is still used when it is the only one.
		srvs[0].SetUsable(false)
		srvs[2].SetUsable(false)
		b.Update()
		if i, st := b.Pick(Key{}.Avoiding(1)); st != OK || i != 1 {
			t.Errorf("%s: sole server avoided: %d, %v", a.line, i, st)
		}
	}
}

func TestHashFallbackToRoundRobin(t *testing.T) {
	for _, a := range []struct {
		line string
		k    Key
	}{
		{"url_param id", Key{}},
		{"hdr(host)", Key{}},
		{"hdr(host)", Key{HasValue: true}}, // empty header value
		{"rdp-cookie", Key{}},
		{"hash req.cookie(x)", Key{}},
		{"source", Key{}}, // no IP (unix socket)
		{"uri", Key{}},    // TCP mode
	} {
		for _, ht := range []HashType{{}, {Method: Consistent, Avalanche: true}} {
			srvs := servers(1, 1, 1)
			b := newB(t, a.line, ht, srvs)
			c := run(t, b, 3, 300, func(int) Key { return a.k })
			for i := range c {
				if c[i] < 60 {
					t.Errorf("%s/%v: missing input must round-robin, got %v", a.line, ht, c)
					break
				}
			}
		}
	}
}

func TestHashAffinity(t *testing.T) {
	for _, a := range algos {
		if a.key == nil {
			continue
		}
		srvs := servers(1, 2, 3)
		b := newB(t, a.line, a.ht, srvs)
		first := make([]int, 200)
		for n := range first {
			i, _ := b.Pick(a.key(n))
			b.Release(i)
			first[n] = i
		}
		for n := range first {
			if i, _ := b.Pick(a.key(n)); i != first[n] {
				t.Fatalf("%s: key %d went to %d then %d", a.line, n, first[n], i)
			} else {
				b.Release(i)
			}
		}
	}
}

func TestMapBasedMatchesHAProxyModulo(t *testing.T) {
	// With equal weights the map is one slot per server, so "balance
	// source" sends an IPv4 client to servers[addr % n] exactly as HAProxy.
	srvs := servers(10, 10, 10)
	b := newB(t, "source", HashType{}, srvs)
	for _, ip := range []string{"10.0.0.1", "192.168.1.77", "203.0.113.9"} {
		a := netip.MustParseAddr(ip)
		b4 := a.As4()
		want := int((uint32(b4[0])<<24 | uint32(b4[1])<<16 | uint32(b4[2])<<8 | uint32(b4[3])) % 3)
		if i, _ := b.Pick(Key{Src: a}); i != want {
			t.Errorf("%s -> %d, want %d", ip, i, want)
		}
	}
	// uri: sdbm("/index.html") = 0x33242976 selects slot 0x33242976 % 3.
	b = newB(t, "uri", HashType{}, servers(1, 1, 1))
	if i, _ := b.Pick(Key{URI: "/index.html?v=2"}); i != 0x33242976%3 {
		t.Errorf("uri -> %d, want %d", i, 0x33242976%3)
	}
}

func TestConsistentHashStability(t *testing.T) {
	const n, keys = 10, 20000
	srvs := servers(make([]int, n)...)
	for _, s := range srvs {
		s.SetWeight(1)
	}
	ht := HashType{Method: Consistent, Avalanche: true}
	b := newB(t, "uri", ht, srvs)
	key := func(i int) Key { return Key{URI: fmt.Sprintf("/k/%d", i)} }
	before := make([]int, keys)
	per := make([]int, n)
	for i := range before {
		before[i], _ = b.Pick(key(i))
		b.Release(before[i])
		per[before[i]]++
	}
	for s, c := range per {
		if c < keys/n/3 {
			t.Errorf("server %d got only %d of %d keys", s, c, keys)
		}
	}
	srvs[3].SetUsable(false)
	b.Update()
	moved := 0
	for i := range before {
		got, _ := b.Pick(key(i))
		b.Release(got)
		if got == 3 {
			t.Fatalf("key %d still on the removed server", i)
		}
		if got != before[i] {
			moved++
			if before[i] != 3 {
				t.Fatalf("key %d moved from %d to %d though its server stayed", i, before[i], got)
			}
		}
	}
	if moved != per[3] {
		t.Errorf("moved %d keys, want exactly the %d of the removed server", moved, per[3])
	}
	// Map-based hashing, by contrast, remaps most keys.
	srvs[3].SetUsable(true)
	m := newB(t, "uri", HashType{}, srvs)
	for i := range before {
		before[i], _ = m.Pick(key(i))
		m.Release(before[i])
	}
	srvs[3].SetUsable(false)
	m.Update()
	moved = 0
	for i := range before {
		got, _ := m.Pick(key(i))
		m.Release(got)
		if got != before[i] {
			moved++
		}
	}
	if moved < keys/2 {
		t.Errorf("map-based moved only %d keys; the test would not tell consistent from map", moved)
	}
}

func TestConsistentWeights(t *testing.T) {
	srvs := servers(1, 3)
	b := newB(t, "uri", HashType{Method: Consistent, Avalanche: true}, srvs)
	c := run(t, b, 2, 20000, func(i int) Key { return Key{URI: fmt.Sprintf("/w/%d", i)} })
	if share := float64(c[1]) / 20000; share < 0.68 || share > 0.82 {
		t.Errorf("weight 3 server share %.2f, want about 0.75 (%v)", share, c)
	}
}

func TestRandom(t *testing.T) {
	srvs := servers(1, 3)
	b := newB(t, "random(1)", HashType{}, srvs, Seed(42))
	c := run(t, b, 2, 20000, nil)
	if share := float64(c[1]) / 20000; share < 0.68 || share > 0.82 {
		t.Errorf("random(1) weight-3 share %.2f (%v)", share, c)
	}
	// Power of two choices: a loaded server loses most draws.
	srvs = servers(1, 1)
	for range 100 {
		srvs[0].Acquire()
	}
	b = newB(t, "random", HashType{}, srvs, Seed(7))
	c = run(t, b, 2, 4000, nil)
	if share := float64(c[0]) / 4000; share > 0.35 {
		t.Errorf("loaded server got %.2f of picks with 2 draws, want about 0.25", share)
	}
	b = newB(t, "random(8)", HashType{}, srvs, Seed(7))
	c = run(t, b, 2, 4000, nil)
	if c[0] > 40 {
		t.Errorf("loaded server got %d picks with 8 draws", c[0])
	}
}

func TestConcurrentPicks(t *testing.T) {
	for _, a := range algos {
		t.Run(a.line+"/"+a.ht.String(), func(t *testing.T) {
			srvs := servers(1, 2, 3, 4)
			for _, s := range srvs {
				s.SetMaxConn(8)
			}
			b := newB(t, a.line, a.ht, srvs)
			var wg sync.WaitGroup
			var over sync.Once
			for g := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := range 500 {
						var k Key
						if a.key != nil {
							k = a.key(g*1000 + n)
						}
						i, st := b.Pick(k)
						if st != OK {
							continue
						}
						if srvs[i].Inflight() > 8 {
							over.Do(func() { t.Errorf("server %d over maxconn: %d", i, srvs[i].Inflight()) })
						}
						if n%97 == 0 && g == 0 {
							srvs[3].SetWeight(1 + n%5)
							b.Update()
						}
						b.Release(i)
					}
				}()
			}
			wg.Wait()
			for i, s := range srvs {
				if s.Inflight() != 0 {
					t.Errorf("server %d inflight %d after all releases", i, s.Inflight())
				}
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(Params{}, HashType{}, []*Server{nil}); err == nil {
		t.Error("nil server accepted")
	}
	srvs := servers(make([]int, MaxRRServers+1)...)
	if _, err := New(Params{}, HashType{}, srvs); err == nil {
		t.Error("roundrobin accepted more than 4095 active servers")
	}
	if _, err := New(Params{Algo: StaticRR}, HashType{}, srvs); err != nil {
		t.Errorf("static-rr has no server limit: %v", err)
	}
}

func BenchmarkPick(b *testing.B) {
	for _, a := range algos {
		b.Run(strings.ReplaceAll(a.line+"/"+a.ht.String(), " ", "_"), func(b *testing.B) {
			srvs := servers(1, 2, 3, 4, 5, 6, 7, 8)
			bal := newB(b, a.line, a.ht, srvs)
			keys := make([]Key, 64)
			for i := range keys {
				if a.key != nil {
					keys[i] = a.key(i)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				idx, st := bal.Pick(keys[i&63])
				if st == OK {
					bal.Release(idx)
				}
			}
		})
	}
}
