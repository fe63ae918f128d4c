package h1

import "io"

// Direct transfers: a proxy may move the rest of a body from the
// connection to its destination without reading it through the Reader
// (kernel splicing), once the Reader holds none of it. The Reader is then
// told what went past it, so that the body ends as if it had been read.

// Direct reports how many body bytes are still to come from the
// connection when the Reader holds none of them: the rest of a
// Content-Length body, or -1 for a body that ends with the connection.
// ok is false for chunked bodies (their framing must be parsed), bodies
// of another protocol's stream, a body already read, or while bytes are
// buffered (read them first).
func (b *BodyReader) Direct() (n int64, ok bool) {
	if b.done || b.stream || b.rd.r < b.rd.w || b.rd.err != nil {
		return 0, false
	}
	switch b.framing {
	case FramingLength:
		return b.remaining, true
	case FramingClose:
		return -1, true
	}
	return 0, false
}

// Moved records that n body bytes went directly from the connection
// (after Direct), and eof that the connection ended: a Content-Length
// body is done once its bytes are all moved, a close-delimited one at
// the end of the connection.
func (b *BodyReader) Moved(n int64, eof bool) {
	switch b.framing {
	case FramingLength:
		b.remaining -= n
		if b.remaining <= 0 {
			b.remaining, b.done = 0, true
		}
	case FramingClose:
		if eof {
			b.done = true
		}
	}
	if eof {
		b.rd.err = io.EOF // the connection has nothing more to read
	}
}
