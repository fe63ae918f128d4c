// Package bench holds Bulwark's in-process benchmarks; run.sh next to this
// file compares the built binary with HAProxy.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
	"bulwark/internal/resolver/dnstest"
)

// The backend answers every request with these bytes. It is a raw TCP
// server rather than net/http so that its own cost and allocations stay out
// of the proxy's figures as far as possible.
const backendResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n"

const clientRequest = "GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\n\r\n"

const benchConfig = `
global
    maxconn 1000

defaults
    mode %s
    option http-keep-alive
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind fd@%d
    default_backend be

backend be
    server s1 %s
`

// rawBackend is a keep-alive HTTP/1.1 server for bodiless requests that
// returns backendResponse for each one.
type rawBackend struct {
	l     net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// served counts the requests answered, each before its answer is
	// written: a client that has read an answer finds it counted.
	served atomic.Int64
}

func startBackend(tb testing.TB) *rawBackend {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &rawBackend{l: l, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	tb.Cleanup(s.close)
	return s
}

func (s *rawBackend) serve(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReaderSize(c, 4096)
	resp := []byte(backendResponse)
	for {
		if err := skipHead(br); err != nil {
			return
		}
		s.served.Add(1)
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

func (s *rawBackend) close() {
	s.l.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// skipHead consumes one message head up to its empty line.
func skipHead(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}

// frontendFD is the descriptor number the config binds; the listener behind
// it is opened here on 127.0.0.1:0 and handed to the proxy as inherited,
// because a config cannot bind port 0 (HAProxy refuses it too).
const frontendFD = 1000

// startProxy runs Bulwark with benchConfig in the given mode in front of
// backend and returns the address of its frontend.
func startProxy(tb testing.TB, mode, backend string) string {
	return startProxyConfig(tb, fmt.Sprintf(benchConfig, mode, frontendFD, backend))
}

// startProxyConfig serves src, whose frontend binds fd@frontendFD.
func startProxyConfig(tb testing.TB, src string) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	cfg, ds := config.Parse("bench.cfg", []byte(src), config.LexOptions{})
	m, cds := model.Compile(cfg, model.Options{})
	ds = append(ds, cds...)
	if ds.HasAlerts() {
		tb.Fatalf("config: %v", ds)
	}
	pl, pds := plan.Compile(m, plan.Options{})
	if pds.HasAlerts() {
		tb.Fatalf("plan: %v", pds)
	}
	px := proxy.New(proxy.Options{Inherited: map[int]net.Listener{frontendFD: l}})
	rt, err := px.Build(pl)
	if err != nil {
		tb.Fatalf("build: %v", err)
	}
	px.Start(rt)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	})
	return l.Addr().String()
}

// client sends clientRequest on one keep-alive connection and reads the
// response without allocating, so that allocations per operation are the
// proxy's.
type client struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
}

func dial(tb testing.TB, addr string) *client {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &client{c: c, br: bufio.NewReaderSize(c, 4096), req: []byte(clientRequest)}
}

var contentLength = []byte("content-length:")

// roundTrip sends one request and returns the status line's code and the
// body length; body bytes are discarded.
func (cl *client) roundTrip() (status, n int, err error) {
	if _, err := cl.c.Write(cl.req); err != nil {
		return 0, 0, err
	}
	length := -1
	first := true
	for {
		line, err := cl.br.ReadSlice('\n')
		if err != nil {
			return 0, 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if first {
			first = false
			if len(line) < 12 {
				return 0, 0, fmt.Errorf("bad status line %q", line)
			}
			status = atoi(line[9:12])
			continue
		}
		if len(line) == 0 {
			break
		}
		if len(line) > len(contentLength) && bytes.EqualFold(line[:len(contentLength)], contentLength) {
			length = atoi(bytes.TrimSpace(line[len(contentLength):]))
		}
	}
	if length < 0 {
		return status, 0, fmt.Errorf("response without Content-Length")
	}
	d, err := cl.br.Discard(length)
	return status, d, err
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// TestRoundTrip checks that the harness measures real proxied exchanges: a
// response arrives through Bulwark in both modes, several times on one
// connection, and a closed backend is noticed.
func TestRoundTrip(t *testing.T) {
	for _, mode := range []string{"http", "tcp"} {
		t.Run(mode, func(t *testing.T) {
			be := startBackend(t)
			cl := dial(t, startProxy(t, mode, be.l.Addr().String()))
			cl.c.SetDeadline(time.Now().Add(10 * time.Second))
			for i := 0; i < 3; i++ {
				status, n, err := cl.roundTrip()
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if status != 200 || n != len("hello\n") {
					t.Fatalf("request %d: status %d, body %d bytes; want 200 and 6", i, status, n)
				}
			}
			be.close()
			if status, _, err := cl.roundTrip(); err == nil && status == 200 {
				t.Fatal("request after the backend closed got 200")
			}
		})
	}
}

func benchRoundTrips(b *testing.B, addr string) {
	cl := dial(b, addr)
	cl.c.SetDeadline(time.Now().Add(10 * time.Minute))
	// The first exchange opens the server connection; keep it out of the
	// figures.
	if _, _, err := cl.roundTrip(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if status, _, err := cl.roundTrip(); err != nil || status != 200 {
			b.Fatalf("status %d: %v", status, err)
		}
	}
	b.StopTimer()
	cl.c.Close()
}

// BenchmarkDirect is the baseline without the proxy: what the client and the
// backend cost on their own (should be 0 allocs/op).
func BenchmarkDirect(b *testing.B) {
	be := startBackend(b)
	benchRoundTrips(b, be.l.Addr().String())
}

// BenchmarkProxyHTTPKeepAlive measures one proxied HTTP/1.1 request on a
// kept-alive client connection and a pooled server connection. The target
// for allocs/op is at most 2.
func BenchmarkProxyHTTPKeepAlive(b *testing.B) {
	be := startBackend(b)
	benchRoundTrips(b, startProxy(b, "http", be.l.Addr().String()))
}

// cacheConfig stores the backend's answer (made cacheable by a rule) and
// serves it from the cache afterwards.
const cacheConfig = `
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind fd@%d
    default_backend be

backend be
    http-request cache-use c
    http-response set-header Cache-Control max-age=600 unless { res.cache_hit }
    http-response cache-store c
    server s1 %s

cache c
    total-max-size 4
    max-age 600
`

// BenchmarkProxyCacheHit measures a request answered from the cache: no
// server connection, and allocations only for what the response needs.
func BenchmarkProxyCacheHit(b *testing.B) {
	be := startBackend(b)
	addr := startProxyConfig(b, fmt.Sprintf(cacheConfig, frontendFD, be.l.Addr().String()))
	benchRoundTrips(b, addr)
	if n := be.served.Load(); n != 1 {
		b.Fatalf("the server answered %d requests: hits reached it", n)
	}
}

// BenchmarkProxyTCP measures the same small exchange through a mode tcp
// frontend (one L4 session, many round trips).
func BenchmarkProxyTCP(b *testing.B) {
	be := startBackend(b)
	benchRoundTrips(b, startProxy(b, "tcp", be.l.Addr().String()))
}

// BenchmarkProxyHTTPKeepAliveParallel runs one connection per goroutine
// (GOMAXPROCS of them) to show contention in the proxy.
func BenchmarkProxyHTTPKeepAliveParallel(b *testing.B) {
	be := startBackend(b)
	addr := startProxy(b, "http", be.l.Addr().String())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		cl := &client{c: c, br: bufio.NewReaderSize(c, 4096), req: []byte(clientRequest)}
		for pb.Next() {
			if status, _, err := cl.roundTrip(); err != nil || status != 200 {
				b.Errorf("status %d: %v", status, err)
				return
			}
		}
	})
}

// BenchmarkProxyHTTPKeepAliveDNS is BenchmarkProxyHTTPKeepAlive with the
// server found through a resolvers section (a DNS server of the test,
// resolving every 100ms while the benchmark runs): resolution must cost
// the request path nothing, so ns/op and allocs/op should match.
func BenchmarkProxyHTTPKeepAliveDNS(b *testing.B) {
	be := startBackend(b)
	ns := dnstest.Start(b)
	host, port, _ := net.SplitHostPort(be.l.Addr().String())
	ns.Set("app.bench", dnstest.Entry{A: []string{host}})
	addr := startProxy(b, "http", "app.bench:"+port+" resolvers dns init-addr none resolve-prefer ipv4\n"+
		"resolvers dns\n    nameserver ns1 "+ns.Addr+"\n    timeout resolve 100ms\n")
	// Until resolved the proxy answers 503 and closes: a new connection
	// per try.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		cl := dial(b, addr)
		cl.c.SetDeadline(time.Now().Add(5 * time.Second))
		status, _, err := cl.roundTrip()
		cl.c.Close()
		if err == nil && status == 200 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the server never resolved")
		}
	}
	benchRoundTrips(b, addr)
}
