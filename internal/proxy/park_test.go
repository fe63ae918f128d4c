//go:build linux

package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Idle keep-alive connections are parked without a goroutine, come back
// when their client sends the next request, and expire with
// "timeout http-keep-alive".
func TestIdleSessionsParkAndResume(t *testing.T) {
	b := newTestServer(t, "b", nil)
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    timeout http-keep-alive 1500ms
    default_backend be
backend be
    server s B
`, "B", b.addr))
	rt := px.Current()
	if rt.parker == nil {
		t.Skip("epoll parking unavailable")
	}
	const n = 50
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	get := func(i int) {
		io.WriteString(conns[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("conn %d: status %d", i, resp.StatusCode)
		}
	}
	for i := range conns {
		conns[i] = dial(t, addr)
		defer conns[i].Close()
		readers[i] = bufio.NewReader(conns[i])
		get(i)
	}
	waitFor(t, func() bool { return rt.parker.count() == n }, "all idle sessions parked")
	for i := range conns {
		get(i) // resumed by the parker
	}
	waitFor(t, func() bool { return rt.parker.count() == n }, "sessions parked again")
	// After the keep-alive timeout every parked connection is closed.
	waitFor(t, func() bool { return rt.parker.count() == 0 }, "parked sessions expired")
	conns[0].SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := readers[0].ReadByte(); err != io.EOF {
		t.Fatalf("expired connection: %v, want EOF", err)
	}
	if b.hits.Load() != 2*n {
		t.Fatalf("server saw %d requests, want %d", b.hits.Load(), 2*n)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A connection that began with a PROXY header parks like any other once
// its header is read, and resumes with the relayed address.
func TestProxyHeaderSessionParks(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 accept-proxy
    http-request set-header X-Src %[src]
    default_backend be
backend be
    server s B
`, "B", b.addr))
	rt := px.Current()
	if rt.parker == nil {
		t.Skip("epoll parking unavailable")
	}
	rc := newRawClient(t, addr)
	io.WriteString(rc.c, "PROXY TCP4 192.0.2.1 198.51.100.2 4242 80\r\n")
	for i := 0; i < 2; i++ {
		if st, _, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 || err != nil {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
		if i == 0 {
			waitFor(t, func() bool { return rt.parker.count() == 1 }, "the idle session parked")
		}
	}
	if got := b.received(); strings.Count(got, "X-Src: 192.0.2.1\r\n") != 2 {
		t.Fatalf("backend: %q", got)
	}
}

// Parked sessions expire at their own keep-alive deadline, a nearer one
// parked after a farther one included: the parker's single wait is cut
// short for it.
func TestParkedDeadlinesInOrder(t *testing.T) {
	b := newTestServer(t, "b", nil)
	px, addr := startProxy(t, sub(baseDefaults+`
frontend long
    bind 127.0.0.1:0
    timeout http-keep-alive 6s
    default_backend be
frontend short
    bind 127.0.0.1:0
    timeout http-keep-alive 300ms
    default_backend be
backend be
    server s B
`, "B", b.addr))
	rt := px.Current()
	if rt.parker == nil {
		t.Skip("epoll parking unavailable")
	}
	var shortAddr string
	for _, fe := range rt.frontends {
		if fe.name == "short" {
			shortAddr = fe.listeners[0].Addr().String()
		}
	}
	open := func(a string) (net.Conn, *bufio.Reader) {
		c := dial(t, a)
		t.Cleanup(func() { c.Close() })
		r := bufio.NewReader(c)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return c, r
	}
	open(addr)
	waitFor(t, func() bool { return rt.parker.count() == 1 }, "the long session parked")
	sc, sr := open(shortAddr)
	start := time.Now()
	sc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := sr.ReadByte(); err != io.EOF {
		t.Fatalf("short keep-alive connection: %v, want EOF", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("short keep-alive connection closed after %v, it waited for the long one's deadline", d)
	}
	if n := rt.parker.count(); n != 1 {
		t.Fatalf("%d parked sessions, want the long one still parked", n)
	}
}
