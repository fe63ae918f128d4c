package proxy

import (
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/h1"
	"bulwark/internal/rules"
)

// tcpResponseRules runs a backend's tcp-response content rules in an HTTP
// proxy as HAProxy 2.6 does, before the response is analysed as HTTP: the
// HTTP fetches (status, res.hdr, res.ver …) find no response, res.payload
// finds nothing (HAProxy holds the response in its HTX form), and res.len
// counts the HTX size of what has arrived.
//
// The first pass runs as HAProxy's does, as soon as the server is
// connected, when nothing has arrived: res.len is 0, and without
// "tcp-response inspect-delay" the rules decide then. With it, a rule that
// cannot decide yet waits for the response: the rules run again, from the
// first, on the head and the body buffered with it, then once more when
// the rest of a body that fits the buffer has arrived or the delay has
// ended, and decide then. (HAProxy re-runs them on every read; a
// condition on res.len, which only grows, decides the same.)
func (s *httpSession) tcpResponseRules(be *backend, l *rules.List) rules.Result {
	s.inTCPResp, s.inResp = true, false
	defer func() { s.inTCPResp, s.inResp = false, true }()
	delay := be.cfg.ResInspectDelay
	end := time.Now().Add(delay)
	s.tcpResLen = 0
	for pass := 0; ; pass++ {
		final := delay <= 0 || !time.Now().Before(end)
		if pass > 0 {
			body, complete := s.respBuffered()
			resp := &s.m.resp
			s.tcpResLen = acl.HTXResponseSize(resp.Reason, resp.Headers, len(body))
			final = final || pass > 1 || complete || len(body) >= s.fe.bufSize
		}
		s.eval.Reset()
		s.eval.Partial = !final
		res := l.Run(&s.m.exec)
		s.eval.Partial = false
		if res.Verdict != rules.Wait {
			return res
		}
		if d := time.Until(end); pass > 0 && d > 0 {
			s.waitRespBody(d, 0)
		}
	}
}

// respBuffered is the response body buffered so far and whether that is
// all of it.
func (s *httpSession) respBuffered() ([]byte, bool) {
	resp := &s.m.resp
	var body []byte
	switch {
	case s.respWaited:
		body = s.respBody
	case s.exchSC != nil && s.exchSC.rd != nil:
		body = s.exchSC.rd.Body().Peek()
	}
	switch resp.Body {
	case h1.FramingNone:
		return body, true
	case h1.FramingLength:
		return body, int64(len(body)) >= resp.ContentLength
	}
	return body, false
}

// HTTPResLen is res.len (acl.HTTPResLenTxn): while tcp-response content
// rules run, what they have seen; in http-response rules the response as
// they left it and the body buffered.
func (s *httpSession) HTTPResLen() (int64, bool) {
	switch {
	case s.inTCPResp:
		return s.tcpResLen, true
	case s.inResp:
		body, _ := s.respBuffered()
		return acl.HTXResponseSize(s.m.resp.Reason, s.m.resp.Headers, len(body)), true
	}
	return 0, false
}
