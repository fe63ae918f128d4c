package fcgi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// Response turns the records an application sends for one request into
// the bytes of an HTTP/1.1 response, so that the proxy's HTTP/1 reader
// parses it like any server's: the CGI header block of STDOUT becomes a
// status line ("Status:" header, 200 without one) and header fields; the
// rest of STDOUT is the body, sent as it is when the application gave a
// Content-Length and chunked otherwise; END_REQUEST ends the body. STDERR
// goes to Stderr. The last bytes of a response are only returned once
// END_REQUEST is read, so that a connection the proxy keeps holds nothing
// of the previous request.
type Response struct {
	rr *RecordReader
	// Stderr, when set, receives the content of each STDERR record.
	Stderr func([]byte)
	// MaxHead bounds the CGI header block (default 16384 bytes).
	MaxHead int
	// Values holds what GET_VALUES_RESULT records answered.
	Values map[string]string

	id       uint16
	started  bool
	noBody   bool // HEAD request: the body is read and dropped
	keep     bool
	inBody   bool
	chunked  bool
	remain   int64
	end      bool // END_REQUEST read
	drain    bool // read up to END_REQUEST before returning the last bytes
	pend     []byte
	out      []byte
	off      int
	err      error
	AppError EndRequest
}

// Errors of a response that cannot be translated.
var (
	ErrHeadTooLarge = errors.New("fcgi: CGI response header too large")
	ErrBadHead      = errors.New("fcgi: malformed CGI response header")
	ErrNoHead       = errors.New("fcgi: request ended without a CGI response header")
	ErrRefused      = errors.New("fcgi: application refused the request")
	ErrTruncated    = errors.New("fcgi: request ended before Content-Length bytes")
	errIdle         = errors.New("fcgi: read with no request in progress")
)

// NewResponse reads records from r (the connection to the application).
func NewResponse(r io.Reader) *Response {
	return &Response{rr: NewRecordReader(r)}
}

// Start prepares for the answer to request id. head is true for a HEAD
// request (a body the application sends is dropped); keepConn is what
// BEGIN_REQUEST asked for: without it the response says
// "Connection: close".
func (rs *Response) Start(id uint16, head, keepConn bool) {
	*rs = Response{rr: rs.rr, Stderr: rs.Stderr, MaxHead: rs.MaxHead, Values: rs.Values,
		pend: rs.pend[:0], out: rs.out[:0], id: id, noBody: head, keep: keepConn, started: true}
}

// Complete reports whether the application ended the request
// (END_REQUEST with REQUEST_COMPLETE) and every byte of the response was
// read: the connection may carry another request.
func (rs *Response) Complete() bool {
	return rs.end && rs.err == nil && rs.off == len(rs.out) && rs.AppError.ProtocolStatus == RequestComplete
}

// InFlight reports the id of a request the application has not ended
// (no END_REQUEST read): one that is given up on must be aborted.
func (rs *Response) InFlight() (uint16, bool) {
	return rs.id, rs.started && !rs.end
}

// Read returns the next bytes of the HTTP/1.1 response.
func (rs *Response) Read(p []byte) (int, error) {
	if !rs.started {
		return 0, errIdle
	}
	for rs.off == len(rs.out) || rs.drain && !rs.end {
		if rs.err != nil {
			return 0, rs.err
		}
		if rs.end {
			// Nothing more belongs to this request; the HTTP reader
			// only asks for more when the response is malformed.
			return 0, io.ErrUnexpectedEOF
		}
		if rs.off == len(rs.out) {
			rs.out, rs.off = rs.out[:0], 0
		}
		rs.err = rs.step()
	}
	n := copy(p, rs.out[rs.off:])
	rs.off += n
	return n, nil
}

// step reads one record and appends what it gives to out.
func (rs *Response) step() error {
	h, content, err := rs.rr.Next()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if h.ID == 0 {
		if h.Type == TypeGetValuesResult {
			if rs.Values == nil {
				rs.Values = map[string]string{}
			}
			return ParsePairs(content, func(n, v []byte) { rs.Values[string(n)] = string(v) })
		}
		return nil // UNKNOWN_TYPE answers and other management records
	}
	if h.ID != rs.id {
		return nil
	}
	switch h.Type {
	case TypeStdout:
		if len(content) == 0 {
			return nil
		}
		if rs.inBody {
			rs.body(content)
			return nil
		}
		rs.pend = append(rs.pend, content...)
		end, rest := headEnd(rs.pend)
		if end < 0 {
			if len(rs.pend) > rs.maxHead() {
				return ErrHeadTooLarge
			}
			return nil
		}
		if end > rs.maxHead() {
			return ErrHeadTooLarge
		}
		if err := rs.head(rs.pend[:end]); err != nil {
			return err
		}
		rs.body(rs.pend[rest:])
	case TypeStderr:
		if len(content) > 0 && rs.Stderr != nil {
			rs.Stderr(content)
		}
	case TypeEndRequest:
		er, err := ParseEndRequest(content)
		if err != nil {
			return err
		}
		rs.AppError, rs.end = er, true
		switch {
		case er.ProtocolStatus != RequestComplete:
			return ErrRefused
		case !rs.inBody:
			return ErrNoHead
		case rs.chunked:
			rs.out = append(rs.out, "0\r\n\r\n"...)
		case rs.remain > 0 && !rs.noBody:
			return ErrTruncated
		}
	}
	return nil
}

func (rs *Response) maxHead() int {
	if rs.MaxHead > 0 {
		return rs.MaxHead
	}
	return 16384
}

// headEnd finds the blank line ending a CGI header block, which may use
// CRLF or bare LF line ends: it returns the length of the block without
// the blank line and where the body starts, or -1.
func headEnd(b []byte) (int, int) {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		j := i + 1
		if j < len(b) && b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			return i + 1, j + 1
		}
		if i == 0 || i == 1 && b[0] == '\r' {
			return 0, i + 1 // no header field at all
		}
	}
	return -1, 0
}

// head writes the status line and header fields for the CGI header block.
func (rs *Response) head(block []byte) error {
	status, reason := 200, []byte(nil)
	var fields [][2][]byte
	length := int64(-1)
	for len(block) > 0 {
		line := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			block = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !token(line[:colon]) {
			return ErrBadHead
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		if bytes.ContainsAny(value, "\r\x00") {
			return ErrBadHead
		}
		switch {
		case bytes.EqualFold(name, []byte("Status")):
			code, rest, _ := bytes.Cut(value, []byte{' '})
			n, err := strconv.Atoi(string(code))
			// A CGI script cannot switch protocols or send interim
			// responses: a 1xx status is as bad as a malformed one.
			if err != nil || len(code) != 3 || n < 200 || n > 599 {
				return ErrBadHead
			}
			status, reason = n, bytes.TrimSpace(rest)
			continue
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || length >= 0 && n != length {
				return ErrBadHead
			}
			length = n
			continue
		case hopByHop(name):
			// The framing and the connection are the proxy's business.
			continue
		}
		fields = append(fields, [2][]byte{name, value})
	}
	if len(reason) == 0 {
		reason = []byte(http.StatusText(status))
	}
	o := append(rs.out, "HTTP/1.1 "...)
	o = strconv.AppendInt(o, int64(status), 10)
	o = append(o, ' ')
	o = append(o, reason...)
	o = append(o, '\r', '\n')
	for _, f := range fields {
		o = append(o, f[0]...)
		o = append(o, ':', ' ')
		o = append(o, f[1]...)
		o = append(o, '\r', '\n')
	}
	bodiless := status == 204 || status == 304
	switch {
	case bodiless:
		if status == 304 && length >= 0 {
			o = appendLength(o, length)
		}
		rs.noBody = true
	case length >= 0:
		o = appendLength(o, length)
		rs.remain = length
	default:
		o = append(o, "Transfer-Encoding: chunked\r\n"...)
		rs.chunked = !rs.noBody
	}
	if !rs.keep {
		o = append(o, "Connection: close\r\n"...)
	}
	rs.out = append(o, '\r', '\n')
	rs.inBody = true
	// Without a body to pass, the head waits for END_REQUEST; with a
	// length, so do the last bytes of the body (body).
	rs.drain = rs.noBody || length == 0
	return nil
}

func appendLength(o []byte, n int64) []byte {
	o = append(o, "Content-Length: "...)
	o = strconv.AppendInt(o, n, 10)
	return append(o, '\r', '\n')
}

// body passes STDOUT bytes after the header block.
func (rs *Response) body(b []byte) {
	switch {
	case len(b) == 0 || rs.noBody:
	case rs.chunked:
		rs.out = strconv.AppendInt(rs.out, int64(len(b)), 16)
		rs.out = append(rs.out, '\r', '\n')
		rs.out = append(rs.out, b...)
		rs.out = append(rs.out, '\r', '\n')
	default:
		// Bytes beyond the announced length are dropped, as an HTTP/1
		// reader would never pass them on.
		n := min(int64(len(b)), rs.remain)
		rs.out = append(rs.out, b[:n]...)
		rs.remain -= n
		if rs.remain == 0 {
			rs.drain = true
		}
	}
}

func token(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte("()<>@,;:\\\"/[]?={}"), c) >= 0 {
			return false
		}
	}
	return len(b) > 0
}

func hopByHop(name []byte) bool {
	for _, h := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "TE", "Trailer"} {
		if bytes.EqualFold(name, []byte(h)) {
			return true
		}
	}
	return false
}
