package compress

import (
	"bulwark/internal/h1"
)

// Eligible applies HAProxy's response rules: only a 200 to 203 to a
// non-HEAD HTTP/1.1 request, in HTTP/1.1 or later, with a length or
// chunked framing (a body delimited by the close would need buffering),
// not already encoded, not "Cache-Control: no-transform", not multipart,
// of a configured type when types are listed (a response without
// Content-Type then does not qualify), and with at most one valid ETag so
// that the weak ETag sent instead still identifies it.
func Eligible(types []string, req *h1.Request, resp *h1.Response) bool {
	if resp.Status < 200 || resp.Status > 203 || resp.Tunnel {
		return false
	}
	if resp.Major < 1 || (resp.Major == 1 && resp.Minor < 1) {
		return false
	}
	if string(req.Method) == "HEAD" {
		return false
	}
	if resp.Body != h1.FramingLength && resp.Body != h1.FramingChunked {
		return false
	}
	etags := 0
	ctype, hasType := []byte(nil), false
	for i := range resp.Headers {
		h := &resp.Headers[i]
		switch {
		case h1.EqualFold(h.Name, "content-encoding"):
			return false
		case h1.EqualFold(h.Name, "cache-control"):
			v := h.Value
			for len(v) > 0 {
				var e []byte
				e, v = h1.NextListElem(v)
				if h1.EqualFold(e, "no-transform") {
					return false
				}
			}
		case h1.EqualFold(h.Name, "etag"):
			etags++
			if etags > 1 || !validETag(h.Value) {
				return false
			}
		case h1.EqualFold(h.Name, "content-type"):
			if !hasType {
				ctype, hasType = h.Value, true
			}
		}
	}
	if hasType {
		if len(ctype) >= 9 && h1.EqualFold(ctype[:9], "multipart") {
			return false
		}
		if len(types) > 0 && !typeListed(types, ctype) {
			return false
		}
	} else if len(types) > 0 {
		return false
	}
	return true
}

// typeListed matches the Content-Type value against the configured types
// by case-insensitive prefix, as HAProxy does: "text/html" matches
// "text/html; charset=utf-8".
func typeListed(types []string, ctype []byte) bool {
	for _, t := range types {
		if len(ctype) >= len(t) && prefixFold(ctype, t) {
			return true
		}
	}
	return false
}

func prefixFold(b []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// validETag accepts an entity-tag of RFC 9110 §8.8.3: an optional "W/"
// then a quoted opaque string.
func validETag(v []byte) bool {
	if len(v) >= 2 && v[0] == 'W' && v[1] == '/' {
		v = v[2:]
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return false
	}
	for _, c := range v[1 : len(v)-1] {
		if c < 0x21 || c == '"' || c == 0x7f {
			return false
		}
	}
	return true
}

// AppendHeaders appends the fields of a response that is being compressed
// with a: the forwardable fields without Content-Length (the body is
// re-framed as chunks by the caller), a strong ETag made weak (the bytes
// are no longer those the tag named), then Content-Encoding and "Vary:
// Accept-Encoding" so that caches keep the variants apart. identity only
// re-frames and adds neither.
func AppendHeaders(dst []byte, hs []h1.Header, a Algo) []byte {
	hop := h1.HopByHopOf(hs, false)
	for i := range hs {
		h := &hs[i]
		if hop.Is(*h) || h1.EqualFold(h.Name, "content-length") {
			continue
		}
		if a != Identity && h1.EqualFold(h.Name, "etag") && !weak(h.Value) {
			dst = append(dst, h.Name...)
			dst = append(dst, ':', ' ', 'W', '/')
			dst = append(dst, h.Value...)
			dst = append(dst, '\r', '\n')
			continue
		}
		dst = h1.AppendHeaderField(dst, h.Name, h.Value)
	}
	if a != Identity {
		dst = h1.AppendHeaderField(dst, "Content-Encoding", a.ContentEncoding())
		dst = h1.AppendHeaderField(dst, "Vary", "Accept-Encoding")
	}
	return dst
}

func weak(etag []byte) bool { return len(etag) >= 2 && etag[0] == 'W' && etag[1] == '/' }
