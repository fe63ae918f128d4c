package proxy

import (
	"bytes"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"bulwark/internal/h1"
	"bulwark/internal/h2up"
)

// h2Stream is one client stream: the request decoded from its header
// block, its body as DATA frames arrive, and, as the net.Conn its session
// writes to, the response turned into HEADERS and DATA frames.
type h2Stream struct {
	h    *h2Conn
	id   uint32
	cond sync.Cond // on h.mu: data, window, reset, deadline

	// The request, decoded by the reader goroutine before the handler
	// starts.
	method, path, authority, scheme []byte
	pseudo                          uint8 // pseudo fields seen
	regular                         bool  // a regular field was seen
	bad                             http2.ErrCode
	hdrs                            []h1.Header
	buf                             []byte // names and values of hdrs
	cookie                          int    // index of the merged cookie field, -1
	host                            []byte
	hosts                           int
	declLen                         int64 // content-length, -1
	expect100                       bool
	tooBig                          bool
	endAtHead                       bool

	// Receive side, under h.mu.
	rdata    []byte
	roff     int
	rclosed  bool  // END_STREAM received
	rerr     error // reset, or the connection gone
	recvd    int64
	recvWin  int64
	unacked  int64 // consumed bytes not yet given back in WINDOW_UPDATE
	trailers []h1.Header
	body     *h1.BodyReader // the session's, for the trailers

	// Send side, under h.mu.
	sendWin int64
	wclosed bool // END_STREAM or RST_STREAM sent
	waiting bool
	// waitingClose: Close was called, maybe from another goroutine: a
	// write waiting for the window gives up.
	waitingClose bool
	rdl, wdl     time.Time
	timer        *time.Timer

	// watched is the server connection of the exchange in progress,
	// closed when the client resets the stream or its connection goes:
	// the exchange is then abandoned, as HAProxy does for an aborted h2
	// stream (and a rapid reset cannot keep server exchanges running).
	// aborted: that happened (or the stream was closed). Under h.mu.
	watched net.Conn
	aborted bool

	// The response, converted by the session's goroutine (wmu).
	wmu    sync.Mutex
	rc     respConv
	closed bool
}

func newH2Stream(h *h2Conn, id uint32) *h2Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.freeSt)
	if n == 0 {
		st := &h2Stream{h: h, id: id, cookie: -1, declLen: -1}
		st.cond.L = &h.mu
		return st
	}
	// A stream whose handler is done: nothing refers to it any more but
	// its timer, whose function takes mu (held here) and only wakes.
	st := h.freeSt[n-1]
	h.freeSt[n-1] = nil
	h.freeSt = h.freeSt[:n-1]
	rc := &st.rc
	*st = h2Stream{h: h, id: id, cookie: -1, declLen: -1, hdrs: st.hdrs[:0], buf: st.buf[:0], trailers: st.trailers[:0],
		timer: st.timer, rc: respConv{dc: rc.dc, fields: rc.fields[:0], trl: rc.trl[:0], names: rc.names[:0]}}
	st.cond.L = &h.mu
	return st
}

const (
	psMethod uint8 = 1 << iota
	psPath
	psScheme
	psAuthority
)

// addField takes one decoded request field, noting the first way the
// request is malformed (RFC 9113 section 8.2 and 8.3).
func (st *h2Stream) addField(f hpack.HeaderField) {
	if st.bad != http2.ErrCodeNo {
		return
	}
	name, value := f.Name, f.Value
	if name == "" {
		st.bad = http2.ErrCodeProtocol
		return
	}
	if name[0] == ':' {
		var bit uint8
		var dst *[]byte
		switch name {
		case ":method":
			bit, dst = psMethod, &st.method
		case ":path":
			bit, dst = psPath, &st.path
		case ":scheme":
			bit, dst = psScheme, &st.scheme
		case ":authority":
			bit, dst = psAuthority, &st.authority
		}
		if bit == 0 || st.regular || st.pseudo&bit != 0 || !validH2Value(value) {
			st.bad = http2.ErrCodeProtocol
			return
		}
		st.pseudo |= bit
		*dst = st.keep(value)
		return
	}
	st.regular = true
	if !validH2Name(name) || !validH2Value(value) {
		st.bad = http2.ErrCodeProtocol
		return
	}
	switch name {
	case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
		// Connection-specific fields have no meaning in HTTP/2; forwarded
		// to an HTTP/1.1 server they would change the framing.
		st.bad = http2.ErrCodeProtocol
		return
	case "te":
		if value != "trailers" {
			st.bad = http2.ErrCodeProtocol
			return
		}
	case "content-length":
		n, ok := h1.ParseDecimal([]byte(value))
		if !ok || (st.declLen >= 0 && st.declLen != n) {
			st.bad = http2.ErrCodeProtocol
			return
		}
		st.declLen = n
	case "host":
		st.hosts++
		st.host = st.keep(value)
	case "expect":
		st.expect100 = st.expect100 || bytes.EqualFold([]byte(value), []byte("100-continue"))
	case "cookie":
		// HTTP/2 may split the cookie field; HTTP/1.1 has it once
		// (RFC 9113 section 8.2.3).
		if st.cookie >= 0 {
			old := st.hdrs[st.cookie].Value
			off := len(st.buf)
			st.buf = append(append(append(st.buf, old...), ';', ' '), value...)
			st.hdrs[st.cookie].Value = st.buf[off:len(st.buf):len(st.buf)]
			return
		}
		st.cookie = len(st.hdrs)
	}
	st.hdrs = append(st.hdrs, h1.Header{Name: st.keep(name), Value: st.keep(value)})
}

// keep copies s into the stream's field storage. Earlier slices stay
// valid when the storage grows (they keep the old array).
func (st *h2Stream) keep(s string) []byte {
	if st.buf == nil {
		st.buf = make([]byte, 0, 512)
	}
	off := len(st.buf)
	st.buf = append(st.buf, s...)
	return st.buf[off:len(st.buf):len(st.buf)]
}

func validH2Name(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= 'A' && c <= 'Z' || !isTcharByte(c) {
			return false
		}
	}
	return true
}

func isTcharByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validH2Value refuses the bytes that would end or split a field once
// the request is written as HTTP/1.1 (RFC 9113 section 8.2.1), and the
// other control bytes HTTP/1.1 requests may not carry either.
func validH2Value(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// checkRequest completes the request once its header block is decoded;
// a code other than ErrCodeNo is the stream error that refuses it.
func (st *h2Stream) checkRequest(end bool) http2.ErrCode {
	st.endAtHead = end
	if st.tooBig {
		return http2.ErrCodeNo // answered 431 by the session
	}
	if st.bad != http2.ErrCodeNo {
		return st.bad
	}
	if st.pseudo&psMethod == 0 {
		return http2.ErrCodeProtocol
	}
	if string(st.method) == "CONNECT" {
		if st.pseudo&(psPath|psScheme) != 0 || st.pseudo&psAuthority == 0 {
			return http2.ErrCodeProtocol
		}
	} else {
		if st.pseudo&(psPath|psScheme) != psPath|psScheme || len(st.path) == 0 {
			return http2.ErrCodeProtocol
		}
		if st.path[0] != '/' && !(string(st.path) == "*" && string(st.method) == "OPTIONS") {
			return http2.ErrCodeProtocol
		}
	}
	if st.pseudo&psAuthority != 0 {
		if !validAuthority(st.authority) {
			return http2.ErrCodeProtocol
		}
		if st.hosts > 1 || st.hosts == 1 && !bytes.EqualFold(st.host, st.authority) {
			// A Host naming another site than :authority (RFC 9113
			// section 8.3.1): one of them would be routed, the other seen.
			return http2.ErrCodeProtocol
		}
	} else if st.hosts > 1 {
		return http2.ErrCodeProtocol
	}
	if end && st.declLen > 0 {
		return http2.ErrCodeProtocol
	}
	return http2.ErrCodeNo
}

// validAuthority accepts host[:port] without userinfo, as RFC 9113
// section 8.3.1 requires.
func validAuthority(a []byte) bool {
	if len(a) == 0 {
		return false
	}
	for _, c := range a {
		if c <= ' ' || c >= 0x7f {
			return false
		}
		switch c {
		case '/', '?', '#', '@', '\\', '"', '<', '>', '{', '}', '|', '^', '`':
			return false
		}
	}
	return true
}

var errH2Connect = &h1.ParseError{Code: h1.CodeBadMethod, Status: 501, Reason: "CONNECT over HTTP/2 is not supported"}

// takeRequest fills the session's request from the stream and starts its
// body on rd.
func (st *h2Stream) takeRequest(req *h1.Request, rd *h1.Reader) error {
	hs := req.Headers[:0]
	*req = h1.Request{Headers: hs, ContentLength: -1, Major: 2, Minor: 0, KeepAlive: true}
	req.Method, req.Target = st.method, st.path
	if st.tooBig {
		rd.StartBody(0)
		return &h1.ParseError{Code: h1.CodeHeaderTooLarge, Status: 431, Reason: "header list larger than tune.bufsize"}
	}
	if string(st.method) == "CONNECT" {
		rd.StartBody(0)
		return errH2Connect
	}
	if st.pseudo&psAuthority != 0 {
		req.Host, req.HasHost = st.authority, true
		// The name in the stream's storage: a []byte("host") would be an
		// allocation a request.
		req.Headers = append(req.Headers, h1.Header{Name: st.keep("host"), Value: st.authority})
		for _, h := range st.hdrs {
			if string(h.Name) != "host" {
				req.Headers = append(req.Headers, h)
			}
		}
	} else {
		req.Headers = append(req.Headers, st.hdrs...)
		req.Host, req.HasHost = st.host, st.hosts == 1
	}
	req.Expect100 = st.expect100 && !st.endAtHead
	st.body = rd.Body()
	switch {
	case st.declLen >= 0:
		req.ContentLength = st.declLen
		rd.StartBody(st.declLen)
	case st.endAtHead:
		rd.StartBody(0)
	default:
		// No length and more to come: the server gets it chunked.
		req.Chunked = true
		rd.StartBody(-1)
	}
	return nil
}

// h2Worker is a goroutine whose stream is done, waiting with its session
// for the next stream of the connection (a goroutine a stream cost its
// creation and its stack grown again every time).
type h2Worker struct {
	cond sync.Cond // on h.mu
	next *h2Stream
	quit bool
}

// dispatch hands a new stream to a waiting worker, or to a new goroutine;
// mu held.
func (h *h2Conn) dispatch(st *h2Stream) {
	if n := len(h.idleW); n > 0 {
		w := h.idleW[n-1]
		h.idleW[n-1] = nil
		h.idleW = h.idleW[:n-1]
		w.next = st
		w.cond.Signal()
		return
	}
	go h.runStream(st)
}

// runStream serves st, then waits for the next stream of the connection
// (dispatch) with the same session, until the connection is quiet or
// done.
func (h *h2Conn) runStream(st *h2Stream) {
	fe := h.fe
	var w *h2Worker
	s := h.session(st)
	for {
		fe.rt.active.Add(1)
		s.serveOne()
		st.Close()
		fe.rt.active.Done()
		// The session serves the next stream of this connection, with its
		// buffers, rule state and server connection, as a keep-alive
		// session serves the next request; one with bytes left in its
		// reader is not clean and ends.
		s.releaseTracked(true)
		keep := s.rd.Release()
		h.mu.Lock()
		// The stream is about to serve another request: the session lets
		// go of it.
		s.c, s.h2s, s.tc.Conn = nil, nil, nil
		h.streamDone(st)
		if !keep || h.dead {
			h.mu.Unlock()
			s.finish()
			return
		}
		if w == nil {
			w = &h2Worker{}
			w.cond.L = &h.mu
		}
		w.next, w.quit = nil, false
		h.idleW = append(h.idleW, w)
		for w.next == nil && !w.quit {
			w.cond.Wait()
		}
		st = w.next
		if st == nil {
			// Quiet or done: the session stays, without a goroutine.
			s.releaseIdle()
			h.free = append(h.free, s)
			h.quitting--
			h.ended.Broadcast()
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		s.nextStream(st)
	}
}

// streamDone accounts for a stream whose handler is done; mu held.
func (h *h2Conn) streamDone(st *h2Stream) {
	fe := h.fe
	// Closed and out of h.streams: neither the session nor a frame
	// reaches the body buffer any more.
	if st.rdata != nil {
		fe.rt.putCopyBuf(st.rdata[:cap(st.rdata)])
		st.rdata, st.roff = nil, 0
	}
	h.active--
	h.cnt.Stream(-1)
	if len(h.freeSt) < fe.rt.model.Global.H2.MaxConcurrentStreams {
		h.freeSt = append(h.freeSt, st)
	}
	if h.active == 0 {
		h.ended.Broadcast()
		if !h.dead {
			if h.goaway {
				// A soft stop sent GOAWAY: the last stream is done.
				h.closing = true
				h.wcond.Broadcast()
				h.c.SetReadDeadline(time.Now())
			} else if to := h.idleTimeout(); to > 0 {
				h.idleSet = true
				h.c.SetReadDeadline(time.Now().Add(to))
			}
			if h.idleTimer == nil {
				h.idleTimer = time.AfterFunc(parkAfter, h.quiet)
			} else {
				h.idleTimer.Reset(parkAfter)
			}
		}
	}
}

// stopWorkers tells the waiting workers to leave their sessions in free
// and end; mu held.
func (h *h2Conn) stopWorkers() {
	for i, w := range h.idleW {
		w.quit = true
		w.cond.Signal()
		h.idleW[i] = nil
		h.quitting++
	}
	h.idleW = h.idleW[:0]
}

// session returns the session that serves st: one that a finished stream
// of this connection left, or a new one.
func (h *h2Conn) session(st *h2Stream) *httpSession {
	h.mu.Lock()
	var s *httpSession
	if n := len(h.free); n > 0 {
		s = h.free[n-1]
		h.free[n-1] = nil
		h.free = h.free[:n-1]
	}
	h.mu.Unlock()
	if s == nil {
		ci := h.ci
		ci.h2s = st
		return h.fe.newSession(st, ci)
	}
	s.nextStream(st)
	return s
}

// quiet runs when the connection has had no stream for a while: the
// sessions kept for the next streams give their server connections and
// buffers back, as a parked keep-alive session does.
func (h *h2Conn) quiet() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.active > 0 || h.dead {
		return
	}
	h.stopWorkers()
	for _, s := range h.free {
		s.releaseIdle()
	}
}

// endSessions finishes the sessions kept for the next streams once the
// connection is done; mu held (and released while they finish).
func (h *h2Conn) endSessions() {
	if h.idleTimer != nil {
		h.idleTimer.Stop()
	}
	h.stopWorkers()
	for h.quitting > 0 {
		h.ended.Wait()
	}
	free := h.free
	h.free = nil
	h.mu.Unlock()
	for _, s := range free {
		s.finish()
	}
	h.mu.Lock()
}

func (h *h2Conn) idleTimeout() time.Duration {
	if h.fe.keepAliveTimeout > 0 {
		return h.fe.keepAliveTimeout
	}
	return h.fe.clientTimeout
}

// fail ends the stream for its session (reset by the client, or the
// connection gone); mu held.
func (st *h2Stream) fail(err error) {
	if st.rerr == nil {
		st.rerr = err
	}
	st.abort()
	st.cond.Broadcast()
}

// abort closes the watched server connection; mu held. The close runs on
// its own goroutine: a TLS server connection may block sending its alert.
func (st *h2Stream) abort() {
	st.aborted = true
	if c := st.watched; c != nil {
		st.watched = nil
		go c.Close()
	}
}

// watch registers c as the server connection of the exchange that starts;
// it reports false when the stream is already aborted.
func (st *h2Stream) watch(c net.Conn) bool {
	st.h.mu.Lock()
	defer st.h.mu.Unlock()
	if st.aborted {
		return false
	}
	st.watched = c
	return true
}

// unwatch ends the exchange's registration; it reports whether the stream
// was aborted meanwhile.
func (st *h2Stream) unwatch() bool {
	st.h.mu.Lock()
	defer st.h.mu.Unlock()
	st.watched = nil
	return st.aborted
}

// wait blocks on the stream's condition until woken or the deadline d
// passes; mu held. It reports false once d has passed.
func (st *h2Stream) wait(d time.Time) bool {
	return h2up.WaitUntil(&st.cond, &st.timer, d)
}

func (st *h2Stream) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "h2", Err: err}
}

// Read returns request body bytes (the session reads nothing else).
func (st *h2Stream) Read(p []byte) (int, error) {
	h := st.h
	h.mu.Lock()
	defer h.mu.Unlock()
	for st.roff == len(st.rdata) && !st.rclosed && st.rerr == nil {
		if !st.wait(st.rdl) {
			return 0, st.opErr("read", os.ErrDeadlineExceeded)
		}
	}
	if st.roff < len(st.rdata) {
		n := copy(p, st.rdata[st.roff:])
		st.roff += n
		if st.roff == len(st.rdata) {
			st.rdata, st.roff = st.rdata[:0], 0
		}
		st.unacked += int64(n)
		if !st.rclosed && st.rerr == nil && st.unacked >= int64(h.fe.rt.model.Global.H2.InitialWindowSize)/2 && h.room() {
			h.wfr.WriteWindowUpdate(st.id, uint32(st.unacked))
			st.recvWin += st.unacked
			st.unacked = 0
			h.wcond.Broadcast()
		}
		return n, nil
	}
	if st.rerr != nil {
		return 0, st.opErr("read", st.rerr)
	}
	if len(st.trailers) > 0 && st.body != nil {
		// The trailers end the body, for CopyBody to send after it.
		st.body.SetTrailers(st.trailers)
	}
	return 0, io.EOF
}

func (st *h2Stream) Write(p []byte) (int, error) {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if st.closed {
		return 0, st.opErr("write", net.ErrClosed)
	}
	if err := st.rc.write(st, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (st *h2Stream) Close() error {
	h := st.h
	h.mu.Lock()
	if st.rerr == nil && !st.wclosed {
		// Another goroutine closing (a "shutdown session") must not wait
		// for a write stalled on the window.
		st.waitingClose = true
		st.cond.Broadcast()
	}
	h.mu.Unlock()
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if st.closed {
		return nil
	}
	st.closed = true
	st.rc.finish(st)
	h.mu.Lock()
	if st.timer != nil {
		st.timer.Stop()
	}
	st.abort()
	if h.streams[st.id] == st {
		delete(h.streams, st.id)
	}
	h.mu.Unlock()
	return nil
}

func (st *h2Stream) LocalAddr() net.Addr  { return st.h.c.LocalAddr() }
func (st *h2Stream) RemoteAddr() net.Addr { return st.h.c.RemoteAddr() }
func (st *h2Stream) SetDeadline(t time.Time) error {
	st.SetReadDeadline(t)
	return st.SetWriteDeadline(t)
}

func (st *h2Stream) SetReadDeadline(t time.Time) error {
	st.h.mu.Lock()
	st.rdl = t
	st.cond.Broadcast()
	st.h.mu.Unlock()
	return nil
}

func (st *h2Stream) SetWriteDeadline(t time.Time) error {
	st.h.mu.Lock()
	st.wdl = t
	st.cond.Broadcast()
	st.h.mu.Unlock()
	return nil
}

// sendHeaders queues a HEADERS frame (and CONTINUATION frames when the
// block exceeds the client's frame size) with the fields of fs. more: the
// same write has body bytes for sendData, which wakes the writer; the
// frames then leave together, in one TLS record.
func (st *h2Stream) sendHeaders(status int, fs []h1.Header, end, more bool) error {
	h := st.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.room() || st.rerr != nil || st.wclosed {
		return st.opErr("write", errH2StreamReset)
	}
	h.hblk = h.hblk[:0]
	if status > 0 {
		h.hblk = appendHPACKStatus(h.hblk, status)
	}
	for _, f := range fs {
		h.hblk = appendHPACKField(h.hblk, f.Name, f.Value)
	}
	blk := h.hblk
	first := true
	for first || len(blk) > 0 {
		n := min(len(blk), h.peerMax)
		frag := blk[:n]
		blk = blk[n:]
		if first {
			h.wfr.WriteHeaders(http2.HeadersFrameParam{StreamID: st.id, BlockFragment: frag, EndStream: end, EndHeaders: len(blk) == 0})
			first = false
		} else {
			h.wfr.WriteContinuation(st.id, len(blk) == 0, frag)
		}
	}
	if end {
		st.wclosed = true
	}
	if !more {
		h.wcond.Broadcast()
	}
	return nil
}

// sendData queues b as DATA frames within the flow-control windows,
// waiting for the client to open them until the write deadline.
func (st *h2Stream) sendData(b []byte, end bool) error {
	h := st.h
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(b) > 0 || end {
		var n int
		for {
			if st.rerr != nil || h.dead || st.wclosed || st.waitingClose {
				return st.opErr("write", errH2StreamReset)
			}
			n = int(min(int64(len(b)), st.sendWin, h.sendConn, int64(h.peerMax)))
			if (n > 0 || len(b) == 0) && len(h.out) < outLimit {
				break
			}
			// What is queued (this stream's HEADERS among it) goes out
			// while this waits.
			h.wcond.Broadcast()
			st.waiting = true
			ok := st.wait(st.wdl)
			st.waiting = false
			if !ok {
				return st.opErr("write", os.ErrDeadlineExceeded)
			}
		}
		last := end && n == len(b)
		h.wfr.WriteData(st.id, last, b[:n])
		st.sendWin -= int64(n)
		h.sendConn -= int64(n)
		b = b[n:]
		h.wcond.Broadcast()
		if last {
			st.wclosed = true
			return nil
		}
	}
	return nil
}

// finishStream ends the stream after its session: END_STREAM when the
// response is complete, RST_STREAM otherwise; a client still sending its
// body is told to stop (NO_ERROR).
func (st *h2Stream) finishStream(complete bool) {
	h := st.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if st.wclosed || st.rerr != nil {
		if st.wclosed && !st.rclosed && st.rerr == nil && complete {
			h.resetStream(st.id, http2.ErrCodeNo)
		}
		return
	}
	if complete {
		if h.room() {
			h.wfr.WriteData(st.id, true, nil)
			h.wcond.Broadcast()
		}
		st.wclosed = true
		if !st.rclosed {
			h.resetStream(st.id, http2.ErrCodeNo)
		}
		return
	}
	h.resetStream(st.id, http2.ErrCodeInternal)
}

// respConv turns the HTTP/1.1 response the session writes into HEADERS
// and DATA frames. The session writes what Bulwark itself built (the
// server's head re-serialised, or a page of its own), so the head is
// found and split without the checks a server's bytes need.
type respConv struct {
	state     uint8
	head      []byte // head bytes gathered so far
	scan      int    // head bytes already searched for its end
	remaining int64
	dc        h1.Dechunker
	fields    []h1.Header
	trl       []h1.Header
	names     []byte // lower-cased names of fields
}

const (
	rcHead uint8 = iota
	rcLength
	rcChunked
	rcClose
	rcDone
)

// maxRespHead bounds a head the session writes (its own buffers are
// smaller).
const maxRespHead = 256 << 10

var errRespHead = &net.OpError{Op: "write", Net: "h2", Err: errBadResponse}

func (rc *respConv) write(st *h2Stream, p []byte) error {
	for len(p) > 0 {
		switch rc.state {
		case rcHead:
			if len(rc.head) == 0 {
				if i := bytes.Index(p, crlfcrlf); i >= 0 {
					// The usual case: the head whole in one write.
					rest, err := rc.headDone(st, p[:i+4], p[i+4:])
					if err != nil {
						return err
					}
					p = rest
					continue
				}
			}
			rc.head = append(rc.head, p...)
			p = nil
			i := bytes.Index(rc.head[max(rc.scan-3, 0):], crlfcrlf)
			if i < 0 {
				rc.scan = len(rc.head)
				if len(rc.head) > maxRespHead {
					return errRespHead
				}
				continue
			}
			i += max(rc.scan-3, 0)
			rc.scan = 0
			head := rc.head
			rc.head = nil
			rest, err := rc.headDone(st, head[:i+4], head[i+4:])
			if err != nil {
				return err
			}
			p = rest
		case rcLength:
			n := min(int64(len(p)), rc.remaining)
			rc.remaining -= n
			if err := st.sendData(p[:n], rc.remaining == 0); err != nil {
				return err
			}
			p = p[n:]
			if rc.remaining == 0 {
				rc.state = rcDone
			}
		case rcClose:
			if err := st.sendData(p, false); err != nil {
				return err
			}
			p = nil
		case rcChunked:
			var err error
			if p, err = rc.chunked(st, p); err != nil {
				return err
			}
		default:
			p = nil
		}
	}
	return nil
}

var crlfcrlf = []byte("\r\n\r\n")

// headDone sends one response head (a 1xx one leaves the state at
// rcHead) and returns the bytes after it.
func (rc *respConv) headDone(st *h2Stream, head, rest []byte) ([]byte, error) {
	line, head, _ := bytes.Cut(head, []byte("\r\n"))
	if len(line) < 12 {
		return nil, errRespHead
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return nil, errRespHead
	}
	rc.fields, rc.names = rc.fields[:0], rc.names[:0]
	length, chunked := int64(-1), false
	for len(head) > 0 {
		var l []byte
		l, head, _ = bytes.Cut(head, []byte("\r\n"))
		if len(l) == 0 {
			break
		}
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			return nil, errRespHead
		}
		value = bytes.TrimSpace(value)
		off := len(rc.names)
		for _, c := range name {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			rc.names = append(rc.names, c)
		}
		ln := rc.names[off:len(rc.names):len(rc.names)]
		switch string(ln) {
		case "connection", "keep-alive", "proxy-connection", "upgrade", "http2-settings":
			continue
		case "transfer-encoding":
			chunked = true
			continue
		case "content-length":
			if n, ok := h1.ParseDecimal(value); ok {
				length = n
			}
		}
		rc.fields = append(rc.fields, h1.Header{Name: ln, Value: value})
	}
	if status < 200 {
		if err := st.sendHeaders(status, rc.fields, false, false); err != nil {
			return nil, err
		}
		return rest, nil
	}
	noBody := string(st.method) == "HEAD" || status == 204 || status == 304 || (!chunked && length == 0)
	switch {
	case noBody:
		rc.state = rcDone
	case chunked:
		rc.state = rcChunked
		rc.dc.Reset(maxRespHead)
	case length > 0:
		rc.state, rc.remaining = rcLength, length
	default:
		rc.state = rcClose
	}
	if err := st.sendHeaders(status, rc.fields, noBody, (rc.state == rcLength || rc.state == rcClose) && len(rest) > 0); err != nil {
		return nil, err
	}
	return rest, nil
}

// chunked removes the chunked framing the session wrote (HTTP/2 frames
// the body itself); the trailers become a last HEADERS frame.
func (rc *respConv) chunked(st *h2Stream, p []byte) ([]byte, error) {
	ev, b, rest, err := rc.dc.Next(p)
	if err != nil {
		return nil, errRespHead
	}
	switch ev {
	case h1.DechunkData:
		return rest, st.sendData(b, false)
	case h1.DechunkTrailer:
		name, value, _ := bytes.Cut(b, []byte(":"))
		rc.trl = append(rc.trl, h1.Header{Name: bytes.ToLower(name), Value: bytes.Clone(bytes.TrimSpace(value))})
	case h1.DechunkEnd:
		rc.state = rcDone
		if len(rc.trl) > 0 {
			return rest, st.sendHeaders(0, rc.trl, true, false)
		}
		return rest, st.sendData(nil, true)
	}
	return rest, nil
}

// finish ends the stream when its session closes it.
func (rc *respConv) finish(st *h2Stream) {
	st.finishStream(rc.state == rcDone || rc.state == rcClose)
}
