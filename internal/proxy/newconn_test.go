package proxy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"
)

// waitingWorkers counts the goroutines of w's workers (their stacks show
// w as the receiver of work).
func waitingWorkers(w *connWorkers) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return bytes.Count(buf, fmt.Appendf(nil, "(*connWorkers).work(%p", w))
}

// A worker that waits for a connection when the runtime stops ends: the
// wait is a plain receive that stopIdle wakes.
func TestConnWorkersEndWhenIdleAtStop(t *testing.T) {
	be := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B
`, "B", be))
	w := px.cur.Load().workers
	for range 3 {
		if got := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2*time.Second); statusOf(got) != 200 {
			t.Fatalf("response %q", got)
		}
	}
	waitFor(t, func() bool { return w.idle.Load() > 0 }, "a worker waiting after the requests")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	px.Shutdown(ctx)
	waitFor(t, func() bool { return waitingWorkers(w) == 0 }, "no worker left waiting after the stop")
}

// A worker whose connection ends after the runtime stopped ends too,
// instead of waiting for a job that never comes: it checks done before
// it waits, once stopIdle may have finished.
func TestConnWorkersEndWhenIdleAfterStop(t *testing.T) {
	be := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B
`, "B", be))
	rt := px.cur.Load()
	w := rt.workers
	// A client that sends half a request holds its worker in the wait for
	// the rest.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\n"))
	waitFor(t, func() bool { return waitingWorkers(w) == 1 }, "one worker, the one serving the client")
	// The stop: done closes with the worker busy and none idle, so
	// stopIdle has nothing to wake; the worker's connection is closed
	// after that and only then does it look for the next job.
	rt.cancel()
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	px.Shutdown(ctx)
	waitFor(t, func() bool { return waitingWorkers(w) == 0 }, "no worker left waiting after the stop")
}

// Requests that track nothing do not read the clock to release or count
// entries (twice and once per request): a session without a frontend
// would fail to read it.
func TestUntrackedRequestReadsNoClock(t *testing.T) {
	s := &httpSession{}
	s.countStatus(503)
	s.releaseTracked(false)
	s.releaseTracked(true)
}

// The X-Forwarded-For text is made by the first request that needs it
// (srcTextOf), on a new session and on one resumed after parking, which
// keeps no text of its own.
func TestForwardForTextMadeWhenNeeded(t *testing.T) {
	be := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	_, addr := startProxy(t, sub(baseDefaults+`
    option http-keep-alive
    timeout http-keep-alive 5s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    option forwardfor
    server s B
`, "B", be.addr))
	rc := newRawClient(t, addr)
	for i := range 2 {
		if i == 1 {
			time.Sleep(2 * parkAfter) // the connection parks in between
		}
		if st, _, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2*time.Second); err != nil || st != 200 {
			t.Fatalf("request %d: %d, %v", i, st, err)
		}
	}
	if got := bytes.Count(bytes.ToLower([]byte(be.received())), []byte("\r\nx-forwarded-for: 127.0.0.1\r\n")); got != 2 {
		t.Fatalf("%d requests with x-forwarded-for: 127.0.0.1, want 2; the backend received:\n%s", got, be.received())
	}
}

// With a PROXY header the text is the header's source, made when the
// header is read (setClientAddrs) from a session that has none yet.
func TestForwardForTextOfProxyHeader(t *testing.T) {
	be := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 accept-proxy
    default_backend be
backend be
    option forwardfor
    server s B
`, "B", be.addr))
	got := rawRequest(t, addr, "PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2*time.Second)
	if statusOf(got) != 200 {
		t.Fatalf("response %q", got)
	}
	if !bytes.Contains(bytes.ToLower([]byte(be.received())), []byte("\r\nx-forwarded-for: 192.0.2.7\r\n")) {
		t.Fatalf("the backend received:\n%s", be.received())
	}
}
