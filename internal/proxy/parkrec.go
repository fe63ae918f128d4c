package proxy

import (
	"net"
	"net/netip"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/h1"
)

// parkedConn is what a parked keep-alive connection keeps (see parker):
// its socket, frontend, addresses and the little the next request needs.
// The session, with its reader and rule state, goes back to the runtime's
// pool and is made again when the client sends: a parked connection may
// wait for minutes, and the whole session is four times this record.
//
// A session that holds connection-lived state the record does not carry
// (entries tracked by "tcp-request connection", session variables, an
// upgraded TCP stream, TLS) is parked whole, in s.
type parkedConn struct {
	s      *httpSession // the whole session; nil when the fields below stand for it
	fe     *frontend
	c      net.Conn
	client net.Addr
	done   func()
	// The connection's and the session's addresses (see httpSession); a
	// stream starts from the session's.
	fcSrc, fcDst, sessSrc, sessDst netip.AddrPort
	sessSrcText                    []byte
	// lent is the server connection the last request lent to its pool,
	// which the next one takes back if nobody else has (serverConn).
	lent   *srvConn
	lentBE *backend
	noted  *server
	nreq   int

	deadline time.Time // the keep-alive deadline; zero: none
	fd       int
	idx      int // in the parker's deadline heap, -1 when not
}

// Parked connections with a deadline are a timeheap; each knows its index
// so that a wake-up removes it.
func (pc *parkedConn) HeapDeadline() time.Time { return pc.deadline }
func (pc *parkedConn) SetHeapIndex(i int)      { pc.idx = i }

// slim reports whether everything of s that outlives a request is in a
// parkedConn, so that the rest can go back to the pool while it waits.
func (s *httpSession) slim() bool {
	if s.h2 || s.h2s != nil || s.stream != nil || s.up != nil || s.tlsOn || s.cliTLS != nil || s.factsSet ||
		s.cconn != s.c || s.attached != nil || s.abort != nil || s.m != nil || len(s.vars) > 0 ||
		s.tc.rn != s.rseen || s.rd.Buffered() > 0 || !s.rd.Release() {
		return false
	}
	for _, r := range s.tracked {
		if r.Valid() {
			return false
		}
	}
	return true
}

// parkRecord returns the record s parks as: the slim one when s allows,
// else one that holds s.
func (s *httpSession) parkRecord() *parkedConn {
	if !s.slim() {
		return &parkedConn{s: s, fe: s.fe, c: s.c, deadline: s.parkDeadline}
	}
	return &parkedConn{fe: s.fe, c: s.c, client: s.client, done: s.done,
		fcSrc: s.fcSrc, fcDst: s.fcDst, sessSrc: s.sessSrc, sessDst: s.sessDst, sessSrcText: s.sessSrcText,
		lent: s.lent, lentBE: s.lentBE, noted: s.noted, nreq: s.nreq, deadline: s.parkDeadline}
}

// recycle gives a session that parked slim back to the runtime's pool. It
// keeps its reader and evaluator (both point at s, which stays the same);
// everything else starts as in a new session.
func (s *httpSession) recycle() {
	rt := s.fe.rt
	rd, ev := s.rd, s.eval
	*s = httpSession{rd: rd, eval: ev}
	rt.freeSess.Put(s)
}

// session returns the session that serves pc's next request: the one
// parked whole, else one from the pool filled from the record.
func (pc *parkedConn) session() *httpSession {
	if pc.s != nil {
		return pc.s
	}
	fe := pc.fe
	rt := fe.rt
	s, _ := rt.freeSess.Get().(*httpSession)
	if s == nil {
		s = &httpSession{}
		s.rd = h1.NewReader(&s.tc, rt.readerConfig())
		s.eval = acl.NewEval(s)
	} else {
		s.rd.Reset(&s.tc)
		s.eval.Reset()
	}
	s.fe, s.c, s.cconn, s.client, s.done = fe, pc.c, pc.c, pc.client, pc.done
	s.tc = timedConn{Conn: pc.c}
	s.fcSrc, s.fcDst = pc.fcSrc, pc.fcDst
	s.sessSrc, s.sessDst, s.sessSrcText = pc.sessSrc, pc.sessDst, pc.sessSrcText
	s.src, s.dst, s.srcText = pc.sessSrc, pc.sessDst, pc.sessSrcText
	s.lent, s.lentBE, s.noted, s.nreq = pc.lent, pc.lentBE, pc.noted, pc.nreq
	s.parkDeadline = pc.deadline
	rt.idle.Store(s, struct{}{})
	return s
}

// resume continues a parked connection whose client sent data (or that a
// stop woke).
func (pc *parkedConn) resume() {
	pc.session().resume()
}

// expire ends a parked connection whose keep-alive timeout passed. A slim
// one holds nothing but its socket and its slots (finish has nothing else
// to release).
func (pc *parkedConn) expire() {
	if pc.s != nil {
		pc.s.finish()
		return
	}
	pc.c.Close()
	if pc.done != nil {
		pc.done()
	}
}
