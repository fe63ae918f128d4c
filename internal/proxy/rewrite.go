package proxy

import (
	"bulwark/internal/h1"
	"bulwark/internal/model"
	"bulwark/internal/rules"
)

// HAProxy keeps a message in one buffer of tune.bufsize bytes; reads
// never fill it past tune.bufsize - tune.maxrewrite, and the rest is the
// room header rewrites may take (CM 3.2). A rewrite that would make the
// message larger than the buffer fails: a 500 under strict-mode, else it
// is skipped, and either way it counts in "wrew". Bulwark applies the
// same bound to the message as such a buffer would hold it when the rules
// run: the head as rewritten so far, plus the body bytes received by then
// (read ahead, or waiting in the reader), no more of them than the reads
// would have let in.

// defaultMaxRewrite is HAProxy's tune.maxrewrite when none is set.
const defaultMaxRewrite = 1024

// rewriteReserve is tune.maxrewrite as HAProxy applies it: 1024 unless
// set (Bulwark reads an explicit 0 as unset), and never more than half
// of tune.bufsize.
func rewriteReserve(g model.Global) int {
	r := g.MaxRewrite
	if r <= 0 {
		r = defaultMaxRewrite
	}
	return min(r, g.BufSize/2)
}

// Room implements rules.RewriteTxn: how many bytes the request (resp
// false) or response may still grow by within tune.bufsize.
func (s *httpSession) Room(resp bool) int {
	size := s.fe.bufSize
	var head, body int
	if resp {
		r := &s.m.resp
		head = len("HTTP/1.1 000 \r\n") + len(r.Reason) + headerSize(r.Headers)
		body = len(s.respBody)
		if sc := s.exchSC; sc != nil {
			body += pendingBody(sc.rd, r.Body, r.ContentLength-int64(len(s.respBody)))
		}
	} else {
		r := &s.m.req
		head = len(r.Method) + len(r.Target) + len("  HTTP/1.1\r\n") + headerSize(r.Headers)
		body = len(s.body)
		if r.Framing() != h1.FramingNone {
			body += pendingBody(s.rd, r.Framing(), r.ContentLength-int64(len(s.body)))
		}
	}
	// The reads stopped at the reserve after the head as received: what
	// Bulwark holds beyond it (it reads ahead up to tune.bufsize) is not
	// in HAProxy's buffer.
	i := 0
	if resp {
		i = 1
	}
	if s.head0[i] == 0 {
		s.head0[i] = head
	}
	body = min(body, max(size-s.fe.maxRewrite-s.head0[i], 0))
	return size - head - body
}

// pendingBody is how many bytes of the body in progress rd holds:
// everything it buffered, except past the end of a body of known length
// (a pipelined request).
func pendingBody(rd *h1.Reader, framing h1.Framing, left int64) int {
	n := rd.Buffered()
	if framing == h1.FramingLength {
		n = int(min(int64(n), max(left, 0)))
	} else if rd.Body().Done() {
		n = 0
	}
	return n
}

// headerSize is what the fields take on the wire, with the blank line.
func headerSize(hs []h1.Header) int {
	n := 2
	for i := range hs {
		n += len(hs[i].Name) + len(hs[i].Value) + 4
	}
	return n
}

// RewriteFailed implements rules.RewriteTxn: the frontend, the backend
// and, for a response, the server count it ("wrew").
func (s *httpSession) RewriteFailed() {
	s.fe.stats.wrew.Add(1)
	if be := s.curBE; be != nil {
		be.stats.wrew.Add(1)
	}
	if s.inResp && s.m.ent.srv != nil {
		s.m.ent.srv.stats.wrew.Add(1)
	}
}

var _ rules.RewriteTxn = (*httpSession)(nil)
