// Package h2up speaks HTTP/2 to servers ("server ... proto h2", or "ssl
// alpn h2" when ALPN chose h2, and "check-proto h2" checks). One Conn is
// one server connection carrying many streams; each Stream is a net.Conn
// on which the proxy writes an HTTP/1.1 request, as it would to an
// HTTP/1.1 server, and reads an HTTP/1.1 response: the request is turned
// into HEADERS and DATA frames, the server's frames back into a status
// line, fields and a body (chunked, with the trailers, when the server
// gave no content-length). The session code, its rules, retries, timeouts
// and logging stay the same for both protocols, as on the client side
// (internal/proxy/h2conn.go does the same conversion the other way).
//
// x/net's Framer parses and writes the frames and its hpack decoder reads
// the server's header blocks; the request blocks are encoded here
// (hpack.go). x/net's http2.Transport is not used: it works on net/http
// requests, not on the bytes the proxy has already normalised.
package h2up

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Config is what the proxy tells the server about itself (tune.h2.*) and
// how far it trusts it.
type Config struct {
	// HeaderTableSize is the HPACK table the server may use for its
	// responses (SETTINGS_HEADER_TABLE_SIZE).
	HeaderTableSize uint32
	// InitialWindowSize is each stream's receive window: the response
	// bytes a stream buffers before the session reads them.
	InitialWindowSize uint32
	// MaxFrameSize is SETTINGS_MAX_FRAME_SIZE: a larger frame from the
	// server is a FRAME_SIZE_ERROR.
	MaxFrameSize uint32
	// MaxConcurrentStreams caps the streams opened at once, whatever the
	// server allows (0: the server's limit only).
	MaxConcurrentStreams uint32
	// MaxHeaderList bounds a decoded response header list (tune.bufsize).
	MaxHeaderList int
	// Scheme is the ":scheme" of the requests ("http" or "https").
	Scheme string
	// WriteTimeout bounds one write to the server (timeout server).
	WriteTimeout time.Duration
	// OnIdle, when set, is called (without locks held) when the last
	// stream of the connection ends or the connection is gone.
	OnIdle func(*Conn)
	// Counters, when set, are the backend's h2 stats module.
	Counters *Counters
}

// outLimit bounds the frames queued for the writer: stream writers wait
// beyond it.
const outLimit = 256 << 10

// ctlLimit bounds what control frames (SETTINGS and PING answers,
// WINDOW_UPDATE) may queue past outLimit: a server that floods PINGs and
// reads nothing meets a connection error, not unbounded memory.
const ctlLimit = 4 * outLimit

const maxWindow = 1<<31 - 1

var (
	// ErrRefused is a stream the server did not process (REFUSED_STREAM,
	// or above the last stream of its GOAWAY): it may be sent again.
	ErrRefused = errors.New("h2: stream refused by the server")
	// ErrReset is a stream the server reset.
	ErrReset = errors.New("h2: stream reset by the server")
	// ErrGone is the connection failing under the stream.
	ErrGone = errors.New("h2: server connection closed")
	// ErrUnusable is NewStream on a connection that takes no more
	// streams (full, GOAWAY, gone).
	ErrUnusable = errors.New("h2: connection takes no new stream")
	errProto    = errors.New("h2: protocol error from the server")
)

// Conn is one HTTP/2 connection to a server.
type Conn struct {
	c   net.Conn
	cfg Config
	fr  *http2.Framer // reads; the reader goroutine's

	mu      sync.Mutex
	wcond   sync.Cond
	out     []byte
	spare   []byte
	wfr     *http2.Framer // writes into out, under mu
	streams map[uint32]*Stream
	nextID  uint32
	active  int
	total   int
	// Peer settings and windows.
	peerStreams    uint32 // SETTINGS_MAX_CONCURRENT_STREAMS
	peerStreamsSet bool
	peerWin        int64
	peerMax        int
	sendConn       int64
	recvConn       int64
	// settled: the server's SETTINGS arrived. Body bytes wait for them: a
	// server that announces a window smaller than the default counts what
	// was sent before against it (Go's does, with FLOW_CONTROL_ERROR).
	settled bool
	goaway  bool
	dead    bool
	// writing: a goroutine is writing the queue (the writer, or a stream
	// in flush); wlast is when the write deadline was last pushed.
	writing bool
	wlast   time.Time
	err     error
	closing bool
	wdone   chan struct{}
	rdone   chan struct{}
}

type outWriter struct{ c *Conn }

func (w outWriter) Write(p []byte) (int, error) {
	w.c.out = append(w.c.out, p...)
	return len(p), nil
}

// New starts HTTP/2 on c, whose handshake (TLS, PROXY header) is done:
// the preface and the SETTINGS go out at once, with the first request.
func New(c net.Conn, cfg Config) *Conn {
	if cfg.InitialWindowSize == 0 {
		cfg.InitialWindowSize = 65535
	}
	if cfg.MaxFrameSize < 16384 {
		cfg.MaxFrameSize = 16384
	}
	if cfg.HeaderTableSize == 0 {
		cfg.HeaderTableSize = 4096
	}
	if cfg.MaxHeaderList <= 0 {
		cfg.MaxHeaderList = 16384
	}
	if cfg.Scheme == "" {
		cfg.Scheme = "http"
		if _, ok := c.(*tls.Conn); ok {
			cfg.Scheme = "https"
		}
	}
	h := &Conn{c: c, cfg: cfg, streams: map[uint32]*Stream{}, nextID: 1, peerWin: 65535, peerMax: 16384,
		sendConn: 65535, recvConn: 65535, wdone: make(chan struct{}), rdone: make(chan struct{})}
	h.wcond.L = &h.mu
	// The Framer reads a frame's header and payload with two reads: a
	// buffer turns a response's HEADERS and DATA into one system call.
	h.fr = http2.NewFramer(nil, bufio.NewReaderSize(c, 16<<10))
	h.fr.SetMaxReadFrameSize(cfg.MaxFrameSize)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(cfg.HeaderTableSize, nil)
	h.fr.ReadMetaHeaders.SetMaxStringLength(cfg.MaxHeaderList)
	h.fr.MaxHeaderListSize = uint32(cfg.MaxHeaderList)
	h.wfr = http2.NewFramer(outWriter{h}, nil)
	cfg.Counters.Conn(1)
	h.out = append(h.out, http2.ClientPreface...)
	// As HAProxy does towards servers: no push, and its tune.h2 sizes.
	h.wfr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: cfg.HeaderTableSize},
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: cfg.InitialWindowSize},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: cfg.MaxFrameSize})
	// Each stream's window bounds what the server may send it; the
	// connection window is opened wide at once.
	h.wfr.WriteWindowUpdate(0, maxWindow-65535)
	h.recvConn = maxWindow
	go h.writeLoop()
	go h.readLoop()
	return h
}

// NetConn is the connection under the HTTP/2 one.
func (h *Conn) NetConn() net.Conn { return h.c }

// limit is how many streams may be open at once; mu held.
func (h *Conn) limit() int {
	n := uint32(1<<31 - 1)
	if h.peerStreamsSet {
		n = h.peerStreams
	}
	if m := h.cfg.MaxConcurrentStreams; m > 0 && m < n {
		n = m
	}
	return int(n)
}

// Available reports whether NewStream would succeed now.
func (h *Conn) Available() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.usable() && h.active < h.limit()
}

func (h *Conn) usable() bool { return !h.dead && !h.goaway && !h.closing && h.nextID < 1<<31-1 }

// Usable reports whether the connection may take streams later (it has
// not met GOAWAY nor failed).
func (h *Conn) Usable() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.usable()
}

// Active is the number of streams open.
func (h *Conn) Active() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.active
}

// Streams is the number of streams the connection carried.
func (h *Conn) Streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

// Close sends GOAWAY and closes the connection; open streams fail.
func (h *Conn) Close() error {
	h.goAway(http2.ErrCodeNo)
	h.die(ErrGone)
	return nil
}

// goAway queues a GOAWAY with code and gives the writer a moment to send
// it before the connection is torn down. Its last stream is 0: servers
// open no stream (push is off).
func (h *Conn) goAway(code http2.ErrCode) {
	h.mu.Lock()
	if !h.dead && !h.closing {
		h.wfr.WriteGoAway(0, code, nil)
		h.cfg.Counters.Sent(http2.FrameGoAway)
		h.closing = true
		h.wcond.Broadcast()
	}
	h.mu.Unlock()
	select {
	case <-h.wdone:
	case <-time.After(100 * time.Millisecond):
	}
}

// Done is closed once the connection is gone.
func (h *Conn) Done() <-chan struct{} { return h.rdone }

// die fails everything and closes the socket.
func (h *Conn) die(err error) {
	h.mu.Lock()
	if h.dead {
		h.mu.Unlock()
		return
	}
	h.dead = true
	h.err = err
	h.cfg.Counters.Conn(-1)
	for _, st := range h.streams {
		st.fail(err)
	}
	h.wcond.Broadcast()
	h.mu.Unlock()
	h.c.Close()
	if h.cfg.OnIdle != nil {
		h.cfg.OnIdle(h)
	}
}

// NewStream opens a stream. raw: the response body comes without HTTP/1.1
// framing and the stream reads EOF at its end (for health checks, which
// read a response up to the close).
func (h *Conn) NewStream(raw bool) (*Stream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.usable() || h.active >= h.limit() {
		return nil, ErrUnusable
	}
	// The id is given when the HEADERS go (sendHeaders).
	st := &Stream{c: h, raw: raw, sendWin: h.peerWin, recvWin: int64(h.cfg.InitialWindowSize), declLen: -1}
	st.cond.L = &h.mu
	h.active++
	h.total++
	h.cfg.Counters.Stream(1)
	return st, nil
}

// writeLoop sends what is queued while no stream writes inline (flush):
// control frames the reader queues, and bodies past outLimit.
func (h *Conn) writeLoop() {
	defer close(h.wdone)
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		for (len(h.out) == 0 && !h.dead && !h.closing) || (h.writing && !h.dead) {
			h.wcond.Wait()
		}
		if len(h.out) == 0 || h.dead {
			return
		}
		if !h.closing {
			// Let the other streams ready add their frames: one write.
			h.mu.Unlock()
			runtime.Gosched()
			h.mu.Lock()
			if h.writing || h.dead || len(h.out) == 0 {
				continue
			}
		}
		if !h.writeOut() {
			return
		}
	}
}

// flush writes what is queued from the calling goroutine, saving the
// hand-off to the writer goroutine (a wake-up each way per request)
// when no write is under way; mu held.
func (h *Conn) flush() {
	if h.writing || len(h.out) == 0 || h.dead || h.closing {
		h.wcond.Broadcast()
		return
	}
	h.writeOut()
}

// writeOut writes the queue, mu held (released during the write). It
// reports false once the connection failed.
func (h *Conn) writeOut() bool {
	h.writing = true
	buf := h.out
	h.out, h.spare = h.spare[:0], nil
	h.mu.Unlock()
	if wto := h.cfg.WriteTimeout; wto > 0 {
		if now := time.Now(); now.Sub(h.wlast) > wto/4 {
			h.c.SetWriteDeadline(now.Add(wto))
			h.wlast = now
		}
	}
	_, err := h.c.Write(buf)
	h.mu.Lock()
	h.writing = false
	h.spare = buf[:0]
	if err != nil {
		h.mu.Unlock()
		h.die(ErrGone)
		h.mu.Lock()
		h.wcond.Broadcast()
		return false
	}
	for _, st := range h.streams {
		if st.waiting {
			st.cond.Broadcast()
		}
	}
	h.wcond.Broadcast()
	return true
}

// ctl reports whether a control frame may be queued; past ctlLimit the
// server is not reading what it asks for. mu held.
func (h *Conn) ctl() bool { return len(h.out) < ctlLimit && !h.dead }

func (h *Conn) readLoop() {
	defer close(h.rdone)
	err := h.read()
	var ce http2.ConnectionError
	code := http2.ErrCode(0)
	switch {
	case errors.As(err, &ce):
		code = http2.ErrCode(ce)
	case errors.Is(err, http2.ErrFrameTooLarge):
		code = http2.ErrCodeFrameSize
	case errors.Is(err, errProto):
		code = http2.ErrCodeProtocol
	}
	if code != 0 {
		// A server that broke the protocol is told so before the close.
		h.cfg.Counters.ProtoErr(true)
		h.goAway(code)
	}
	h.die(ErrGone)
}

func (h *Conn) read() error {
	// The server's preface is its SETTINGS frame.
	f, err := h.fr.ReadFrame()
	if err != nil {
		return err
	}
	h.cfg.Counters.Preface(f.Header().Type)
	if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
		return connErr(http2.ErrCodeProtocol)
	}
	for {
		if err := h.frame(f); err != nil {
			return err
		}
		for {
			f, err = h.fr.ReadFrame()
			if err == nil {
				h.cfg.Counters.Received(f.Header().Type)
				break
			}
			var se http2.StreamError
			if errors.As(err, &se) {
				// A malformed header block (bad field, missing :status
				// order): the stream fails, the connection goes on.
				h.mu.Lock()
				h.resetStream(se.StreamID, se.Code, errProto)
				h.mu.Unlock()
				continue
			}
			return err
		}
	}
}

func connErr(code http2.ErrCode) error { return http2.ConnectionError(code) }

func (h *Conn) frame(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		return h.settings(f)
	case *http2.MetaHeadersFrame:
		return h.headers(f)
	case *http2.DataFrame:
		return h.data(f)
	case *http2.WindowUpdateFrame:
		return h.windowUpdate(f)
	case *http2.RSTStreamFrame:
		h.mu.Lock()
		defer h.mu.Unlock()
		if f.StreamID >= h.nextID {
			return connErr(http2.ErrCodeProtocol)
		}
		if st := h.streams[f.StreamID]; st != nil {
			err := ErrReset
			if f.ErrCode == http2.ErrCodeRefusedStream {
				err = ErrRefused
			}
			st.fail(err)
		}
		return nil
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if !h.ctl() {
			return connErr(http2.ErrCodeEnhanceYourCalm)
		}
		h.wfr.WritePing(true, f.Data)
		h.wcond.Broadcast()
		return nil
	case *http2.GoAwayFrame:
		h.mu.Lock()
		h.goaway = true
		for id, st := range h.streams {
			if id > f.LastStreamID {
				// Never processed: another connection may take it.
				st.fail(ErrRefused)
			}
		}
		idle := h.active == 0
		h.mu.Unlock()
		if idle && h.cfg.OnIdle != nil {
			h.cfg.OnIdle(h)
		}
		return nil
	case *http2.PushPromiseFrame:
		// Push is disabled in our SETTINGS.
		return connErr(http2.ErrCodeProtocol)
	}
	// PRIORITY and unknown frames are ignored (RFC 9113 section 4.1).
	return nil
}

func (h *Conn) settings(f *http2.SettingsFrame) error {
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
		case http2.SettingMaxConcurrentStreams:
			// Zero is allowed: no new stream until it changes.
			h.peerStreams, h.peerStreamsSet = s.Val, true
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.settled = true
	for _, st := range h.streams {
		st.cond.Broadcast()
	}
	if !h.ctl() {
		return connErr(http2.ErrCodeEnhanceYourCalm)
	}
	h.wfr.WriteSettingsAck()
	h.wcond.Broadcast()
	return nil
}

func (h *Conn) windowUpdate(f *http2.WindowUpdateFrame) error {
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
		for _, st := range h.streams {
			if st.waiting {
				st.cond.Broadcast()
			}
		}
		return nil
	}
	st := h.streams[sid]
	if st == nil {
		return nil
	}
	if inc == 0 {
		h.resetStream(sid, http2.ErrCodeProtocol, errProto)
		return nil
	}
	st.sendWin += inc
	if st.sendWin > maxWindow {
		h.resetStream(sid, http2.ErrCodeFlowControl, errProto)
		return nil
	}
	st.cond.Broadcast()
	return nil
}

// resetStream sends RST_STREAM and fails the stream with err; mu held.
// The server's protocol errors on a stream count as HAProxy counts them
// (a response larger than tune.bufsize, CANCEL, is not one).
func (h *Conn) resetStream(sid uint32, code http2.ErrCode, err error) {
	if err == errProto && code != http2.ErrCodeCancel {
		h.cfg.Counters.ProtoErr(false)
	}
	if st := h.streams[sid]; st != nil {
		st.fail(err)
		st.wclosed, st.rclosed = true, true
	}
	if !h.dead && h.ctl() {
		h.wfr.WriteRSTStream(sid, code)
		h.cfg.Counters.Sent(http2.FrameRSTStream)
		h.wcond.Broadcast()
	}
}

func (h *Conn) data(f *http2.DataFrame) error {
	sid, n := f.StreamID, int64(f.Length)
	h.mu.Lock()
	defer h.mu.Unlock()
	if sid >= h.nextID || sid%2 == 0 {
		return connErr(http2.ErrCodeProtocol)
	}
	h.recvConn -= n
	if h.recvConn < 0 {
		return connErr(http2.ErrCodeFlowControl)
	}
	if h.recvConn < maxWindow/2 && h.ctl() {
		h.wfr.WriteWindowUpdate(0, uint32(maxWindow-h.recvConn))
		h.recvConn = maxWindow
		h.wcond.Broadcast()
	}
	st := h.streams[sid]
	if st == nil || st.rerr != nil {
		// A stream this side closed or reset: its frames in flight are
		// dropped.
		return nil
	}
	if st.rclosed {
		h.resetStream(sid, http2.ErrCodeStreamClosed, errProto)
		return nil
	}
	if !st.head {
		// DATA before the response's HEADERS.
		h.resetStream(sid, http2.ErrCodeProtocol, errProto)
		return nil
	}
	st.recvWin -= n
	if st.recvWin < 0 {
		h.resetStream(sid, http2.ErrCodeFlowControl, errProto)
		return nil
	}
	d := f.Data()
	st.padding += n - int64(len(d))
	st.recvd += int64(len(d))
	st.dataIn += int64(len(d))
	if st.declLen >= 0 && st.recvd > st.declLen {
		h.resetStream(sid, http2.ErrCodeProtocol, errProto)
		return nil
	}
	if !st.noBody {
		if st.chunked && len(d) > 0 {
			st.in = strconv.AppendInt(st.in, int64(len(d)), 16)
			st.in = append(st.in, '\r', '\n')
			st.in = append(st.in, d...)
			st.in = append(st.in, '\r', '\n')
		} else {
			st.in = append(st.in, d...)
		}
	}
	if f.StreamEnded() {
		if st.declLen >= 0 && st.recvd != st.declLen && !st.noBody {
			h.resetStream(sid, http2.ErrCodeProtocol, errProto)
			return nil
		}
		st.endBody(nil)
	}
	st.giveBack()
	st.cond.Broadcast()
	return nil
}

func (h *Conn) headers(f *http2.MetaHeadersFrame) error {
	sid := f.StreamID
	h.mu.Lock()
	defer h.mu.Unlock()
	if sid >= h.nextID || sid%2 == 0 {
		return connErr(http2.ErrCodeProtocol)
	}
	st := h.streams[sid]
	if st == nil || st.rerr != nil {
		return nil // decoded (the table stays in step), then dropped
	}
	if st.rclosed {
		h.resetStream(sid, http2.ErrCodeStreamClosed, errProto)
		return nil
	}
	if f.Truncated {
		// Larger than tune.bufsize: the response cannot be relayed.
		h.resetStream(sid, http2.ErrCodeCancel, errProto)
		return nil
	}
	if st.head {
		// Trailers: they end the stream and carry no pseudo field.
		if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
			h.resetStream(sid, http2.ErrCodeProtocol, errProto)
			return nil
		}
		if st.declLen >= 0 && st.recvd != st.declLen && !st.noBody {
			h.resetStream(sid, http2.ErrCodeProtocol, errProto)
			return nil
		}
		st.endBody(f.RegularFields())
		st.cond.Broadcast()
		return nil
	}
	if !st.responseHead(f) {
		h.resetStream(sid, http2.ErrCodeProtocol, errProto)
		return nil
	}
	st.cond.Broadcast()
	return nil
}
