package proxy

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/netip"
	"strconv"
	"time"

	"bulwark/internal/fcgi"
	"bulwark/internal/h1"
	"bulwark/internal/model"
	"bulwark/internal/plan"
)

// FastCGI servers ("server ... proto fcgi" in a backend with
// "use-fcgi-app", CM 10). The request goes as BEGIN_REQUEST, PARAMS and
// STDIN records; the answer is translated back into an HTTP/1.1 response
// (fcgi.Response) that the same reader and response path as any server's
// take. A connection carries one request at a time, so every request has
// id 1.
const fcgiRequestID = 1

// fcgiAbortWait bounds the write of FCGI_ABORT_REQUEST to a connection
// about to be closed.
const fcgiAbortWait = 100 * time.Millisecond

// fcgiServer reports whether s speaks FastCGI.
func fcgiServer(s *server) bool { return s.cfg.Opts["proto"] == "fcgi" }

// newFCGIConn makes sc a FastCGI connection: its HTTP reader reads the
// translation of the application's records. STDERR goes to the
// application's "log-stderr" targets.
func (rt *Runtime) newFCGIConn(sc *srvConn, app *plan.FCGIApp) {
	sc.fr = fcgi.NewResponse(&sc.tc)
	sc.fr.MaxHead = rt.model.Global.BufSize
	if app != nil && len(app.App.LogStderr) > 0 {
		key := FCGILogKey(app.App.Name)
		sc.fr.Stderr = func(b []byte) {
			rt.proxyLog(key, "err", string(bytes.TrimRight(b, "\r\n")))
		}
	}
	sc.rd = h1.NewReader(sc.fr, rt.readerConfig())
}

// FCGILogKey names an application's log-stderr targets among the
// proxies' (package logging): '/' cannot be in a proxy name.
func FCGILogKey(app string) string { return "fcgi-app/" + app }

// fcgiPrepare readies the request for a FastCGI backend before a server
// is chosen: CONTENT_LENGTH must be known, so a chunked body is read
// ahead (up to the buffer size), and an application never answers
// "100 Continue", so Bulwark does. It reports false when the request
// ended here.
func (s *httpSession) fcgiPrepare(app *plan.FCGIApp, e *LogEntry) bool {
	req := &s.m.req
	if app.App.PathInfo != nil {
		// CM 10.1.1 "path-info": these could make the match fail
		// unseen, so they are refused.
		_, path, _, _ := splitTargetPath(req.Target)
		if bytes.ContainsAny(percentDecode(path), "\n\x00") {
			e.Term = "PR"
			s.sendError(400, e)
			return false
		}
	}
	if req.Framing() == h1.FramingNone {
		return true
	}
	if req.Expect100 {
		if _, err := s.tc.Write([]byte(continue100)); err != nil {
			e.Term = "CR"
			return false
		}
		req.Expect100 = false
	}
	if req.Chunked && !s.bodyRead && !s.bodyWaited {
		if !s.bufferBody(e) {
			return false
		}
		s.bodyRead = true
		if !s.rd.Body().Done() && !s.bodyAborted {
			// Longer than a buffer: its length cannot be announced.
			e.Term = "PR"
			s.sendError(413, e)
			return false
		}
	}
	return true
}

// fcgiSend writes the request to a FastCGI application: BEGIN_REQUEST,
// the PARAMS, and the body as STDIN, then prepares sc's reader for the
// answer.
// streamed is true once part of a body not read ahead went out.
func (s *httpSession) fcgiSend(be *backend, sc *srvConn, tcs *timedConn, hasBody bool) (streamed bool, ev model.RetryOn, err error) {
	req := &s.m.req
	app := be.fcgi
	keep := app == nil || app.App.KeepConn
	out := s.fcgiOut[:0]
	if app != nil && app.App.GetValues && sc.reqs == 0 && !sc.used {
		// Asked once per connection; the answer is read (and kept in
		// sc.fr.Values) with the first response.
		var q []byte
		q = fcgi.AppendPair(q, []byte("FCGI_MAX_REQS"), nil)
		q = fcgi.AppendPair(q, []byte("FCGI_MPXS_CONNS"), nil)
		out = fcgi.AppendRecord(out, fcgi.TypeGetValues, 0, q)
	}
	out = fcgi.AppendBeginRequest(out, fcgiRequestID, keep)
	length := int64(0)
	switch {
	case req.Chunked:
		length = int64(len(s.body))
	case req.ContentLength > 0:
		length = req.ContentLength
	}
	s.fcgiParams = appendCGIParams(s.fcgiParams[:0], s.cgiRequest(be, length))
	out = fcgi.AppendRecord(out, fcgi.TypeParams, fcgiRequestID, s.fcgiParams)
	out = fcgi.AppendRecord(out, fcgi.TypeParams, fcgiRequestID, nil)
	if len(s.body) > 0 {
		out = fcgi.AppendRecord(out, fcgi.TypeStdin, fcgiRequestID, s.body)
		hasBody = !s.rd.Body().Done()
	}
	if !hasBody {
		out = fcgi.AppendRecord(out, fcgi.TypeStdin, fcgiRequestID, nil)
	}
	s.fcgiOut = out
	sc.fr.Start(fcgiRequestID, string(req.Method) == "HEAD", keep)
	if _, err := tcs.Write(out); err != nil {
		return false, model.RetryConnFailure, errSendFailed
	}
	if hasBody {
		w := &fcgi.StdinWriter{W: tcs, ID: fcgiRequestID}
		if s.copyBuf == nil {
			s.copyBuf = s.fe.rt.getCopyBuf()
		}
		body := s.rd.Body()
		for {
			n, err := body.Read(s.copyBuf)
			if n > 0 {
				if _, werr := w.Write(s.copyBuf[:n]); werr != nil {
					return true, 0, errSendFailed
				}
			}
			if err != nil {
				if err != io.EOF {
					return true, 0, clientBodyError(err, errSendFailed)
				}
				break
			}
		}
		if err := w.Close(); err != nil {
			return true, 0, errSendFailed
		}
	}
	return hasBody, 0, nil
}

// cgiRequest gathers what the CGI parameters are made of; the
// pass-header and set-param rules run here, on the request as the
// backend's rules left it.
func (s *httpSession) cgiRequest(be *backend, length int64) *cgiRequest {
	app := be.fcgi
	hs := s.m.req.Headers
	// The fields "option forwardfor" and "option originalto" add go as
	// HTTP_* parameters like the client's.
	if ff := forwardFor(s.fe.cfg, be.cfg); ff != nil && s.srcTextOf() != nil && wantsXFF(ff, hs, s.src) {
		hs = append(hs[:len(hs):len(hs)], h1.Header{Name: []byte(ff.Header), Value: s.srcText})
	}
	if ot := originalTo(s.fe.cfg, be.cfg); ot != nil && s.dst.IsValid() && wantsXFF(ot, nil, s.dst) {
		hs = append(hs[:len(hs):len(hs)], h1.Header{Name: []byte(ot.Header), Value: []byte(s.dst.Addr().Unmap().String())})
	}
	r := &cgiRequest{method: s.m.req.Method, target: s.m.req.Target, major: s.m.req.Major, minor: s.m.req.Minor,
		headers: hs, src: s.src, dst: s.dst, tls: s.tlsOn, length: length, software: "Bulwark " + Version}
	if app == nil {
		return r
	}
	r.app = app.App
	for _, p := range app.Pass {
		if p.Cond != nil {
			s.eval.Reset()
			if !p.Cond.Match(s.eval) {
				continue
			}
		}
		r.pass = append(r.pass, p.Name)
	}
	for _, p := range app.Params {
		if p.Cond != nil {
			s.eval.Reset()
			if !p.Cond.Match(s.eval) {
				continue
			}
		}
		s.eval.Reset()
		v := p.Value.Append(nil, s.eval)
		if len(v) == 0 {
			continue // CM 10.1.1: an empty value ignores the rule
		}
		r.set = append(r.set, cgiParam{name: []byte(p.Name), value: v})
	}
	return r
}

// cgiRequest is the input of appendCGIParams.
type cgiRequest struct {
	app            *model.FCGIApp // nil: no application (defaults only)
	method, target []byte
	major, minor   int
	headers        []h1.Header
	src, dst       netip.AddrPort
	tls            bool
	length         int64
	pass           []string   // lower-case header names pass-header lets through
	set            []cgiParam // set-param results, in order
	software       string
}

type cgiParam struct{ name, value []byte }

// appendCGIParams appends the PARAMS content of a request as CM 10.2
// describes it: the header fields as HTTP_* (but hop-by-hop ones,
// Authorization and Proxy-Authorization unless "pass-header" names them,
// and Content-Type/Content-Length, which are CONTENT_*), then the
// set-param values, then the CGI/1.1 parameters set-param did not set.
func appendCGIParams(dst []byte, r *cgiRequest) []byte {
	var ps []cgiParam
	add := func(name string, value []byte) { ps = append(ps, cgiParam{name: []byte(name), value: value}) }
	hs := r.headers
	var name []byte
	contentType, hasCT := []byte(nil), false
	hop := h1.HopByHopOf(hs, false)
	for i, h := range hs {
		switch {
		case hop.Is(h), h1.EqualFold(h.Name, "content-length"):
			continue
		case h1.EqualFold(h.Name, "content-type"):
			contentType, hasCT = h.Value, true
			continue
		case (h1.EqualFold(h.Name, "authorization") || h1.EqualFold(h.Name, "proxy-authorization")) && !passed(r.pass, h.Name):
			continue
		}
		name = cgiHeaderName(name[:0], h.Name)
		if seenBefore(hs[:i], name) {
			continue
		}
		// RFC 3875 4.1.18: fields of one name become one value.
		v := h.Value
		sep := ", "
		if h1.EqualFold(h.Name, "cookie") {
			sep = "; "
		}
		for _, g := range hs[i+1:] {
			if bytes.Equal(cgiHeaderName(nil, g.Name), name) {
				v = append(append(append([]byte(nil), v...), sep...), g.Value...)
			}
		}
		ps = append(ps, cgiParam{name: append([]byte(nil), name...), value: v})
	}
	headers := len(ps)
	app := r.app
	docroot := ""
	if app != nil {
		docroot = trimSlash(app.DocRoot)
	}
	prefix, rawPath, query, hasQuery := splitTargetPath(r.target)
	path := percentDecode(rawPath)
	script, pathInfo := path, []byte(nil)
	if app != nil && app.PathInfo != nil {
		if m := app.PathInfo.FindSubmatchIndex(path); m != nil {
			if len(m) > 2 && m[2] >= 0 {
				script = path[m[2]:m[3]]
			}
			if len(m) > 4 && m[4] >= 0 && m[5] > m[4] {
				pathInfo = path[m[4]:m[5]]
			}
		}
	}
	if app != nil && app.Index != "" && bytes.HasSuffix(script, []byte("/")) {
		script = append(append([]byte(nil), script...), app.Index...)
	}
	if typ, user := cgiAuth(hs); typ != "" {
		add("AUTH_TYPE", []byte(typ))
		if len(user) > 0 {
			add("REMOTE_USER", user)
		}
	}
	add("GATEWAY_INTERFACE", []byte("CGI/1.1"))
	add("DOCUMENT_ROOT", []byte(docroot))
	add("SCRIPT_NAME", script)
	if pathInfo != nil {
		add("PATH_INFO", pathInfo)
	}
	// An absolute-form target gives its path and query.
	add("REQUEST_URI", r.target[len(prefix):])
	add("REQUEST_METHOD", r.method)
	if hasQuery {
		add("QUERY_STRING", query)
	}
	if hasCT {
		add("CONTENT_TYPE", contentType)
	}
	add("CONTENT_LENGTH", strconv.AppendInt(nil, r.length, 10))
	if host, ok := h1.Get(hs, "host"); ok && len(host) > 0 {
		add("SERVER_NAME", host)
	} else if r.dst.IsValid() {
		add("SERVER_NAME", []byte(r.dst.Addr().Unmap().String()))
	}
	if r.dst.IsValid() {
		add("SERVER_PORT", strconv.AppendUint(nil, uint64(r.dst.Port()), 10))
	}
	add("SERVER_PROTOCOL", []byte("HTTP/"+strconv.Itoa(r.major)+"."+strconv.Itoa(r.minor)))
	if r.src.IsValid() {
		add("REMOTE_ADDR", []byte(r.src.Addr().Unmap().String()))
		add("REMOTE_PORT", strconv.AppendUint(nil, uint64(r.src.Port()), 10))
	}
	add("SCRIPT_FILENAME", append([]byte(docroot), script...))
	if pathInfo != nil {
		add("PATH_TRANSLATED", append([]byte(docroot), pathInfo...))
	}
	add("SERVER_SOFTWARE", []byte(r.software))
	if r.tls {
		add("HTTPS", []byte("on"))
	}
	// A set-param wins over a field or default of its name, and over an
	// earlier set-param of it.
	for _, p := range ps[:headers] {
		if !dupBefore(r.set, p.name) {
			dst = fcgi.AppendPair(dst, p.name, p.value)
		}
	}
	for i, p := range r.set {
		if !dupBefore(r.set[i+1:], p.name) {
			dst = fcgi.AppendPair(dst, p.name, p.value)
		}
	}
	for _, p := range ps[headers:] {
		if !dupBefore(r.set, p.name) {
			dst = fcgi.AppendPair(dst, p.name, p.value)
		}
	}
	return dst
}

// cgiAuth reads the first Authorization field as HAProxy 2.6 does for
// AUTH_TYPE and REMOTE_USER (CM 10.2), whether or not a userlist checked
// it (checked against 2.6.12): a scheme that starts "Basic" (any case,
// "Bas" too, as HAProxy compares only the scheme's length) with base64
// "user:password" gives "Basic" and the user; one that starts "Bearer"
// gives "Bearer" alone; anything else, or credentials that do not
// decode, neither.
func cgiAuth(hs []h1.Header) (string, []byte) {
	v, ok := h1.Get(hs, "authorization")
	if !ok {
		return "", nil
	}
	v = bytes.TrimLeft(v, " \t")
	sp := bytes.IndexByte(v, ' ')
	if sp <= 0 {
		return "", nil
	}
	scheme, cred := v[:sp], bytes.TrimLeft(v[sp+1:], " ")
	prefixOf := func(word string) bool { return len(scheme) <= len(word) && h1.EqualFold(scheme, word[:len(scheme)]) }
	switch {
	case prefixOf("basic"):
		dec, err := base64.StdEncoding.AppendDecode(nil, cred)
		user, _, colon := bytes.Cut(dec, []byte(":"))
		if err != nil || !colon {
			return "", nil
		}
		return "Basic", user
	case prefixOf("bearer"):
		return "Bearer", nil
	}
	return "", nil
}

func dupBefore(ps []cgiParam, name []byte) bool {
	for _, p := range ps {
		if bytes.Equal(p.name, name) {
			return true
		}
	}
	return false
}

func passed(names []string, h []byte) bool {
	for _, n := range names {
		if h1.EqualFold(h, n) {
			return true
		}
	}
	return false
}

// cgiHeaderName is "HTTP_" and the field name upper-cased, every
// character but letters and digits becoming '_' (RFC 3875 4.1.18).
func cgiHeaderName(dst, name []byte) []byte {
	dst = append(dst, "HTTP_"...)
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

func seenBefore(hs []h1.Header, name []byte) bool {
	var tmp [64]byte
	for _, h := range hs {
		if bytes.Equal(cgiHeaderName(tmp[:0], h.Name), name) {
			return true
		}
	}
	return false
}

func trimSlash(s string) string {
	for len(s) > 1 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	if s == "/" {
		return ""
	}
	return s
}

// percentDecode decodes %XX escapes; a malformed one is kept as it is.
func percentDecode(p []byte) []byte {
	if bytes.IndexByte(p, '%') < 0 {
		return p
	}
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			if hi, ok := h1.Unhex(p[i+1]); ok {
				if lo, ok := h1.Unhex(p[i+2]); ok {
					out = append(out, hi<<4|lo)
					i += 2
					continue
				}
			}
		}
		out = append(out, p[i])
	}
	return out
}
