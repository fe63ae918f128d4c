package proxy

import (
	"strconv"
	"testing"
	"time"
)

// fdBudgetCfg serves a kaServer through a backend whose pool purges only
// once a minute, so that every idle connection the server sees closed was
// closed by the descriptor budget. maxconn 50 makes the budget 100
// descriptors (two per connection, as HAProxy's maxsock).
func fdBudgetCfg(ks *kaServer, maxconn int, ratios string) string {
	return sub(`
global
    maxconn `+strconv.Itoa(maxconn)+`
`+ratios+baseDefaults+`
    timeout http-keep-alive 30s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B pool-purge-delay 1m
`, "B", ks.addr)
}

// openClients opens n keep-alive client connections and waits until the
// proxy counts them all: the budget counts what the accept loop took (the
// loop takes its slot before it accepts: one more than those accepted).
func openClients(t *testing.T, px *Proxy, addr string, n int) []*rawClient {
	t.Helper()
	base := clientsOpen(px)
	cs := make([]*rawClient, n)
	for i := range cs {
		cs[i] = newRawClient(t, addr)
	}
	waitFor(t, func() bool { return clientsOpen(px) == base+int64(n) }, "the proxy to accept the clients")
	return cs
}

// clientsOpen is the number of client connections the proxy counts.
func clientsOpen(px *Proxy) int64 {
	rt := px.Current()
	n := int64(0)
	for _, fe := range rt.frontends {
		n += fe.conns.Load()
	}
	return n
}

// tune.pool-low-fd-ratio: past that share of the descriptors in use, a
// server connection is closed after its response instead of going idle.
// 30 keep-alive clients make one request each (http-reuse safe: a server
// connection each) and stay: with the budget of maxconn 50 (low ratio 20 %
// = 20 descriptors) each server connection is closed at the end of its
// response instead of going idle, and the second request of a client
// opens a new one; with maxconn 10000 every one is kept and the second
// requests reuse them.
func TestPoolLowFDRatio(t *testing.T) {
	const n = 30
	for _, tc := range []struct {
		maxconn int
		kept    bool
	}{{50, false}, {10000, true}} {
		t.Run("maxconn"+strconv.Itoa(tc.maxconn), func(t *testing.T) {
			ks := newKAServer(t, time.Minute, nil, 0)
			px, addr := startProxy(t, fdBudgetCfg(ks, tc.maxconn, ""))
			cs := openClients(t, px, addr, n)
			for i, kc := range cs {
				if st, body, err := kc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 || body != "conn-req-1" {
					t.Fatalf("client %d: %d %q %v", i, st, body, err)
				}
			}
			pool := &px.Current().backends["be"].srvs()[0].pool
			if tc.kept {
				waitFor(t, func() bool { return pool.len() == n }, "every server connection to go idle")
			} else {
				waitFor(t, func() bool { _, _, eofs := ks.stats(); return eofs == n }, "the proxy to close every server connection")
			}
			time.Sleep(200 * time.Millisecond) // past parkAfter for the last ones
			if _, _, eofs := ks.stats(); tc.kept && eofs != 0 || !tc.kept && eofs != n {
				t.Errorf("the server saw %d idle connections closed", eofs)
			}
			if got, want := pool.len(), map[bool]int{true: n, false: 0}[tc.kept]; got != want {
				t.Errorf("%d idle server connections kept, want %d", got, want)
			}
			for i, kc := range cs {
				// A reused server connection answers its second request or later.
				st, body, err := kc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second)
				if st != 200 || (body == "conn-req-1") == tc.kept {
					t.Fatalf("client %d, second request: %d %q %v (kept: %v)", i, st, body, err, tc.kept)
				}
			}
			if acc, _, _ := ks.stats(); tc.kept && acc != n || !tc.kept && acc != 2*n {
				t.Errorf("%d server connections for %d clients' two requests", acc, n)
			}
		})
	}
}

// tune.pool-high-fd-ratio: past that share in use, a request that opens a
// new server connection closes the longest idle one. 10 idle server
// connections are left by clients that went away; then 20 clients (30
// descriptors counted, high ratio 25 % of 100 = 25) each open a new server
// connection for their first request, and each closes the longest idle
// one. The connection it opened goes idle at the end of its response (as
// in HAProxy's idle list), so the count stays at 30 and every one of the
// 20 closes one: the 10 old ones, then 10 of the new. The low ratio is
// 100 % here, so that nothing else closes a connection.
func TestPoolHighFDRatio(t *testing.T) {
	for _, tc := range []struct {
		ratios string
		closed bool
	}{
		{"    tune.pool-low-fd-ratio 100\n    tune.pool-high-fd-ratio 25\n", true},
		{"    tune.pool-low-fd-ratio 100\n    tune.pool-high-fd-ratio 100\n", false},
	} {
		t.Run(map[bool]string{true: "high25", false: "high100"}[tc.closed], func(t *testing.T) {
			ks := newKAServer(t, time.Minute, nil, 0)
			px, addr := startProxy(t, fdBudgetCfg(ks, 50, tc.ratios))
			pool := &px.Current().backends["be"].srvs()[0].pool
			first := openClients(t, px, addr, 10)
			for i, kc := range first {
				if st, _, err := kc.do("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10*time.Second); st != 200 {
					t.Fatalf("client %d: %d %v", i, st, err)
				}
				kc.c.Close()
			}
			waitFor(t, func() bool { return pool.len() == 10 && clientsOpen(px) == 0 }, "10 idle server connections and no client")
			second := openClients(t, px, addr, 20)
			for i, kc := range second {
				if st, body, err := kc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 || body != "conn-req-1" {
					t.Fatalf("client %d: %d %q %v", i, st, body, err)
				}
			}
			want := map[bool]int{true: 20, false: 0}[tc.closed]
			waitFor(t, func() bool { _, _, eofs := ks.stats(); return eofs >= want }, "the idle connections to be closed")
			if _, _, eofs := ks.stats(); eofs != want {
				t.Errorf("the server saw %d idle connections closed, want %d", eofs, want)
			}
			if got, want := pool.len(), map[bool]int{true: 10, false: 30}[tc.closed]; got != want {
				t.Errorf("%d idle server connections, want %d", got, want)
			}
		})
	}
}
