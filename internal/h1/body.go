package h1

import (
	"bytes"
	"io"
)

const (
	stSize     uint8 = iota // expecting a chunk-size line
	stData                  // inside chunk data, remaining bytes left
	stDataCRLF              // expecting the CRLF that ends chunk data
)

// BodyReader streams one message body, removing chunked framing. It never
// reads past the body, so the next head on the connection stays intact.
// Errors are *ParseError for bad chunked syntax (400 for requests, 502 for
// responses), io.ErrUnexpectedEOF if the peer closes early, or the
// connection's own error.
type BodyReader struct {
	rd        *Reader
	framing   Framing
	remaining int64
	state     uint8
	response  bool
	done      bool
	trailers  []Header
	// stream: the body's framing was removed by another protocol (an
	// HTTP/2 stream's DATA frames): the source delivers body bytes only,
	// up to io.EOF, and the body is offered as chunked so that it is
	// forwarded chunked.
	stream bool
}

func (b *BodyReader) start(f Framing, length int64, response bool) {
	*b = BodyReader{rd: b.rd, framing: f, response: response, trailers: b.trailers[:0]}
	switch f {
	case FramingNone:
		b.done = true
	case FramingLength:
		b.remaining = length
		b.done = length == 0
	}
}

// StartBody begins the body of a request whose head did not come from
// this reader but from a protocol that frames bodies itself (HTTP/2): the
// source delivers the body bytes alone and io.EOF at their end. A length
// >= 0 is a Content-Length body; -1 is a body of unknown length, read as
// a chunked one (and so forwarded chunked), whose trailers are given
// with SetTrailers before the source's io.EOF.
func (rd *Reader) StartBody(length int64) {
	switch {
	case length < 0:
		rd.body.start(FramingChunked, 0, false)
		rd.body.stream, rd.body.state = true, stData
	case length == 0:
		rd.body.start(FramingNone, 0, false)
	default:
		rd.body.start(FramingLength, length, false)
	}
}

// SetTrailers sets the trailer fields of a body begun with StartBody.
func (b *BodyReader) SetTrailers(hs []Header) { b.trailers = append(b.trailers[:0], hs...) }

// Framing reports how the body is delimited on the wire.
func (b *BodyReader) Framing() Framing { return b.framing }

// Done reports whether the body has been read to its end.
func (b *BodyReader) Done() bool { return b.done }

// Trailers returns the trailer fields of a chunked body once Read has
// returned io.EOF. They stay valid until the next head is read.
func (b *BodyReader) Trailers() []Header { return b.trailers }

func (b *BodyReader) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if b.stream {
		n, err := b.rd.readRaw(p)
		if err == io.EOF {
			b.done = true
			if n > 0 {
				err = nil
			}
		}
		return n, err
	}
	switch b.framing {
	case FramingLength:
		return b.readLength(p)
	case FramingClose:
		n, err := b.rd.readRaw(p)
		if err == io.EOF {
			b.done = true
		}
		return n, err
	}
	return b.readChunked(p)
}

func (b *BodyReader) readLength(p []byte) (int, error) {
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.rd.readRaw(p)
	b.remaining -= int64(n)
	if b.remaining == 0 {
		b.done = true
		return n, nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *BodyReader) readChunked(p []byte) (int, error) {
	for {
		switch b.state {
		case stSize:
			line, err := b.rd.readLine(MaxLineBytes, b.response)
			if err != nil {
				return 0, err
			}
			size, perr := parseChunkLine(line, b.response)
			if perr != nil {
				return 0, perr
			}
			if size == 0 {
				if err := b.readTrailers(); err != nil {
					return 0, err
				}
				b.done = true
				return 0, io.EOF
			}
			b.remaining, b.state = size, stData
		case stData:
			if len(p) == 0 {
				return 0, nil
			}
			q := p
			if int64(len(q)) > b.remaining {
				q = q[:b.remaining]
			}
			n, err := b.rd.readRaw(q)
			b.remaining -= int64(n)
			if b.remaining == 0 {
				b.state = stDataCRLF
			}
			if n > 0 {
				return n, nil
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		case stDataCRLF:
			if err := b.rd.expectCRLF(b.response); err != nil {
				return 0, err
			}
			b.state = stSize
		}
	}
}

// parseChunkLine reads chunk-size [chunk-ext] (RFC 9112 §7.1). Extensions
// are checked against the grammar and then ignored; whitespace is allowed
// only where the grammar's BWS is, never bare after the size.
func parseChunkLine(l []byte, resp bool) (int64, *ParseError) {
	var size int64
	i := 0
	for ; i < len(l); i++ {
		d, ok := Unhex(l[i])
		if !ok {
			break
		}
		if size > (1<<63-1)>>4 {
			return 0, errFor(resp, CodeChunkSizeOverflow)
		}
		size = size<<4 | int64(d)
	}
	if i == 0 {
		return 0, errFor(resp, CodeBadChunkSize)
	}
	if i < len(l) && l[i] != ';' && !isOWS(l[i]) {
		return 0, errFor(resp, CodeBadChunkSize)
	}
	if !validChunkExt(l[i:]) {
		return 0, errFor(resp, CodeBadChunkExtension)
	}
	return size, nil
}

// Unhex is the value of one hexadecimal digit. Chunk sizes, percent-escapes
// in URIs and the hex converters all read digits the same way, so they share it.
func Unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validChunkExt checks *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
func validChunkExt(e []byte) bool {
	i := 0
	skip := func() {
		for i < len(e) && isOWS(e[i]) {
			i++
		}
	}
	for {
		skip()
		if i == len(e) {
			// Whitespace with no extension after it is not BWS.
			return len(e) == 0 || !isOWS(e[len(e)-1])
		}
		if e[i] != ';' {
			return false
		}
		i++
		skip()
		j := i
		for i < len(e) && isTchar(e[i]) {
			i++
		}
		if i == j {
			return false
		}
		k := i
		skip()
		if i == len(e) || e[i] != '=' {
			i = k
			continue
		}
		i++
		skip()
		if i < len(e) && e[i] == '"' {
			n, ok := quotedString(e[i:])
			if !ok {
				return false
			}
			i += n
			continue
		}
		j = i
		for i < len(e) && isTchar(e[i]) {
			i++
		}
		if i == j {
			return false
		}
	}
}

// quotedString returns the length of the quoted-string at the start of q.
func quotedString(q []byte) (int, bool) {
	for i := 1; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++
			if i == len(q) || q[i] < 0x20 && q[i] != '\t' || q[i] == 0x7f {
				return 0, false
			}
		case c < 0x20 && c != '\t' || c == 0x7f:
			return 0, false
		}
	}
	return 0, false
}

// readTrailers parses the trailer section into b.trailers. Field bytes are
// copied into a per-Reader buffer sized once to MaxHeaderBytes, so the
// Header slices never move.
func (b *BodyReader) readTrailers() error {
	rd := b.rd
	if rd.trailerBuf == nil {
		rd.trailerBuf = make([]byte, 0, rd.maxHead)
	}
	rd.trailerBuf = rd.trailerBuf[:0]
	for {
		line, err := rd.readLine(MaxLineBytes, b.response)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if len(b.trailers) >= rd.maxHeaders || len(rd.trailerBuf)+len(line) > cap(rd.trailerBuf) {
			return errFor(b.response, CodeTrailerTooLarge)
		}
		h, perr := parseField(line, b.response)
		if perr != nil {
			perr.Code, perr.Reason = CodeBadTrailer, CodeBadTrailer.String()
			return perr
		}
		if framingField(h.Name) {
			// RFC 9110 §6.5.1: framing and routing fields have no meaning
			// in a trailer, and a next hop that merged trailers into the
			// head would reframe the message. Dropped.
			continue
		}
		off := len(rd.trailerBuf)
		rd.trailerBuf = append(rd.trailerBuf, h.Name...)
		h.Name = rd.trailerBuf[off:len(rd.trailerBuf):len(rd.trailerBuf)]
		off = len(rd.trailerBuf)
		rd.trailerBuf = append(rd.trailerBuf, h.Value...)
		h.Value = rd.trailerBuf[off:len(rd.trailerBuf):len(rd.trailerBuf)]
		b.trailers = append(b.trailers, h)
	}
}

func framingField(name []byte) bool {
	return equalFold(name, "content-length") || equalFold(name, "transfer-encoding") || equalFold(name, "host")
}

// Discard reads the rest of the body and drops it, so that the connection
// can carry another message.
func (b *BodyReader) Discard() (int64, error) {
	var scratch [512]byte
	var total int64
	for !b.done {
		n, err := b.Read(scratch[:])
		total += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// readLine returns the next CRLF-terminated line of the body area, at most
// limit bytes without the CRLF.
func (rd *Reader) readLine(limit int, resp bool) ([]byte, error) {
	off := 0 // bytes of buf[r:] already searched
	for {
		if i := bytes.IndexByte(rd.buf[rd.r+off:rd.w], '\n'); i >= 0 {
			end := rd.r + off + i
			if end-rd.r > limit+1 {
				return nil, errFor(resp, CodeChunkLineTooLong)
			}
			if end == rd.r || rd.buf[end-1] != '\r' {
				return nil, errFor(resp, CodeBareLF)
			}
			line := rd.buf[rd.r : end-1]
			rd.r = end + 1
			return line, nil
		}
		off = rd.w - rd.r
		if off > limit+1 {
			return nil, errFor(resp, CodeChunkLineTooLong)
		}
		if err := rd.fill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

func (rd *Reader) expectCRLF(resp bool) error {
	for rd.w-rd.r < 2 {
		if err := rd.fill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	if rd.buf[rd.r] != '\r' || rd.buf[rd.r+1] != '\n' {
		return errFor(resp, CodeBadChunkTerminator)
	}
	rd.r += 2
	return nil
}

// Peek returns the body bytes of a Content-Length body that are already
// buffered, without consuming them (nil for other framings: chunk sizes
// would be mixed in). They stay valid until the next read.
func (b *BodyReader) Peek() []byte {
	if b.framing != FramingLength || b.done || b.stream {
		return nil
	}
	buf := b.rd.buf[b.rd.r:b.rd.w]
	if int64(len(buf)) > b.remaining {
		buf = buf[:b.remaining]
	}
	return buf
}

// Ready reports whether the next Read can return body bytes, or the end
// of the body, from what is already buffered: framing bytes alone (a
// chunk's CRLF, part of the next size line) do not count. A proxy that
// transforms the body flushes its output when this turns false, so that
// what a server streams reaches the client as it comes.
func (b *BodyReader) Ready() bool {
	if b.done {
		return true
	}
	buf := b.rd.buf[b.rd.r:b.rd.w]
	if b.framing != FramingChunked || b.state == stData {
		return len(buf) > 0
	}
	if b.state == stDataCRLF {
		if len(buf) < 2 {
			return false
		}
		buf = buf[2:]
	}
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return false
	}
	// The last chunk counts as ready: its trailers come in the same
	// write in practice.
	return i+1 < len(buf) || (len(buf) > 0 && buf[0] == '0')
}
