package h2up

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"bulwark/internal/h1"
)

// Stream is one request and its response, seen as an HTTP/1.1 exchange:
// Write takes the request (head, then body: Content-Length or chunked),
// Read gives the response.
type Stream struct {
	c    *Conn
	id   uint32
	raw  bool
	cond sync.Cond // on c.mu

	// Request conversion, by the writing goroutine (wmu).
	wmu       sync.Mutex
	ws        uint8
	whead     []byte
	remaining int64
	dc        h1.Dechunker
	trl       []byte // trailer block being built

	// Under c.mu.
	method  string
	sendWin int64
	wclosed bool // END_STREAM (or RST_STREAM) sent
	waiting bool
	closed  bool
	rdl     time.Time
	wdl     time.Time
	timer   *time.Timer

	head     bool // the final response head arrived
	noBody   bool
	chunked  bool
	declLen  int64
	recvd    int64
	dataIn   int64 // DATA payload received and not yet given back
	padding  int64
	recvWin  int64
	in       []byte
	off      int
	rclosed  bool
	rerr     error
	sentHead bool
}

const (
	wsHead uint8 = iota
	wsLength
	wsChunked
	wsDone
)

// maxHead bounds a request head written on a stream (the session's own
// buffers are smaller).
const maxHead = 1 << 20

var (
	errBadRequest = errors.New("h2: request cannot be sent over HTTP/2")
	errCalm       = errors.New("h2: server sent more than the stream can hold")
)

func (st *Stream) opErr(op string, err error) error { return &net.OpError{Op: op, Net: "h2", Err: err} }

// fail ends the stream with err; c.mu held.
func (st *Stream) fail(err error) {
	if st.rerr == nil {
		st.rerr = err
	}
	st.cond.Broadcast()
}

// Err is what ended the stream early (ErrRefused, ErrReset, ErrGone), nil
// while it goes on or once it completed.
func (st *Stream) Err() error {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	return st.rerr
}

// wait blocks until woken or the deadline d passes; c.mu held. False once
// d has passed.
func (st *Stream) wait(d time.Time) bool {
	return WaitUntil(&st.cond, &st.timer, d)
}

// Read returns response bytes in HTTP/1.1 form.
func (st *Stream) Read(p []byte) (int, error) {
	h := st.c
	h.mu.Lock()
	defer h.mu.Unlock()
	for st.off == len(st.in) && !st.rclosed && st.rerr == nil && !st.closed {
		if !st.wait(st.rdl) {
			return 0, st.opErr("read", os.ErrDeadlineExceeded)
		}
	}
	if st.off < len(st.in) {
		n := copy(p, st.in[st.off:])
		st.off += n
		if st.off == len(st.in) {
			st.in, st.off = st.in[:0], 0
		}
		st.giveBack()
		return n, nil
	}
	if st.rerr != nil {
		return 0, st.opErr("read", st.rerr)
	}
	if st.closed {

		return 0, st.opErr("read", net.ErrClosed)
	}
	return 0, io.EOF
}

// giveBack opens the stream's window again for what the session has
// read; c.mu held. The bytes still buffered are counted as if they were
// all body, so the credit never exceeds what was really consumed: the
// buffer holds at most a window of body (and the heads).
func (st *Stream) giveBack() {
	h := st.c
	if st.rclosed || st.rerr != nil || h.dead {
		return
	}
	credit := max(st.dataIn-int64(len(st.in)-st.off), 0)
	total := credit + st.padding
	win := int64(h.cfg.InitialWindowSize)
	if total == 0 || total < win/4 && !(len(st.in) == st.off && st.recvWin < win/2) {
		return
	}
	if !h.ctl() {
		return
	}
	h.wfr.WriteWindowUpdate(st.id, uint32(total))
	st.recvWin += total
	st.dataIn -= credit
	st.padding = 0
	h.wcond.Broadcast()
}

// Write takes request bytes as HTTP/1.1.
func (st *Stream) Write(p []byte) (int, error) {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	// What the write queued goes out at its end, in one write.
	defer func() {
		st.c.mu.Lock()
		st.c.flush()
		st.c.mu.Unlock()
	}()
	n := len(p)
	for len(p) > 0 {
		switch st.ws {
		case wsHead:
			st.whead = append(st.whead, p...)
			p = nil
			i := bytes.Index(st.whead, []byte("\r\n\r\n"))
			if i < 0 {
				if len(st.whead) > maxHead {
					return 0, st.opErr("write", errBadRequest)
				}
				continue
			}
			rest := st.whead[i+4:]
			if err := st.sendRequestHead(st.whead[:i+2]); err != nil {
				return 0, err
			}
			p = bytes.Clone(rest)
			st.whead = nil
		case wsLength:
			k := min(int64(len(p)), st.remaining)
			st.remaining -= k
			if err := st.sendData(p[:k], st.remaining == 0); err != nil {
				return 0, err
			}
			p = p[k:]
			if st.remaining == 0 {
				st.ws = wsDone
			}
		case wsChunked:
			var err error
			if p, err = st.dechunk(p); err != nil {
				return 0, err
			}
		default:
			p = nil
		}
	}
	return n, nil
}

// sendRequestHead turns the head (request line and fields, each ending in
// CRLF) into a HEADERS block.
func (st *Stream) sendRequestHead(head []byte) error {
	line, head, _ := bytes.Cut(head, []byte("\r\n"))
	method, rest, ok1 := bytes.Cut(line, []byte(" "))
	target, _, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 || string(method) == "CONNECT" {
		return st.opErr("write", errBadRequest)
	}
	var authority, path []byte
	switch {
	case target[0] == '/' || string(target) == "*":
		path = target
	default:
		// absolute-form: the authority and path are taken from it.
		_, after, ok := bytes.Cut(target, []byte("://"))
		if !ok {
			return st.opErr("write", errBadRequest)
		}
		i := bytes.IndexAny(after, "/?")
		if i < 0 {
			authority, path = after, []byte("/")
		} else {
			authority, path = after[:i], after[i:]
			if path[0] == '?' {
				path = append([]byte("/"), path...)
			}
		}
	}
	fields := make([]byte, 0, len(head)+64)
	length, chunked := int64(-1), false
	var host []byte
	for len(head) > 0 {
		var l []byte
		l, head, _ = bytes.Cut(head, []byte("\r\n"))
		if len(l) == 0 {
			break
		}
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok || len(name) == 0 {
			return st.opErr("write", errBadRequest)
		}
		value = bytes.TrimSpace(value)
		ln := bytes.ToLower(name)
		switch string(ln) {
		case "host":
			host = value
			continue
		case "connection", "keep-alive", "proxy-connection", "upgrade", "http2-settings":
			// Connection-specific: meaningless (and malformed) in HTTP/2.
			continue
		case "transfer-encoding":
			chunked = true
			continue
		case "te":
			// Only "trailers" may go (RFC 9113 section 8.2.2).
			if !containsToken(value, "trailers") {
				continue
			}
			value = []byte("trailers")
		case "content-length":
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return st.opErr("write", errBadRequest)
			}
			length = n
		}
		fields = AppendField(fields, ln, value)
	}
	if host != nil && authority == nil {
		authority = host
	}
	h := st.c
	blk := make([]byte, 0, len(fields)+len(path)+len(authority)+32)
	blk = appendPseudo(blk, ":method", method)
	blk = appendPseudo(blk, ":scheme", []byte(h.cfg.Scheme))
	if len(authority) > 0 {
		blk = appendPseudo(blk, ":authority", authority)
	}
	blk = appendPseudo(blk, ":path", path)
	blk = append(blk, fields...)
	end := false
	switch {
	case chunked:
		st.ws = wsChunked
		st.dc.Reset(maxHead)
	case length > 0:
		st.ws, st.remaining = wsLength, length
	default:
		st.ws, end = wsDone, true
	}
	h.mu.Lock()
	st.method = string(method)
	h.mu.Unlock()
	return st.sendHeaders(blk, end)
}

func containsToken(v []byte, tok string) bool {
	for _, p := range bytes.Split(v, []byte(",")) {
		p, _, _ = bytes.Cut(p, []byte(";"))
		if bytes.EqualFold(bytes.TrimSpace(p), []byte(tok)) {
			return true
		}
	}
	return false
}

// usableFor reports whether the stream can still send; c.mu held.
func (st *Stream) sendable() error {
	h := st.c
	switch {
	case st.rerr != nil:
		return st.opErr("write", st.rerr)
	case h.dead:
		return st.opErr("write", ErrGone)
	case st.closed:
		return st.opErr("write", net.ErrClosed)
	case st.wclosed:
		return st.opErr("write", ErrReset)
	case st.id == 0 && (h.goaway || h.closing || h.nextID >= 1<<31-1):
		// Not opened yet, and the connection takes no new stream: it
		// may go on another one.
		return st.opErr("write", ErrRefused)
	}
	return nil
}

// sendHeaders queues a header block, in HEADERS and CONTINUATION frames
// within the server's frame size.
func (st *Stream) sendHeaders(blk []byte, end bool) error {
	h := st.c
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		if err := st.sendable(); err != nil {
			return err
		}
		// A request head is not held back: only the streams opened so
		// far are woken when the queue drains (bounded by maxHead a
		// stream and the streams allowed).
		if len(h.out) < outLimit || st.id == 0 {
			break
		}
		h.wcond.Broadcast()
		st.waiting = true
		ok := st.wait(st.wdl)
		st.waiting = false
		if !ok {
			return st.opErr("write", os.ErrDeadlineExceeded)
		}
	}
	if st.id == 0 {
		// The stream is opened now: its id follows the ids of the
		// streams whose HEADERS went before, as RFC 9113 section 5.1.1
		// requires (a lower id sent later is a closed stream to the
		// server).
		st.id = h.nextID
		h.nextID += 2
		h.streams[st.id] = st
		st.sendWin = h.peerWin
	}
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
	st.sentHead = true
	return nil
}

// sendData queues b as DATA frames within the flow-control windows,
// waiting for the server to open them until the write deadline.
func (st *Stream) sendData(b []byte, end bool) error {
	h := st.c
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(b) > 0 || end {
		var n int
		for {
			if err := st.sendable(); err != nil {
				return err
			}
			n = int(min(int64(len(b)), st.sendWin, h.sendConn, int64(h.peerMax)))
			if (n > 0 || len(b) == 0) && len(h.out) < outLimit && (h.settled || len(b) == 0) {
				break
			}
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
		if last {
			st.wclosed = true
			return nil
		}
	}
	return nil
}

// dechunk removes the chunked framing of a request body; its trailers go
// as a last HEADERS frame.
func (st *Stream) dechunk(p []byte) ([]byte, error) {
	ev, b, rest, err := st.dc.Next(p)
	if err != nil {
		return nil, st.opErr("write", errBadRequest)
	}
	switch ev {
	case h1.DechunkData:
		return rest, st.sendData(b, false)
	case h1.DechunkTrailer:
		name, value, _ := bytes.Cut(b, []byte(":"))
		ln := bytes.ToLower(bytes.TrimSpace(name))
		if validTrailer(ln) {
			st.trl = AppendField(st.trl, ln, bytes.TrimSpace(value))
		}
	case h1.DechunkEnd:
		st.ws = wsDone
		if len(st.trl) > 0 {
			return rest, st.sendHeaders(st.trl, true)
		}
		return rest, st.sendData(nil, true)
	}
	return rest, nil
}

// validTrailer refuses the fields that may not be trailers in HTTP/2.
func validTrailer(n []byte) bool {
	switch string(n) {
	case "", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host", "content-length":
		return false
	}
	return true
}

// responseHead writes the response head (interim or final) as HTTP/1.1;
// false for a malformed one. c.mu held.
func (st *Stream) responseHead(f *http2.MetaHeadersFrame) bool {
	status := -1
	for _, p := range f.PseudoFields() {
		if p.Name != ":status" || status >= 0 || len(p.Value) != 3 {
			return false
		}
		n, err := strconv.Atoi(p.Value)
		if err != nil || n < 100 {
			return false
		}
		status = n
	}
	if status < 0 || status == 101 {
		// 101 does not exist in HTTP/2 (RFC 9113 section 8.6).
		return false
	}
	if status < 200 && f.StreamEnded() {
		return false
	}
	mark := len(st.in)
	st.in = append(st.in, "HTTP/1.1 "...)
	st.in = strconv.AppendInt(st.in, int64(status), 10)
	st.in = append(st.in, ' ')
	st.in = append(st.in, http.StatusText(status)...)
	st.in = append(st.in, '\r', '\n')
	declLen := int64(-1)
	// A response that announces trailers goes chunked even with a
	// length, which HTTP/1.1 cannot carry them with (Go's server, for
	// one, sends both); the length is still checked against the DATA.
	announced := false
	for _, hf := range f.RegularFields() {
		if hf.Name == "trailer" {
			announced = true
		}
	}
	for _, hf := range f.RegularFields() {
		switch hf.Name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			st.in = st.in[:mark]
			return false
		case "content-length":
			n, err := strconv.ParseInt(hf.Value, 10, 64)
			if err != nil || n < 0 || declLen >= 0 && n != declLen {
				st.in = st.in[:mark]
				return false
			}
			declLen = n
			if announced && !st.raw && status >= 200 && !f.StreamEnded() {
				continue
			}
		}
		st.in = append(st.in, hf.Name...)
		st.in = append(st.in, ':', ' ')
		st.in = append(st.in, hf.Value...)
		st.in = append(st.in, '\r', '\n')
	}
	if status < 200 {
		st.in = append(st.in, '\r', '\n')
		return st.bounded()
	}
	st.head = true
	st.noBody = st.method == "HEAD" || status == 204 || status == 304
	switch {
	case st.noBody:
	case f.StreamEnded():
		if declLen > 0 {
			st.in = st.in[:mark]
			return false
		}
		if declLen < 0 {
			st.in = append(st.in, "content-length: 0\r\n"...)
		}
	case declLen >= 0 && (!announced || st.raw):
		st.declLen = declLen
	case !st.raw:
		st.declLen = declLen
		st.chunked = true
		st.in = append(st.in, "transfer-encoding: chunked\r\n"...)
	}
	st.in = append(st.in, '\r', '\n')
	if f.StreamEnded() {
		st.endBody(nil)
	}
	return st.bounded()
}

// bounded checks what the stream buffers: a window of body and the heads.
// A server that sends interim heads without end while the session is not
// reading is stopped. c.mu held.
func (st *Stream) bounded() bool {
	lim := int(st.c.cfg.InitialWindowSize) + 4*st.c.cfg.MaxHeaderList + 4096
	if len(st.in)-st.off > lim {
		st.fail(errCalm)
		return false
	}
	return true
}

// endBody ends the response; the trailers go after a chunked body (with
// a length, HTTP/1.1 has no place for them). c.mu held.
func (st *Stream) endBody(trailers []hpack.HeaderField) {
	if st.chunked {
		st.in = append(st.in, '0', '\r', '\n')
		for _, t := range trailers {
			if !validTrailer([]byte(t.Name)) {
				continue
			}
			st.in = append(st.in, t.Name...)
			st.in = append(st.in, ':', ' ')
			st.in = append(st.in, t.Value...)
			st.in = append(st.in, '\r', '\n')
		}
		st.in = append(st.in, '\r', '\n')
	}
	st.rclosed = true
	st.cond.Broadcast()
}

// Close ends the stream: RST_STREAM (CANCEL) when either side is not
// complete, so the server stops working on it.
func (st *Stream) Close() error {
	h := st.c
	h.mu.Lock()
	if st.closed {
		h.mu.Unlock()
		return nil
	}
	st.closed = true
	if st.id != 0 && (!st.wclosed || !st.rclosed) && st.rerr == nil && !h.dead && h.ctl() {
		h.wfr.WriteRSTStream(st.id, http2.ErrCodeCancel)
		h.cfg.Counters.Sent(http2.FrameRSTStream)
		h.wcond.Broadcast()
	}
	st.cond.Broadcast()
	if st.timer != nil {
		st.timer.Stop()
	}
	if st.id != 0 && h.streams[st.id] == st {
		delete(h.streams, st.id)
	}
	h.active--
	h.cfg.Counters.Stream(-1)
	st.in, st.off = nil, 0
	idle := h.active == 0
	h.mu.Unlock()
	if idle && h.cfg.OnIdle != nil {
		h.cfg.OnIdle(h)
	}
	return nil
}

// Done reports whether the response was read whole (its end received and
// nothing left buffered).
func (st *Stream) Done() bool {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	return st.rclosed && st.rerr == nil && st.off == len(st.in)
}

func (st *Stream) LocalAddr() net.Addr  { return st.c.c.LocalAddr() }
func (st *Stream) RemoteAddr() net.Addr { return st.c.c.RemoteAddr() }

func (st *Stream) SetDeadline(t time.Time) error {
	st.SetReadDeadline(t)
	return st.SetWriteDeadline(t)
}

func (st *Stream) SetReadDeadline(t time.Time) error {
	st.c.mu.Lock()
	st.rdl = t
	st.cond.Broadcast()
	st.c.mu.Unlock()
	return nil
}

func (st *Stream) SetWriteDeadline(t time.Time) error {
	st.c.mu.Lock()
	st.wdl = t
	st.cond.Broadcast()
	st.c.mu.Unlock()
	return nil
}

var _ net.Conn = (*Stream)(nil)
