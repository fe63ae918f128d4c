package proxy

import (
	"bytes"
	"math"
	"net"
	"net/netip"
	"time"
	"weak"

	"bulwark/internal/acl"
	"bulwark/internal/h1"
)

// parkedConn is what a parked keep-alive connection keeps (see parker):
// its socket, frontend, addresses and the little the next request needs.
// The session, with its reader and rule state, goes back to the runtime's
// pool and is made again when the client sends: a parked connection may
// wait for minutes, and the session with its reader and evaluator is
// about 1.8 KB against this record's 96 bytes.
//
// A session that holds connection-lived state the record does not carry
// (entries tracked by "tcp-request connection", session variables) is
// parked whole, in s; so are TLS sessions (their crypto/tls state stays
// with the connection; see parkFD).
type parkedConn struct {
	s    *httpSession // the whole session; nil when the fields below stand for it
	fe   *frontend
	c    net.Conn
	done *sessInfo
	// lent is the server connection the last request lent to its pool,
	// which the next one takes back if it is still there (serverConn).
	// Weak: while it is in the pool the pool holds it; once the pool let
	// it go (closed, purged) nothing can reclaim it, and a parked
	// connection must not keep it, its reader and its socket structures
	// (about 700 bytes) alive for minutes.
	lent   weak.Pointer[srvConn]
	lentBE *backend
	noted  *server
	// addrs holds the session's addresses when they are not what the
	// socket and its PROXY header say (rules changed them); nil otherwise.
	addrs *parkedAddrs
	// deadline is the keep-alive deadline as an offset from the parker's
	// base time (monotonic), 0 for none.
	deadline time.Duration
	nreq     int32
	fd       int32
	idx      int32 // in the parker's deadline heap, -1 when not
}

// parkedAddrs are the client-side addresses of a session (see
// httpSession) that differ from their defaults.
type parkedAddrs struct {
	client                         net.Addr
	fcSrc, fcDst, sessSrc, sessDst netip.AddrPort
	sessSrcText                    []byte
}

// Parked connections with a deadline are a timeheap. Its order is the
// deadlines' order; the times it gets are offsets from the zero time,
// meaningful only to the parker, which knows its base.
func (pc *parkedConn) HeapDeadline() time.Time { return time.Time{}.Add(pc.deadline) }
func (pc *parkedConn) SetHeapIndex(i int)      { pc.idx = int32(i) }

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
// else one that holds s. The keep-alive deadline is the parker's to set.
func (s *httpSession) parkRecord() *parkedConn {
	if !s.slim() || s.nreq > math.MaxInt32 {
		return &parkedConn{s: s, fe: s.fe, c: s.c}
	}
	pc := &parkedConn{fe: s.fe, c: s.c, done: s.done, lentBE: s.lentBE, noted: s.noted, nreq: int32(s.nreq)}
	if s.lent != nil {
		pc.lent = weak.Make(s.lent)
	}
	fcSrc, fcDst := realAddrs(s.c)
	sessSrc, sessDst := sessionAddrs(s.c, fcSrc, fcDst)
	var text [64]byte
	if s.client != s.c.RemoteAddr() || s.fcSrc != fcSrc || s.fcDst != fcDst || s.sessSrc != sessSrc || s.sessDst != sessDst ||
		s.sessSrcText != nil && !bytes.Equal(s.sessSrcText, appendAddrText(text[:0], s.sessSrc)) {
		pc.addrs = &parkedAddrs{client: s.client, fcSrc: s.fcSrc, fcDst: s.fcDst, sessSrc: s.sessSrc, sessDst: s.sessDst, sessSrcText: s.sessSrcText}
	}
	return pc
}

// appendAddrText appends the text a session keeps of its source address
// (srcText): the address, IPv4 unmapped; nothing for none.
func appendAddrText(b []byte, ap netip.AddrPort) []byte {
	if !ap.IsValid() {
		return b
	}
	return ap.Addr().Unmap().AppendTo(b)
}

// recycle gives a session that parked slim, or finished plain, back to
// the runtime's pool. It keeps its reader and evaluator (both point at s,
// which stays the same); everything else starts as in a new session.
func (s *httpSession) recycle() {
	rt := s.fe.rt
	rd, ev, qr := s.rd, s.eval, s.qr
	if qr != nil {
		qr.forget()
	}
	*s = httpSession{rd: rd, eval: ev, qr: qr}
	rt.freeSess.Put(s)
}

// cleanSession is a session in its initial state with its reader and
// evaluator: a recycled one, or a new one.
func (rt *Runtime) cleanSession() *httpSession {
	s, _ := rt.freeSess.Get().(*httpSession)
	if s == nil {
		s = &httpSession{}
		s.rd = h1.NewReader(&s.tc, rt.readerConfig())
		s.eval = acl.NewEval(s)
		s.qr = newQuickRead()
	} else {
		s.rd.Reset(&s.tc)
		s.eval.Reset()
	}
	return s
}

// plain reports whether nothing but its own goroutine can refer to the
// finished session s, so that it may be recycled: an HTTP/1 session of
// its own connection, with no abort watch left. h2 stream sessions are
// kept by their connection, and an upgraded one came from a TCP session.
func (s *httpSession) plain() bool {
	return !s.h2 && s.h2s == nil && s.stream == nil && s.abort == nil && s.up == nil && s.m == nil
}

// session returns the session that serves pc's next request: the one
// parked whole, else one from the pool filled from the record.
func (pc *parkedConn) session() *httpSession {
	if pc.s != nil {
		return pc.s
	}
	fe := pc.fe
	rt := fe.rt
	s := rt.cleanSession()
	s.fe, s.c, s.cconn, s.done = fe, pc.c, pc.c, pc.done
	s.tc = timedConn{Conn: pc.c}
	if a := pc.addrs; a != nil {
		s.client, s.fcSrc, s.fcDst, s.sessSrc, s.sessDst, s.sessSrcText = a.client, a.fcSrc, a.fcDst, a.sessSrc, a.sessDst, a.sessSrcText
	} else {
		s.client = pc.c.RemoteAddr()
		s.fcSrc, s.fcDst = realAddrs(pc.c)
		s.sessSrc, s.sessDst = sessionAddrs(pc.c, s.fcSrc, s.fcDst)
		s.sessSrcText = nil // made when a request needs it (srcTextOf)
	}
	s.src, s.dst, s.srcText = s.sessSrc, s.sessDst, s.sessSrcText
	if s.lent = pc.lent.Value(); s.lent != nil {
		s.lentBE = pc.lentBE
	}
	s.noted, s.nreq = pc.noted, int(pc.nreq)
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
		pc.done.end()
	}
}
