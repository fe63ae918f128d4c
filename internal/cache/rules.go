package cache

import (
	"net/http"
	"strings"
	"time"

	"bulwark/internal/h1"
)

// Deliverable says whether a request may be answered from the cache: a
// GET or HEAD in HTTP/1.1 or later, without Authorization, and without
// "Cache-Control: no-cache" or "Pragma: no-cache" (which ask for the
// server's answer; that answer may still be stored).
func Deliverable(req *h1.Request) bool {
	if !Storable(req) && string(req.Method) != "HEAD" {
		return false
	}
	if req.Major < 1 || (req.Major == 1 && req.Minor < 1) {
		return false
	}
	for i := range req.Headers {
		h := &req.Headers[i]
		switch {
		case h1.EqualFold(h.Name, "authorization"):
			return false
		case h1.EqualFold(h.Name, "cache-control"), h1.EqualFold(h.Name, "pragma"):
			if hasToken(h.Value, "no-cache") {
				return false
			}
		}
	}
	return true
}

// Storable says whether the response to a request may be stored: a GET
// in HTTP/1.1 or later without Authorization (another client must never
// get a response that depended on someone's credentials).
func Storable(req *h1.Request) bool {
	if string(req.Method) != "GET" || req.Major < 1 || (req.Major == 1 && req.Minor < 1) {
		return false
	}
	_, auth := h1.Get(req.Headers, "authorization")
	return !auth
}

// knownEncodings are the content codings of IANA's registry: a response
// that varies on Accept-Encoding is stored only with one of these, since
// the cache must know which requests accept it.
var knownEncodings = map[string]bool{"aes128gcm": true, "br": true, "compress": true, "deflate": true, "exi": true,
	"gzip": true, "identity": true, "pack200-gzip": true, "x-compress": true, "x-gzip": true, "zstd": true}

// Prepare decides whether a response may be stored and returns the entry
// to fill with its body, or nil. It applies HAProxy 2.6's rules: a 200
// only; not "no-store", "no-cache", "private" or a zero max-age; no
// Set-Cookie (one client's cookie must never reach another); a Vary only
// on Accept-Encoding and Referer, and only with process-vary; an
// expiration (s-maxage, max-age, Expires) or a validator (ETag,
// Last-Modified) or nothing is stored; a valid Age that leaves the object
// fresh. The lifetime is capped by the section's max-age.
func (c *Cache) Prepare(req *h1.Request, status int, reason []byte, hs []h1.Header) *Entry {
	if status != 200 || !Storable(req) {
		return nil
	}
	now := c.now()
	var (
		maxAge, sMaxAge    = -1, -1
		expires, date, lm  time.Time
		hasExpires, hasVal bool
		age                time.Duration
		varyAE, varyRef    bool
		codings            []string
	)
	for i := range hs {
		h := &hs[i]
		switch {
		case h1.EqualFold(h.Name, "cache-control"):
			v := h.Value
			for len(v) > 0 {
				var d []byte
				d, v = h1.NextListElem(v)
				name, arg := d, []byte(nil)
				for j := range d {
					if d[j] == '=' {
						name, arg = d[:j], d[j+1:]
						break
					}
				}
				switch {
				case h1.EqualFold(name, "no-store"), h1.EqualFold(name, "no-cache"), h1.EqualFold(name, "private"):
					return nil
				case h1.EqualFold(name, "max-age"):
					if maxAge = seconds(arg); maxAge <= 0 {
						return nil
					}
				case h1.EqualFold(name, "s-maxage"):
					if sMaxAge = seconds(arg); sMaxAge <= 0 {
						return nil
					}
				}
			}
		case h1.EqualFold(h.Name, "set-cookie"):
			return nil
		case h1.EqualFold(h.Name, "vary"):
			v := h.Value
			for len(v) > 0 {
				var f []byte
				f, v = h1.NextListElem(v)
				switch {
				case len(f) == 0:
				case h1.EqualFold(f, "accept-encoding"):
					varyAE = true
				case h1.EqualFold(f, "referer"):
					varyRef = true
				default:
					return nil
				}
			}
		case h1.EqualFold(h.Name, "content-encoding"):
			v := h.Value
			for len(v) > 0 {
				var el []byte
				el, v = h1.NextListElem(v)
				if len(el) > 0 {
					codings = append(codings, lowerString(el))
				}
			}
		case h1.EqualFold(h.Name, "expires"):
			t, err := http.ParseTime(string(h.Value))
			if err != nil {
				// An invalid Expires means "already expired" (RFC 9111
				// §5.3).
				return nil
			}
			expires, hasExpires = t, true
		case h1.EqualFold(h.Name, "date"):
			date, _ = http.ParseTime(string(h.Value))
		case h1.EqualFold(h.Name, "last-modified"):
			lm, _ = http.ParseTime(string(h.Value))
			hasVal = true
		case h1.EqualFold(h.Name, "etag"):
			hasVal = true
		case h1.EqualFold(h.Name, "age"):
			n := seconds(h.Value)
			if n < 0 {
				return nil
			}
			age = time.Duration(n) * time.Second
		}
	}
	if (varyAE || varyRef) && !c.cfg.ProcessVary {
		return nil
	}
	if varyAE {
		for _, c := range codings {
			if !knownEncodings[c] {
				return nil
			}
		}
	}
	var life time.Duration
	switch {
	case sMaxAge > 0:
		life = time.Duration(sMaxAge) * time.Second
	case maxAge > 0:
		life = time.Duration(maxAge) * time.Second
	case hasExpires:
		base := now
		if !date.IsZero() {
			base = date
		}
		life = expires.Sub(base)
	case hasVal:
		life = c.cfg.MaxAge
	default:
		return nil
	}
	// A response older than its own lifetime is stale; otherwise it is
	// kept for its lifetime capped by max-age, counted from now, as
	// HAProxy does (its Age goes on in the delivered Age).
	if life <= age {
		return nil
	}
	life = min(life, c.cfg.MaxAge)
	e := &Entry{Status: status, Reason: append([]byte(nil), reason...), Stored: now, Expires: now.Add(life), Age: age,
		LastModified: lm, Date: date}
	e.Headers = make([]h1.Header, 0, len(hs))
	hop := h1.HopByHopOf(hs, false)
	for i := range hs {
		h := hs[i]
		if hop.Is(h) || h1.EqualFold(h.Name, "content-length") || h1.EqualFold(h.Name, "age") {
			continue
		}
		h.Name, h.Value = append([]byte(nil), h.Name...), append([]byte(nil), h.Value...)
		if h1.EqualFold(h.Name, "etag") {
			e.ETag = h.Value
		}
		e.Headers = append(e.Headers, h)
	}
	if varyAE {
		e.varyAE, e.codings = true, codings
		if len(codings) == 0 {
			e.codings = []string{"identity"}
		}
	}
	if varyRef {
		ref, _ := h1.Get(req.Headers, "referer")
		e.varyRef, e.referer = true, string(ref)
	}
	return e
}

// secondaryOf is the variant key of an entry: what it varies on.
func secondaryOf(e *Entry) string {
	if !e.varyAE && !e.varyRef {
		return ""
	}
	return strings.Join(e.codings, ",") + "\x00" + e.referer
}

// matches says whether a variant may answer req: the request accepts its
// content coding and sends the same Referer.
func (e *Entry) matches(req *h1.Request) bool {
	if e.varyRef {
		ref, _ := h1.Get(req.Headers, "referer")
		if string(ref) != e.referer {
			return false
		}
	}
	if e.varyAE {
		for _, c := range e.codings {
			if !accepts(req, c) {
				return false
			}
		}
	}
	return true
}

// accepts applies Accept-Encoding to one coding (elements read by
// h1.ParseCoding; one that does not parse is ignored): a request without
// the field accepts anything; identity is acceptable unless refused
// ("identity;q=0", or "*;q=0" without identity listed); another coding
// needs to be listed, or "*", with a non-zero q-value.
func accepts(req *h1.Request, coding string) bool {
	named, star := -1, -1
	seen := false
	for i := range req.Headers {
		if !h1.EqualFold(req.Headers[i].Name, "accept-encoding") {
			continue
		}
		seen = true
		v := req.Headers[i].Value
		for len(v) > 0 {
			var el []byte
			el, v = h1.NextListElem(v)
			tok, q, ok := h1.ParseCoding(el)
			if !ok {
				// An element that does not parse accepts nothing.
				continue
			}
			switch {
			case len(tok) == 0:
			case string(tok) == "*":
				star = q
			case lowerString(tok) == coding || (coding == "gzip" && lowerString(tok) == "x-gzip"):
				named = max(named, q)
			}
		}
	}
	if !seen {
		// No Accept-Encoding at all accepts anything (RFC 9110
		// §12.5.3); an empty one accepts only identity.
		return true
	}
	if named >= 0 {
		return named > 0
	}
	if coding == "identity" {
		return star != 0
	}
	return seen && star > 0
}

// seconds reads a delta-seconds value; -1 when it is not one.
func seconds(b []byte) int {
	if len(b) == 0 || len(b) > 10 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		var e []byte
		e, v = h1.NextListElem(v)
		if h1.EqualFold(e, tok) {
			return true
		}
	}
	return false
}

func lowerString(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}

// NotModified says whether a conditional request can be answered 304
// from e: If-None-Match naming its ETag (weak comparison) or "*", else
// If-Modified-Since at or after its Last-Modified (its Date, else when it
// was stored, when it has none).
func NotModified(req *h1.Request, e *Entry) bool {
	if inm, ok := h1.Get(req.Headers, "if-none-match"); ok {
		if len(e.ETag) == 0 {
			return false
		}
		v := inm
		for len(v) > 0 {
			var t []byte
			t, v = h1.NextListElem(v)
			if string(t) == "*" || string(weakless(t)) == string(weakless(e.ETag)) {
				return true
			}
		}
		return false
	}
	ims, ok := h1.Get(req.Headers, "if-modified-since")
	if !ok {
		return false
	}
	t, err := http.ParseTime(string(ims))
	if err != nil {
		return false
	}
	ref := e.LastModified
	if ref.IsZero() {
		ref = e.Date
	}
	if ref.IsZero() {
		ref = e.Stored.Truncate(time.Second)
	}
	return !t.Before(ref)
}

func weakless(t []byte) []byte {
	if len(t) >= 2 && t[0] == 'W' && t[1] == '/' {
		return t[2:]
	}
	return t
}
