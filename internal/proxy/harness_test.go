package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/testtool"
)

// startProxy compiles cfg and serves it until the test ends. Each
// "127.0.0.1:0" in cfg becomes a listener opened by the test and handed over
// as fd@N (HAProxy refuses port 0), so there is no race for free ports. It
// returns the address of the first listener.
func startProxy(t testing.TB, cfg string) (*Proxy, string) {
	t.Helper()
	return startProxyWith(t, cfg, Options{})
}

// startProxyWith is startProxy with options (a log hook, say); the
// listeners it opens are added to opts.Inherited.
func startProxyWith(t testing.TB, cfg string, opts Options) (*Proxy, string) {
	t.Helper()
	return startProxyPlan(t, cfg, opts, plan.Options{})
}

// startProxyPlan is startProxyWith with plan options (the opt-outs of
// secure defaults).
func startProxyPlan(t testing.TB, cfg string, opts Options, popts plan.Options) (*Proxy, string) {
	t.Helper()
	inherited := map[int]net.Listener{}
	for fd, l := range opts.Inherited {
		inherited[fd] = l
	}
	var first string
	for i := 0; strings.Contains(cfg, "127.0.0.1:0"); i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = l.Addr().String()
		}
		inherited[1000+i] = l
		cfg = strings.Replace(cfg, "127.0.0.1:0", fmt.Sprintf("fd@%d", 1000+i), 1)
	}
	ast, ds := config.Parse("test.cfg", []byte(cfg), config.LexOptions{})
	m, cds := model.Compile(ast, model.Options{})
	ds = append(ds, cds...)
	if ds.HasAlerts() {
		t.Fatalf("config errors: %v", ds)
	}
	opts.Inherited = inherited
	px := New(opts)
	rt, err := px.Build(mustPlan(t, m, popts))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if first == "" {
		first = rt.Addrs()[0].String()
	}
	px.Start(rt)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	})
	return px, first
}

// proxyTo starts the simplest HTTP proxy, one frontend in front of the
// server at backendAddr, and returns the frontend's address.
func proxyTo(t testing.TB, backendAddr string) string {
	t.Helper()
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B
`, "B", backendAddr))
	return addr
}

// backend is a test HTTP server (net/http) that counts what it received.
type testBackend struct {
	name  string
	addr  string
	hits  atomic.Int64
	mu    sync.Mutex
	reqs  []*http.Request
	l     net.Listener
	delay time.Duration
}

func newTestServer(t testing.TB, name string, h http.HandlerFunc) *testBackend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &testBackend{name: name, addr: l.Addr().String(), l: l}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		b.mu.Lock()
		b.reqs = append(b.reqs, r)
		b.mu.Unlock()
		if b.delay > 0 {
			time.Sleep(b.delay)
		}
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("X-Server", name)
		io.WriteString(w, name)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return b
}

// deadAddr returns a loopback address where nothing listens.
func deadAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// rawRequest sends raw bytes on a new connection and returns the whole
// response text (until the proxy closes or timeout).
func rawRequest(t testing.TB, addr, raw string, timeout time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// statusOf returns the status code of the first response in text.
func statusOf(text string) int {
	var code int
	fmt.Sscanf(text, "HTTP/1.1 %d", &code)
	return code
}

func httpGet(t testing.TB, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func sub(s string, kv ...string) string {
	return strings.NewReplacer(kv...).Replace(s)
}

const baseDefaults = `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
`

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rawServer answers every connection's first request with resp verbatim and
// closes; it returns its address.
func rawServer(t testing.TB, resp string) string {
	t.Helper()
	return testtool.Listen(t, func(c *testtool.Conn) {
		c.ReadUntil("\r\n\r\n")
		io.WriteString(c, resp)
	}).Addr
}

// compileCfg compiles a configuration for tests that drive Build directly.
func compileCfg(t testing.TB, cfg string) *model.Model {
	t.Helper()
	ast, ds := config.Parse("test.cfg", []byte(cfg), config.LexOptions{})
	m, cds := model.Compile(ast, model.Options{})
	ds = append(ds, cds...)
	if ds.HasAlerts() {
		t.Fatalf("config errors: %v", ds)
	}
	return m
}

// mustPlan compiles m for running, as start-up does, and fails the test on
// an alert.
func mustPlan(t testing.TB, m *model.Model, opt plan.Options) *plan.Plan {
	t.Helper()
	pl, ds := plan.Compile(m, opt)
	if ds.HasAlerts() {
		t.Fatalf("plan errors: %v", ds)
	}
	return pl
}

// checkModel returns the diagnostics start-up would report for m.
func checkModel(m *model.Model, opt plan.Options) config.Diagnostics {
	_, ds := plan.Compile(m, opt)
	return ds
}
