package proxy

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"bulwark/internal/h1"
	"bulwark/internal/h2up"
)

// Native HTTP/2 on the client side. One goroutine per connection reads
// frames (x/net's Framer parses them, its hpack package decodes header
// blocks); every stream's request is decoded straight into the session's
// h1.Request and served by the ordinary session code (rules, routing,
// balancing, logging), its body read from the stream's DATA frames. What
// the session writes goes out as HEADERS and DATA frames: all frames are
// appended to one connection buffer that a writer goroutine sends, so the
// frames of many streams share one write and one TLS record.
//
// x/net's http2.Server is not used: it turns every stream into a
// net/http request with its own goroutines, maps and buffers, which cost
// several times HAProxy's CPU per request.

// h2Conn is one client HTTP/2 connection.
type h2Conn struct {
	fe *frontend
	c  net.Conn
	ci connInfo
	fr *http2.Framer // reads only; owned by the reader goroutine
	// cnt is the frontend's h2 stats module.
	cnt *h2up.Counters

	// Reader goroutine state.
	dec        *hpack.Decoder
	block      []byte // the header block being gathered
	blockSID   uint32
	blockEnd   bool // its HEADERS frame had END_STREAM
	blockBytes int  // block size with the frame headers, against maxBlock
	maxBlock   int
	maxList    int // decoded header list bound (tune.bufsize)
	maxFields  int
	cur        *h2Stream // stream whose block is being decoded
	listSize   int
	tooBig     bool
	trl        []hpack.HeaderField // decoded trailers
	hpay       []byte              // payload of the HEADERS frame being read
	maxSID     uint32              // highest stream the client opened
	refused    int
	recvConn   int64 // connection window the client may still use
	// recentReset are streams reset by this side lately: frames the
	// client sent before it saw the reset are ignored.
	recentReset [16]uint32
	nReset      int

	mu       sync.Mutex
	wcond    sync.Cond // writer goroutine and senders waiting for room
	out      []byte    // frames waiting for the writer
	spare    []byte
	wfr      *http2.Framer // writes into out, under mu
	hblk     []byte        // the header block being sent (h2hpack.go)
	streams  map[uint32]*h2Stream
	active   int   // stream handlers running (reset ones included)
	sendConn int64 // connection send window
	peerWin  int64 // client's SETTINGS_INITIAL_WINDOW_SIZE
	peerMax  int   // client's SETTINGS_MAX_FRAME_SIZE
	dead     bool  // the connection failed: everything gives up
	closing  bool  // flush what is queued, then close
	goaway   bool  // GOAWAY sent: no new stream
	idleSet  bool
	wdone    chan struct{}
	ended    sync.Cond // active reaching 0
	// free are sessions whose stream is done, kept for the next streams
	// (see runStream); idleTimer releases what they hold once the
	// connection has been quiet for parkAfter.
	free      []*httpSession
	idleTimer *time.Timer
	// idleW are goroutines waiting with their session for a stream
	// (dispatch); quitting counts those told to stop that have not yet
	// left their session in free.
	idleW    []*h2Worker
	quitting int
	// freeSt are streams whose handler is done, reused with their
	// buffers for the next ones (newH2Stream).
	freeSt []*h2Stream
}

// outLimit bounds the bytes queued for the writer: senders wait beyond it,
// and so does the reader, which stops reading (a client that floods PINGs
// or SETTINGS without reading the answers meets TCP back-pressure).
const outLimit = 256 << 10

// maxWindow is the largest flow-control window (RFC 9113 section 6.9.1).
const maxWindow = 1<<31 - 1

var (
	errH2StreamReset = errors.New("http2: stream reset")
	errH2ConnGone    = errors.New("http2: connection closed")
)

type outWriter struct{ h *h2Conn }

func (w outWriter) Write(p []byte) (int, error) {
	w.h.out = append(w.h.out, p...)
	return len(p), nil
}

// serveH2Conn serves one HTTP/2 connection whose client preface has not
// been read yet.
func (fe *frontend) serveH2Conn(c net.Conn, ci connInfo) {
	t := fe.rt.model.Global.H2
	h := &h2Conn{fe: fe, cnt: &fe.stats.h2, c: c, ci: ci, streams: map[uint32]*h2Stream{}, sendConn: 65535, peerWin: 65535, peerMax: 16384,
		maxBlock: max(fe.bufSize, t.MaxFrameSize), maxList: fe.bufSize, maxFields: fe.rt.model.Global.MaxHdr, wdone: make(chan struct{})}
	if h.maxFields <= 0 {
		h.maxFields = h1.DefaultMaxHeaders
	}
	h.wcond.L, h.ended.L = &h.mu, &h.mu
	h.fr = http2.NewFramer(nil, c)
	h.fr.SetMaxReadFrameSize(uint32(t.MaxFrameSize))
	h.fr.SetReuseFrames()
	h.wfr = http2.NewFramer(outWriter{h}, nil)
	h.dec = hpack.NewDecoder(uint32(t.HeaderTableSize), h.emit)
	h.dec.SetMaxStringLength(fe.bufSize)
	h.serve()
}

func (h *h2Conn) serve() {
	fe := h.fe
	defer h.c.Close()
	h.cnt.Conn(1)
	defer h.cnt.Conn(-1)
	to := fe.httpRequestTimeout
	if to == 0 {
		to = fe.clientTimeout
	}
	if to > 0 {
		h.c.SetReadDeadline(time.Now().Add(to))
	}
	start := time.Now()
	var pre [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(h.c, pre[:]); err != nil || string(pre[:]) != http2.ClientPreface {
		if err == nil {
			h.badPreface(start)
		}
		return
	}
	t := fe.rt.model.Global.H2
	h.mu.Lock()
	h.wfr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: uint32(t.HeaderTableSize)},
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: uint32(t.MaxConcurrentStreams)},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(t.InitialWindowSize)},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: uint32(t.MaxFrameSize)})
	// The connection window is opened wide with the first DATA frame (see
	// data): each stream's window bounds what the client may send, as in
	// HAProxy. Not at once: HAProxy 2.6's first frames are its SETTINGS
	// and the ACK of the client's, which clients such as VTest expect in
	// that order.
	h.recvConn = 65535
	h.mu.Unlock()
	go h.writeLoop()
	h.idleSet = true
	err := h.readLoop()
	h.mu.Lock()
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &ce):
		h.cnt.ProtoErr(true)
		h.writeGoAway(http2.ErrCode(ce))
	case errors.Is(err, http2.ErrFrameTooLarge):
		h.cnt.ProtoErr(true)
		h.writeGoAway(http2.ErrCodeFrameSize)
	case errors.Is(err, errH2HeaderBlock):
		h.writeGoAway(http2.ErrCodeEnhanceYourCalm)
	case isTimeout(err) && !h.goaway:
		h.writeGoAway(http2.ErrCodeNo)
	}
	h.closing = true
	h.wcond.Broadcast()
	h.mu.Unlock()
	// Queued frames (the GOAWAY) go out within a bounded time.
	select {
	case <-h.wdone:
	case <-time.After(time.Second):
	}
	h.mu.Lock()
	h.dead = true
	for _, st := range h.streams {
		st.fail(errH2ConnGone)
	}
	h.wcond.Broadcast()
	h.c.Close()
	for h.active > 0 {
		h.ended.Wait()
	}
	h.endSessions()
	h.mu.Unlock()
}

// badPreface ends a connection whose first bytes are not the client
// preface (an HTTP/1 request on a "proto h2" bind) as HAProxy does: no
// frame is sent, the "<BADREQ>" line is logged, and what the client sent
// with it is read first so that the close is a FIN, not a reset.
func (h *h2Conn) badPreface(start time.Time) {
	h.c.SetReadDeadline(time.Now().Add(time.Millisecond))
	var buf [4096]byte
	for range 16 {
		if _, err := h.c.Read(buf[:]); err != nil {
			break
		}
	}
	fe := h.fe
	if !fe.logging {
		return
	}
	// Not a request, so no counter moves (HAProxy's stay at 0 too).
	e := &LogEntry{Start: start, Client: h.c.RemoteAddr(), Frontend: fe.name, Backend: fe.name,
		Server: "<NOSRV>", Term: "PR", TR: -1, Tw: -1, Tc: -1, Tr: -1, Ta: time.Since(start), HTTP: true,
		TLS: h.ci.tlsOn, SNI: string(h.ci.sni), Request: "<BADREQ>", Local: h.c.LocalAddr()}
	fe.connCounts(e)
	fe.opts.Log(e)
}

// writeGoAway queues a GOAWAY; mu held.
func (h *h2Conn) writeGoAway(code http2.ErrCode) {
	if h.goaway && code == http2.ErrCodeNo {
		return
	}
	h.goaway = true
	h.wfr.WriteGoAway(h.maxSID, code, nil)
	h.cnt.Sent(http2.FrameGoAway)
	h.wcond.Broadcast()
}

// writeLoop sends what the connection queued, many frames a write.
func (h *h2Conn) writeLoop() {
	defer close(h.wdone)
	wto := h.fe.clientTimeout
	var wlast time.Time
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		for len(h.out) == 0 && !h.dead && !h.closing {
			h.wcond.Wait()
		}
		if len(h.out) == 0 || h.dead {
			return
		}
		if !h.closing {
			// Let the streams that are ready add their frames first: one
			// write (and one TLS record) for all of them.
			h.mu.Unlock()
			runtime.Gosched()
			h.mu.Lock()
		}
		buf := h.out
		h.out, h.spare = h.spare[:0], nil
		h.mu.Unlock()
		if wto > 0 {
			if now := time.Now(); now.Sub(wlast) > wto/4 {
				h.c.SetWriteDeadline(now.Add(wto))
				wlast = now
			}
		}
		_, err := h.c.Write(buf)
		h.mu.Lock()
		h.spare = buf[:0]
		if err != nil {
			h.dead = true
			for _, st := range h.streams {
				st.fail(errH2ConnGone)
			}
			h.c.Close()
			h.wcond.Broadcast()
			return
		}
		h.wakeSenders()
		h.wcond.Broadcast()
	}
}

// wakeSenders wakes the streams waiting for room or window; mu held.
func (h *h2Conn) wakeSenders() {
	for _, st := range h.streams {
		if st.waiting {
			st.cond.Broadcast()
		}
	}
}

// room waits until the output buffer has room; mu held. It reports false
// once the connection is gone.
func (h *h2Conn) room() bool {
	for len(h.out) >= outLimit && !h.dead {
		h.wcond.Wait()
	}
	return !h.dead
}

func (h *h2Conn) readLoop() error {
	for first := true; ; first = false {
		fh, err := h.fr.ReadFrameHeader()
		var f http2.Frame
		if err == nil {
			if first {
				h.cnt.Preface(fh.Type)
			} else {
				h.cnt.Received(fh.Type)
			}
			if fh.Type == http2.FrameHeaders {
				// Parsed here: x/net's Framer allocates a HeadersFrame
				// for each one, a request's only allocation left.
				err = h.readHeaders(fh)
			} else {
				f, err = h.fr.ReadFrameForHeader(fh)
			}
		}
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				h.mu.Lock()
				h.resetStream(se.StreamID, se.Code)
				h.mu.Unlock()
				continue
			}
			return err
		}
		if f == nil {
			continue
		}
		if err := h.frame(f); err != nil {
			return err
		}
	}
}

// readHeaders reads and handles a HEADERS frame whose frame header the
// Framer read (and checked: size, CONTINUATION order), with the checks
// its parser makes: stream 0 is a connection error, padding longer than
// the payload a stream error.
func (h *h2Conn) readHeaders(fh http2.FrameHeader) error {
	n := int(fh.Length)
	if cap(h.hpay) < n {
		h.hpay = make([]byte, n)
	}
	p := h.hpay[:n]
	if _, err := io.ReadFull(h.c, p); err != nil {
		return err
	}
	if fh.StreamID == 0 {
		return connErr(http2.ErrCodeProtocol)
	}
	pad := 0
	if fh.Flags.Has(http2.FlagHeadersPadded) {
		if len(p) < 1 {
			return io.ErrUnexpectedEOF
		}
		pad, p = int(p[0]), p[1:]
	}
	prio, dep := false, uint32(0)
	if fh.Flags.Has(http2.FlagHeadersPriority) {
		if len(p) < 5 {
			return io.ErrUnexpectedEOF
		}
		prio, dep, p = true, binary.BigEndian.Uint32(p)&(1<<31-1), p[5:]
	}
	if len(p) < pad {
		return http2.StreamError{StreamID: fh.StreamID, Code: http2.ErrCodeProtocol}
	}
	return h.headers(fh, prio, dep, p[:len(p)-pad])
}

func connErr(code http2.ErrCode) error { return http2.ConnectionError(code) }

// frame handles one frame from the client; an error ends the connection.
func (h *h2Conn) frame(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		return h.data(f)
	case *http2.HeadersFrame:
		// (readLoop reads HEADERS frames itself: readHeaders.)
		return h.headers(f.FrameHeader, f.HasPriority(), f.Priority.StreamDep, f.HeaderBlockFragment())
	case *http2.ContinuationFrame:
		h.block = append(h.block, f.HeaderBlockFragment()...)
		h.blockBytes += 9 + int(f.Length)
		if err := h.checkBlock(); err != nil {
			return err
		}
		if f.HeadersEnded() {
			return h.headerBlock()
		}
		return nil
	case *http2.SettingsFrame:
		return h.settings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.room() {
			h.wfr.WritePing(true, f.Data)
			h.wcond.Broadcast()
		}
		return nil
	case *http2.WindowUpdateFrame:
		return h.windowUpdate(f)
	case *http2.RSTStreamFrame:
		sid := f.StreamID
		if sid > h.maxSID {
			return connErr(http2.ErrCodeProtocol)
		}
		h.mu.Lock()
		if st := h.streams[sid]; st != nil {
			st.fail(errH2StreamReset)
			delete(h.streams, sid)
		}
		h.mu.Unlock()
		return nil
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			h.mu.Lock()
			h.resetStream(f.StreamID, http2.ErrCodeProtocol)
			h.mu.Unlock()
		}
		return nil
	case *http2.GoAwayFrame:
		// The client opens no more streams; those in flight finish.
		return nil
	case *http2.PushPromiseFrame:
		return connErr(http2.ErrCodeProtocol)
	}
	// Unknown frame types are ignored (RFC 9113 section 4.1).
	return nil
}

// headers handles a HEADERS frame: its block fragment, and the stream it
// depends on when it has the PRIORITY flag.
func (h *h2Conn) headers(fh http2.FrameHeader, prio bool, dep uint32, frag []byte) error {
	sid := fh.StreamID
	endHeaders := fh.Flags.Has(http2.FlagHeadersEndHeaders)
	if prio && dep == sid {
		// A stream depending on itself (RFC 9113 section 5.3.1).
		h.blockSID, h.blockEnd, h.block = 0, false, h.block[:0]
		if !endHeaders {
			return connErr(http2.ErrCodeProtocol)
		}
		if sid > h.maxSID {
			h.maxSID = sid
		}
		h.mu.Lock()
		h.resetStream(sid, http2.ErrCodeProtocol)
		h.mu.Unlock()
		return nil
	}
	h.blockSID, h.blockEnd = sid, fh.Flags.Has(http2.FlagHeadersEndStream)
	h.block = append(h.block[:0], frag...)
	h.blockBytes = 9 + int(fh.Length)
	if endHeaders {
		return h.headerBlock()
	}
	return h.checkBlock()
}

// checkBlock bounds a header block being gathered: its frames' headers
// count too, so a flood of empty CONTINUATION frames meets the bound
// (HAProxy gathers a block in one buffer of tune.bufsize).
func (h *h2Conn) checkBlock() error {
	if h.blockBytes > h.maxBlock {
		return errH2HeaderBlock
	}
	return nil
}

func (h *h2Conn) settings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if err := f.ForeachSetting(func(s http2.Setting) error { return s.Valid() }); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var err error
	f.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - h.peerWin
			h.peerWin = int64(s.Val)
			for _, st := range h.streams {
				st.sendWin += delta
				if st.sendWin > maxWindow {
					err = connErr(http2.ErrCodeFlowControl)
				}
			}
		case http2.SettingMaxFrameSize:
			h.peerMax = int(s.Val)
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.wakeSenders()
	if h.room() {
		h.wfr.WriteSettingsAck()
		h.wcond.Broadcast()
	}
	return nil
}

func (h *h2Conn) windowUpdate(f *http2.WindowUpdateFrame) error {
	sid, inc := f.StreamID, int64(f.Increment)
	h.mu.Lock()
	defer h.mu.Unlock()
	if sid == 0 {
		if inc == 0 {
			return connErr(http2.ErrCodeProtocol)
		}
		h.sendConn += inc
		if h.sendConn > maxWindow {
			return connErr(http2.ErrCodeFlowControl)
		}
		h.wakeSenders()
		return nil
	}
	if sid > h.maxSID {
		return connErr(http2.ErrCodeProtocol)
	}
	st := h.streams[sid]
	if st == nil {
		return nil
	}
	// The stream errors HAProxy counts as protocol errors: a window
	// update of 0 or past 2^31-1, DATA beyond or short of content-length.
	if inc == 0 {
		h.cnt.ProtoErr(false)
		h.resetStream(sid, http2.ErrCodeProtocol)
		return nil
	}
	st.sendWin += inc
	if st.sendWin > maxWindow {
		h.cnt.ProtoErr(false)
		h.resetStream(sid, http2.ErrCodeFlowControl)
		return nil
	}
	if st.waiting {
		st.cond.Broadcast()
	}
	return nil
}

// resetStream sends RST_STREAM and forgets the stream; mu held.
func (h *h2Conn) resetStream(sid uint32, code http2.ErrCode) {
	if st := h.streams[sid]; st != nil {
		st.fail(errH2StreamReset)
		st.wclosed = true
		delete(h.streams, sid)
	}
	h.recentReset[h.nReset%len(h.recentReset)] = sid
	h.nReset++
	if h.room() {
		h.wfr.WriteRSTStream(sid, code)
		h.cnt.Sent(http2.FrameRSTStream)
		h.wcond.Broadcast()
	}
}

func (h *h2Conn) wasReset(sid uint32) bool {
	for _, id := range h.recentReset {
		if id == sid {
			return true
		}
	}
	return false
}

func (h *h2Conn) data(f *http2.DataFrame) error {
	sid, n := f.StreamID, int64(f.Length)
	if sid > h.maxSID {
		return connErr(http2.ErrCodeProtocol)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recvConn -= n
	if h.recvConn < 0 {
		return connErr(http2.ErrCodeFlowControl)
	}
	if h.recvConn < maxWindow/2 && h.room() {
		h.wfr.WriteWindowUpdate(0, uint32(maxWindow-h.recvConn))
		h.recvConn = maxWindow
		h.wcond.Broadcast()
	}
	st := h.streams[sid]
	if st == nil || st.rclosed {
		if st == nil && h.wasReset(sid) {
			return nil
		}
		h.resetStream(sid, http2.ErrCodeStreamClosed)
		return nil
	}
	st.recvWin -= n
	if st.recvWin < 0 {
		h.resetStream(sid, http2.ErrCodeFlowControl)
		return nil
	}
	d := f.Data()
	// Padding is consumed at once.
	st.unacked += n - int64(len(d))
	st.recvd += int64(len(d))
	if st.declLen >= 0 && st.recvd > st.declLen {
		h.cnt.ProtoErr(false)
		h.resetStream(sid, http2.ErrCodeProtocol)
		return nil
	}
	if st.rdata == nil {
		st.rdata = h.fe.rt.getCopyBuf()[:0]
	}
	if len(st.rdata)+len(d) > cap(st.rdata) && st.roff > 0 {
		k := copy(st.rdata, st.rdata[st.roff:])
		st.rdata, st.roff = st.rdata[:k], 0
	}
	st.rdata = append(st.rdata, d...)
	if f.StreamEnded() {
		if st.declLen >= 0 && st.recvd != st.declLen {
			h.cnt.ProtoErr(false)
			h.resetStream(sid, http2.ErrCodeProtocol)
			return nil
		}
		st.rclosed = true
	}
	st.cond.Broadcast()
	return nil
}

// headerBlock handles a complete header block: a new stream's request,
// or a stream's trailers.
func (h *h2Conn) headerBlock() error {
	sid, end := h.blockSID, h.blockEnd
	h.mu.Lock()
	st := h.streams[sid]
	h.mu.Unlock()
	if st != nil {
		return h.trailers(st, end)
	}
	if sid%2 == 0 || sid <= h.maxSID {
		// An even stream is the server's; a lower one is closed: a
		// connection error either way (RFC 9113 section 5.1.1).
		if sid <= h.maxSID && sid%2 == 1 {
			if h.wasReset(sid) {
				return h.decode(nil)
			}
			return connErr(http2.ErrCodeStreamClosed)
		}
		return connErr(http2.ErrCodeProtocol)
	}
	h.maxSID = sid
	st = newH2Stream(h, sid)
	if err := h.decode(st); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.goaway || h.dead {
		return nil
	}
	if h.active >= h.fe.rt.model.Global.H2.MaxConcurrentStreams {
		// Streams reset by the client count until their handler is
		// done, so that a rapid reset cannot multiply server exchanges.
		h.refused++
		h.resetStream(sid, http2.ErrCodeRefusedStream)
		if h.refused > 4*h.fe.rt.model.Global.H2.MaxConcurrentStreams {
			h.writeGoAway(http2.ErrCodeEnhanceYourCalm)
			return errH2Calm
		}
		return nil
	}
	if code := st.checkRequest(end); code != http2.ErrCodeNo {
		h.resetStream(sid, code)
		return nil
	}
	st.sendWin = h.peerWin
	st.recvWin = int64(h.fe.rt.model.Global.H2.InitialWindowSize)
	st.rclosed = end
	h.streams[sid] = st
	h.active++
	h.cnt.Stream(1)
	if h.idleSet {
		h.idleSet = false
		h.c.SetReadDeadline(time.Time{})
	}
	h.dispatch(st)
	return nil
}

var errH2Calm = errors.New("http2: too many refused streams")

func (h *h2Conn) trailers(st *h2Stream, end bool) error {
	if err := h.decode(nil); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if st.rclosed {
		h.resetStream(st.id, http2.ErrCodeStreamClosed)
		return nil
	}
	if !end {
		h.resetStream(st.id, http2.ErrCodeProtocol)
		return nil
	}
	for _, f := range h.trl {
		if f.Name == "" || f.Name[0] == ':' || !validH2Name(f.Name) || !validH2Value(f.Value) {
			h.resetStream(st.id, http2.ErrCodeProtocol)
			return nil
		}
	}
	if st.declLen >= 0 && st.recvd != st.declLen {
		h.resetStream(st.id, http2.ErrCodeProtocol)
		return nil
	}
	for _, f := range h.trl {
		st.trailers = append(st.trailers, h1.Header{Name: []byte(f.Name), Value: []byte(f.Value)})
	}
	st.rclosed = true
	st.cond.Broadcast()
	return nil
}

// decode runs the HPACK decoder over the gathered block, into st's
// request (nil: trailers, into h.trl). A decoding error is a connection
// error: the decoder's state is lost.
func (h *h2Conn) decode(st *h2Stream) error {
	h.cur, h.listSize, h.tooBig, h.trl = st, 0, false, h.trl[:0]
	h.dec.SetEmitEnabled(true)
	_, err := h.dec.Write(h.block)
	if err == nil {
		err = h.dec.Close()
	}
	h.cur = nil
	h.block = h.block[:0]
	if err != nil {
		return connErr(http2.ErrCodeCompression)
	}
	if st != nil && h.tooBig {
		st.tooBig = true
	}
	return nil
}

// emit receives each decoded field. The decoded list is bounded by
// tune.bufsize (name, value and 32 bytes a field, as RFC 9113 counts
// it): past it decoding goes on, to keep the table in step, without
// keeping anything, and the request gets a 431.
func (h *h2Conn) emit(f hpack.HeaderField) {
	h.listSize += len(f.Name) + len(f.Value) + 32
	if h.listSize > h.maxList {
		h.tooBig = true
		h.dec.SetEmitEnabled(false)
		return
	}
	if h.cur == nil {
		h.trl = append(h.trl, f)
		return
	}
	h.cur.addField(f)
}
