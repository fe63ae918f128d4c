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

// eventually polls cond for up to 2 s.
func eventually(cond func() bool) bool {
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
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
	if !eventually(func() bool { return w.idle.Load() > 0 }) {
		t.Fatal("no worker waits after the requests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	px.Shutdown(ctx)
	if !eventually(func() bool { return waitingWorkers(w) == 0 }) {
		t.Fatalf("%d workers still wait after the stop", waitingWorkers(w))
	}
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
	if !eventually(func() bool { return waitingWorkers(w) == 1 }) {
		t.Fatalf("%d workers, want the one serving the client", waitingWorkers(w))
	}
	// The stop: done closes with the worker busy and none idle, so
	// stopIdle has nothing to wake; the worker's connection is closed
	// after that and only then does it look for the next job.
	rt.cancel()
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	px.Shutdown(ctx)
	if !eventually(func() bool { return waitingWorkers(w) == 0 }) {
		t.Fatalf("%d workers still wait after the stop", waitingWorkers(w))
	}
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
