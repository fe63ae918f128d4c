package proxy

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/h1"
	"bulwark/internal/rules"
	"bulwark/internal/stick"
)

// proxyRules are the compiled decision lists of one proxy.
type proxyRules struct {
	set         *acl.Set
	req, resp   *rules.List
	after       *rules.List // http-after-response
	tcpConn     *rules.List
	tcpSession  *rules.List
	tcpContent  *rules.List
	tcpResp     *rules.List
	useBE       []*acl.Cond // parallel to model.Proxy.UseBackends
	useBEName   []*acl.Format
	monitorFail []*acl.Cond
	redirects   *rules.List // legacy "redirect" lines
	statsAdmin  []*acl.Cond
}

// ---- acl.Txn / rules.Txn for an HTTP session ----

func (s *httpSession) Src() netip.AddrPort { return s.src }
func (s *httpSession) Dst() netip.AddrPort { return s.dst }

// ConnSrc and ConnDst serve fc_src and fc_dst: the connection's
// addresses, which only "tcp-request connection" rules change.
// While those rules run, the connection's addresses are src and dst.
func (s *httpSession) ConnSrc() netip.AddrPort {
	if s.inTCPConn {
		return s.src
	}
	return s.fcSrc
}
func (s *httpSession) ConnDst() netip.AddrPort {
	if s.inTCPConn {
		return s.dst
	}
	return s.fcDst
}
func (s *httpSession) Method() []byte      { return s.m.req.Method }
func (s *httpSession) Target() []byte      { return s.m.req.Target }
func (s *httpSession) Version() (int, int) { return s.m.req.Major, s.m.req.Minor }
func (s *httpSession) ReqHeaders() []h1.Header {
	return s.m.req.Headers
}
func (s *httpSession) RespHeaders() []h1.Header {
	if !s.inResp {
		return nil
	}
	return s.m.resp.Headers
}
func (s *httpSession) Status() int {
	if !s.inResp {
		return 0
	}
	return s.m.resp.Status
}
func (s *httpSession) TLS() (bool, []byte)     { return s.tlsOn, s.sni }
func (s *httpSession) Now() int64              { return s.fe.rt.clock.NowMs() }
func (s *httpSession) Tracked(n int) stick.Ref { return s.tracked[n] }
func (s *httpSession) SetTracked(n int, r stick.Ref) {
	s.tracked[n] = r
	s.trackedConn[n] = s.inConnRules
}
func (s *httpSession) Var(name string) (acl.Sample, bool) {
	if acl.IsProcVar(name) {
		return s.fe.rt.procVars.Get(name)
	}
	v, ok := s.vars[name]
	return v, ok
}
func (s *httpSession) SetVar(name string, v acl.Sample) {
	if acl.IsProcVar(name) {
		s.fe.rt.procVars.Set(name, v)
		return
	}
	if s.vars == nil {
		s.vars = map[string]acl.Sample{}
	}
	v.B = append([]byte(nil), v.B...)
	s.vars[name] = v
}
func (s *httpSession) Env() acl.Env { return runtimeEnv{s.fe.rt, s.fe.name, s.curBE} }
func (s *httpSession) HeaderList(resp bool) *[]h1.Header {
	if resp {
		return &s.m.resp.Headers
	}
	return &s.m.req.Headers
}
func (s *httpSession) SetTarget(t []byte)          { s.m.req.Target = t }
func (s *httpSession) SetMethod(m []byte)          { s.m.req.Method = m }
func (s *httpSession) SetSockOpt(mark bool, v int) { setSockOpt(s.cconn, mark, v) }

// SetTimeout applies "http-request set-timeout" to the current request.
func (s *httpSession) SetTimeout(tunnel bool, d time.Duration) {
	if tunnel {
		s.tunnelTO = d
	} else {
		s.serverTO = d
	}
}

// timeouts returns the server and tunnel timeouts of the current request:
// be's unless set-timeout changed them.
func (s *httpSession) timeouts(be *backend) (server, tunnel time.Duration) {
	server, tunnel = be.serverTimeout, be.tunnelTimeout
	if s.serverTO > 0 {
		server = s.serverTO
	}
	if s.tunnelTO > 0 {
		tunnel = s.tunnelTO
	}
	return server, tunnel
}

// SetAddr applies set-src/set-dst: what later rules, the log and
// X-Forwarded-For / X-Original-To see.
func (s *httpSession) SetAddr(dst bool, ap netip.AddrPort) {
	if !s.inConnRules {
		s.streamAddr = true
	}
	if dst {
		s.dst = ap
		return
	}
	s.src = ap
	s.srcText = []byte(ap.Addr().String())
	if s.m != nil {
		s.m.ent.Client = net.TCPAddrFromAddrPort(ap)
	}
}
func (s *httpSession) SetStatus(code int, reason []byte) {
	s.m.resp.Status = code
	s.m.resp.Reason = reason
}
func (s *httpSession) SetLogLevel(level string) { s.m.ent.Level = level }

// releaseTracked ends the tracking started by http-request rules (or, when
// all is set, by tcp-request connection rules too).
func (s *httpSession) releaseTracked(all bool) {
	// The clock is read only for an entry to release: this runs twice
	// for every request, which mostly tracks nothing.
	now := int64(-1)
	for i := range s.tracked {
		if s.tracked[i].Valid() && (all || !s.trackedConn[i]) {
			if now < 0 {
				now = s.Now()
			}
			s.tracked[i].Release(now)
			s.tracked[i] = stick.Ref{}
			s.trackedConn[i] = false
		}
	}
}

// countStatus feeds the tracked entries' error counters (CM 4.2
// "stick-table": http_err counts 4xx and denied requests, http_fail 5xx
// other than 501 and 505).
func (s *httpSession) countStatus(status int) {
	now := int64(-1) // read for the first tracked entry only (releaseTracked)
	for _, r := range s.tracked {
		if !r.Valid() {
			continue
		}
		if now < 0 {
			now = s.Now()
		}
		switch {
		case status >= 400 && status < 500:
			r.IncHTTPErr(now)
		case status >= 500 && status != 501 && status != 505:
			r.IncHTTPFail(now)
		}
	}
}

// runtimeEnv answers nbsrv/be_conn/fe_conn.
type runtimeEnv struct {
	rt      *Runtime
	fe      string
	backend *backend
}

// lookup returns the named backend, or the transaction's own for "".
func (e runtimeEnv) lookup(name string) *backend {
	if name == "" {
		return e.backend
	}
	return e.rt.backends[name]
}

func (e runtimeEnv) NbSrv(name string) int {
	b := e.lookup(name)
	if b == nil {
		return -1
	}
	n := 0
	for _, s := range b.srvs() {
		if s.balanced() && !s.cfg.Backup {
			n++
		}
	}
	return n
}

func (e runtimeEnv) BeConn(name string) int {
	b := e.lookup(name)
	if b == nil {
		return -1
	}
	n := 0
	for _, s := range b.srvs() {
		n += int(s.current.Load())
	}
	return n
}

func (e runtimeEnv) FeConn(name string) int {
	if name == "" {
		name = e.fe
	}
	for _, f := range e.rt.frontends {
		if f.name == name {
			return int(f.conns.Load())
		}
	}
	return -1
}

// reply writes a response decided by a rule (deny, return, redirect, auth,
// tarpit) and reports the status for the log.
// It reports whether the connection may carry another request: after
// "return", "redirect", "deny" and "auth" answers built here it may, as in
// HAProxy, when the request was read whole; other answers close it.
func (s *httpSession) reply(res rules.Result, pages errorPages, e *LogEntry) bool {
	status := res.Status
	switch res.Verdict {
	case rules.Reject:
		// Closed without a response (tcp-response content reject).
		e.Term = "PR"
		return false
	case rules.Close:
		// tcp-response content close in an HTTP proxy: HAProxy 2.6 closes
		// the server connection before it has analysed the response, and
		// the client gets the 502 of an incomplete response.
		e.Term = "SH"
		s.sendPage(pages, 502, e)
		return false
	case rules.Tarpit:
		d := s.fe.cfg.Timeouts.Tarpit
		if d == 0 {
			d = s.fe.cfg.Timeouts.Connect
		}
		if d > 0 {
			select {
			case <-time.After(d):
			case <-s.fe.rt.ctx.Done():
			}
		}
		if status == 0 {
			status = 500
		}
		e.Term = "PT"
		if res.HasRaw {
			s.writeRaw(res.Raw, status, e)
			return false
		}
		if !res.Errorfile && (len(res.Body) > 0 || len(res.Headers) > 0 || res.ContentType != "") {
			s.writeReply(res, status, e)
			return false
		}
		s.sendPage(pages, status, e)
		return false
	case rules.Deny, rules.Error:
		if status == 0 {
			status = 403
		}
		e.Term = "PR"
		if res.HasRaw {
			s.writeRaw(res.Raw, status, e)
			return false
		}
		if res.Verdict == rules.Deny && res.Errorfile {
			return s.sendPageKeep(pages, status, e, s.keepAfterReply())
		}
		if res.Errorfile || res.Verdict == rules.Error {
			s.sendPage(pages, status, e)
			return false
		}
	case rules.Auth:
		realm := res.Realm
		if realm == "" {
			realm = s.fe.name
		}
		status = 401
		res.Headers = append(res.Headers, h1.Header{Name: []byte("WWW-Authenticate"), Value: []byte(`Basic realm="` + realm + `"`)})
		body := pages.raw(401)
		if i := indexBody(body); i >= 0 {
			res.Body, res.ContentType = body[i:], "text/html"
		}
		e.Term = "PR"
	case rules.Redirect:
		if status == 0 {
			status = 302
		}
		res.Headers = append(res.Headers, h1.Header{Name: []byte("Location"), Value: res.Location})
	case rules.Return:
		if status == 0 {
			status = 200
		}
		if res.HasRaw {
			s.writeRaw(res.Raw, status, e)
			return false
		}
		if res.Errorfile {
			s.sendPage(pages, status, e)
			return false
		}
	}
	// HAProxy 2.6 keeps the client connection after a generated deny or
	// auth answer too (reg-test log/last_rule.vtc sends its next request
	// on the connection that was denied).
	keep := (res.Verdict == rules.Return || res.Verdict == rules.Redirect || res.Verdict == rules.Deny || res.Verdict == rules.Auth) && s.keepAfterReply()
	s.writeReplyKeep(res, status, e, keep)
	return keep
}

// writeReply writes a response built from res: status, body, content
// type and headers; it closes the connection.
func (s *httpSession) writeReply(res rules.Result, status int, e *LogEntry) {
	s.writeReplyKeep(res, status, e, false)
}

// keepAfterReply reports whether the client connection may go on after a
// response the proxy generated.
func (s *httpSession) keepAfterReply() bool {
	req := &s.m.req
	level := s.fe.connLevel
	if be := s.curBE; be != nil {
		level = max(level, be.connLevel)
	}
	return req.KeepAlive && !s.fe.rt.stopping.Load() && level < 2 &&
		(req.Framing() == h1.FramingNone || s.rd.Body().Done())
}

func (s *httpSession) writeReplyKeep(res rules.Result, status int, e *LogEntry, keep bool) {
	b := h1.AppendStatusLine(s.head[:0], 1, 1, status, []byte(reasonFor(status)))
	b = h1.AppendHeaderField(b, "content-length", strconv.Itoa(len(res.Body)))
	// CM 4.2 "return": content-type is ignored without a payload.
	if res.ContentType != "" && len(res.Body) > 0 {
		b = h1.AppendHeaderField(b, "content-type", res.ContentType)
	}
	if status >= 400 || res.Verdict == rules.Deny {
		b = h1.AppendHeaderField(b, "cache-control", "no-cache")
	}
	b = h1.AppendHeaders(b, res.Headers)
	switch {
	case !keep:
		b = h1.AppendHeaderField(b, "connection", "close")
	case s.m.req.Major == 1 && s.m.req.Minor == 0:
		b = h1.AppendHeaderField(b, "connection", "keep-alive")
	}
	b = append(b, '\r', '\n')
	b = append(b, res.Body...)
	s.head = b
	s.writeRaw(b, status, e)
}

func (s *httpSession) writeRaw(b []byte, status int, e *LogEntry) {
	if len(b) > 0 && !s.muxError && s.hasAfter() {
		b, status = s.afterGenerated(b, status)
	}
	s.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	n, _ := s.c.Write(b)
	e.Status = status
	e.BytesOut += int64(n)
}

func indexBody(resp []byte) int {
	for i := 0; i+3 < len(resp); i++ {
		if resp[i] == '\r' && resp[i+1] == '\n' && resp[i+2] == '\r' && resp[i+3] == '\n' {
			return i + 4
		}
	}
	return -1
}

func reasonFor(status int) string {
	if r, ok := errorReasons[status]; ok {
		return r[0]
	}
	switch status {
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 201:
		return "Created"
	case 204:
		return "No Content"
	}
	return fmt.Sprintf("Status %d", status)
}

// hasAfter reports whether http-after-response rules apply to the
// current transaction.
func (s *httpSession) hasAfter() bool {
	if r := s.fe.rules; r != nil && r.after.Len() > 0 {
		return true
	}
	be := s.curBE
	return be != nil && be.rules != nil && be.rules.after.Len() > 0
}

// afterRules runs the http-after-response rules on the response head in
// s.m.resp: the backend's, then the frontend's (CM 4.2). An Error verdict
// is a rewrite that failed in strict mode.
func (s *httpSession) afterRules() rules.Result {
	var lists [2]*proxyRules
	if be := s.curBE; be != nil && be.cfg != s.fe.cfg {
		lists[0] = be.rules
	}
	lists[1] = s.fe.rules
	s.inResp = true
	for _, r := range lists {
		if r == nil || r.after.Len() == 0 {
			continue
		}
		s.eval.Reset()
		// allow only ends its own list; no other verdict exists here.
		if res := r.after.Run(&s.m.exec); res.Verdict == rules.Error {
			return res
		}
	}
	return rules.Result{}
}

// afterGenerated runs the http-after-response rules on a response the
// proxy generated (b, complete) and returns it rewritten with its status.
// A response that does not parse (a broken errorfile) goes out as is.
func (s *httpSession) afterGenerated(b []byte, status int) ([]byte, int) {
	hl := indexBody(b)
	if hl < 0 {
		return b, status
	}
	rd := h1.NewReader(bytes.NewReader(b[:hl]), s.fe.rt.readerConfig())
	if err := rd.ReadResponse(&s.m.resp, s.m.req.Method); err != nil {
		return b, status
	}
	// Header values alias the reader's buffer: copy them before it goes.
	hs := s.m.resp.Headers
	for i := range hs {
		hs[i].Name = append([]byte(nil), hs[i].Name...)
		hs[i].Value = append([]byte(nil), hs[i].Value...)
	}
	s.m.resp.Reason = append([]byte(nil), s.m.resp.Reason...)
	rd.Release()
	if res := s.afterRules(); res.Verdict == rules.Error {
		return b, status
	}
	out := h1.AppendResponseHead(make([]byte, 0, len(b)+128), &s.m.resp)
	return append(out, b[hl:]...), s.m.resp.Status
}
