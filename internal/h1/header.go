package h1

// Header is one header field as received: Name and Value keep their original
// bytes and case, Value without surrounding whitespace. In a parsed message
// both alias the Reader's buffer and stay valid until the next head is read.
type Header struct {
	Name, Value []byte
}

// Bit sets over ASCII, as constants so that the package holds no mutable
// tables. Bit i of lo is byte i; bit i of hi is byte 64+i.
const (
	// RFC 9110 §5.6.2 tchar.
	tcharLo = 0x3ff6cfa00000000
	tcharHi = 0x57ffffffc7fffffe
	// Host: reg-name / IP-literal / port characters (RFC 3986 §3.2.2),
	// without userinfo ("@") and without anything that could end a URI.
	hostLo = 0x2fff7ff200000000
	hostHi = 0x47fffffeaffffffe
)

func inSet(c byte, lo, hi uint64) bool {
	if c < 64 {
		return lo&(1<<c) != 0
	}
	if c < 128 {
		return hi&(1<<(c-64)) != 0
	}
	return false
}

func isTchar(c byte) bool { return inSet(c, tcharLo, tcharHi) }

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTchar(c) {
			return false
		}
	}
	return true
}

// validFieldValue accepts field-vchar (VCHAR / obs-text), SP and HTAB: no
// NUL, no CR or LF, no other CTL, no DEL (RFC 9110 §5.5).
func validFieldValue(v []byte) bool {
	for _, c := range v {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// equalFold compares b with s, where s is lower-case ASCII, ignoring ASCII case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// nextListElem splits one element off a comma-separated list (RFC 9110
// §5.6.1), trimming OWS. Empty elements come back as empty slices; callers
// skip them as the RFC asks.
func nextListElem(v []byte) (elem, rest []byte) {
	for i, c := range v {
		if c == ',' {
			return trimOWS(v[:i]), v[i+1:]
		}
	}
	return trimOWS(v), nil
}

// Get returns the value of the first field named name (lower-case), and
// whether there was one.
func Get(hs []Header, name string) ([]byte, bool) {
	for i := range hs {
		if equalFold(hs[i].Name, name) {
			return hs[i].Value, true
		}
	}
	return nil, false
}

// hopByHopNames are the fields RFC 9110 §7.6.1 says a proxy must not forward,
// plus Proxy-Connection which old clients still send.
func isFixedHopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return equalFold(name, "te")
	case 7:
		return equalFold(name, "upgrade")
	case 10:
		return equalFold(name, "connection") || equalFold(name, "keep-alive")
	case 16:
		return equalFold(name, "proxy-connection")
	case 17:
		return equalFold(name, "transfer-encoding")
	}
	return false
}

// listedInConnection reports whether name appears as a token in any
// Connection field of hs.
func listedInConnection(hs []Header, name []byte) bool {
	for i := range hs {
		if !equalFold(hs[i].Name, "connection") {
			continue
		}
		v := hs[i].Value
		for len(v) > 0 {
			var e []byte
			e, v = nextListElem(v)
			if equalFoldBytes(e, name) {
				return true
			}
		}
	}
	return false
}

// HopByHop tells which fields of one head must not be forwarded, the
// tokens of its Connection fields gathered once: asking, field by field,
// whether some Connection field named it read every Connection field again
// for each one, n² steps for n fields (3 % of a keep-alive request's own
// CPU time in Bulwark's profile). A loop over a head's fields makes one
// (HopByHopOf) and asks it for each.
type HopByHop struct {
	hs          []Header
	keepUpgrade bool
	t           [8][]byte
	n           int
	over        bool // more tokens than t holds: listedInConnection answers
}

// HopByHopOf gathers hs's Connection tokens. Upgrade is kept when
// keepUpgrade is set, for a tunnel the proxy has decided to let through.
func HopByHopOf(hs []Header, keepUpgrade bool) HopByHop {
	c := HopByHop{hs: hs, keepUpgrade: keepUpgrade}
	for i := range hs {
		if len(hs[i].Name) != len("connection") || !equalFold(hs[i].Name, "connection") {
			continue
		}
		for v := hs[i].Value; len(v) > 0; {
			var e []byte
			e, v = nextListElem(v)
			if len(e) == 0 {
				continue
			}
			if c.n == len(c.t) {
				c.over = true
				return c
			}
			c.t[c.n] = e
			c.n++
		}
	}
	return c
}

// Is reports whether the field h of the head must not be forwarded.
func (c *HopByHop) Is(h Header) bool {
	if c.keepUpgrade && equalFold(h.Name, "upgrade") {
		return false
	}
	if isFixedHopByHop(h.Name) {
		return true
	}
	if c.n == 0 && !c.over {
		return false
	}
	// Fields named in Connection are hop-by-hop, but end-to-end framing
	// and routing fields must survive a hostile "Connection: host".
	if equalFold(h.Name, "host") || equalFold(h.Name, "content-length") {
		return false
	}
	if c.over {
		return listedInConnection(c.hs, h.Name)
	}
	for _, t := range c.t[:c.n] {
		if equalFoldBytes(t, h.Name) {
			return true
		}
	}
	return false
}

// IsHopByHop reports whether the field h of a message whose fields are hs
// must not be forwarded (HopByHopOf, for one field).
func IsHopByHop(hs []Header, h Header, keepUpgrade bool) bool {
	c := HopByHopOf(hs, keepUpgrade)
	return c.Is(h)
}

// RemoveHopByHop filters hs in place, dropping hop-by-hop fields, and
// returns the shortened slice. With keepUpgrade the Upgrade field stays and
// the caller must add "Connection: upgrade" itself (AppendHeaderField).
func RemoveHopByHop(hs []Header, keepUpgrade bool) []Header {
	// Decide first, then compact: Connection must be consulted before it
	// is itself removed.
	var drop [128]bool
	c := HopByHopOf(hs, keepUpgrade)
	if len(hs) > len(drop) {
		out := hs[:0:0]
		for _, h := range hs {
			if !c.Is(h) {
				out = append(out, h)
			}
		}
		return append(hs[:0], out...)
	}
	for i, h := range hs {
		drop[i] = c.Is(h)
	}
	n := 0
	for i, h := range hs {
		if !drop[i] {
			hs[n] = h
			n++
		}
	}
	clear(hs[n:])
	return hs[:n]
}

// UpgradeGranted reports whether a 101 response's Upgrade value names only
// protocols the request offered (RFC 9110 §7.8): a server switching to
// something the client never asked for would turn the rest of the
// connection into bytes no rule has seen.
func UpgradeGranted(offered, granted []byte) bool {
	n := 0
	for rest := granted; len(rest) > 0; {
		var g []byte
		g, rest = nextListElem(rest)
		if len(g) == 0 {
			continue
		}
		found := false
		for o := offered; len(o) > 0 && !found; {
			var e []byte
			e, o = nextListElem(o)
			found = len(e) == len(g) && equalFoldBytes(e, g)
		}
		if !found {
			return false
		}
		n++
	}
	return n > 0
}

// EqualFold compares b with s, where s is lower-case ASCII, ignoring ASCII
// case: the comparison of field names and tokens.
func EqualFold(b []byte, s string) bool { return equalFold(b, s) }

// NextListElem splits one element off a comma-separated field value,
// trimming OWS; empty elements come back empty.
func NextListElem(v []byte) (elem, rest []byte) { return nextListElem(v) }

// AcceptsTrailers reports whether a request's TE fields list "trailers"
// (without parameters). TE is hop-by-hop and is not forwarded, but this
// one element is re-sent to the server as "TE: trailers", as HAProxy 2.6
// does, since Bulwark forwards the trailers of chunked responses.
func AcceptsTrailers(hs []Header) bool {
	for i := range hs {
		if len(hs[i].Name) != 2 || !equalFold(hs[i].Name, "te") {
			continue
		}
		for rest := hs[i].Value; len(rest) > 0; {
			var e []byte
			e, rest = nextListElem(rest)
			if equalFold(e, "trailers") {
				return true
			}
		}
	}
	return false
}
