//go:build linux

package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sendWaitPair returns a connected pair on loopback: the proxy's side as
// the kind of connection named (dialRaw's or net.Dialer's) and the peer.
func sendWaitPair(t *testing.T, kind string, rcvbuf int) (net.Conn, net.Conn) {
	t.Helper()
	lc := net.ListenConfig{}
	if rcvbuf > 0 {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
		}
	}
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var c net.Conn
	if kind == "raw" {
		c, err = dialRaw(netip.MustParseAddrPort(l.Addr().String()), time.Second)
	} else {
		c, err = net.Dial("tcp", l.Addr().String())
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); p.Close() })
	p.SetDeadline(time.Now().Add(10 * time.Second))
	return c, p
}

// pending reports, without waiting or consuming, whether c has bytes (or
// an end of stream) to read.
func pending(c net.Conn) bool {
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	rc.Control(func(fd uintptr) {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ok = err == nil
	})
	return ok
}

// The send waits for the answer: when it returns, the answer is there to
// read, whether the peer answered at once or late, on both kinds of
// server connection, for many requests in a row on one connection.
func TestSendWaitReturnsWithAnswer(t *testing.T) {
	for _, kind := range []string{"raw", "net"} {
		for _, delay := range []time.Duration{0, 30 * time.Millisecond} {
			c, p := sendWaitPair(t, kind, 0)
			w := newSendWaiter(c)
			if w == nil {
				t.Fatalf("%s: no waiter for a plain TCP connection", kind)
			}
			// A lost wake-up would wait for this deadline: the test
			// fails long before it.
			tc := timedConn{Conn: c, rto: time.Minute, wto: time.Minute}
			n := 500
			if delay > 0 {
				n = 5
			}
			go func() {
				buf := make([]byte, 64)
				for i := 0; i < n; i++ {
					if _, err := io.ReadFull(p, buf[:4]); err != nil {
						return
					}
					time.Sleep(delay)
					p.Write(buf[:4])
				}
			}()
			errc := make(chan error, 1)
			go func() {
				got := make([]byte, 4)
				for i := 0; i < n; i++ {
					if m, err := w.sendWait(&tc, []byte("ping")); m != 4 || err != nil {
						errc <- fmt.Errorf("request %d: sent %d, %v", i, m, err)
						return
					}
					if !pending(c) {
						errc <- fmt.Errorf("request %d: the send returned before the answer came", i)
						return
					}
					if _, err := io.ReadFull(&tc, got); err != nil || string(got) != "ping" {
						errc <- fmt.Errorf("request %d: read %q, %v", i, got, err)
						return
					}
				}
				errc <- nil
			}()
			select {
			case err := <-errc:
				if err != nil {
					t.Fatalf("%s, answer after %v: %v", kind, delay, err)
				}
			case <-time.After(10 * time.Second):
				c.Close()
				t.Fatalf("%s, answer after %v: a wait was not woken by its answer", kind, delay)
			}
		}
	}
}

// A peer that never answers: the wait ends at the read deadline, and the
// read that follows reports the timeout.
func TestSendWaitHonoursReadDeadline(t *testing.T) {
	c, p := sendWaitPair(t, "raw", 0)
	w := newSendWaiter(c)
	const rto = time.Second
	tc := timedConn{Conn: c, rto: rto}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		if _, err := w.sendWait(&tc, []byte("ping")); err != nil {
			done <- err
			return
		}
		_, err := tc.Read(make([]byte, 4))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read after a wait past the deadline: %v, want a timeout", err)
		}
		// Once: the read after the wait does not start a second timeout.
		if d := time.Since(start); d > rto*19/10 {
			t.Fatalf("timed out after %v, the timeout is %v", d, rto)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait outlived its read deadline")
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(p, got); err != nil || string(got) != "ping" {
		t.Fatalf("peer got %q, %v", got, err)
	}
}

// A close of the connection (an aborting client, a stop) ends the wait.
func TestSendWaitEndsOnClose(t *testing.T) {
	c, _ := sendWaitPair(t, "raw", 0)
	w := newSendWaiter(c)
	tc := timedConn{Conn: c}
	done := make(chan struct{})
	go func() {
		w.sendWait(&tc, []byte("ping"))
		close(done)
	}()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the wait outlived the connection's close")
	}
}

// A request larger than the socket takes at once: the rest goes the
// ordinary way, every byte arrives in order, and the answer still wakes
// the wait.
func TestSendWaitPartialSend(t *testing.T) {
	c, p := sendWaitPair(t, "raw", 4096)
	w := newSendWaiter(c)
	tc := timedConn{Conn: c, rto: 5 * time.Second, wto: 5 * time.Second}
	// More than the socket buffers hold, however the kernel sizes them.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MB
	got := make(chan []byte, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // let the send buffer fill
		b := make([]byte, len(big))
		if _, err := io.ReadFull(p, b); err != nil {
			got <- nil
			return
		}
		got <- b
		p.Write([]byte("done"))
	}()
	if n, err := w.sendWait(&tc, big); n != len(big) || err != nil {
		t.Fatalf("sent %d of %d, %v", n, len(big), err)
	}
	if b := <-got; !bytes.Equal(b, big) {
		t.Fatal("the peer did not get the request intact")
	}
	ans := make([]byte, 4)
	if _, err := io.ReadFull(&tc, ans); err != nil || string(ans) != "done" {
		t.Fatalf("answer %q, %v", ans, err)
	}
}

// The write deadline still bounds a send the peer does not take.
func TestSendWaitHonoursWriteDeadline(t *testing.T) {
	c, _ := sendWaitPair(t, "raw", 4096)
	w := newSendWaiter(c)
	tc := timedConn{Conn: c, rto: 5 * time.Second, wto: 200 * time.Millisecond}
	big := make([]byte, 16<<20)
	done := make(chan error, 1)
	go func() {
		_, err := w.sendWait(&tc, big)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("send to a peer that reads nothing: %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the send outlived its write deadline")
	}
}

// A peer that closed before the request (its close not yet read) resets
// the connection when the request reaches it, and the reset wakes the
// wait: the read that follows fails at once.
func TestSendWaitWokenByResetAfterEarlierClose(t *testing.T) {
	c, p := sendWaitPair(t, "raw", 0)
	p.Close()
	time.Sleep(20 * time.Millisecond) // the FIN is in before the send
	w := newSendWaiter(c)
	tc := timedConn{Conn: c, rto: 30 * time.Second}
	done := make(chan error, 1)
	go func() {
		if _, err := w.sendWait(&tc, []byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			done <- err
			return
		}
		_, err := tc.Read(make([]byte, 16))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read from a closed peer succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait on a peer that had closed was not woken")
	}
}

// Connections that may hold bytes of their own (TLS, wrappers) or are
// not sockets get no waiter and send the ordinary way.
func TestSendWaitOnlyPlainSockets(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if newSendWaiter(a) != nil {
		t.Fatal("a pipe got a waiter")
	}
	c, _ := sendWaitPair(t, "net", 0)
	if newSendWaiter(&ppConn{Conn: c}) != nil {
		t.Fatal("a wrapped connection got a waiter")
	}
}

// sendWaitConfig is the proxy of the end-to-end tests: HTTP, one server at
// addr, timeout server serverTO; global and fe are extra lines of the
// global section and of the frontend ("" for none).
func sendWaitConfig(addr, serverTO, global, fe string) string {
	return "global\n" + global + `
defaults
    mode http
    timeout connect 1s
    timeout client 1m
    timeout server ` + serverTO + `
frontend fe
    bind 127.0.0.1:0
` + fe + `
    default_backend be
backend be
    server s ` + addr + "\n"
}

// Many keep-alive requests in a row on one client connection, through one
// server connection, to a server that answers at once and to one that
// answers late: every response wakes its session (the server timeout is
// a minute: a lost wake-up fails the request's 10 s bound).
func TestKeepAliveResponsesWakeTheSession(t *testing.T) {
	for _, delay := range []time.Duration{0, 20 * time.Millisecond} {
		b := newRawBackend(t, func(in []byte, sent int) (string, bool) {
			if bytes.Count(in, []byte("\r\n\r\n")) <= sent {
				return "", false
			}
			time.Sleep(delay)
			body := fmt.Sprintf("r%d", sent)
			return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body), true
		})
		_, addr := startProxy(t, sendWaitConfig(b.addr, "1m", "", ""))
		kc := newRawClient(t, addr)
		n := 300
		if delay > 0 {
			n = 10
		}
		for i := 0; i < n; i++ {
			st, body, err := kc.do("GET /"+strconv.Itoa(i)+" HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second)
			if st != 200 || body != fmt.Sprintf("r%d", i) {
				t.Fatalf("answer after %v: request %d: %d %q %v", delay, i, st, body, err)
			}
		}
		if conns := b.Accepted(); conns != 1 {
			t.Fatalf("answer after %v: %d server connections, want the one kept alive", delay, conns)
		}
	}
}

// Pipelined requests, sent in one write and one by one while the server
// holds the first: each gets its own response, in order.
func TestPipelinedRequestsWithSendWait(t *testing.T) {
	b := newRawBackend(t, func(in []byte, sent int) (string, bool) {
		heads := bytes.Split(in, []byte("\r\n\r\n"))
		if len(heads)-1 <= sent {
			return "", false
		}
		time.Sleep(10 * time.Millisecond)
		f := bytes.Fields(heads[sent])
		path := string(f[1])
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(path), path), true
	})
	_, addr := startProxy(t, sendWaitConfig(b.addr, "1m", "", ""))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	req := func(p string) string { return "GET " + p + " HTTP/1.1\r\nHost: x\r\n\r\n" }
	io.WriteString(c, req("/a")+req("/b")+req("/c"))
	want := []string{"/a", "/b", "/c"}
	// Then one at a time, each while the server still holds the one
	// before: they arrive during an exchange.
	go func() {
		for _, p := range []string{"/d", "/e", "/f"} {
			time.Sleep(3 * time.Millisecond)
			io.WriteString(c, req(p))
		}
	}()
	want = append(want, "/d", "/e", "/f")
	for i, w := range want {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != w {
			t.Fatalf("response %d: %d %q, want 200 %q", i, resp.StatusCode, body, w)
		}
	}
}

// A request larger than the socket buffers (a body buffered whole, then
// sent with the head) to a server that reads late: the part the socket
// does not take goes the ordinary way, the server gets every byte, and
// its answer wakes the session.
func TestLargeBufferedRequestPartialSend(t *testing.T) {
	const size = 6 << 20
	l, err := (&net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				time.Sleep(200 * time.Millisecond) // the proxy's send buffer fills
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					body, _ := io.ReadAll(req.Body)
					ok := len(body) == size && bytes.Equal(body, bytes.Repeat([]byte("x"), size))
					got <- fmt.Sprint(ok)
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone")
				}
			}()
		}
	}()
	t.Cleanup(func() { l.Close() })
	_, addr := startProxy(t, sendWaitConfig(l.Addr().String(), "1m", "    tune.bufsize 8388608", "    option http-buffer-request"))
	kc := newRawClient(t, addr)
	body := strings.Repeat("x", size)
	for i := 0; i < 2; i++ {
		st, resp, err := kc.do("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n"+body, 10*time.Second)
		if st != 200 || resp != "done" {
			t.Fatalf("request %d: %d %q %v", i, st, resp, err)
		}
		if ok := <-got; ok != "true" {
			t.Fatalf("request %d: the server did not get the body intact", i)
		}
	}
}

// "timeout server" fires once for a request that waited in the send (the
// second on its server connection): the 504 comes after the timeout, not
// after two.
func TestServerTimeoutOnceWithSendWait(t *testing.T) {
	// Answers the first request of each connection, never the second.
	b := newRawBackend(t, func(in []byte, sent int) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", sent == 0 && bytes.Contains(in, []byte("\r\n\r\n"))
	})
	_, addr := startProxy(t, sendWaitConfig(b.addr, "1s", "", ""))
	kc := newRawClient(t, addr)
	if st, body, err := kc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 || body != "ok" {
		t.Fatalf("first request: %d %q %v", st, body, err)
	}
	start := time.Now()
	if st, _, err := kc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 504 {
		t.Fatalf("second request: %d %v, want 504", st, err)
	}
	if d := time.Since(start); d > 1900*time.Millisecond {
		t.Fatalf("504 after %v with timeout server 1s", d)
	}
}

// A server that closes right after its response, with no word of it: the
// next request, sent at once (before the idle check applies), meets the
// closed connection; the reset wakes its wait and the proxy answers long
// before the server timeout.
func TestServerCloseAfterResponseWakesNextRequest(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	_, addr := startProxy(t, sendWaitConfig(l.Addr().String(), "1m", "", ""))
	kc := newRawClient(t, addr)
	for i := 0; i < 20; i++ {
		st, body, err := kc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second)
		if err != nil || st == 0 {
			t.Fatalf("request %d: no answer: %v", i, err)
		}
		if st != 200 || body != "ok" {
			t.Logf("request %d: %d %q", i, st, body)
		}
	}
}
