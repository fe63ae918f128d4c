package proxy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"bulwark/internal/h1"
	"bulwark/internal/model"
	"bulwark/internal/srvstate"
)

// Cookie persistence ("cookie" in a backend, server "cookie"), following
// HAProxy 2.6's request and response cookie handling. The two log
// characters after the termination state say what happened: the request
// cookie (N none, I invalid, D down, V valid, E expired, O old, U unused)
// and the response cookie (N none, P passed, D deleted, I inserted, R
// rewritten, U updated).

// cookieCfg is a backend's compiled cookie persistence.
type cookieCfg struct {
	*model.Cookie
	nameEq []byte // "NAME=", to skip Cookie headers without ours cheaply
}

func newCookieCfg(p *model.Proxy) *cookieCfg {
	if p.Cookie == nil {
		return nil
	}
	return &cookieCfg{Cookie: p.Cookie, nameEq: []byte(p.Cookie.Name + "=")}
}

func (s *server) setCookie(v string) { s.cookie.Store(&v) }

// cookieValue is the server's persistence cookie now, "" for none.
func (s *server) cookieValue() string {
	if v := s.cookie.Load(); v != nil {
		return *v
	}
	return ""
}

// cookieValue is the persistence cookie of server sv of p, "" for none.
// It lives on the server, so that one added at run time has its own.
func cookieValue(p *model.Proxy, sv *model.Server) string {
	if p.Cookie == nil {
		return ""
	}
	v := sv.Opts["cookie"]
	if v == "" && p.Cookie.Dynamic && p.DynamicCookieKey != "" {
		v = dynamicCookie(p.DynamicCookieKey, sv.Addr.Host, sv.Addr.PortLow)
	}
	return v
}

// dynamicCookie is HAProxy's "dynamic" server cookie: the XXH64 of the
// secret key, the server's IP address bytes and its port as 4 big-endian
// bytes, in 16 hex digits, so that every load balancer sharing the key
// computes the same cookie for the same server.
func dynamicCookie(key, host string, port int) string {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "" // only servers with an address literal get one
	}
	b := append([]byte(key), ip.Unmap().AsSlice()...)
	b = binary.BigEndian.AppendUint32(b, uint32(port))
	return fmt.Sprintf("%016x", xxhash.Sum64(b))
}

// cookieState is one request's persistence outcome.
type cookieState struct {
	req, resp byte // the two log characters
	direct    int  // server index the cookie designated and that is used; -1 none
	force     bool // force-persist matched
	ignore    bool // ignore-persist matched
	last      int64
	first     int64 // dates carried by an insert-mode cookie (Unix seconds)
}

// persistVerdict runs force-persist / ignore-persist in order: the first
// matching rule decides.
func (s *httpSession) persistVerdict(be *backend) (force, ignore bool) {
	for i, c := range be.persist {
		s.eval.Reset()
		if c == nil || !c.Match(s.eval) {
			continue
		}
		if be.cfg.PersistRules[i].Keyword == "force-persist" {
			return true, false
		}
		return false, true
	}
	return false, false
}

// cookieRequest finds the persistence cookie of the request, chooses the
// server it designates and edits the Cookie headers as the mode says:
// insert+indirect removes the cookie, prefix strips the server's part.
func (s *httpSession) cookieRequest(be *backend) {
	st := &s.ck
	*st = cookieState{req: '-', resp: '-', direct: -1}
	ck := be.ck
	if ck == nil && len(be.stick) == 0 {
		return
	}
	st.force, st.ignore = s.persistVerdict(be)
	if ck == nil {
		return
	}
	st.req, st.resp = 'N', 'N'
	hs := s.m.req.Headers
	out := hs[:0]
	for _, h := range hs {
		if !bytes.EqualFold(h.Name, []byte("cookie")) {
			out = append(out, h)
			continue
		}
		if v, keep := s.cookieHeader(be, h.Value); keep {
			h.Value = v
			out = append(out, h)
		}
	}
	s.m.req.Headers = out
}

// cookieHeader processes one Cookie header value; it returns the value to
// forward and false when nothing is left of it.
func (s *httpSession) cookieHeader(be *backend, v []byte) ([]byte, bool) {
	ck, st := be.ck, &s.ck
	if !bytes.Contains(v, ck.nameEq) {
		return v, true
	}
	var out []byte
	changed := false
	for _, part := range bytes.Split(v, []byte(";")) {
		name, val, _ := bytes.Cut(bytes.TrimSpace(part), []byte("="))
		if string(name) != ck.Name {
			out = appendCookiePair(out, bytes.TrimSpace(part))
			continue
		}
		changed = true
		id := val
		var rest []byte
		hasRest := false
		if ck.Mode == model.CookiePrefix {
			if i := bytes.IndexByte(val, '~'); i >= 0 {
				id, rest, hasRest = val[:i], val[i+1:], true
			}
		} else if i := bytes.IndexByte(val, '|'); i >= 0 {
			id = val[:i]
			dates := val[i+1:]
			if len(dates) >= 5 {
				st.last = b64ToDate(dates[:5])
			}
			if j := bytes.IndexByte(dates, '|'); j >= 0 && len(dates)-j > 5 {
				st.first = b64ToDate(dates[j+1 : j+6])
			}
		}
		now := time.Now().Unix()
		switch {
		case st.first > 0 && ck.MaxLife > 0 && (now-st.first > int64(ck.MaxLife/time.Second) || st.first-now > 86400):
			st.req, id, st.first, st.last = 'O', nil, 0, 0
		case st.last > 0 && ck.MaxIdle > 0 && (now-st.last > int64(ck.MaxIdle/time.Second) || st.last-now > 86400):
			st.req, id, st.first, st.last = 'E', nil, 0, 0
		}
		// Empty cookies are never honoured, so that a client that learned
		// one from a cookie-less backup server does not stick to it.
		if len(id) > 0 && !st.ignore && st.direct < 0 {
			for i, sv := range be.slots() {
				if c := sv.cookieValue(); sv.removed.Load() || c == "" || c != string(id) {
					continue
				}
				if sv.running() || be.cfg.Option("persist") || st.force {
					st.req, st.direct = 'D', i
					if sv.running() {
						st.req = 'V'
					}
					break
				}
				st.req = 'D'
			}
		}
		if st.direct < 0 && st.req != 'D' && st.req != 'E' && st.req != 'O' {
			st.req = 'I'
			if st.ignore || st.direct >= 0 {
				st.req = 'U'
			}
		}
		switch {
		case hasRest:
			out = appendCookiePair(out, append(append(append([]byte(nil), name...), '='), rest...))
		case ck.Mode == model.CookieInsert && ck.Indirect:
			// The server never sees the proxy's cookie.
		default:
			out = appendCookiePair(out, bytes.TrimSpace(part))
		}
	}
	if !changed {
		return v, true
	}
	return out, len(out) > 0
}

func appendCookiePair(b, pair []byte) []byte {
	if len(pair) == 0 {
		return b
	}
	if len(b) > 0 {
		b = append(b, "; "...)
	}
	return append(b, pair...)
}

// running is HAProxy's "not stopped": a draining server still takes the
// clients its cookie designates; a DOWN or maintenance one does not.
func (s *server) running() bool {
	sn := s.state.Load()
	return sn.Op != srvstate.Stopped && !sn.Admin.Maint()
}

// acquireDirect takes a slot on the server the cookie designated; false
// when it is full (the request is then balanced, where HAProxy would
// queue on that server).
func (s *httpSession) acquireDirect(be *backend) (int, bool) {
	i := s.ck.direct
	if i < 0 || !be.slots()[i].lb.TryAcquire() {
		s.ck.direct = -1
		return -1, false
	}
	return i, true
}

// cookieResponse edits the server's Set-Cookie headers and inserts the
// persistence cookie, after the http-response rules, as HAProxy does.
func (s *httpSession) cookieResponse(be *backend, e *LogEntry) {
	ck, st := be.ck, &s.ck
	if ck == nil || e.srv == nil {
		return
	}
	idx := -1
	for i, sv := range be.slots() {
		if sv == e.srv {
			idx = i
		}
	}
	direct := st.direct >= 0 && st.direct == idx
	srvCookie := e.srv.cookieValue()
	resp := &s.m.resp
	found := false
	out := resp.Headers[:0]
	for _, h := range resp.Headers {
		if !bytes.EqualFold(h.Name, []byte("set-cookie")) {
			out = append(out, h)
			continue
		}
		pair, attrs, _ := bytes.Cut(h.Value, []byte(";"))
		name, val, _ := bytes.Cut(bytes.TrimSpace(pair), []byte("="))
		if string(name) != ck.Name {
			out = append(out, h)
			continue
		}
		found, st.resp = true, 'P'
		switch {
		case ck.Preserve:
		case ck.Mode == model.CookieInsert || (direct && ck.Indirect):
			st.resp = 'D'
			continue
		case srvCookie != "" && ck.Mode == model.CookieRewrite:
			h.Value = rebuildSetCookie(name, []byte(srvCookie), attrs, h.Value, pair)
			st.resp = 'R'
		case srvCookie != "" && ck.Mode == model.CookiePrefix:
			h.Value = rebuildSetCookie(name, append([]byte(srvCookie+"~"), val...), attrs, h.Value, pair)
			st.resp = 'R'
		}
		out = append(out, h)
	}
	resp.Headers = out
	now := time.Now().Unix()
	if ck.Mode != model.CookieInsert || (found && ck.Preserve) || st.ignore ||
		(ck.PostOnly && string(s.m.req.Method) != "POST") {
		return
	}
	refresh := !direct ||
		((ck.MaxIdle > 0 || st.last > 0) && (st.last == 0 || st.last < now)) ||
		(ck.MaxLife > 0 && st.first == 0) || (ck.MaxLife == 0 && st.first > 0)
	if !refresh {
		return
	}
	var b []byte
	if srvCookie == "" {
		// A server without a cookie (a backup, say) asks the client to
		// forget the one it has.
		b = append(b, ck.Name+"=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"...)
	} else {
		b = append(b, ck.Name+"="+srvCookie...)
		if ck.MaxIdle > 0 || ck.MaxLife > 0 {
			b = append(b, '|')
			b = appendDateB64(b, (now+3)>>2)
			if ck.MaxLife > 0 {
				first := (now + 3) >> 2
				if st.first > 0 {
					first = st.first >> 2
				}
				b = append(b, '|')
				b = appendDateB64(b, first)
			}
		}
		b = append(b, "; path=/"...)
	}
	for _, d := range ck.Domains {
		b = append(b, "; domain="+d...)
	}
	if ck.HTTPOnly {
		b = append(b, "; HttpOnly"...)
	}
	if ck.Secure {
		b = append(b, "; Secure"...)
	}
	if len(ck.Attrs) > 0 {
		b = append(b, "; "+strings.Join(ck.Attrs, "; ")...)
	}
	resp.Headers = append(resp.Headers, h1.Header{Name: []byte("Set-Cookie"), Value: b})
	st.resp = 'I'
	if srvCookie != "" && direct {
		st.resp = 'U'
	}
	if ck.NoCache && cacheable(&s.m.req, resp) {
		// HTTP/1.0 caches store cookies too: a response that sets the
		// persistence cookie must not be shared.
		resp.Headers = append(resp.Headers, h1.Header{Name: []byte("Cache-control"), Value: []byte("private")})
	}
}

// rebuildSetCookie replaces the value of a Set-Cookie, keeping attributes.
func rebuildSetCookie(name, val, attrs, whole, pair []byte) []byte {
	b := append(append(append([]byte(nil), name...), '='), val...)
	if len(attrs) > 0 || len(whole) > len(pair) {
		b = append(b, ';')
		b = append(b, attrs...)
	}
	return b
}

// cacheable follows HAProxy's cacheability checks: a safe method, no
// Authorization and no "no-store" in the request; in the response a final
// status, no "Pragma: no-cache", no private/no-cache/no-store/max-age=0/
// s-maxage=0 directive, and freshness information (max-age, s-maxage,
// Expires) or a validator (ETag, Last-Modified).
func cacheable(req *h1.Request, resp *h1.Response) bool {
	switch string(req.Method) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
	default:
		return false
	}
	if _, ok := h1.Get(req.Headers, "authorization"); ok {
		return false
	}
	for _, h := range req.Headers {
		if bytes.EqualFold(h.Name, []byte("cache-control")) && hasDirective(h.Value, "no-store", true) {
			return false
		}
	}
	if resp.Status < 200 {
		return false
	}
	ok, fresh := true, false
	for _, h := range resp.Headers {
		switch {
		case bytes.EqualFold(h.Name, []byte("pragma")):
			if bytes.EqualFold(bytes.TrimSpace(h.Value), []byte("no-cache")) {
				return false
			}
		case bytes.EqualFold(h.Name, []byte("cache-control")):
			// Directives apply in order: a later "public" undoes an
			// earlier "private", as in HAProxy.
			for _, d := range bytes.Split(h.Value, []byte(",")) {
				d = bytes.ToLower(bytes.TrimSpace(d))
				switch {
				case string(d) == "public":
					ok = true
				case string(d) == "private", string(d) == "no-cache", string(d) == "no-store",
					string(d) == "max-age=0", string(d) == "s-maxage=0":
					ok = false
				case bytes.HasPrefix(d, []byte("max-age")), bytes.HasPrefix(d, []byte("s-maxage")):
					fresh = true
				}
			}
		case bytes.EqualFold(h.Name, []byte("expires")), bytes.EqualFold(h.Name, []byte("etag")),
			bytes.EqualFold(h.Name, []byte("last-modified")):
			fresh = true
		}
	}
	// Without freshness information or a validator nothing is stored
	// (RFC 7234 section 3), so there is nothing to protect.
	return ok && fresh
}

// hasDirective reports whether a Cache-Control value lists directive d
// (prefix: also "d=..." forms).
func hasDirective(v []byte, d string, prefix bool) bool {
	for _, x := range bytes.Split(v, []byte(",")) {
		x = bytes.ToLower(bytes.TrimSpace(x))
		if string(x) == d || (prefix && bytes.HasPrefix(x, []byte(d))) {
			return true
		}
	}
	return false
}

// Dates in insert-mode cookies are 30-bit counts of 4-second units, in 5
// base64 characters, most significant first (HAProxy's s30tob64).
const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func appendDateB64(b []byte, units int64) []byte {
	for shift := 24; shift >= 0; shift -= 6 {
		b = append(b, b64Alphabet[(units>>shift)&63])
	}
	return b
}

// b64ToDate decodes 5 characters to Unix seconds; 0 when invalid.
func b64ToDate(s []byte) int64 {
	var v int64
	for _, c := range s {
		i := strings.IndexByte(b64Alphabet, c)
		if i < 0 {
			return 0
		}
		v = v<<6 | int64(i)
	}
	return v << 2
}

// cookieLog is the two cookie characters of the termination state.
func (st *cookieState) log() string {
	if st.req == 0 {
		return "--"
	}
	return string([]byte{st.req, st.resp})
}
