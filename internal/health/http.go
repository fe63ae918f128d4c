package health

import (
	"bytes"
	"strconv"
	"strings"

	"bulwark/internal/srvstate"
)

// httpResponse is a check response as far as it was read.
type httpResponse struct {
	code    int
	reason  string
	headers [][2]string
	body    []byte
}

// parseResponse reads a response from data. complete false asks for more
// data; bad reports something that is not HTTP.
func parseResponse(data []byte, eof bool) (resp *httpResponse, complete, bad bool) {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	sep := 4
	if end < 0 {
		if end = bytes.Index(data, []byte("\n\n")); end >= 0 {
			sep = 2
		}
	}
	if end < 0 {
		if !eof {
			// Judge the status line early: a peer that is not HTTP need
			// not be waited for.
			if len(data) >= 5 && !bytes.HasPrefix(data, []byte("HTTP/")) {
				return nil, true, true
			}
			return nil, false, false
		}
		if len(data) == 0 {
			return nil, true, true
		}
		end, sep = len(data), 0
	}
	// One string for the whole head; the status line and the headers
	// are cut from it (a check runs a thousand times a second).
	head := string(data[:end])
	line, head, more := strings.Cut(head, "\n")
	if more {
		line = strings.TrimSuffix(line, "\r")
	}
	version, rest, _ := strings.Cut(line, " ")
	codeText, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeText)
	if !strings.HasPrefix(version, "HTTP/") || err != nil || len(codeText) != 3 {
		return nil, true, true
	}
	resp = &httpResponse{code: code, reason: reason}
	if more {
		resp.headers = make([][2]string, 0, strings.Count(head, "\n")+1)
	}
	clen := -1
	for more {
		line, head, more = strings.Cut(head, "\n")
		if more {
			line = strings.TrimSuffix(line, "\r")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		resp.headers = append(resp.headers, [2]string{name, value})
		if strings.EqualFold(name, "content-length") {
			clen, _ = strconv.Atoi(value)
		}
	}
	if len(resp.headers) == 0 {
		resp.headers = nil
	}
	body := data[min(end+sep, len(data)):]
	switch {
	case code == 101 || code == 204 || code == 304 || code < 200:
		body = nil
	case clen >= 0 && len(body) >= clen:
		body = body[:clen]
	case clen >= 0 && !eof:
		return nil, false, false
	case clen < 0 && !eof:
		return nil, false, false
	}
	resp.body = body
	return resp, true, false
}

func (r *probeRun) expectHTTP(rule *Rule, last bool) bool {
	e := rule.Exp
	for r.resp == nil {
		resp, complete, bad := parseResponse(r.in, r.eof)
		if bad {
			if len(r.in) == 0 {
				return r.fail(srvstate.CheckL7RSP, 0, "")
			}
			return r.fail(srvstate.CheckL7RSP, 0, "")
		}
		if complete {
			r.resp = resp
			break
		}
		if !r.read(rule, "") {
			return false
		}
	}
	resp := r.resp
	r.cx.Headers, r.cx.Status, r.cx.Body = resp.headers, resp.code, resp.body
	if r.t.DisableOn404 && r.t.Running && resp.code == 404 {
		// disable-on-404 takes precedence over the expect rules.
		r.result = srvstate.Check{Status: srvstate.CheckL7OKC, Code: 404, Info: resp.reason}
		return false
	}
	var match bool
	switch e.Match {
	case MatchStatus:
		for _, c := range e.Codes {
			if resp.code >= c.Lo && resp.code <= c.Hi {
				match = true
			}
		}
	case MatchRStatus:
		match = e.Re.MatchString(strconv.Itoa(resp.code))
	case MatchString:
		data, _ := r.pattern(e)
		match = bytes.Contains(resp.body, data)
	case MatchRegex:
		match = e.Re.Match(resp.body)
	case MatchHeader:
		h := e.Header
		if h.NameFmt != nil || h.ValueFmt != nil {
			cp := *h
			if h.NameFmt != nil {
				cp.Name.S = h.NameFmt(&r.cx)
			}
			if h.ValueFmt != nil {
				cp.Value.S = h.ValueFmt(&r.cx)
			}
			h = &cp
		}
		match = matchHeaders(h, resp.headers)
	}
	if match != e.Negate {
		// A success says nothing but on-success: HAProxy 2.6 keeps the
		// reason phrase for failures.
		info, code := "", resp.code
		switch {
		case !last:
			// The next rules decide the outcome.
		case e.OnSuccessFmt != nil:
			info = e.OnSuccessFmt(&r.cx)
		case e.OnSuccess != "":
			info = e.OnSuccess
		}
		if last {
			code = r.code(e, code)
		}
		r.result = srvstate.Check{Status: e.OK, Code: code, Info: info}
		return true
	}
	info := ""
	switch e.Match {
	case MatchStatus, MatchRStatus:
		info = resp.reason
	case MatchHeader:
		info = "HTTP header pattern not found"
		if e.Negate {
			info = "HTTP header pattern found"
		}
	default:
		info = "HTTP content check did not match"
		if e.Negate {
			info = "HTTP content check matched unwanted content"
		}
	}
	switch {
	case e.OnErrorFmt != nil:
		info = e.OnErrorFmt(&r.cx)
	case e.OnError != "":
		info = e.OnError
	}
	if rule.Comment != "" {
		// Unquoted, unlike the comment of a connection or timeout error.
		info += " comment: " + rule.Comment
	}
	return r.fail(e.Err, r.code(e, resp.code), info)
}

// matchHeaders is "hdr" (values split on commas) and "fhdr" (whole
// values). Names match without regard to case.
func matchHeaders(m *HeaderMatch, hs [][2]string) bool {
	for _, h := range hs {
		if !m.Name.match(h[0], m.Name.Meth != "reg") && !(m.Name.Meth == "reg" && m.Name.Re.MatchString(h[0])) {
			continue
		}
		if !m.HasValue {
			return true
		}
		values := []string{h[1]}
		if !m.Full {
			values = strings.Split(h[1], ",")
		}
		for _, v := range values {
			if m.Value.match(strings.TrimSpace(v), false) {
				return true
			}
		}
	}
	return false
}
