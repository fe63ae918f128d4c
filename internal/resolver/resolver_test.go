package resolver

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"bulwark/internal/model"
	"bulwark/internal/resolver/dnstest"
)

func section(retry time.Duration, servers ...string) *Section {
	cfg := &model.Resolvers{Name: "r", PayloadSize: 512, Retries: 2, Resolve: 50 * time.Millisecond, Retry: retry,
		Hold: model.Hold{Valid: time.Second, Obsolete: 0}}
	for i, s := range servers {
		cfg.Nameservers = append(cfg.Nameservers, model.Nameserver{Name: "ns" + string(rune('1'+i)), Addr: netip.MustParseAddrPort(s)})
	}
	return New(cfg)
}

func addrs(a Answer) string {
	var out []string
	for _, r := range a.Records {
		if r.Target != "" {
			out = append(out, r.Target+":"+itoa(int(r.Port))+"="+r.Addr.String())
			continue
		}
		out = append(out, r.Addr.String())
	}
	return strings.Join(out, ",")
}

func itoa(n int) string { return strconv.Itoa(n) }

// Every kind of answer, good and bad, over a real socket: a clear status,
// never a panic, and a bounded wait.
func TestQueryStatuses(t *testing.T) {
	srv := dnstest.Start(t)
	// A chopped answer: a header claiming one answer record and no more.
	chopped := []byte{0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, 'b', 'a', 'd'}
	srv.Set("ok.test", dnstest.Entry{A: []string{"127.0.0.2", "127.0.0.3"}})
	srv.Set("v6.test", dnstest.Entry{AAAA: []string{"::1"}})
	srv.Set("alias.test", dnstest.Entry{CNAME: "real.test", A: []string{"127.0.0.9"}})
	srv.Set("refused.test", dnstest.Entry{Rcode: dns.RcodeRefused})
	srv.Set("fail.test", dnstest.Entry{Rcode: dns.RcodeServerFailure})
	srv.Set("tc.test", dnstest.Entry{A: []string{"127.0.0.2"}, Truncate: true})
	srv.Set("chopped.test", dnstest.Entry{Raw: chopped})
	srv.Set("garbage.test", dnstest.Entry{Raw: []byte{1}})
	srv.Set("zero.test", dnstest.Entry{A: []string{"0.0.0.0", "255.255.255.255", "224.0.0.1"}})
	srv.Set("somezero.test", dnstest.Entry{A: []string{"0.0.0.0", "127.0.0.4"}})
	srv.Set("empty.test", dnstest.Entry{})
	srv.Set("drop.test", dnstest.Entry{Drop: true})
	srv.Set("_http._tcp.svc.test", dnstest.Entry{SRV: []dnstest.SRV{
		{Target: "a.svc.test", Port: 8080, Weight: 10, Addr: "127.0.0.5"},
		{Target: "b.svc.test", Port: 8081, Weight: 20}}})
	s := section(300*time.Millisecond, srv.Addr)
	for _, tc := range []struct {
		name   string
		qtype  uint16
		status Status
		want   string // records, or a piece of the detail
	}{
		{"ok.test", dns.TypeA, StatusValid, "127.0.0.2,127.0.0.3"},
		{"OK.test.", dns.TypeA, StatusValid, "127.0.0.2,127.0.0.3"},
		// No AAAA: the A fallback answers.
		{"ok.test", dns.TypeAAAA, StatusValid, "127.0.0.2,127.0.0.3"},
		{"v6.test", dns.TypeAAAA, StatusValid, "::1"},
		{"alias.test", dns.TypeA, StatusValid, "127.0.0.9"},
		{"missing.test", dns.TypeA, StatusNX, "NXDOMAIN"},
		{"refused.test", dns.TypeA, StatusRefused, "REFUSED"},
		{"fail.test", dns.TypeA, StatusOther, "SERVFAIL"},
		{"tc.test", dns.TypeA, StatusOther, "truncated"},
		{"chopped.test", dns.TypeA, StatusOther, "invalid response"},
		{"garbage.test", dns.TypeA, StatusOther, "invalid response"},
		{"zero.test", dns.TypeA, StatusOther, "no usable address: 0.0.0.0, 255.255.255.255, 224.0.0.1"},
		{"somezero.test", dns.TypeA, StatusValid, "127.0.0.4"},
		{"empty.test", dns.TypeA, StatusOther, "no expected record"},
		{"drop.test", dns.TypeA, StatusTimeout, ""},
		{"_http._tcp.svc.test", dns.TypeSRV, StatusValid, "a.svc.test:8080=127.0.0.5,b.svc.test:8081=invalid IP"},
	} {
		start := time.Now()
		a := s.Query(context.Background(), tc.name, tc.qtype)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %s", tc.name, d)
		}
		if a.Status != tc.status {
			t.Errorf("%s: status %s (%s), want %s", tc.name, a.Status, a.Detail, tc.status)
			continue
		}
		if tc.status == StatusValid {
			if got := addrs(a); got != tc.want {
				t.Errorf("%s: records %q, want %q", tc.name, got, tc.want)
			}
			if a.From != "r/ns1" {
				t.Errorf("%s: from %q", tc.name, a.From)
			}
		} else if !strings.Contains(a.Detail, tc.want) {
			t.Errorf("%s: detail %q, want %q", tc.name, a.Detail, tc.want)
		}
	}
}

// The first valid answer wins over a faster failure of another
// nameserver; a dead nameserver costs nothing when another answers.
func TestQueryNameservers(t *testing.T) {
	good, bad := dnstest.Start(t), dnstest.Start(t)
	good.Set("x.test", dnstest.Entry{A: []string{"127.0.0.7"}})
	bad.Set("x.test", dnstest.Entry{Rcode: dns.RcodeRefused})
	s := section(time.Second, bad.Addr, good.Addr)
	if a := s.Query(context.Background(), "x.test", dns.TypeA); a.Status != StatusValid || addrs(a) != "127.0.0.7" || a.From != "r/ns2" {
		t.Fatalf("answer %+v", a)
	}
	silent := dnstest.Start(t)
	silent.Set("x.test", dnstest.Entry{Drop: true})
	s = section(2*time.Second, silent.Addr, good.Addr)
	start := time.Now()
	if a := s.Query(context.Background(), "x.test", dns.TypeA); a.Status != StatusValid {
		t.Fatalf("answer %+v", a)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a silent nameserver delayed the answer by %s", d)
	}
}

// A cancelled query returns at once.
func TestQueryCancel(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("drop.test", dnstest.Entry{Drop: true})
	s := section(10*time.Second, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if a := s.Query(ctx, "drop.test", dns.TypeA); a.Status != StatusTimeout {
		t.Fatalf("answer %+v", a)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("cancel took %s", d)
	}
}

// A watched name is resolved again and again; a new watcher of a name
// already resolved gets the last answer at once, marked cached; a record
// that disappears stays "hold obsolete".
func TestWatch(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("w.test", dnstest.Entry{A: []string{"127.0.0.2", "127.0.0.3"}})
	s := section(300*time.Millisecond, srv.Addr)
	s.cfg.Hold.Obsolete = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	var mu sync.Mutex
	var got []Result
	stop := s.Watch("w.test", dns.TypeA, func(r Result) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
	})
	defer stop()
	wait := func(what string, f func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			ok := f()
			mu.Unlock()
			if ok {
				return
			}
		}
		t.Fatalf("timed out waiting for %s: %+v", what, got)
	}
	wait("a first answer", func() bool { return len(got) > 0 && got[0].Status == StatusValid })
	srv.Set("w.test", dnstest.Entry{A: []string{"127.0.0.3"}})
	n := srv.Queries()
	wait("a later answer", func() bool { return srv.Queries() > n+1 && len(got) > 2 })
	mu.Lock()
	last := got[len(got)-1]
	mu.Unlock()
	if addrs(last.Answer) != "127.0.0.3,127.0.0.2" {
		t.Errorf("hold obsolete: records %q", addrs(last.Answer))
	}
	cached := make(chan Result, 1)
	stop2 := s.Watch("w.test", dns.TypeA, func(r Result) {
		select {
		case cached <- r:
		default:
		}
	})
	defer stop2()
	select {
	case r := <-cached:
		if !r.Cached || r.Status != StatusValid {
			t.Errorf("second watcher got %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second watcher got nothing")
	}
}

func TestPick(t *testing.T) {
	rec := func(ss ...string) []Record {
		var out []Record
		for _, s := range ss {
			out = append(out, Record{Addr: netip.MustParseAddr(s)})
		}
		return out
	}
	used := func(ss ...string) func(netip.Addr) bool {
		return func(a netip.Addr) bool {
			for _, s := range ss {
				if a.String() == s {
					return true
				}
			}
			return false
		}
	}
	for _, tc := range []struct {
		recs []Record
		c    Choice
		want string
	}{
		{rec("10.0.0.1", "::1"), Choice{}, "::1"},
		{rec("10.0.0.1", "::1"), Choice{Prefer: "ipv4"}, "10.0.0.1"},
		{rec("10.0.0.1", "192.168.1.1"), Choice{Prefer: "ipv4", Nets: []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}}, "192.168.1.1"},
		{rec("10.0.0.1", "10.0.0.2"), Choice{Prefer: "ipv4", Cur: netip.MustParseAddr("10.0.0.2")}, "10.0.0.2"},
		{rec("10.0.0.1", "10.0.0.2"), Choice{Prefer: "ipv4", Used: used("10.0.0.1")}, "10.0.0.2"},
		{rec("10.0.0.1"), Choice{Prefer: "ipv4", Used: used("10.0.0.1")}, "invalid IP"},
		{rec("10.0.0.1"), Choice{Prefer: "ipv4", Used: used("10.0.0.1"), Cur: netip.MustParseAddr("10.0.0.1")}, "10.0.0.1"},
		{nil, Choice{}, "invalid IP"},
	} {
		got, ok := Pick(tc.recs, tc.c)
		if got.String() != tc.want || ok != (tc.want != "invalid IP") {
			t.Errorf("Pick(%v, %+v) = %s %v, want %s", tc.recs, tc.c, got, ok, tc.want)
		}
	}
}

// do-resolve's lookup keeps a valid answer "hold valid" and never keeps a
// failure.
func TestLookupCache(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("c.test", dnstest.Entry{A: []string{"127.0.0.8"}, AAAA: []string{"::8"}})
	s := section(300*time.Millisecond, srv.Addr)
	ip, ok := s.Lookup(context.Background(), "c.test", "ipv4")
	if !ok || ip.String() != "127.0.0.8" {
		t.Fatalf("lookup %s %v", ip, ok)
	}
	n := srv.Queries()
	if ip, ok := s.Lookup(context.Background(), "C.test", "ipv4"); !ok || ip.String() != "127.0.0.8" || srv.Queries() != n {
		t.Fatalf("cached lookup %s %v, %d queries", ip, ok, srv.Queries()-n)
	}
	if ip, ok := s.Lookup(context.Background(), "c.test", ""); !ok || ip.String() != "::8" {
		t.Fatalf("ipv6 lookup %s %v", ip, ok)
	}
	if _, ok := s.Lookup(context.Background(), "nx.test", "ipv4"); ok {
		t.Fatal("NX resolved")
	}
	n = srv.Queries()
	s.Lookup(context.Background(), "nx.test", "ipv4")
	if srv.Queries() == n {
		t.Fatal("a failure was cached")
	}
}

// A "tcp@" nameserver is asked over TCP; the counters say what came back.
func TestQueryTCPAndCounters(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("t.test", dnstest.Entry{A: []string{"127.0.0.6"}})
	s := section(time.Second, srv.Addr)
	s.cfg.Nameservers[0].TCP = true
	if a := s.Query(context.Background(), "t.test", dns.TypeA); a.Status != StatusValid || addrs(a) != "127.0.0.6" {
		t.Fatalf("over TCP: %+v", a)
	}
	// NX is asked resolve_retries (2) times, each with the AAAA fallback.
	s.Query(context.Background(), "nx.test", dns.TypeA)
	var b strings.Builder
	s.WriteCounters(&b)
	for _, want := range []string{"Resolvers section r\n nameserver ns1:\n  sent:        5\n", "  valid:       1\n", "  nx:          4\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("counters lack %q:\n%s", want, b.String())
		}
	}
}

// Trigger resolves a watched name at once, not at the end of its period.
func TestTrigger(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("g.test", dnstest.Entry{A: []string{"127.0.0.2"}})
	s := section(300*time.Millisecond, srv.Addr)
	s.cfg.Resolve = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	got := make(chan string, 10)
	stop := s.Watch("g.test", dns.TypeA, func(r Result) { got <- addrs(r.Answer) })
	defer stop()
	if a := <-got; a != "127.0.0.2" {
		t.Fatalf("first answer %q", a)
	}
	srv.Set("g.test", dnstest.Entry{A: []string{"127.0.0.3"}})
	s.Trigger("G.test.", dns.TypeA)
	select {
	case a := <-got:
		if a != "127.0.0.3" {
			t.Fatalf("triggered answer %q", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Trigger did not resolve")
	}
}

// A nameserver that is not there is a timeout (HAProxy's "hold timeout"
// applies), counted as a send error, and costs at most the retries.
func TestDeadNameserver(t *testing.T) {
	// A UDP port nobody listens on: the kernel answers port unreachable.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	s := section(200*time.Millisecond, dead)
	start := time.Now()
	a := s.Query(context.Background(), "x.test", dns.TypeA)
	if a.Status != StatusTimeout {
		t.Fatalf("dead nameserver: %+v", a)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %s", d)
	}
	var b strings.Builder
	s.WriteCounters(&b)
	if strings.Contains(b.String(), "snd_error:   0\n") && strings.Contains(b.String(), "timeout:     0\n") {
		t.Errorf("nothing counted:\n%s", b.String())
	}
}

// Concurrent do-resolve lookups of one name share one query.
func TestLookupShared(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("s.test", dnstest.Entry{A: []string{"127.0.0.8"}})
	s := section(time.Second, srv.Addr)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ip, ok := s.Lookup(context.Background(), "s.test", "ipv4"); !ok || ip.String() != "127.0.0.8" {
				t.Errorf("lookup %s %v", ip, ok)
			}
		}()
	}
	wg.Wait()
	if n := srv.Queries(); n > 3 {
		t.Errorf("%d queries for 20 concurrent lookups", n)
	}
}
