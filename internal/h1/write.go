package h1

import (
	"io"
	"strconv"
)

// The Append functions serialize into a caller-supplied slice so the hot
// path can reuse one buffer per connection and allocate nothing.

func appendVersion(dst []byte, major, minor int) []byte {
	return append(dst, 'H', 'T', 'T', 'P', '/', byte('0'+major), '.', byte('0'+minor))
}

// AppendRequestLine appends "METHOD target HTTP/x.y\r\n".
func AppendRequestLine(dst []byte, method, target []byte, major, minor int) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	dst = append(dst, ' ')
	dst = appendVersion(dst, major, minor)
	return append(dst, '\r', '\n')
}

// AppendStatusLine appends "HTTP/x.y NNN reason\r\n".
func AppendStatusLine(dst []byte, major, minor, status int, reason []byte) []byte {
	dst = appendVersion(dst, major, minor)
	dst = append(dst, ' ', byte('0'+status/100%10), byte('0'+status/10%10), byte('0'+status%10), ' ')
	dst = append(dst, reason...)
	return append(dst, '\r', '\n')
}

// AppendHeaderField appends "name: value\r\n". The caller vouches for the
// bytes; use it for fields the proxy itself adds (X-Forwarded-For,
// Transfer-Encoding: chunked, Connection: upgrade).
func AppendHeaderField[N, V ~string | ~[]byte](dst []byte, name N, value V) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}

// AppendHeaders appends every field of hs in order, with original case.
func AppendHeaders(dst []byte, hs []Header) []byte {
	for i := range hs {
		dst = AppendHeaderField(dst, hs[i].Name, hs[i].Value)
	}
	return dst
}

// AppendForwardHeaders appends the fields of hs a proxy may forward,
// dropping hop-by-hop ones (RFC 9110 §7.6.1): Connection, Keep-Alive,
// Proxy-Connection, TE, Transfer-Encoding (the framing is re-emitted by the
// caller), Upgrade and every field named in Connection. With keepUpgrade
// the Upgrade field is kept and "Connection: upgrade" added once, for a
// tunnel the proxy lets through. The head's final CRLF is not appended.
func AppendForwardHeaders(dst []byte, hs []Header, keepUpgrade bool) []byte {
	kept, cl := false, false
	hop := HopByHopOf(hs, keepUpgrade)
	for i := range hs {
		if hop.Is(hs[i]) {
			continue
		}
		if keepUpgrade && equalFold(hs[i].Name, "upgrade") {
			kept = true
		}
		if len(hs[i].Name) == 14 && equalFold(hs[i].Name, "content-length") {
			// "Content-Length: 5, 5" or the field twice: the parser made
			// sure the values agree; the next hop gets one plain value, as
			// HAProxy sends, so that it cannot read the list differently.
			if cl {
				continue
			}
			cl = true
			v, _ := nextListElem(hs[i].Value)
			dst = AppendHeaderField(dst, hs[i].Name, v)
			continue
		}
		dst = AppendHeaderField(dst, hs[i].Name, hs[i].Value)
	}
	if kept {
		dst = AppendHeaderField(dst, "Connection", "upgrade")
	}
	return dst
}

// AppendRequestHead appends req's request line, all its fields verbatim
// and the final CRLF.
func AppendRequestHead(dst []byte, req *Request) []byte {
	dst = AppendRequestLine(dst, req.Method, req.Target, req.Major, req.Minor)
	dst = AppendHeaders(dst, req.Headers)
	return append(dst, '\r', '\n')
}

// AppendResponseHead appends resp's status line, fields and final CRLF.
func AppendResponseHead(dst []byte, resp *Response) []byte {
	dst = AppendStatusLine(dst, resp.Major, resp.Minor, resp.Status, resp.Reason)
	dst = AppendHeaders(dst, resp.Headers)
	return append(dst, '\r', '\n')
}

// ChunkedWriter writes chunked framing around what it is given. The zero
// value is not usable; set W.
type ChunkedWriter struct {
	W       io.Writer
	scratch [24]byte
}

// Write emits p as one chunk. An empty p writes nothing, since a zero-size
// chunk would end the body.
func (cw *ChunkedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	hdr := strconv.AppendUint(cw.scratch[:0], uint64(len(p)), 16)
	hdr = append(hdr, '\r', '\n')
	if _, err := cw.W.Write(hdr); err != nil {
		return 0, err
	}
	n, err := cw.W.Write(p)
	if err != nil {
		return n, err
	}
	_, err = cw.W.Write(cw.scratch[len(hdr)-2 : len(hdr)])
	return n, err
}

// Close emits the last chunk, the trailers and the final CRLF.
func (cw *ChunkedWriter) Close(trailers []Header) error {
	return writeLastChunk(cw.W, cw.scratch[:0], trailers)
}

func writeLastChunk(w io.Writer, buf []byte, trailers []Header) error {
	buf = append(buf, '0', '\r', '\n')
	for i := range trailers {
		if len(buf) > 0 && len(buf)+len(trailers[i].Name)+len(trailers[i].Value)+4 > cap(buf) {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		buf = AppendHeaderField(buf, trailers[i].Name, trailers[i].Value)
	}
	buf = append(buf, '\r', '\n')
	_, err := w.Write(buf)
	return err
}

// AppendChunk appends data as one chunk; data must not be empty.
func AppendChunk(dst, data []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(len(data)), 16)
	dst = append(dst, '\r', '\n')
	dst = append(dst, data...)
	return append(dst, '\r', '\n')
}

// AppendLastChunk appends the last chunk with its trailer fields.
func AppendLastChunk(dst []byte, trailers []Header) []byte {
	dst = append(dst, '0', '\r', '\n')
	dst = AppendHeaders(dst, trailers)
	return append(dst, '\r', '\n')
}

// chunkHdrRoom is reserved in front of each chunk in CopyBody for its size
// line: 16 hex digits and CRLF.
const chunkHdrRoom = 18

// DefaultCopyBufferSize is used by CopyBody when given no buffer.
const DefaultCopyBufferSize = 32 << 10

// CopyBody copies the body of the message last read by src to dst, with
// buf as the only buffer (allocated if shorter than 256 bytes). A chunked
// body stays chunked: each read becomes one chunk, written in a single
// Write together with its framing, and trailers follow the last chunk.
// Other bodies are copied as they are. It returns the number of body bytes
// (without framing) and stops at the first error.
func CopyBody(dst io.Writer, src *Reader, buf []byte) (int64, error) {
	if len(buf) < 256 {
		buf = make([]byte, DefaultCopyBufferSize)
	}
	b := src.Body()
	var total int64
	if b.Framing() != FramingChunked {
		for {
			n, err := b.Read(buf)
			if n > 0 {
				total += int64(n)
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return total, werr
				}
			}
			if err == io.EOF {
				return total, nil
			}
			if err != nil {
				return total, err
			}
		}
	}
	for {
		n, err := b.Read(buf[chunkHdrRoom : len(buf)-2])
		if n > 0 {
			total += int64(n)
			var sz [chunkHdrRoom]byte
			hdr := strconv.AppendUint(sz[:0], uint64(n), 16)
			hdr = append(hdr, '\r', '\n')
			start := chunkHdrRoom - len(hdr)
			copy(buf[start:], hdr)
			end := chunkHdrRoom + n
			buf[end], buf[end+1] = '\r', '\n'
			if _, werr := dst.Write(buf[start : end+2]); werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, writeLastChunk(dst, buf[:0], b.Trailers())
		}
		if err != nil {
			return total, err
		}
	}
}
