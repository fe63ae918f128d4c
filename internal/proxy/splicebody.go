package proxy

import (
	"io"
	"net"
	"time"

	"bulwark/internal/h1"
	"bulwark/internal/model"
)

// Which directions a proxy splices ("option splice-request" from the
// client to the server, "splice-response" back, "splice-auto" both);
// a transaction splices a direction when its frontend or its backend
// does, as in HAProxy.
const (
	spliceReq uint8 = 1 << iota
	spliceResp
)

func spliceOptions(p *model.Proxy) uint8 {
	var s uint8
	if p.Option("splice-request") || p.Option("splice-auto") {
		s |= spliceReq
	}
	if p.Option("splice-response") || p.Option("splice-auto") {
		s |= spliceResp
	}
	return s
}

// spliceDir reports whether the transaction on be splices direction d
// (when a pipe is left: "nosplice" and "maxpipes", pipes.go).
func (s *httpSession) spliceDir(be *backend, d uint8) bool {
	return (s.fe.splice|be.splice)&d != 0
}

// forwardBody sends the body rd reads (from src) to dst, splicing what
// is left of it once the reader's buffer is empty, when splice allows it
// and both ends are plain TCP sockets; otherwise, or for chunked bodies
// (whose framing Bulwark parses and rewrites), it copies. A failed write
// to dst is a writeError: the log tells the two ends apart.
func (s *httpSession) forwardBody(dst *timedConn, rd *h1.Reader, src *timedConn, splice, fromClient bool, be *backend, srv *server) (int64, error) {
	if !splice {
		return h1.CopyBody((*destWriter)(dst), rd, s.copyBuf)
	}
	n, done, err := s.spliceBody(dst, rd, src, fromClient, be, srv)
	if done || err != nil {
		return n, err
	}
	m, err := h1.CopyBody((*destWriter)(dst), rd, s.copyBuf)
	return n + m, err
}

// spliceBody forwards the buffered start of the body, then splices the
// rest; done is false when the rest is left to copy.
func (s *httpSession) spliceBody(dst *timedConn, rd *h1.Reader, src *timedConn, fromClient bool, be *backend, srv *server) (total int64, done bool, err error) {
	b := rd.Body()
	if b.Framing() != h1.FramingLength && b.Framing() != h1.FramingClose {
		return 0, false, nil
	}
	din, sin := rawTCP(dst.Conn), rawTCP(src.Conn)
	if din == nil || sin == nil {
		return 0, false, nil
	}
	for rd.Buffered() > 0 && !b.Done() {
		n, rerr := b.Read(s.copyBuf)
		if n > 0 {
			total += int64(n)
			if _, werr := dst.Write(s.copyBuf[:n]); werr != nil {
				return total, true, &writeError{werr}
			}
		}
		if rerr == io.EOF {
			return total, true, nil
		}
		if rerr != nil {
			return total, true, rerr
		}
	}
	rem, ok := b.Direct()
	if !ok || rem >= 0 && rem < spliceMin {
		return total, b.Done(), nil
	}
	if !s.fe.rt.pipes.take() {
		return total, false, nil
	}
	moved, eof, err := spliceConns(din, sin, rem, src.rto, dst.wto)
	s.fe.rt.pipes.put()
	if err != nil && moved == 0 && spliceUnsupported(err) {
		return total, false, nil
	}
	b.Moved(moved, eof)
	src.rn += moved // "bytes in" of the client side counts what it read
	s.countSpliced(moved, fromClient, be, srv)
	total += moved
	if err == nil && eof && b.Framing() == h1.FramingLength {
		err = io.ErrUnexpectedEOF
	}
	return total, true, err
}

// countSpliced adds n spliced bytes to the h1_spliced_bytes counters: in
// on the side they came from, out on the side they went to.
func (s *httpSession) countSpliced(n int64, fromClient bool, be *backend, srv *server) {
	if n == 0 {
		return
	}
	if fromClient {
		s.fe.stats.h1.splicedIn.Add(n)
		be.stats.h1.splicedOut.Add(n)
		if srv != nil {
			srv.stats.h1.splicedOut.Add(n)
		}
		return
	}
	be.stats.h1.splicedIn.Add(n)
	if srv != nil {
		srv.stats.h1.splicedIn.Add(n)
	}
	s.fe.stats.h1.splicedOut.Add(n)
}

// tunnelCopy copies one direction of a tunnel (after a 101 or a
// CONNECT): the bytes rd holds first, then, when splice allows it and
// both ends are plain TCP sockets, spliced until src ends; otherwise
// copied.
func (s *httpSession) tunnelCopy(dst net.Conn, rd *h1.Reader, src net.Conn, timeout time.Duration, splice, fromClient bool, be *backend, srv *server) (int64, error) {
	din, sin := rawTCP(dst), rawTCP(src)
	if !splice || din == nil || sin == nil || !s.fe.rt.pipes.take() {
		return copyTimed(dst, rd, src, timeout)
	}
	defer s.fe.rt.pipes.put()
	var total int64
	if k := rd.Buffered(); k > 0 {
		buf := make([]byte, k)
		n, _ := rd.Read(buf)
		w, err := dst.Write(buf[:n])
		total += int64(w)
		if err != nil {
			return total, err
		}
	}
	moved, _, err := spliceConns(din, sin, -1, timeout, 0)
	if fromClient {
		s.tc.rn += moved // "bytes in", as the copy through s.rd counts them
	}
	s.countSpliced(moved, fromClient, be, srv)
	return total + moved, err
}
