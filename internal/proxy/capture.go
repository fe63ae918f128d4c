package proxy

import (
	"fmt"
	"strings"

	"bulwark/internal/h1"
	"bulwark/internal/plan"
)

// captures are a frontend's header captures.
type captures = plan.Captures

// captureValue returns what hc takes from hs: the value of the last
// occurrence of the header (as HAProxy keeps), cut to the capture length.
func captureValue(hc plan.HeaderCapture, hs []h1.Header) []byte {
	var v []byte
	for _, h := range hs {
		if equalFoldLower(h.Name, hc.Name) {
			v = h.Value
		}
	}
	if len(v) > hc.Max {
		v = v[:hc.Max]
	}
	return v
}

// Capture stores a value captured by "http-request capture" in a request
// slot of the frontend, cut to the slot's length; a slot the frontend does
// not have (a backend's rule naming an id) takes nothing, as in HAProxy.
func (s *httpSession) Capture(id int, v []byte) {
	lens := s.fe.caps.ReqLen
	if id < 0 || id >= len(lens) {
		return
	}
	if len(v) > lens[id] {
		v = v[:lens[id]]
	}
	for len(s.capReq) <= id {
		s.capReq = append(s.capReq, nil)
	}
	s.capReq[id] = append(s.capReq[id][:0], v...)
}

// captureRequest takes the configured request header captures.
func (s *httpSession) captureRequest() {
	for i := range s.capResp {
		s.capResp[i] = s.capResp[i][:0]
	}
	caps := &s.fe.caps
	if caps.Slots == 0 {
		return
	}
	for len(s.capReq) < caps.Slots {
		s.capReq = append(s.capReq, nil)
	}
	for i := range s.capReq {
		s.capReq[i] = s.capReq[i][:0]
	}
	for _, hc := range caps.Req {
		s.capReq[hc.Slot] = append(s.capReq[hc.Slot], captureValue(hc, s.m.req.Headers)...)
	}
}

// captureResponse takes the configured response header captures.
func (s *httpSession) captureResponse() {
	caps := &s.fe.caps
	if len(caps.RespLen) == 0 {
		return
	}
	for len(s.capResp) < len(caps.RespLen) {
		s.capResp = append(s.capResp, nil)
	}
	for _, hc := range caps.Resp {
		s.capResp[hc.Slot] = append(s.capResp[hc.Slot][:0], captureValue(hc, s.m.resp.Headers)...)
	}
}

// captureText renders the {a|b} blocks for the log entry.
func (s *httpSession) captureText(e *LogEntry) {
	caps := &s.fe.caps
	if caps.Slots > 0 {
		e.CapReq = braces(s.capReq[:min(len(s.capReq), caps.Slots)], caps.Slots)
	}
	if len(caps.RespLen) > 0 {
		e.CapResp = braces(s.capResp, len(caps.RespLen))
	}
}

func braces(vals [][]byte, n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte('|')
		}
		if i < len(vals) {
			b.WriteString(escapeCapture(vals[i]))
		}
	}
	b.WriteByte('}')
	return b.String()
}

// escapeCapture keeps the log line parseable: control characters, '|',
// '{', '}', '"' and '#' are written as #XX, as HAProxy does.
func escapeCapture(v []byte) string {
	var b strings.Builder
	for _, c := range v {
		if c < 0x20 || c >= 0x7f || c == '|' || c == '{' || c == '}' || c == '"' || c == '#' {
			fmt.Fprintf(&b, "#%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// equalFoldLower compares a header name with a lower-case name.
func equalFoldLower(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
