package proxy

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"bulwark/internal/h1"
	"bulwark/internal/rawsock"
)

// quickRead reads a new connection's first request with one read that
// does not wait, before any read deadline is set. A client that opened a
// connection to send a request has usually sent it by the time the
// connection is served, and then the request's deadlines ("timeout
// http-request", the short buffered wait of waitFirst) are set and
// cleared again without ever bounding a wait: four runtime timer updates
// per connection for nothing. When the read finds the whole head, the
// request is parsed with no deadline at all; when it finds nothing or a
// part, the ordinary wait takes over with its deadlines (readiness is not
// lost: RawConn.Read resets the poller's ready flag before the read, so
// anything arriving after it is recorded for the wait).
//
// One per session object, kept when the session is recycled, so that the
// bound callbacks are made once.
//
// It also writes to the client without a write deadline while writes do
// not wait (tryWrite): the response to a new connection then sets no
// "timeout client" timer that its close only deletes again.
type quickRead struct {
	rc   syscall.RawConn
	c    net.Conn
	r    recvOp
	read func([]byte) (int, error)
	// timedOut says the wait of next met its deadline.
	timedOut bool
	// out, wn, werrno and wstep: the same for tryWrite.
	out    []byte
	wn     int
	werrno syscall.Errno
	wstep  func(uintptr) bool
}

func newQuickRead() *quickRead {
	q := &quickRead{}
	q.read, q.wstep = q.readOnce, q.wstepFD
	return q
}

// live reports whether q holds the connection of the current session.
func (q *quickRead) live() bool { return q.rc != nil }

// forget drops the connection of the last session (the object is kept
// for the next one).
func (q *quickRead) forget() { q.rc, q.c = nil, nil }

// tryWrite writes what the socket takes of b without waiting and returns
// how much that was: len(b) when all of it, less when the socket's buffer
// is full or the write failed (the ordinary write, under its deadline,
// then goes on with the rest and reports any error).
func (q *quickRead) tryWrite(b []byte) int {
	if q.rc == nil {
		return 0
	}
	q.out, q.wn, q.werrno = b, 0, 0
	err := q.rc.Write(q.wstep)
	q.out = nil
	if err != nil || q.werrno != 0 {
		return 0
	}
	return q.wn
}

func (q *quickRead) wstepFD(fd uintptr) bool {
	q.wn, q.werrno = rawsock.Send(int(fd), q.out)
	return true
}

// first reads what c has into rd without waiting; it returns the bytes
// read (0: nothing was there, or c is not a plain TCP connection).
func (q *quickRead) first(c net.Conn, rd *h1.Reader) int {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0
	}
	// rc stays for tryWrite until the session ends (forget).
	q.rc, q.c, q.r.c = rc, c, c
	return rd.FillFrom(q.read)
}

// next reads what c has into rd like first, but on a kept connection
// (q live) and, when until is set, waiting for the socket up to until if
// it is empty (recvOp): an empty socket then costs one read before the
// wait (a read that does not wait, then the ordinary wait, cost two). It
// returns the bytes read, whether the read deadline was set (it stays on
// the connection) and whether the wait met it.
func (q *quickRead) next(rd *h1.Reader, until time.Time) (n int, armed, timedOut bool) {
	q.r.wait, q.r.until, q.r.armed, q.timedOut = !until.IsZero(), until, false, false
	n = rd.FillFrom(q.read)
	q.r.wait, q.r.until = false, time.Time{}
	return n, q.r.armed, q.timedOut
}

func (q *quickRead) readOnce(b []byte) (int, error) {
	err := q.r.recv(q.rc, b)
	if err != nil && q.r.armed && isTimeout(err) {
		q.timedOut = true
	}
	switch errno := q.r.errno; {
	case err != nil, errno == syscall.EAGAIN:
		// Closed, or nothing yet: the ordinary read says which.
		return 0, nil
	case errno != 0:
		// Worded as net.Conn.Read words it: a reset is reported once.
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: q.c.LocalAddr(), Addr: q.c.RemoteAddr(), Err: os.NewSyscallError("read", errno)}
	case q.r.n == 0:
		return 0, io.EOF
	}
	return q.r.n, nil
}
