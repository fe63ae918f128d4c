package proxy

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// closeWatch applies "option abortonclose" (CM 4.2) to one request: while
// the request waits for a server (in the queue, while connecting and
// retrying, then for the response head), a client that closes its side
// aborts it instead of having it served. A goroutine waits on the
// client's socket through the netpoller and peeks at it: it never
// consumes a byte, so the session's reader is untouched.
//
// The socket's end of stream (or a reset) is what counts, as in HAProxy:
// a pipelined request the session's reader holds already does not hide
// it. Bytes still in the socket ahead of it (a request sent after the
// reader's last read, a TLS close_notify) end the watch without an abort:
// the request is then served, as it is without the option.
type closeWatch struct {
	ctx    context.Context
	cancel context.CancelFunc
	conn   net.Conn // the socket whose read deadline stops the wait
	done   chan struct{}
	closed atomic.Bool
	// phase is the stage the request is in, for the termination state
	// of an abort: 'Q' queued, 'C' connecting, 'H' waiting for headers.
	phase atomic.Uint32
}

// context is the context the waits of the request use: the watch's, or
// parent without a watch.
func (w *closeWatch) context(parent context.Context) context.Context {
	if w == nil {
		return parent
	}
	return w.ctx
}

// setPhase records the stage the request enters.
func (w *closeWatch) setPhase(p byte) {
	if w != nil {
		w.phase.Store(uint32(p))
	}
}

// stop ends the watch and reports whether the client closed before. The
// socket is left without a read deadline: the session's next read sets
// its own. It may be called more than once; the context stays valid
// until end.
func (w *closeWatch) stop() bool {
	if w == nil {
		return false
	}
	select {
	case <-w.done:
	default:
		w.conn.SetReadDeadline(time.Unix(1, 0))
		<-w.done
		w.conn.SetReadDeadline(time.Time{})
	}
	return w.closed.Load()
}

// term is the termination state of an abort (CM 8.5): the client closed
// ('C') while queued, connecting or waiting for the response head.
func (w *closeWatch) term() string {
	return "C" + string(rune(w.phase.Load()))
}

// watchResponse extends the session's abort watch (starting one when the
// body was streamed) to the wait for sc's response head: a client that
// closes has sc closed under the read, and the request goes no further.
// The function returned ends that and reports whether the client closed.
func (s *httpSession) watchResponse(sc *srvConn) func() bool {
	if s.h2s != nil || s.stream != nil {
		return nil
	}
	if s.abort == nil {
		s.abort = watchClose(s.fe.rt.ctx, s.c)
	}
	w := s.abort
	if w == nil {
		return nil
	}
	w.setPhase('H')
	unregister := context.AfterFunc(w.ctx, func() {
		if sc.fr != nil {
			// The session's goroutine is reading sc.fr: the id is the
			// one every FastCGI request has, not asked of it.
			sc.abortFCGI(fcgiRequestID)
		}
		sc.c.Close()
	})
	return func() bool {
		unregister()
		return w.stop()
	}
}

// stopAbortWatch ends the request's abort watch and reports whether the
// client closed while it ran.
func (s *httpSession) stopAbortWatch() bool { return s.abort.stop() }

// endAbortWatch ends the request's abort watch for good.
func (s *httpSession) endAbortWatch() {
	if w := s.abort; w != nil {
		w.stop()
		w.cancel()
		s.abort = nil
	}
}

// rewatch starts a fresh abort watch for a retry: the last one may have
// ended with a response head the retry gives up.
func (s *httpSession) rewatch() {
	if s.abort != nil {
		s.endAbortWatch()
		s.abort = watchClose(s.fe.rt.ctx, s.c)
	}
}

// clientAborted ends a request whose client closed while it waited
// ("option abortonclose"); the log says where it was. A request the
// server had already gets a 400, as from HAProxy 2.6.12 (a client that
// only shut its sending side reads it; http_abortonclose.vtc logs it);
// one still queued or connecting gets nothing.
func (s *httpSession) clientAborted(e *LogEntry) bool {
	term := s.abort.term()
	e.Status = -1
	if term == "CH" {
		s.sendError(400, e)
	}
	e.Term = term
	return false
}
