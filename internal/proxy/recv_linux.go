package proxy

import (
	"net"
	"syscall"
	"time"

	"bulwark/internal/rawsock"
)

// recvOp reads a socket with one recv (rawsock.Read) inside its
// RawConn.Read, the callback bound once: the client connection's reads
// that do not wait (quickRead) and a server connection's reads (rawConn)
// share it.
//
// With wait, an empty socket is waited for (the callback returns false);
// with until set as well, the read deadline is set then, from within:
// RawConn.Read reset the poller's ready flag before the read, so bytes
// that come after it wake the wait. armed says that deadline was set.
type recvOp struct {
	buf   []byte
	n     int
	errno syscall.Errno
	wait  bool
	until time.Time
	armed bool
	c     net.Conn // whose deadline until sets
	step  func(uintptr) bool
}

// recv reads into b once through rc; the results are in n and errno, and
// the error is the poller's (a deadline, the file closed).
func (r *recvOp) recv(rc syscall.RawConn, b []byte) error {
	if r.step == nil {
		r.step = r.stepFD
	}
	r.buf, r.n, r.errno = b, 0, 0
	err := rc.Read(r.step)
	r.buf = nil
	return err
}

func (r *recvOp) stepFD(fd uintptr) bool {
	r.n, r.errno = rawsock.Read(int(fd), r.buf)
	if r.errno != syscall.EAGAIN || !r.wait {
		return true
	}
	if !r.armed && !r.until.IsZero() {
		r.armed = true
		r.c.SetReadDeadline(r.until)
	}
	return false
}
