package proxy

import (
	"bulwark/internal/acl"
	"bulwark/internal/rules"
)

// streamActs is what the stream-level actions of the request in progress
// set: its queue priority (set-priority-class, set-priority-offset),
// disable-l7-retry and the fields of a pending 103 Early Hints response.
// It starts empty with every request.
type streamActs struct {
	prio      queuePrio
	noL7Retry bool
	// hints is the 103 response being built by consecutive early-hint
	// rules, "" while none is pending; sent before anything else goes to
	// the client (flushEarlyHints).
	hints []byte
}

func (a *streamActs) reset() {
	a.prio, a.noL7Retry, a.hints = queuePrio{}, false, a.hints[:0]
}

func (a *streamActs) setPriority(offset bool, v int64) {
	if offset {
		a.prio.offset = v
	} else {
		a.prio.class = v
	}
}

const earlyHintsLine = "HTTP/1.1 103 Early Hints\r\n"

func (s *httpSession) SetPriority(offset bool, v int64) { s.act.setPriority(offset, v) }
func (s *httpSession) Priority() (class, offset int64) {
	return s.act.prio.class, s.act.prio.offset
}
func (s *httpSession) DisableL7Retry() { s.act.noL7Retry = true }

// EarlyHint adds a field to the pending 103 response. The value lives in
// the rules' arena, so it is copied.
func (s *httpSession) EarlyHint(name, value []byte) {
	if len(s.act.hints) == 0 {
		s.act.hints = append(s.act.hints, earlyHintsLine...)
	}
	s.act.hints = append(s.act.hints, name...)
	s.act.hints = append(s.act.hints, ": "...)
	s.act.hints = append(s.act.hints, value...)
	s.act.hints = append(s.act.hints, "\r\n"...)
}

// flushEarlyHints sends the pending 103 Early Hints response, after the
// http-request rules that built it and before any other response (RFC
// 8297). An HTTP/1.0 client gets none: it cannot parse an interim response
// (RFC 9110 section 15.2). On an HTTP/2 stream the bytes become an
// interim HEADERS frame.
func (s *httpSession) flushEarlyHints() {
	if len(s.act.hints) == 0 {
		return
	}
	hints := append(s.act.hints, "\r\n"...)
	s.act.hints = hints[:0]
	if s.m.req.Major == 1 && s.m.req.Minor == 0 {
		return
	}
	// A failed write is the client gone, which the final response finds.
	_, _ = s.tc.Write(hints)
}

// CaptureResponse stores a value in response slot id of the frontend
// (http-response capture ... id, capture-res), cut to the slot's length;
// a slot the frontend does not have takes nothing.
func (s *httpSession) CaptureResponse(id int, v []byte) {
	lens := s.fe.caps.RespLen
	if id < 0 || id >= len(lens) {
		return
	}
	if len(v) > lens[id] {
		v = v[:lens[id]]
	}
	for len(s.capResp) < len(lens) {
		s.capResp = append(s.capResp, nil)
	}
	s.capResp[id] = append(s.capResp[id][:0], v...)
}

// The TCP stream has a queue priority and request slots
// (tcp-request content capture, capture-req), but no response slots.
func (t *tcpTxn) SetPriority(offset bool, v int64) { t.act.setPriority(offset, v) }
func (t *tcpTxn) Priority() (class, offset int64) {
	return t.act.prio.class, t.act.prio.offset
}
func (t *tcpTxn) CaptureResponse(int, []byte) {}

// Capture stores a value in request slot id of the frontend, cut to the
// slot's length (tcp-request content capture, capture-req).
func (t *tcpTxn) Capture(id int, v []byte) {
	lens := t.fe.caps.ReqLen
	if id < 0 || id >= len(lens) {
		return
	}
	if len(v) > lens[id] {
		v = v[:lens[id]]
	}
	for len(t.capReq) < len(lens) {
		t.capReq = append(t.capReq, nil)
	}
	t.capReq[id] = append(t.capReq[id][:0], v...)
}

// Captured serves capture.req.hdr in a TCP stream.
func (t *tcpTxn) Captured(resp bool, idx int) ([]byte, bool) {
	if resp || idx < 0 || idx >= len(t.fe.caps.ReqLen) {
		return nil, false
	}
	if idx >= len(t.capReq) {
		return nil, true
	}
	return t.capReq[idx], true
}

// captureText renders the request slots for %hr in a TCP log line.
func (t *tcpTxn) captureText(e *LogEntry) {
	if n := t.fe.caps.Slots; n > 0 {
		e.CapReq = braces(t.capReq, n)
	}
}

var (
	_ rules.PriorityTxn    = (*httpSession)(nil)
	_ rules.RetryTxn       = (*httpSession)(nil)
	_ rules.EarlyHintTxn   = (*httpSession)(nil)
	_ rules.RespCaptureTxn = (*httpSession)(nil)
	_ acl.PriorityTxn      = (*httpSession)(nil)
	_ acl.CaptureSetter    = (*httpSession)(nil)
	_ rules.PriorityTxn    = (*tcpTxn)(nil)
	_ acl.PriorityTxn      = (*tcpTxn)(nil)
	_ acl.CaptureSetter    = (*tcpTxn)(nil)
	_ acl.CaptureTxn       = (*tcpTxn)(nil)
)
