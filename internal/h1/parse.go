package h1

import "bytes"

// ReadRequest parses the next request head into req, reusing its Headers
// slice. On success the body, if any, is read through rd.Body(), and must be
// read to its end (or the connection closed) before the next ReadRequest.
// Errors are *ParseError for messages to refuse, io.EOF for a clean close
// before a request, io.ErrUnexpectedEOF for a close inside a head, or the
// connection's own error.
func (rd *Reader) ReadRequest(req *Request) error {
	hs, err := rd.beginHead(false)
	if err != nil {
		return err
	}
	req.reset()
	l, err := hs.firstLine()
	if err != nil {
		return err
	}
	if perr := parseRequestLine(req, l); perr != nil {
		return perr
	}
	if req.Headers, err = hs.fields(req.Headers); err != nil {
		return err
	}
	f, perr := scanFields(req.Headers, false)
	if perr != nil {
		return perr
	}
	fault, perr := f.framingFault(&req.Headers, req.Minor, rd.relax.Framing, false)
	if perr != nil {
		return perr
	}
	switch {
	case f.hostCount > 1:
		return reqErr(CodeMultipleHost)
	case f.hostCount == 0 && req.Minor == 1 && !rd.relax.MissingHost:
		return reqErr(CodeMissingHost)
	case f.hostCount == 1 && !validHost(f.host):
		return reqErr(CodeBadHost)
	}
	req.ContentLength = f.contentLength
	req.Chunked = f.chunked
	req.Host, req.HasHost = f.host, f.hostCount == 1
	switch {
	case string(req.Method) == "CONNECT":
		if perr := checkConnectAuthority(req, f.hostIdx); perr != nil {
			return perr
		}
	case len(req.Target) > 0 && req.Target[0] != '/' && req.Target[0] != '*':
		if perr := checkAuthority(req, f.hostIdx, rd.relax.Userinfo); perr != nil {
			return perr
		}
	}
	if req.Minor == 1 {
		req.KeepAlive = !f.connClose
		req.Upgrade = f.hasUpgrade && f.connUpgrade
		req.Expect100 = f.expect100
	} else {
		req.KeepAlive = f.connKeepAlive && !f.connClose
	}
	if fault {
		req.FramingFault, req.KeepAlive, req.Upgrade = true, false, false
	}
	if req.Upgrade {
		req.UpgradeProto = f.upgrade
	}
	rd.body.start(req.Framing(), req.ContentLength, false)
	return nil
}

// parseRequestLine splits "METHOD target HTTP/x.y". Like HAProxy 2.6 (and
// as RFC 9112 §3 permits) a run of SP or HTAB separates the parts; the
// line is forwarded rebuilt with single SPs, so the next hop never sees
// the variant. Whitespace at either end is refused.
func parseRequestLine(req *Request, l []byte) *ParseError {
	sp := indexSPTab(l)
	if sp < 0 {
		return reqErr(CodeBadRequestLine)
	}
	req.Method = l[:sp]
	if !isToken(req.Method) {
		return reqErr(CodeBadMethod)
	}
	rest := skipSPTab(l[sp:])
	sp = indexSPTab(rest)
	if sp < 0 {
		return reqErr(CodeBadRequestLine)
	}
	req.Target = rest[:sp]
	if !validTarget(req.Method, req.Target) {
		return reqErr(CodeBadTarget)
	}
	major, minor, ok, supported := parseVersion(skipSPTab(rest[sp:]))
	if !ok {
		return reqErr(CodeBadVersion)
	}
	if !supported {
		return reqErr(CodeUnsupportedVersion)
	}
	req.Major, req.Minor = major, minor
	return nil
}

func indexSPTab(b []byte) int {
	for i, c := range b {
		if c == ' ' || c == '\t' {
			return i
		}
	}
	return -1
}

func skipSPTab(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// validTarget accepts visible ASCII only: no CTL, SP, DEL or bytes >= 0x80
// (RFC 3986 wants those percent-encoded), and no "#" since a fragment is
// never part of a request-target. The form must match the method
// (RFC 9112 §3.2).
func validTarget(method, t []byte) bool {
	if len(t) == 0 {
		return false
	}
	for _, c := range t {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	switch {
	case string(method) == "CONNECT":
		return t[0] != '/' && validHost(t) && bytes.IndexByte(t, ':') > 0
	case len(t) == 1 && t[0] == '*':
		return string(method) == "OPTIONS"
	case t[0] == '/':
		return true
	}
	return validScheme(t)
}

// validScheme checks that t starts with an absolute-URI scheme and ":".
func validScheme(t []byte) bool {
	for i, c := range t {
		switch {
		case 'a' <= lower(c) && lower(c) <= 'z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// checkAuthority holds an absolute-form target to what the server will
// act on. RFC 9112 §3.2.2 makes the target's authority win over Host, while
// rules look at Host: so the two must agree (HAProxy answers 400 too), and
// userinfo is refused since it is where parsers disagree on where the host
// starts (with Relax.Userinfo it ends at the last '@', as in HAProxy). An
// HTTP/1.0 request without Host gets one from the authority, so that
// hdr(host) rules see the host the server will use.
//
// Ports are compared as HAProxy 2.6 does: for http and https, no port, an
// empty port and the scheme's default port are the same. When the
// authority spells the default (or an empty) port, it is removed from the
// target, and from Host when Host spells it too ("http://h:80/" with
// "Host: h:80" goes on as "http://h/" with "Host: h"), so that rules and
// the server see one spelling.
func checkAuthority(req *Request, hostIdx int, userinfo bool) *ParseError {
	t := req.Target
	i := bytes.IndexByte(t, ':')
	if i < 0 || len(t) < i+3 || t[i+1] != '/' || t[i+2] != '/' {
		return reqErr(CodeBadTarget)
	}
	scheme := t[:i]
	start := i + 3
	auth := t[start:]
	end := len(auth)
	for j, c := range auth {
		if c == '/' || c == '?' {
			end = j
			break
		}
	}
	if end < len(auth) && auth[end] == '?' {
		// "http://x?/admin": the path is empty and "/admin" the query by
		// RFC 3986, but a naive parser finds the path "/admin". Refused
		// rather than guessed.
		return reqErr(CodeBadTarget)
	}
	auth = auth[:end]
	if at := bytes.LastIndexByte(auth, '@'); at >= 0 {
		if !userinfo {
			return reqErr(CodeAuthorityUserinfo)
		}
		start += at + 1
		auth = auth[at+1:]
	}
	if len(auth) == 0 || !validHost(auth) {
		return reqErr(CodeBadTarget)
	}
	def := ""
	switch {
	case equalFold(scheme, "http"):
		def = "80"
	case equalFold(scheme, "https"):
		def = "443"
	}
	host, port, hasPort := splitHostPort(auth)
	if req.HasHost {
		hh, hp, hhasPort := splitHostPort(req.Host)
		if !bytes.EqualFold(host, hh) || !samePort(port, hasPort, hp, hhasPort, def) {
			return reqErr(CodeAuthorityMismatch)
		}
	}
	if def != "" && hasPort && (len(port) == 0 || string(port) == def) {
		// Remove ":port" in place: the target is the Reader's bytes and
		// nothing else points into this part of them.
		cut := start + len(host)
		n := copy(t[cut:], t[cut+1+len(port):])
		req.Target = t[:cut+n]
		auth = host
		if req.HasHost {
			hh, hp, hhasPort := splitHostPort(req.Host)
			if hhasPort && (len(hp) == 0 || string(hp) == def) {
				req.Host = hh
				req.Headers[hostIdx].Value = hh
			}
		}
	}
	if !req.HasHost {
		req.Host, req.HasHost = auth, true
		// Rare (HTTP/1.0 proxies): the allocation does not matter.
		req.AddHeader([]byte("Host"), auth)
	}
	return nil
}

// checkConnectAuthority holds a CONNECT target ("host:port", port
// required) to its Host, as HAProxy 2.6 does: a Host without a port, or
// with an empty one, stands for 80 or 443; a Host that spells the
// target's port 80 or 443 loses it ("Host: h:443" becomes "Host: h").
func checkConnectAuthority(req *Request, hostIdx int) *ParseError {
	host, port, hasPort := splitHostPort(req.Target)
	if !hasPort || len(port) == 0 || len(host) == 0 {
		return reqErr(CodeBadTarget)
	}
	if !req.HasHost {
		return nil
	}
	hh, hp, hhasPort := splitHostPort(req.Host)
	wellKnown := string(port) == "80" || string(port) == "443"
	switch {
	case !bytes.EqualFold(host, hh):
		return reqErr(CodeAuthorityMismatch)
	case !hhasPort || len(hp) == 0:
		if !wellKnown {
			return reqErr(CodeAuthorityMismatch)
		}
	case string(hp) != string(port):
		return reqErr(CodeAuthorityMismatch)
	case wellKnown:
		req.Host = hh
		req.Headers[hostIdx].Value = hh
	}
	return nil
}

// splitHostPort splits "host:port" at the last ':' outside an IP literal
// ("[::1]:80"); hasPort tells "h:" (empty port) apart from "h".
func splitHostPort(a []byte) (host, port []byte, hasPort bool) {
	i := bytes.LastIndexByte(a, ':')
	if i < 0 || i < bytes.LastIndexByte(a, ']') {
		return a, nil, false
	}
	return a[:i], a[i+1:], true
}

// samePort compares two ports where no port and an empty port mean the
// scheme's default def.
func samePort(a []byte, aHas bool, b []byte, bHas bool, def string) bool {
	pa, pb := def, def
	if aHas && len(a) > 0 {
		pa = string(a)
	}
	if bHas && len(b) > 0 {
		pb = string(b)
	}
	if def == "" {
		// Unknown scheme: only the same spelling matches.
		return aHas == bHas && string(a) == string(b)
	}
	return pa == pb
}

func validHost(h []byte) bool {
	for _, c := range h {
		if !inSet(c, hostLo, hostHi) {
			return false
		}
	}
	return true
}

// ReadResponse parses the next response head into resp. reqMethod is the
// method of the request it answers: HEAD and CONNECT change the framing.
// A 1xx head is returned as such (resp.Informational()); call again for
// the final one. Errors on a server's bytes are *ParseError with Status 502.
func (rd *Reader) ReadResponse(resp *Response, reqMethod []byte) error {
	hs, err := rd.beginHead(true)
	if err != nil {
		return err
	}
	resp.reset()
	l, err := hs.line()
	if err != nil {
		return err
	}
	if perr := parseStatusLine(resp, l); perr != nil {
		return perr
	}
	if resp.Headers, err = hs.fields(resp.Headers); err != nil {
		return err
	}
	f, perr := scanFields(resp.Headers, true)
	if perr != nil {
		return perr
	}
	fault, perr := f.framingFault(&resp.Headers, resp.Minor, rd.relax.Framing, true)
	if perr != nil {
		return perr
	}
	resp.ContentLength = f.contentLength
	resp.Chunked = f.chunked
	if resp.Minor == 1 {
		resp.KeepAlive = !f.connClose
	} else {
		resp.KeepAlive = f.connKeepAlive && !f.connClose
	}
	// RFC 9112 §6.3, in its order.
	switch st := resp.Status; {
	case string(reqMethod) == "HEAD" || st < 200 || st == 204 || st == 304:
		resp.Body = FramingNone
		resp.Tunnel = st == 101
	case string(reqMethod) == "CONNECT" && st < 300:
		resp.Body = FramingNone
		resp.Tunnel = true
	case f.chunked:
		resp.Body = FramingChunked
	case f.contentLength >= 0:
		resp.Body = FramingLength
	default:
		resp.Body = FramingClose
		resp.KeepAlive = false
	}
	if resp.Tunnel || fault {
		resp.KeepAlive = false
	}
	// HAProxy 2.6 closes the client connection after an HTTP/1.0 response
	// with Transfer-Encoding, not after one with Content-Length too
	// (measured with 2.6.12).
	resp.FramingFault = fault && resp.Minor == 0
	rd.body.start(resp.Body, resp.ContentLength, true)
	return nil
}

// parseStatusLine reads "HTTP/1.1 200 OK". A missing reason (no SP after
// the code) is tolerated: servers send it and it carries no framing risk.
func parseStatusLine(resp *Response, l []byte) *ParseError {
	if len(l) < 12 || l[8] != ' ' {
		return respErr(CodeBadStatusLine)
	}
	major, minor, ok, supported := parseVersion(l[:8])
	if !ok {
		return respErr(CodeBadStatusLine)
	}
	if !supported {
		return respErr(CodeUnsupportedVersion)
	}
	resp.Major, resp.Minor = major, minor
	code := l[9:12]
	if code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
		return respErr(CodeBadStatusLine)
	}
	resp.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	switch {
	case len(l) == 12:
	case l[12] != ' ':
		return respErr(CodeBadStatusLine)
	default:
		resp.Reason = l[13:]
		if !validFieldValue(resp.Reason) {
			return respErr(CodeBadStatusLine)
		}
	}
	return nil
}
