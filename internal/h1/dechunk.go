package h1

import (
	"bytes"
	"errors"
	"strconv"
)

// Dechunker takes the chunked framing off a body that arrives in pieces
// of any size: the proxy's own session writes HTTP/1.1 (checked and
// re-framed already) into converters that frame it otherwise, such as
// HTTP/2 streams towards clients and towards servers. It parses only
// what such a writer produces; bad framing is an error, never guessed.
type Dechunker struct {
	state     uint8
	remaining int64
	crlf      int
	line      []byte
	// Max bounds a chunk-size or trailer line (0: 64 kB).
	Max int
}

// Dechunk events.
const (
	DechunkMore    = iota // p is consumed: write more
	DechunkData           // b is body bytes
	DechunkTrailer        // b is one trailer field line, without its CRLF
	DechunkEnd            // the last chunk and its trailers ended
)

const (
	dcSize uint8 = iota
	dcData
	dcCRLF
	dcTrailer
)

// ErrChunked is bad chunked framing given to a Dechunker.
var ErrChunked = errors.New("h1: bad chunked framing")

// Reset readies d for another body whose lines are at most max bytes,
// keeping its line buffer.
func (d *Dechunker) Reset(max int) { *d = Dechunker{line: d.line[:0], Max: max} }

// Next consumes p up to the next event and returns it with its bytes (b,
// valid until the next call) and what is left of p. The caller loops
// while rest is not empty or the event is not DechunkMore.
func (d *Dechunker) Next(p []byte) (ev int, b, rest []byte, err error) {
	switch d.state {
	case dcSize, dcTrailer:
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			d.line = append(d.line, p...)
			max := d.Max
			if max == 0 {
				max = 64 << 10
			}
			if len(d.line) > max {
				return 0, nil, nil, ErrChunked
			}
			return DechunkMore, nil, nil, nil
		}
		d.line = append(d.line, p[:i+1]...)
		p = p[i+1:]
		l := bytes.TrimRight(d.line, "\r\n")
		d.line = d.line[:0]
		if d.state == dcTrailer {
			if len(l) > 0 {
				return DechunkTrailer, l, p, nil
			}
			d.state = dcSize
			return DechunkEnd, nil, p, nil
		}
		if j := bytes.IndexByte(l, ';'); j >= 0 {
			l = l[:j]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(l)), 16, 64)
		if err != nil || size < 0 {
			return 0, nil, nil, ErrChunked
		}
		if size == 0 {
			d.state = dcTrailer
		} else {
			d.state, d.remaining = dcData, size
		}
		return DechunkMore, nil, p, nil
	case dcData:
		n := min(int64(len(p)), d.remaining)
		d.remaining -= n
		if d.remaining == 0 {
			d.state, d.crlf = dcCRLF, 0
		}
		return DechunkData, p[:n], p[n:], nil
	default: // dcCRLF
		for len(p) > 0 && d.crlf < 2 {
			p = p[1:]
			d.crlf++
		}
		if d.crlf == 2 {
			d.state = dcSize
		}
		return DechunkMore, nil, p, nil
	}
}
