package proxy

import "time"

// waitFirst waits for the first request of a connection with the reader's
// buffer in place, for at most parkAfter: a client that opened the
// connection to send a request has usually sent it already, and one read
// into the buffer then takes it whole (the buffer-less wait reads one byte
// first and the rest with a second read, and gives back and takes again
// the request state). A connection still quiet after that goes on
// buffer-less, so that connections that send nothing hold no buffer. ok is
// false when the caller must wait its own way (nothing was read).
func (s *httpSession) waitFirst() (err error, ok bool) {
	if s.nreq > 0 || s.h2 || s.woken || s.rd.Buffered() > 0 || s.fe.rt.stopping.Load() {
		return nil, false
	}
	short := time.Now().Add(parkAfter)
	if !s.parkDeadline.IsZero() && !short.Before(s.parkDeadline) {
		return nil, false // "timeout http-request" is shorter than that
	}
	s.c.SetReadDeadline(short)
	err = s.rd.Wait()
	s.c.SetReadDeadline(s.parkDeadline)
	if err != nil && isTimeout(err) {
		s.rd.Release()
		return nil, false
	}
	return err, true
}

// quickFirst reads the connection's first request without waiting
// (quickRead) and reports whether its whole head is now buffered. Only
// for a plain TCP connection read directly (no TLS, no PROXY header
// reader, no h2), before anything was read from it.
func (s *httpSession) quickFirst() bool {
	if s.qr == nil || s.h2 || s.woken || s.c != s.cconn || s.rd.Buffered() > 0 {
		return false
	}
	n := s.qr.first(s.c, s.rd)
	if s.qr.live() {
		s.tc.qw = s.qr
	}
	if n <= 0 {
		return false
	}
	// The bytes did not pass through s.tc: count them as "bytes in".
	s.tc.rn += int64(n)
	return s.rd.HeadBuffered()
}

// quickNext does for a kept connection's next request what quickFirst
// does for the first, once the other sessions have run (yieldBeforeRead,
// which the wait that may follow then skips): a busy client has usually
// sent the request by then, and a head read whole this way is parsed with
// no read deadline set and cleared around it (two runtime timer updates
// and three clock reads a request). When waitRequest would wait for the
// request under the short deadline (busyWait, wait being serveOne's), the
// read waits here, setting that deadline only if the socket is empty
// (quickRead.next): one read instead of two. A part of a head, or a head
// that had to be waited for, leaves the deadlines to serveOne;
// quickTimedOut tells waitRequest the short wait is over.
func (s *httpSession) quickNext(wait time.Duration, now time.Time) bool {
	s.yielded, s.quickTimedOut = false, false
	if s.qr == nil || !s.qr.live() || s.h2 || s.woken || s.c != s.cconn || s.rd.Buffered() > 0 || s.fe.rt.stopping.Load() {
		return false
	}
	var until time.Time
	if s.busyWait(wait) {
		until = now.Add(parkAfter)
		// Idle while it waits: a soft stop shortens the wait.
		s.idle.Store(true)
	}
	s.yieldBeforeRead()
	s.yielded = true
	n, armed, timedOut := s.qr.next(s.rd, until)
	s.quickTimedOut = timedOut // nothing was read then
	if n <= 0 {
		return false
	}
	s.tc.rn += int64(n)
	return !armed && s.rd.HeadBuffered()
}
