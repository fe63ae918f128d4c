package compress

import (
	"io"
	"strconv"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"

	"bulwark/internal/h1"
)

// DefaultLevel is the compression level without tune.comp.maxlevel:
// HAProxy's default, 1. Higher levels cost several times the CPU for a few
// percent of size, and a proxy pays that on every response.
const DefaultLevel = 1

type compressor interface {
	io.WriteCloser
	Flush() error
	Reset(io.Writer)
}

// Pools keeps idle compressors per algorithm: a level-1 flate state is a
// few hundred KB, too much to allocate per response. One Pools belongs to
// one running configuration.
type Pools struct {
	// Level is the compression level, 1 to 9 (0 = DefaultLevel); set
	// before the first encoder.
	Level              int
	gzip, deflate, raw sync.Pool
}

func (p *Pools) get(a Algo, w io.Writer) compressor {
	var pool *sync.Pool
	switch a {
	case Gzip:
		pool = &p.gzip
	case Deflate:
		pool = &p.deflate
	case RawDeflate:
		pool = &p.raw
	default:
		return nil
	}
	if c, ok := pool.Get().(compressor); ok {
		c.Reset(w)
		return c
	}
	level := p.Level
	if level == 0 {
		level = DefaultLevel
	}
	var c compressor
	switch a {
	case Gzip:
		c, _ = gzip.NewWriterLevel(w, level)
	case Deflate:
		c, _ = zlib.NewWriterLevel(w, level)
	case RawDeflate:
		c, _ = flate.NewWriter(w, level)
	}
	return c
}

func (p *Pools) put(a Algo, c compressor) {
	c.Reset(io.Discard)
	switch a {
	case Gzip:
		p.gzip.Put(c)
	case Deflate:
		p.deflate.Put(c)
	case RawDeflate:
		p.raw.Put(c)
	}
}

// chunkRoom is kept in front of the pending bytes for the chunk-size line.
const chunkRoom = 18

// Encoder streams one response body to the client: the server's bytes go
// through the compressor, and what it produces leaves as HTTP/1.1 chunks,
// each written with its framing in a single Write.
type Encoder struct {
	pools *Pools
	algo  Algo
	c     compressor
	out   io.Writer
	buf   []byte // chunkRoom bytes of room, then the pending output
	// Sent counts the bytes written to out, framing included, for the
	// log's bytes_read.
	Sent int64
	err  error
}

// NewEncoder starts an encoder writing chunks to out. buf is scratch
// space it may grow; its first bytes are overwritten.
func (p *Pools) NewEncoder(a Algo, out io.Writer, buf []byte) *Encoder {
	e := &Encoder{pools: p, algo: a, out: out, buf: buf[:0]}
	if cap(e.buf) < chunkRoom+512 {
		e.buf = make([]byte, 0, 16<<10)
	}
	e.buf = e.buf[:chunkRoom]
	e.c = p.get(a, (*pending)(e))
	return e
}

// pending is the Encoder seen by its compressor: its output accumulates.
type pending Encoder

func (p *pending) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	return len(b), nil
}

// Write takes body bytes from the server.
func (e *Encoder) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.c == nil {
		(*pending)(e).Write(b)
	} else if _, err := e.c.Write(b); err != nil {
		return 0, err
	}
	if len(e.buf)-chunkRoom >= cap(e.buf)/2 {
		// Enough output for a chunk: send it without forcing the
		// compressor to flush, which would cost ratio.
		e.emit()
	}
	return len(b), e.err
}

// Flush sends everything received so far, for a server that pauses: a
// streamed response must not wait in the compressor for more input.
func (e *Encoder) Flush() error {
	if e.err != nil {
		return e.err
	}
	if e.c != nil {
		if err := e.c.Flush(); err != nil {
			e.err = err
			return err
		}
	}
	e.emit()
	return e.err
}

// Close ends the stream: the compressor's last bytes, the last chunk and
// the trailers. The encoder gives its compressor back and is done.
func (e *Encoder) Close(trailers []h1.Header) error {
	if e.c != nil {
		err := e.c.Close()
		e.pools.put(e.algo, e.c)
		e.c = nil
		if err != nil && e.err == nil {
			e.err = err
		}
	}
	e.emit()
	if e.err != nil {
		return e.err
	}
	cw := h1.ChunkedWriter{W: countWriter{e}}
	e.err = cw.Close(trailers)
	return e.err
}

// Abort gives the compressor back after a failed response.
func (e *Encoder) Abort() {
	if e.c != nil {
		e.pools.put(e.algo, e.c)
		e.c = nil
	}
}

func (e *Encoder) emit() {
	n := len(e.buf) - chunkRoom
	if n == 0 || e.err != nil {
		e.buf = e.buf[:chunkRoom]
		return
	}
	var sz [chunkRoom]byte
	hdr := strconv.AppendUint(sz[:0], uint64(n), 16)
	hdr = append(hdr, '\r', '\n')
	start := chunkRoom - len(hdr)
	copy(e.buf[start:], hdr)
	e.buf = append(e.buf, '\r', '\n')
	w, err := e.out.Write(e.buf[start:])
	e.Sent += int64(w)
	e.err = err
	e.buf = e.buf[:chunkRoom]
}

type countWriter struct{ e *Encoder }

func (c countWriter) Write(b []byte) (int, error) {
	n, err := c.e.out.Write(b)
	c.e.Sent += int64(n)
	return n, err
}
