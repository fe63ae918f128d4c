package proxy

import (
	"fmt"
	"strconv"
	"strings"

	"bulwark/internal/config"
	"bulwark/internal/h1"
	"bulwark/internal/model"
)

// headerCapture is a "capture request|response header <name> len <n>" line.
type headerCapture struct {
	name string // lower-case, for h1.Get
	max  int
}

// value returns what the capture takes from hs: the value of the last
// occurrence of the header (as HAProxy keeps), cut to the capture length.
func (hc headerCapture) value(hs []h1.Header) []byte {
	var v []byte
	for _, h := range hs {
		if equalFoldLower(h.Name, hc.name) {
			v = h.Value
		}
	}
	if len(v) > hc.max {
		v = v[:hc.max]
	}
	return v
}

// captures are a frontend's header captures (CM 4.2 "capture request
// header"), shown in the httplog line as {a|b} blocks.
type captures struct {
	req, resp []headerCapture
	// slots is the number of request slots: header captures first, then
	// "http-request capture ... len N" rules.
	slots int
}

func compileCaptures(p *model.Proxy) (captures, config.Diagnostics) {
	var c captures
	var ds config.Diagnostics
	for _, d := range p.Captures {
		if d.Arg(0) == "cookie" {
			ds = append(ds, config.Diagnostic{Pos: d.Pos, Severity: config.SevAlert,
				Msg: "'capture cookie' is not supported by bulwark yet", Code: model.CodeUnsupported})
			continue
		}
		// capture request|response header <name> len <length>
		if len(d.Args) != 5 || (d.Arg(0) != "request" && d.Arg(0) != "response") || d.Arg(1) != "header" || d.Arg(3) != "len" {
			ds.Alertf(d.Pos, "'capture' expects 'request header <name> len <length>' or 'response header <name> len <length>'")
			continue
		}
		n, err := strconv.Atoi(d.Arg(4))
		if err != nil || n <= 0 || n > 65536 {
			ds.Alertf(d.ArgPos(4), "'capture %s header' : invalid length '%s'", d.Arg(0), d.Arg(4))
			continue
		}
		hc := headerCapture{name: strings.ToLower(d.Arg(2)), max: n}
		if d.Arg(0) == "request" {
			c.req = append(c.req, hc)
		} else {
			c.resp = append(c.resp, hc)
		}
	}
	c.slots = len(c.req)
	for _, r := range p.HTTPRequest {
		if r.Action == "capture" && len(r.Args) == 3 && r.Args[1].Text == "len" {
			c.slots++
		}
	}
	return c, ds
}

// Capture stores a value captured by "http-request capture".
func (s *httpSession) Capture(id int, v []byte) {
	if id < 0 || id >= 64 {
		return
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
	if caps.slots == 0 {
		return
	}
	for len(s.capReq) < caps.slots {
		s.capReq = append(s.capReq, nil)
	}
	for i := range s.capReq {
		s.capReq[i] = s.capReq[i][:0]
	}
	for i, hc := range caps.req {
		s.capReq[i] = append(s.capReq[i], hc.value(s.m.req.Headers)...)
	}
}

// captureResponse takes the configured response header captures.
func (s *httpSession) captureResponse() {
	caps := &s.fe.caps
	if len(caps.resp) == 0 {
		return
	}
	for len(s.capResp) < len(caps.resp) {
		s.capResp = append(s.capResp, nil)
	}
	for i, hc := range caps.resp {
		s.capResp[i] = append(s.capResp[i][:0], hc.value(s.m.resp.Headers)...)
	}
}

// captureText renders the {a|b} blocks for the log entry.
func (s *httpSession) captureText(e *LogEntry) {
	caps := &s.fe.caps
	if caps.slots > 0 {
		e.CapReq = braces(s.capReq[:min(len(s.capReq), caps.slots)], caps.slots)
	}
	if len(caps.resp) > 0 {
		e.CapResp = braces(s.capResp, len(caps.resp))
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
