package proxy

import (
	"crypto/tls"
	"errors"
	"net"
)

// h2Guard watches the frame headers a client sends on an HTTP/2
// connection on their way to x/net's server and ends the connection when
// one header block (a HEADERS frame and its CONTINUATION frames) grows
// past what a request may carry. x/net bounds the decoded header list, but
// not a block of empty CONTINUATION frames, which costs the client nine
// bytes a frame and never ends (a CONTINUATION flood); HAProxy gathers a
// block in one buffer and so refuses it at tune.bufsize. Each frame's
// nine-byte header is counted in the block, so a flood of empty frames
// hits the same bound.
//
// Only frame headers are parsed: payloads are skipped by length, so the
// cost is a few comparisons per frame.
type h2Guard struct {
	net.Conn
	tc       *tls.Conn
	preface  int // bytes of the client preface still to pass
	hdr      [9]byte
	nh       int  // frame header bytes gathered so far
	skip     int  // payload bytes of the current frame still to pass
	inBlock  bool // a header block is open (no END_HEADERS yet)
	block    int  // bytes of the open header block, frame headers included
	maxBlock int
	err      error
}

var errH2HeaderBlock = errors.New("http2: header block larger than tune.bufsize (CONTINUATION flood)")

// ConnectionState lets x/net's server see the TLS state through the guard
// (it looks for this method on the connection it serves).
func (g *h2Guard) ConnectionState() tls.ConnectionState { return g.tc.ConnectionState() }

func (g *h2Guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.Conn.Read(p)
	if bad := g.scan(p[:n]); bad >= 0 {
		// The bytes before the offending frame go through; the server then
		// sees the error and closes the connection.
		g.err = errH2HeaderBlock
		if bad == 0 {
			return 0, g.err
		}
		return bad, nil
	}
	return n, err
}

// scan follows the frame boundaries in b and returns the offset of the
// frame header that pushes a header block over the bound, or -1.
func (g *h2Guard) scan(b []byte) int {
	i := 0
	if g.preface > 0 {
		k := min(g.preface, len(b))
		g.preface -= k
		i = k
	}
	for i < len(b) {
		if g.skip > 0 {
			k := min(g.skip, len(b)-i)
			g.skip -= k
			i += k
			continue
		}
		start := i - g.nh // where this frame header began (may be in an earlier read)
		k := copy(g.hdr[g.nh:], b[i:])
		g.nh += k
		i += k
		if g.nh < len(g.hdr) {
			break
		}
		g.nh = 0
		length := int(g.hdr[0])<<16 | int(g.hdr[1])<<8 | int(g.hdr[2])
		typ, flags := g.hdr[3], g.hdr[4]
		g.skip = length
		const frameHeaders, frameContinuation, endHeaders = 0x1, 0x9, 0x4
		switch {
		case typ == frameHeaders && flags&endHeaders == 0:
			g.inBlock, g.block = true, len(g.hdr)+length
		case typ == frameContinuation && g.inBlock:
			g.block += len(g.hdr) + length
			if g.block > g.maxBlock {
				return max(start, 0)
			}
			if flags&endHeaders != 0 {
				g.inBlock, g.block = false, 0
			}
		}
	}
	return -1
}
