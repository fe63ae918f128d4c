package h1

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// Defaults follow HAProxy 2.6: tune.bufsize is 16384 and tune.http.maxhdr 101.
const (
	DefaultMaxHeaderBytes = 16384
	DefaultMaxHeaders     = 101
	// MaxLineBytes bounds one chunk-size line or trailer field. The body
	// area of the buffer is twice this, so a line always fits.
	MaxLineBytes = 4096
	bodyArea     = 2 * MaxLineBytes
)

// Config bounds what a Reader accepts. Zero fields take the defaults.
type Config struct {
	// MaxHeaderBytes bounds the whole head: start line, fields and the
	// final CRLF. Larger heads fail with CodeHeaderTooLarge (status 400,
	// as HAProxy answers; see doc.go).
	MaxHeaderBytes int
	// MaxHeaders bounds the number of fields in a head or in trailers.
	MaxHeaders int
	// Pool, when set, provides the buffer lazily and takes it back on
	// Release, so an idle connection holds no buffer. Its size wins over
	// MaxHeaderBytes.
	Pool *BufPool
	// Relax accepts messages HAProxy 2.6 accepts and Bulwark refuses by
	// default (docs/secure-defaults.md).
	Relax Relax
}

// Relax lists the default refusals that can be turned off, each where
// HAProxy 2.6 accepts the message. They are for setups that must behave
// exactly as HAProxy does; the defaults are the safer choice.
type Relax struct {
	// MissingHost accepts an HTTP/1.1 request without Host.
	MissingHost bool
	// Framing accepts Content-Length with Transfer-Encoding (the former
	// is removed) and Transfer-Encoding in HTTP/1.0; the connection is
	// closed after the message (Request.FramingFault).
	Framing bool
	// Userinfo accepts userinfo in an absolute-form target: it ends at
	// the last '@', and the host after it is what Host must match.
	Userinfo bool
}

// BufPool shares Reader buffers of one size between connections.
type BufPool struct {
	maxHead int
	p       sync.Pool
}

// NewBufPool returns a pool of buffers for heads of up to maxHeaderBytes.
func NewBufPool(maxHeaderBytes int) *BufPool {
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = DefaultMaxHeaderBytes
	}
	bp := &BufPool{maxHead: maxHeaderBytes}
	bp.p.New = func() any {
		b := make([]byte, bp.maxHead+bodyArea)
		return &b
	}
	return bp
}

// The pool holds the slices' boxes: putting a fresh &b each time would
// allocate one per release, that is once per keep-alive request.
func (bp *BufPool) get() *[]byte  { return bp.p.Get().(*[]byte) }
func (bp *BufPool) put(b *[]byte) { bp.p.Put(b) }

// Release gives the buffer back to the pool when nothing is buffered and
// the last message is complete; it reports whether it did. The next read
// takes a buffer again. Slices from earlier heads become invalid.
func (rd *Reader) Release() bool {
	if rd.buf == nil {
		return true
	}
	if rd.pool == nil || rd.r != rd.w || !rd.body.done {
		return false
	}
	rd.pool.put(rd.bufp)
	rd.buf, rd.bufp = nil, nil
	rd.r, rd.w, rd.keep = 0, 0, 0
	return true
}

// Prime hands the reader bytes that were read from its source by the
// caller (e.g. one byte read while waiting, buffer-less, for the next
// request). b must fit in the buffer.
func (rd *Reader) Prime(b []byte) {
	rd.ensure()
	if rd.r == rd.w {
		rd.r, rd.w = rd.keep, rd.keep
	}
	rd.w += copy(rd.buf[rd.w:], b)
}

func (rd *Reader) ensure() {
	if rd.buf == nil {
		rd.bufp = rd.pool.get()
		rd.buf = *rd.bufp
	}
}

// Reader parses HTTP/1.x messages from one connection. It owns a single
// buffer of MaxHeaderBytes plus a small body area, allocated once: heads are
// parsed in place and body bytes are either served from the buffer or read
// straight into the caller's slice. A Reader is not safe for concurrent use.
type Reader struct {
	src        io.Reader
	buf        []byte
	bufp       *[]byte // buf's box in the pool, nil when buf is not the pool's
	r, w       int
	keep       int // buf[:keep] holds the current head; body reads never move it
	err        error
	maxHead    int
	maxHeaders int
	pool       *BufPool
	relax      Relax
	body       BodyReader
	trailerBuf []byte
}

// NewReader returns a Reader over src (normally a net.Conn).
func NewReader(src io.Reader, cfg Config) *Reader {
	rd := new(Reader)
	rd.Init(src, cfg)
	return rd
}

// Init makes rd, a zero Reader, what NewReader returns, for a caller that
// holds the Reader inside a struct of its own (one allocation, not two,
// per connection). rd must not be copied afterwards: its body refers to it.
func (rd *Reader) Init(src io.Reader, cfg Config) {
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.MaxHeaders <= 0 {
		cfg.MaxHeaders = DefaultMaxHeaders
	}
	*rd = Reader{
		src:        src,
		maxHead:    cfg.MaxHeaderBytes,
		maxHeaders: cfg.MaxHeaders,
		pool:       cfg.Pool,
		relax:      cfg.Relax,
	}
	if cfg.Pool != nil {
		rd.maxHead = cfg.Pool.maxHead
	} else {
		rd.buf = make([]byte, cfg.MaxHeaderBytes+bodyArea)
	}
	rd.body = BodyReader{rd: rd, done: true}
}

// Reset discards all state and reads from src next, keeping the buffer.
func (rd *Reader) Reset(src io.Reader) {
	rd.src, rd.r, rd.w, rd.keep, rd.err = src, 0, 0, 0, nil
	rd.body = BodyReader{rd: rd, done: true}
}

// Body returns the body of the last head read. It is owned by the Reader
// and reset by the next ReadRequest or ReadResponse.
func (rd *Reader) Body() *BodyReader { return &rd.body }

// Buffered returns how many bytes are read from the connection but not yet
// consumed, e.g. a pipelined request or the first tunnelled bytes.
func (rd *Reader) Buffered() int { return rd.w - rd.r }

// FillFrom reads once into the buffer's free space with read, for a
// caller that reads the connection itself without waiting (a read that may
// find nothing, where the Reader's own read would wait). read puts what it
// read at the start of its argument and returns how much; (0, nil) means
// nothing was there. An error (io.EOF included) is kept as the Reader's
// own read would keep it. FillFrom returns the bytes read.
func (rd *Reader) FillFrom(read func([]byte) (int, error)) int {
	if rd.err != nil {
		return 0
	}
	rd.ensure()
	if rd.r == rd.w {
		rd.r, rd.w = rd.keep, rd.keep
	}
	if rd.w == len(rd.buf) {
		return 0
	}
	n, err := read(rd.buf[rd.w:])
	n = max(n, 0)
	rd.w += n
	if err != nil {
		rd.err = err
	}
	return n
}

// HeadBuffered reports whether reading the next head needs no more bytes
// from the connection: the buffer holds the whole head up to its empty
// line, or enough of it to fail (a bare LF). Empty lines before the start
// line are skipped as ReadRequest skips them. A caller that read the bytes
// itself can then parse the head without a deadline for it.
func (rd *Reader) HeadBuffered() bool {
	if rd.buf == nil {
		return false
	}
	b := rd.buf[rd.r:rd.w]
	for len(b) >= 2 && b[0] == '\r' && b[1] == '\n' {
		b = b[2:]
	}
	for {
		i := bytes.IndexByte(b, '\n')
		switch {
		case i < 0:
			return false
		case i == 0 || b[i-1] != '\r':
			return true // a bare LF: the head fails there
		case i == 1:
			return true // the empty line that ends the head
		}
		b = b[i+1:]
	}
}

// Head returns the bytes of the message head being read, from its start
// to the last byte received: after a parse error, what "show errors"
// shows. The slice aliases the buffer; copy it before reading on.
func (rd *Reader) Head() []byte {
	if rd.buf == nil {
		return nil
	}
	return rd.buf[:rd.w]
}

// Read reads raw bytes, buffered ones first. It is for tunnels (after 101 or
// CONNECT), where the connection stops carrying HTTP.
func (rd *Reader) Read(p []byte) (int, error) { return rd.readRaw(p) }

func (rd *Reader) readRaw(p []byte) (int, error) {
	if rd.r < rd.w {
		n := copy(p, rd.buf[rd.r:rd.w])
		rd.r += n
		return n, nil
	}
	if rd.err != nil {
		return 0, rd.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for range 100 {
		n, err := rd.src.Read(p)
		if err != nil {
			rd.err = err
			if n > 0 {
				err = nil
			}
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, io.ErrNoProgress
}

// fill reads more bytes into buf[w:]. When everything is consumed it
// restarts at keep so that body reads never touch the current head; when
// the buffer end is reached it moves the unconsumed tail back to keep.
func (rd *Reader) fill() error {
	if rd.err != nil {
		return rd.err
	}
	rd.ensure()
	if rd.r == rd.w {
		rd.r, rd.w = rd.keep, rd.keep
	}
	if rd.w == len(rd.buf) {
		if rd.r == rd.keep {
			return errBufferFull
		}
		n := copy(rd.buf[rd.keep:], rd.buf[rd.r:rd.w])
		rd.r, rd.w = rd.keep, rd.keep+n
	}
	for range 100 {
		n, err := rd.src.Read(rd.buf[rd.w:])
		rd.w += n
		if err != nil {
			rd.err = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

var errBufferFull = errors.New("h1: buffer full")

// headScanner walks the lines of a head in place.
type headScanner struct {
	rd      *Reader
	start   int // first byte of the head
	scan    int // start of the next line
	resp    bool
	started bool // a non-empty byte was seen: EOF is now unexpected
}

// beginHead compacts the buffer so the new head starts at 0. Anything the
// caller still holds from the previous head becomes invalid here.
func (rd *Reader) beginHead(resp bool) (headScanner, error) {
	if !rd.body.done {
		return headScanner{}, ErrBodyUnread
	}
	rd.ensure()
	if rd.r > 0 {
		n := copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r, rd.w = 0, n
	}
	rd.keep = 0
	return headScanner{rd: rd, resp: resp}, nil
}

// line returns the next CRLF-terminated line without its CRLF.
func (hs *headScanner) line() ([]byte, error) {
	rd := hs.rd
	for {
		limit := min(rd.w, hs.start+rd.maxHead)
		if i := bytes.IndexByte(rd.buf[hs.scan:limit], '\n'); i >= 0 {
			end := hs.scan + i
			if end == hs.scan || rd.buf[end-1] != '\r' {
				return nil, errFor(hs.resp, CodeBareLF)
			}
			line := rd.buf[hs.scan : end-1]
			hs.scan = end + 1
			if len(line) > 0 {
				hs.started = true
			}
			return line, nil
		}
		if rd.w >= hs.start+rd.maxHead {
			return nil, errFor(hs.resp, CodeHeaderTooLarge)
		}
		if hs.scan < rd.w {
			hs.started = true
		}
		if err := rd.fill(); err != nil {
			if err == io.EOF && hs.started {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// firstLine skips the empty lines RFC 9112 §2.2 lets a server ignore
// before a request line (left over from a previous body's CRLF).
func (hs *headScanner) firstLine() ([]byte, error) {
	for {
		l, err := hs.line()
		if err != nil || len(l) > 0 {
			return l, err
		}
	}
}

// fields parses header lines up to the empty line into dst.
func (hs *headScanner) fields(dst []Header) ([]Header, error) {
	for {
		l, err := hs.line()
		if err != nil {
			return dst, err
		}
		if len(l) == 0 {
			hs.rd.r = hs.scan
			hs.rd.keep = hs.scan
			return dst, nil
		}
		if len(dst) >= hs.rd.maxHeaders {
			return dst, errFor(hs.resp, CodeTooManyHeaders)
		}
		h, perr := parseField(l, hs.resp)
		if perr != nil {
			return dst, perr
		}
		dst = append(dst, h)
	}
}

// parseField splits "name: value". A leading SP/HTAB is obs-fold (or
// whitespace after the start line, RFC 9112 §2.2); both are rejected.
func parseField(l []byte, resp bool) (Header, *ParseError) {
	if isOWS(l[0]) {
		return Header{}, errFor(resp, CodeObsFold)
	}
	colon := bytes.IndexByte(l, ':')
	if colon <= 0 {
		return Header{}, errFor(resp, CodeBadHeaderName)
	}
	name := l[:colon]
	if isOWS(name[len(name)-1]) {
		return Header{}, errFor(resp, CodeSpaceBeforeColon)
	}
	if !isToken(name) {
		return Header{}, errFor(resp, CodeBadHeaderName)
	}
	v := l[colon+1:]
	if !validFieldValue(v) {
		return Header{}, errFor(resp, CodeBadHeaderValue)
	}
	return Header{Name: name, Value: trimOWS(v)}, nil
}

// parseVersion reads "HTTP/d.d". ok is false for anything else; supported
// is false for a well-formed version other than 1.0 and 1.1.
func parseVersion(b []byte) (major, minor int, ok, supported bool) {
	if len(b) != 8 || string(b[:5]) != "HTTP/" || b[6] != '.' ||
		b[5] < '0' || b[5] > '9' || b[7] < '0' || b[7] > '9' {
		return 0, 0, false, false
	}
	major, minor = int(b[5]-'0'), int(b[7]-'0')
	return major, minor, true, major == 1 && minor <= 1
}

// HoldsBuffer reports whether the reader currently holds a buffer (tests
// and memory accounting).
func (rd *Reader) HoldsBuffer() bool { return rd.buf != nil }

// Close gives the buffer back to the pool whatever the reader's state; the
// reader must not be used afterwards. Call it when the connection is
// discarded.
func (rd *Reader) Close() {
	if rd.bufp != nil && rd.pool != nil {
		rd.pool.put(rd.bufp)
	}
	rd.buf, rd.bufp = nil, nil
	rd.r, rd.w, rd.keep = 0, 0, 0
}

// Wait blocks until the connection has bytes for the next message and
// reads what is available into the buffer (taking one from the pool if
// needed). It is for callers waiting under a deadline of their own: a
// timeout with nothing read is returned but not remembered, so the reader
// stays usable.
func (rd *Reader) Wait() error {
	if rd.r < rd.w {
		return nil
	}
	err := rd.fill()
	if err != nil && rd.r == rd.w {
		if te, ok := err.(interface{ Timeout() bool }); ok && te.Timeout() {
			rd.err = nil
		}
		return err
	}
	return nil
}
