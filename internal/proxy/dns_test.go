package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/resolver/dnstest"
	"bulwark/internal/srvstate"
	"bulwark/internal/stats"
)

// backendsOn starts a raw backend on each loopback address, all on one
// port (a server line names one port), answering its name as the body.
func backendsOn(t *testing.T, ips ...string) (int, []*rawBackend) {
	t.Helper()
	for try := 0; try < 20; try++ {
		first, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		ls := []net.Listener{first}
		for _, ip := range ips[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				break
			}
			ls = append(ls, l)
		}
		if len(ls) < len(ips) {
			for _, l := range ls {
				l.Close()
			}
			continue
		}
		var out []*rawBackend
		for i, l := range ls {
			body := ips[i]
			resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			out = append(out, rawBackendOn(t, l, answerEachHead(resp)))
		}
		return port, out
	}
	t.Fatal("no port free on every address")
	return 0, nil
}

// eventLog collects Options.Event and Options.ProxyLog messages with the
// time they came.
type eventLog struct {
	mu   sync.Mutex
	msgs []string
	at   []time.Time
}

func (l *eventLog) event(m string) {
	l.mu.Lock()
	l.msgs = append(l.msgs, m)
	l.at = append(l.at, time.Now())
	l.mu.Unlock()
}

func (l *eventLog) proxyLog(_, level, m string) { l.event(level + ": " + m) }

// find returns when a message holding sub came, the zero time if none.
func (l *eventLog) find(sub string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, m := range l.msgs {
		if strings.Contains(m, sub) {
			return l.at[i], true
		}
	}
	return time.Time{}, false
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "\n")
}

// getOnce sends one request on a new connection and returns the status and
// body (0 on a transport error); no retry.
func getOnce(t *testing.T, addr string) (int, string) {
	t.Helper()
	rc := newRawClient(t, addr)
	st, body, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
	if err != nil && st == 0 {
		return 0, ""
	}
	rc.c.Close()
	return st, body
}

// until polls f every 20ms for up to d.
func until(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

// A DNS server of the test moves the server from 127.0.0.2 to 127.0.0.3
// without a reload: once the new answer is in, no request reaches the old
// address (new connections, a client's kept connection, the idle pool).
// Then the name stops resolving: "hold nx" keeps the last address that
// long, then the server goes to maintenance in HAProxy's words, and comes
// back when the name resolves again.
func TestDNSMovesServer(t *testing.T) {
	ns := dnstest.Start(t)
	ns.Set("app.test", dnstest.Entry{A: []string{"127.0.0.2"}})
	port, bs := backendsOn(t, "127.0.0.2", "127.0.0.3")
	old, cur := bs[0], bs[1]
	var log eventLog
	sock := filepath.Join(t.TempDir(), "api.sock")
	const holdNX = 3 * time.Second
	_, addr := startProxyWith(t, sub(`global
    stats socket SOCK level admin
resolvers dns
    nameserver ns1 NS
    timeout resolve 100ms
    timeout retry 200ms
    resolve_retries 2
    hold nx 3s
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 app.test:PORT resolvers dns init-addr none resolve-prefer ipv4
`, "SOCK", sock, "NS", ns.Addr, "PORT", strconv.Itoa(port)), Options{Event: log.event, ProxyLog: log.proxyLog})

	until(t, 5*time.Second, "the first answer", func() bool { _, b := getOnce(t, addr); return b == "127.0.0.2" })
	keep := newRawClient(t, addr)
	req := "GET /k HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, b, err := keep.do(req, 5*time.Second); err != nil || b != "127.0.0.2" {
		t.Fatalf("kept connection: %q %v", b, err)
	}

	ns.Set("app.test", dnstest.Entry{A: []string{"127.0.0.3"}})
	until(t, 5*time.Second, "the move", func() bool { _, b := getOnce(t, addr); return b == "127.0.0.3" })
	seen := len(old.received())
	for i := 0; i < 10; i++ {
		if st, b := getOnce(t, addr); st != 200 || b != "127.0.0.3" {
			t.Fatalf("request %d after the move: %d %q", i, st, b)
		}
		if _, b, err := keep.do(req, 5*time.Second); err != nil || b != "127.0.0.3" {
			t.Fatalf("kept connection, request %d after the move: %q %v", i, b, err)
		}
	}
	if n := len(old.received()); n != seen {
		t.Fatalf("the old address got %d more bytes after the move: %q", n-seen, old.received()[seen:])
	}
	if _, ok := log.find("be/s1 changed its IP from 127.0.0.2 to 127.0.0.3 by dns/ns1."); !ok {
		t.Errorf("no IP change logged:\n%s", log.String())
	}
	if out := apiCall(t, sock, "show servers state be"); !strings.Contains(out, " s1 127.0.0.3 2 0 ") || !strings.Contains(out, " app.test "+strconv.Itoa(port)+" ") {
		t.Errorf("show servers state:\n%s", out)
	}
	if out := apiCall(t, sock, "show stat"); !strings.Contains(out, "127.0.0.3:"+strconv.Itoa(port)) {
		t.Errorf("show stat has no new address:\n%s", out)
	}
	out := apiCall(t, sock, "show resolvers dns")
	if !strings.HasPrefix(out, "Resolvers section dns\n nameserver ns1:\n  sent:        ") ||
		!regexp.MustCompile(`(?m)^  update:      2$`).MatchString(out) || !regexp.MustCompile(`(?m)^  valid:       [1-9][0-9]*$`).MatchString(out) {
		t.Errorf("show resolvers:\n%s", out)
	}
	if out := apiCall(t, sock, "show resolvers nope"); out != "Can't find that resolvers section\n\n" {
		t.Errorf("show resolvers nope: %q", out)
	}

	// The name disappears: NXDOMAIN.
	ns.Set("app.test", dnstest.Entry{Rcode: 3})
	nx := time.Now()
	q := ns.Queries()
	until(t, 5*time.Second, "an NX answer", func() bool { return ns.Queries() > q+1 })
	for time.Since(nx) < holdNX-time.Second {
		if st, b := getOnce(t, addr); st != 200 || b != "127.0.0.3" {
			t.Fatalf("%s into hold nx %s: %d %q", time.Since(nx), holdNX, st, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Wait on the log, not on requests: a request in flight at the moment
	// of the change is rightly counted in "sessions active", and a loaded
	// machine (the race run) made that count 1.
	until(t, 5*time.Second, "maintenance", func() bool {
		_, ok := log.find("Server be/s1 is going DOWN for maintenance (DNS NX status).")
		return ok
	})
	at, ok := log.find("Server be/s1 is going DOWN for maintenance (DNS NX status). 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.")
	if !ok {
		t.Fatalf("no maintenance logged:\n%s", log.String())
	}
	// The last valid answer came about one resolution before the NX (a
	// loaded machine delays it, hence the margin).
	if d := at.Sub(nx); d < holdNX-time.Second {
		t.Errorf("maintenance %s after the NX, before hold nx %s", d, holdNX)
	}
	if out := apiCall(t, sock, "show stat"); !strings.Contains(out, "MAINT (resolution)") {
		t.Errorf("show stat:\n%s", out)
	}
	got := len(cur.received())
	for i := 0; i < 3; i++ {
		if st, _ := getOnce(t, addr); st != 503 {
			t.Fatalf("in maintenance: %d", st)
		}
	}
	if len(cur.received()) != got || len(old.received()) != seen {
		t.Fatal("a server in DNS maintenance got a request")
	}

	ns.Set("app.test", dnstest.Entry{A: []string{"127.0.0.2"}})
	until(t, 5*time.Second, "the way back", func() bool { _, b := getOnce(t, addr); return b == "127.0.0.2" })
	for _, m := range []string{"Server be/s1 administratively READY thanks to valid DNS answer.",
		"Server be/s1 ('app.test') is UP/READY (resolves again)."} {
		if _, ok := log.find(m); !ok {
			t.Errorf("not logged: %q\n%s", m, log.String())
		}
	}
}

// server-template slots follow an SRV record: each record takes a slot,
// with its target's address (from the additional section or resolved),
// port and weight; a slot without a record waits in maintenance; a
// record that goes away takes its slot out.
func TestDNSServerTemplateSRV(t *testing.T) {
	ns := dnstest.Start(t)
	port, bs := backendsOn(t, "127.0.0.2", "127.0.0.3")
	p := uint16(port)
	ns.Set("_http._tcp.svc.test", dnstest.Entry{SRV: []dnstest.SRV{
		{Target: "a.svc.test", Port: p, Weight: 256, Addr: "127.0.0.2"},
		{Target: "b.svc.test", Port: p, Weight: 512}}})
	ns.Set("b.svc.test", dnstest.Entry{A: []string{"127.0.0.3"}})
	var log eventLog
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxyWith(t, sub(`global
    stats socket SOCK level admin
resolvers dns
    nameserver ns1 NS
    timeout resolve 100ms
    timeout retry 200ms
    hold obsolete 0s
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance roundrobin
    server-template web 3 _http._tcp.svc.test resolvers dns init-addr none resolve-prefer ipv4
`, "SOCK", sock, "NS", ns.Addr), Options{Event: log.event, ProxyLog: log.proxyLog})

	state := func() map[string][]string {
		out := map[string][]string{}
		for _, l := range strings.Split(apiCall(t, sock, "show servers state be"), "\n") {
			f := strings.Fields(l)
			if len(f) > 20 && strings.HasPrefix(f[3], "web") {
				out[f[3]] = f
			}
		}
		return out
	}
	want := func(st map[string][]string, name, ip, fqdn string) bool {
		f := st[name]
		return f != nil && f[4] == ip && f[17] == fqdn
	}
	until(t, 5*time.Second, "two slots filled", func() bool {
		st := state()
		return want(st, "web1", "127.0.0.2", "a.svc.test") && want(st, "web2", "127.0.0.3", "b.svc.test")
	})
	st := state()
	// web3 has no record: maintenance for resolution (0x20), no address.
	if f := st["web3"]; f[4] != "-" || f[6] != "32" || f[19] != "_http._tcp.svc.test" {
		t.Errorf("web3: %v", f)
	}
	if st["web1"][7] != "1" || st["web2"][7] != "2" || st["web1"][18] != strconv.Itoa(port) {
		t.Errorf("SRV weights and port: web1 %v web2 %v", st["web1"], st["web2"])
	}
	for i := 0; i < 9; i++ {
		if s, _ := getOnce(t, addr); s != 200 {
			t.Fatalf("request %d: %d", i, s)
		}
	}
	if bs[0].received() == "" || bs[1].received() == "" {
		t.Fatalf("both slots should serve: %d and %d bytes", len(bs[0].received()), len(bs[1].received()))
	}
	if _, ok := log.find("be/web1 changed its FQDN from (null) to a.svc.test by 'SRV record'"); !ok {
		t.Errorf("no FQDN change logged:\n%s", log.String())
	}

	ns.Set("_http._tcp.svc.test", dnstest.Entry{SRV: []dnstest.SRV{{Target: "b.svc.test", Port: p, Weight: 512}}})
	until(t, 5*time.Second, "the record gone", func() bool { return state()["web1"][6] == "32" })
	if _, ok := log.find("Server be/web1 is going DOWN for maintenance (entry removed from SRV record)."); !ok {
		t.Errorf("no removal logged:\n%s", log.String())
	}
	seen := len(bs[0].received())
	for i := 0; i < 6; i++ {
		if s, b := getOnce(t, addr); s != 200 || b != "127.0.0.3" {
			t.Fatalf("request %d after the removal: %d %q", i, s, b)
		}
	}
	if len(bs[0].received()) != seen {
		t.Fatal("the removed record's address still got requests")
	}
}

// Answers no server can use — pointing at 0.0.0.0, truncated, malformed —
// keep the server out of rotation with a clear cause; the resolver is not
// stuck: a good answer afterwards brings the server in.
func TestDNSBadAnswers(t *testing.T) {
	ns := dnstest.Start(t)
	port, bs := backendsOn(t, "127.0.0.2")
	var log eventLog
	sock := filepath.Join(t.TempDir(), "api.sock")
	ns.Set("bad.test", dnstest.Entry{A: []string{"0.0.0.0"}})
	px, addr := startProxyWith(t, sub(`global
    stats socket SOCK level admin
resolvers dns
    nameserver ns1 NS
    timeout resolve 100ms
    timeout retry 100ms
    resolve_retries 1
    hold other 100ms
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 bad.test:PORT resolvers dns init-addr none resolve-prefer ipv4
`, "SOCK", sock, "NS", ns.Addr, "PORT", strconv.Itoa(port)), Options{Event: log.event, ProxyLog: log.proxyLog})
	for _, e := range []dnstest.Entry{
		{A: []string{"0.0.0.0"}},
		{A: []string{"127.0.0.2"}, Truncate: true},
		{Raw: []byte{0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, 'b', 'a', 'd'}},
		{Raw: []byte{0xff}},
		{A: []string{"224.0.0.1"}},
	} {
		ns.Set("bad.test", e)
		q := ns.Queries()
		until(t, 5*time.Second, "answers", func() bool { return ns.Queries() > q+2 })
		if st, _ := getOnce(t, addr); st != 503 {
			t.Fatalf("%+v: status %d", e, st)
		}
		if out := apiCall(t, sock, "show servers state be"); !strings.Contains(out, " s1 - 0 32 ") {
			t.Fatalf("%+v: state\n%s", e, out)
		}
	}
	if bs[0].received() != "" {
		t.Fatal("a request went out")
	}
	var page bytes.Buffer
	if err := stats.WriteHTML(&page, px.Current().StatsRows(), stats.PageOptions{}); err != nil || !strings.Contains(page.String(), "<td class=ac colspan=3>resolution</td>") {
		t.Errorf("stats page: %v, no resolution cell", err)
	}
	ns.Set("bad.test", dnstest.Entry{A: []string{"127.0.0.2"}})
	until(t, 5*time.Second, "a good answer", func() bool { _, b := getOnce(t, addr); return b == "127.0.0.2" })
}

// do-resolve resolves a request's value and stores the address; on
// failure the variable stays unset.
func TestDoResolve(t *testing.T) {
	ns := dnstest.Start(t)
	ns.Set("host.test", dnstest.Entry{A: []string{"127.0.0.42"}})
	be := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	_, addr := startProxy(t, sub(`resolvers dns
    nameserver ns1 NS
    timeout retry 200ms
    resolve_retries 1
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request do-resolve(txn.ip,dns,ipv4) hdr(host),host_only
    http-request set-header X-IP %[var(txn.ip)] if { var(txn.ip) -m found }
    http-request set-header X-IP none unless { var(txn.ip) -m found }
    default_backend be
backend be
    server s B
`, "NS", ns.Addr, "B", be.addr))
	rc := newRawClient(t, addr)
	for _, tc := range []struct{ host, want string }{{"host.test:8080", "127.0.0.42"}, {"nx.test", "none"}} {
		mark := len(be.received())
		if st, _, err := rc.do("GET / HTTP/1.1\r\nHost: "+tc.host+"\r\n\r\n", 5*time.Second); err != nil || st != 200 {
			t.Fatalf("%s: %d %v", tc.host, st, err)
		}
		if got := be.received()[mark:]; !strings.Contains(got, "X-IP: "+tc.want+"\r\n") {
			t.Errorf("%s: backend got %q", tc.host, got)
		}
	}
}

// init-addr tries its methods in order; a name no method resolves stops
// the start with HAProxy's message.
func TestInitAddr(t *testing.T) {
	env := &addrEnv{libc: map[string][]netip.Addr{}, lookup: func(_ context.Context, h string) ([]netip.Addr, error) {
		if h == "known.test" {
			return []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.5")}, nil
		}
		return nil, errors.New("no such host")
	}, last: func(be, srv, fqdn string) (netip.AddrPort, bool) {
		if srv == "had" {
			return netip.MustParseAddrPort("127.0.0.9:80"), true
		}
		return netip.AddrPort{}, false
	}}
	var warns []string
	env.warn = func(m string) { warns = append(warns, m) }
	sv := func(name, host string, opts ...string) *model.Server {
		m := compileCfg(t, "resolvers d\n    nameserver a 127.0.0.1\n"+baseDefaults+"backend be\n    server "+name+" "+host+" "+strings.Join(opts, " ")+"\n")
		return m.Backend("be").Servers[0]
	}
	for _, tc := range []struct {
		s    *model.Server
		want string
		err  string
	}{
		{sv("a", "127.0.0.1:80"), "127.0.0.1:80", ""},
		{sv("a", "known.test:80"), "127.0.0.5:80", ""},
		{sv("a", "known.test:80", "resolve-prefer ipv6"), "[::1]:80", ""},
		{sv("a", "known.test"), "127.0.0.5:0", ""},
		{sv("had", "known.test:80"), "127.0.0.9:80", ""},
		{sv("had", "known.test:80", "init-addr libc"), "127.0.0.5:80", ""},
		{sv("a", "unknown.test:80"), "", "could not resolve address 'unknown.test'"},
		{sv("a", "unknown.test:80", "resolvers d"), "invalid AddrPort", ""},
		{sv("a", "unknown.test:80", "init-addr libc,10.0.0.1"), "10.0.0.1:80", ""},
		{sv("a", "unknown.test:80", "init-addr none"), "invalid AddrPort", ""},
		{sv("a", "_http._tcp.x.test", "resolvers d"), "invalid AddrPort", ""},
	} {
		got, err := env.initialAddr("be", tc.s)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %s: err %v, want %q", tc.s.Name, tc.s.Addr.Raw, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("%s %s %v: %s %v, want %s", tc.s.Name, tc.s.Addr.Raw, tc.s.InitAddr, got, err, tc.want)
		}
	}
	if len(warns) != 2 || !strings.Contains(warns[0], "could not resolve address 'unknown.test', disabling server.") ||
		!strings.Contains(warns[1], "falling back to configured address") {
		t.Errorf("warnings: %q", warns)
	}
}

// "init-addr last": a reload (in the process, or to the next worker) keeps
// the address DNS gave, even while the nameserver says nothing.
func TestDNSAddressSurvivesReload(t *testing.T) {
	ns := dnstest.Start(t)
	ns.Set("app.test", dnstest.Entry{A: []string{"127.0.0.2"}})
	port, _ := backendsOn(t, "127.0.0.2")
	cfg := sub(`resolvers dns
    nameserver ns1 NS
    timeout resolve 100ms
    timeout retry 200ms
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 app.test:PORT resolvers dns init-addr last,none resolve-prefer ipv4
`, "NS", ns.Addr, "PORT", strconv.Itoa(port))
	px, addr := startProxy(t, cfg)
	until(t, 5*time.Second, "the first answer", func() bool { _, b := getOnce(t, addr); return b == "127.0.0.2" })
	ns.Set("app.test", dnstest.Entry{Drop: true})
	addrOf := func(rt *Runtime) string {
		st := rt.backends["be"].srvs()[0].state.Load()
		return st.Addr.String() + " " + st.Status()
	}
	want := "127.0.0.2:" + strconv.Itoa(port) + " no check"
	// The same backend without the frontend: no socket to hand over.
	beOnly := cfg[:strings.Index(cfg, "frontend fe")] + cfg[strings.Index(cfg, "\nbackend be"):]
	rt, err := px.Build(mustPlan(t, compileCfg(t, beOnly), plan.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if got := addrOf(rt); got != want {
		t.Errorf("reload in the process: %s, want %s", got, want)
	}
	rt.abandon(px.Current())
	var buf strings.Builder
	if err := px.ExportState(&buf); err != nil {
		t.Fatal(err)
	}
	next := New(Options{})
	rt2, err := next.Build(mustPlan(t, compileCfg(t, beOnly), plan.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt2.close()
	if got := addrOf(rt2); !strings.HasPrefix(got, "invalid AddrPort MAINT") {
		t.Fatalf("next worker before the import: %s", got)
	}
	if _, err := next.ImportState(rt2, strings.NewReader(buf.String())); err != nil {
		t.Fatal(err)
	}
	if got := addrOf(rt2); got != want {
		t.Errorf("next worker: %s, want %s", got, want)
	}
}

// The dialer reads the address DNS set without formatting or allocating
// once the address is known: resolution costs the data path nothing.
func BenchmarkServerDialAddr(b *testing.B) {
	s := &server{cfg: &model.Server{Addr: model.Addr{Host: "app.test", PortLow: 80, PortHigh: 80}}}
	s.state = newServerStateForBench(netip.MustParseAddrPort("127.0.0.3:80"))
	dst := netip.MustParseAddrPort("127.0.0.1:8080")
	b.ReportAllocs()
	for b.Loop() {
		if s.dialAddr(dst) != "127.0.0.3:80" {
			b.Fatal("wrong address")
		}
	}
}

func newServerStateForBench(a netip.AddrPort) *srvstate.Server {
	return srvstate.New(srvstate.Config{Weight: 1, Addr: a, FQDN: "app.test"})
}

func TestDialAddrNoAlloc(t *testing.T) {
	s := &server{cfg: &model.Server{Addr: model.Addr{Host: "app.test", PortLow: 80, PortHigh: 80}}}
	s.state = newServerStateForBench(netip.MustParseAddrPort("127.0.0.3:80"))
	dst := netip.MustParseAddrPort("127.0.0.1:8080")
	s.dialAddr(dst)
	if n := testing.AllocsPerRun(100, func() { s.dialAddr(dst) }); n != 0 {
		t.Fatalf("dialAddr allocates %v times per call", n)
	}
	s.state.SetAddr(netip.MustParseAddrPort("127.0.0.4:80"))
	if got := s.dialAddr(dst); got != "127.0.0.4:80" {
		t.Fatalf("after a move: %s", got)
	}
}

// Two servers resolving one name never share an address unless
// "allow-dup-ip"; the first of them logs the nameserver, the other the
// cache, as HAProxy does.
func TestDNSDuplicateIPs(t *testing.T) {
	ns := dnstest.Start(t)
	ns.Set("two.test", dnstest.Entry{A: []string{"127.0.0.2", "127.0.0.3"}})
	ns.Set("one.test", dnstest.Entry{A: []string{"127.0.0.2"}})
	var log eventLog
	sock := filepath.Join(t.TempDir(), "api.sock")
	startProxyWith(t, sub(`global
    stats socket SOCK level admin
resolvers dns
    nameserver ns1 NS
    timeout resolve 100ms
    timeout retry 200ms
`+baseDefaults+`
backend be
    default-server resolvers dns init-addr none resolve-prefer ipv4
    server a1 two.test:80
    server a2 two.test:80
    server b1 one.test:80
    server b2 one.test:80
    server c1 one.test:81 resolve-opts allow-dup-ip
    server c2 one.test:81 resolve-opts allow-dup-ip
frontend fe
    bind 127.0.0.1:0
    default_backend be
`, "SOCK", sock, "NS", ns.Addr), Options{Event: log.event, ProxyLog: log.proxyLog})
	addr := func(out, srv string) string {
		m := regexp.MustCompile(`(?m)^\d+ be \d+ ` + srv + ` (\S+) \d+ (\d+) `).FindStringSubmatch(out)
		if m == nil {
			return "?"
		}
		return m[1] + " " + m[2]
	}
	var out string
	until(t, 5*time.Second, "every server resolved", func() bool {
		out = apiCall(t, sock, "show servers state be")
		return addr(out, "a2") != "- 32" && addr(out, "c2") != "- 32" && addr(out, "b1") != "- 32"
	})
	a1, a2 := addr(out, "a1"), addr(out, "a2")
	if a1 == a2 || !strings.HasSuffix(a1, " 0") || !strings.HasSuffix(a2, " 0") {
		t.Errorf("a1 %s, a2 %s: want two addresses", a1, a2)
	}
	if b1, b2 := addr(out, "b1"), addr(out, "b2"); b1 != "127.0.0.2 0" || b2 != "- 32" {
		t.Errorf("b1 %s, b2 %s: want the address once and b2 in maintenance", b1, b2)
	}
	if c1, c2 := addr(out, "c1"), addr(out, "c2"); c1 != "127.0.0.2 0" || c2 != "127.0.0.2 0" {
		t.Errorf("c1 %s, c2 %s: allow-dup-ip shares the address", c1, c2)
	}
	// b2 started in maintenance (init-addr none) and stays there
	// silently, as in HAProxy: only a server leaving rotation is logged.
	for _, m := range []string{"be/a1 changed its IP from (none) to 127.0.0.2 by dns/ns1.", "be/a2 changed its IP from (none) to 127.0.0.3 by DNS cache."} {
		if _, ok := log.find(m); !ok {
			t.Errorf("not logged: %q\n%s", m, log.String())
		}
	}
}

// The agent of a server found through DNS is asked at the server's
// resolved address.
func TestDNSAgentFollows(t *testing.T) {
	ns := dnstest.Start(t)
	ns.Set("agent.test", dnstest.Entry{A: []string{"127.0.0.2"}})
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("drain\n"))
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	px, _ := startProxy(t, sub(`resolvers dns
    nameserver ns1 NS
    timeout resolve 100ms
    timeout retry 200ms
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 agent.test:80 resolvers dns init-addr none resolve-prefer ipv4 agent-check agent-port P agent-inter 50ms
`, "NS", ns.Addr, "P", port))
	st := px.Current().backends["be"].srvs()[0].state
	until(t, 5*time.Second, "the agent's drain", func() bool { return st.Load().Admin.Drain() })
}

// "set server ... addr" moves a server through the same state: the next
// requests go to the new address; a server waiting for resolution leaves
// maintenance.
func TestSetServerAddr(t *testing.T) {
	port, bs := backendsOn(t, "127.0.0.2", "127.0.0.3")
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.2:PORT
    server s2 nowhere.test:PORT init-addr none
`, "SOCK", sock, "PORT", strconv.Itoa(port)))
	if _, b := getOnce(t, addr); b != "127.0.0.2" {
		t.Fatalf("before: %q", b)
	}
	if out := apiCall(t, sock, "set server be/s1 addr 127.0.0.3"); out != "IP changed from '127.0.0.2' to '127.0.0.3' by 'stats socket command'\n\n" {
		t.Fatalf("set server addr: %q", out)
	}
	for i := 0; i < 4; i++ {
		if _, b := getOnce(t, addr); b != "127.0.0.3" {
			t.Fatalf("after, request %d: %q", i, b)
		}
	}
	seen := len(bs[0].received())
	if out := apiCall(t, sock, "set server be/s2 addr 127.0.0.2 port "+strconv.Itoa(port)); !strings.HasPrefix(out, "IP changed from '(none)' to '127.0.0.2', port changed from '0' to '") {
		t.Fatalf("s2: %q", out)
	}
	if out := apiCall(t, sock, "show servers state be"); !strings.Contains(out, " s2 127.0.0.2 2 0 ") {
		t.Fatalf("s2 not out of maintenance:\n%s", out)
	}
	until(t, 5*time.Second, "s2 serving", func() bool { getOnce(t, addr); return len(bs[0].received()) > seen })
	for _, tc := range []struct{ cmd, want string }{
		{"set server be/s1 addr", "set server <b>/<s> addr requires an address and optionally a port.\n\n"},
		{"set server be/s1 addr 999.1.1.1", "Invalid addr '999.1.1.1'\n\n"},
		{"set server be/s1 addr 127.0.0.3 port x", "problem converting port 'x' to an int\n\n"},
		{"set server be/s1 addr 127.0.0.3 port " + strconv.Itoa(port), "no need to change the addr, no need to change the port by 'stats socket command'\n\n"},
	} {
		if out := apiCall(t, sock, tc.cmd); out != tc.want {
			t.Errorf("%s: %q, want %q", tc.cmd, out, tc.want)
		}
	}
}

// "set server ... fqdn" makes a server resolve another name at once.
func TestSetServerFQDN(t *testing.T) {
	ns := dnstest.Start(t)
	ns.Set("first.test", dnstest.Entry{A: []string{"127.0.0.2"}})
	ns.Set("second.test", dnstest.Entry{A: []string{"127.0.0.3"}})
	port, _ := backendsOn(t, "127.0.0.2", "127.0.0.3")
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub(`global
    stats socket SOCK level admin
resolvers dns
    nameserver ns1 NS
    timeout resolve 100ms
    timeout retry 200ms
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 first.test:PORT resolvers dns init-addr none resolve-prefer ipv4
    server s2 127.0.0.1:PORT disabled
`, "SOCK", sock, "NS", ns.Addr, "PORT", strconv.Itoa(port)))
	until(t, 5*time.Second, "first.test", func() bool { _, b := getOnce(t, addr); return b == "127.0.0.2" })
	if out := apiCall(t, sock, "set server be/s1 fqdn second.test"); out != "be/s1 changed its FQDN from first.test to second.test by 'stats socket command'\n\n" {
		t.Fatalf("set server fqdn: %q", out)
	}
	until(t, 5*time.Second, "second.test", func() bool { _, b := getOnce(t, addr); return b == "127.0.0.3" })
	// The new name stops answering (its address holds "hold timeout"),
	// the old one still does: the server must not go back to it.
	ns.Set("second.test", dnstest.Entry{Drop: true})
	for i := 0; i < 10; i++ {
		if _, b := getOnce(t, addr); b != "127.0.0.3" {
			t.Fatalf("request %d went back to the old name: %q", i, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, tc := range []struct{ cmd, want string }{
		{"set server be/s1 fqdn second.test", "no need to change the FDQN by 'stats socket command'\n\n"},
		{"set server be/s1 fqdn bad/name", "invalid fqdn 'bad/name' by 'stats socket command'\n\n"},
		{"set server be/s2 fqdn x.test", "set server <b>/<s> fqdn failed because no resolution is configured.\n\n"},
		{"set server be/s1 fqdn", "set server <b>/<s> fqdn requires a FQDN.\n\n"},
	} {
		if out := apiCall(t, sock, tc.cmd); out != tc.want {
			t.Errorf("%s: %q, want %q", tc.cmd, out, tc.want)
		}
	}
	if out := apiCall(t, sock, "show servers state be"); !strings.Contains(out, " second.test "+strconv.Itoa(port)+" ") {
		t.Errorf("show servers state:\n%s", out)
	}
}

// do-resolve's arguments are checked where the rule is written.
func TestDoResolveErrors(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{"do-resolve(txn.ip,nope) hdr(host)", "Can't find resolvers section 'nope' for do-resolve action"},
		{"do-resolve(txn.ip) hdr(host)", "Expects 'do-resolve(<varname>,<resolvers>[,<options>]) <expr>'. Available options are 'ipv4' and 'ipv6'"},
		{"do-resolve(txn.ip,dns,ipv5) hdr(host)", "Available options are 'ipv4' and 'ipv6'"},
		{"do-resolve(bad,dns) hdr(host)", "invalid variable name 'bad'"},
		{"do-resolve(txn.ip,dns)", "expects exactly 1 sample expression"},
		{"do-resolve(txn.ip,dns) nosuchfetch", "nosuchfetch"},
	} {
		m := compileCfg(t, `resolvers dns
    nameserver ns1 127.0.0.1:53
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:1
    http-request `+tc.rule+`
    default_backend be
backend be
    server s 127.0.0.1:2
`)
		ds := checkModel(m, plan.Options{})
		var all []string
		for _, d := range ds {
			all = append(all, d.Error())
		}
		if !ds.HasAlerts() || !strings.Contains(strings.Join(all, "\n"), tc.want) || !strings.Contains(strings.Join(all, "\n"), "test.cfg:12:") {
			t.Errorf("%s: want %q at test.cfg:12, got %q", tc.rule, tc.want, all)
		}
	}
}
