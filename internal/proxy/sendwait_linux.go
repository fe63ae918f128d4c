package proxy

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"bulwark/internal/rawsock"
)

// sendWaiter sends a request to a server and waits for the server's
// answer without the read that finds nothing. Go's net.Conn.Read tries a
// read(2) before it waits in the poller, and a server never answers
// within the microseconds after its request went out: that first read
// always fails with EAGAIN, one wasted system call per request (HAProxy
// reads only once epoll says the socket is readable).
//
// The request goes out inside a syscall.RawConn.Read callback. RawRead
// first forgets any readiness the poller recorded before (prepareRead),
// then calls the callback, then parks in the poller while the callback
// returns false. Sending inside the first call, after the reset, means any
// answer to the request arrives after it: its readiness is recorded and
// wakes the wait, none is lost. The second call returns at once and the
// reader's ordinary read then finds the response waiting.
//
// What the server sent before the request (a close the idle check did not
// see, "attachedCheckAfter") is not seen by this wait, but the request
// then meets a closed socket and the peer's reset wakes it; a server that
// half-closed and still reads answers or closes, and either wakes it too.
//
// One per server connection, made at its first request: the callback is
// bound once so that a request allocates nothing.
type sendWaiter struct {
	rc    syscall.RawConn
	f     func(uintptr) bool
	out   []byte
	n     int
	errno syscall.Errno
	sent  bool
}

// newSendWaiter returns the waiter of c, nil when c is not a plain TCP
// socket (TLS, a unix socket, an h2 stream, a wrapper that may hold
// bytes): those send the ordinary way.
func newSendWaiter(c net.Conn) *sendWaiter {
	var sc syscall.Conn
	switch t := c.(type) {
	case *rawConn:
		sc = t
	case *net.TCPConn:
		sc = t
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &sendWaiter{rc: rc}
	w.f = w.step
	return w
}

func (w *sendWaiter) step(fd uintptr) bool {
	if w.sent {
		// Readable (or the poller woke early: the reader's read then
		// waits the ordinary way).
		return true
	}
	w.sent = true
	w.n, w.errno = rawsock.Send(int(fd), w.out)
	// A short send stops here: the rest goes the ordinary way, which
	// waits for room under the write deadline.
	return w.errno != 0 || w.n < len(w.out)
}

// sendWait sends b on t's connection and returns once the connection has
// something to read, its read deadline passed or it was closed (the
// reader's next read tells which). It returns the bytes sent and the
// error of the send.
func (w *sendWaiter) sendWait(t *timedConn, b []byte) (int, error) {
	t.refreshWrite()
	t.refreshRead()
	w.out, w.n, w.errno, w.sent = b, 0, 0, false
	// An error of the wait itself (deadline, close) is the reader's next
	// read's to report. After a timeout that read must not push the
	// deadline forward (it would wait a second timeout): the deadline
	// counts as just set.
	if err := w.rc.Read(w.f); err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		t.rlast = time.Now()
	}
	w.out = nil
	if !w.sent {
		// The wait did not start (closed, deadline passed): the ordinary
		// write says why, as it did before.
		return t.Conn.Write(b)
	}
	if w.errno != 0 && w.errno != syscall.EAGAIN {
		return w.n, &net.OpError{Op: "write", Net: "tcp", Addr: t.Conn.RemoteAddr(), Err: os.NewSyscallError("write", w.errno)}
	}
	if w.n < len(b) {
		m, err := t.Conn.Write(b[w.n:])
		return w.n + m, err
	}
	return len(b), nil
}
