package h1

// Framing says how a message body is delimited on the wire (RFC 9112 §6.3).
type Framing uint8

const (
	// FramingNone: no body at all (requests without CL/TE; HEAD, 1xx, 204
	// and 304 responses; 2xx to CONNECT).
	FramingNone Framing = iota
	// FramingLength: exactly ContentLength bytes.
	FramingLength
	// FramingChunked: chunked transfer coding, trailers allowed.
	FramingChunked
	// FramingClose: response body runs until the server closes.
	FramingClose
)

func (f Framing) String() string {
	switch f {
	case FramingNone:
		return "none"
	case FramingLength:
		return "length"
	case FramingChunked:
		return "chunked"
	case FramingClose:
		return "close"
	}
	return "unknown"
}

// Request is a parsed request head. Byte slices alias the Reader's buffer
// and are valid until the next ReadRequest on that Reader. Reuse one
// Request per connection so the Headers slice keeps its capacity.
type Request struct {
	Method []byte
	Target []byte // request-target exactly as sent
	Major  int
	Minor  int
	// Headers in wire order, names in original case.
	Headers []Header

	// Derived from Headers by the parser.

	// ContentLength is the body length, or -1 when there is no
	// Content-Length field (chunked, or no body).
	ContentLength int64
	Chunked       bool
	// KeepAlive: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
	// "Connection: keep-alive" and no "close".
	KeepAlive bool
	// Upgrade is set for HTTP/1.1 requests carrying an Upgrade field and
	// the "upgrade" Connection token; UpgradeProto is the Upgrade value.
	Upgrade      bool
	UpgradeProto []byte
	// Expect100 is "Expect: 100-continue" on HTTP/1.1.
	Expect100 bool
	// Host is the Host field value; HasHost tells an empty Host apart from
	// none (HTTP/1.0 only, since HTTP/1.1 requires it).
	Host    []byte
	HasHost bool
	// FramingFault is set, with Relax.Framing only, for a request that
	// had Content-Length with Transfer-Encoding (Content-Length is
	// removed) or Transfer-Encoding in HTTP/1.0: KeepAlive is false, and
	// the server connection must not be reused either.
	FramingFault bool
}

// Framing is the body delimitation of the request.
func (r *Request) Framing() Framing {
	switch {
	case r.Chunked:
		return FramingChunked
	case r.ContentLength > 0:
		return FramingLength
	}
	return FramingNone
}

// AddHeader appends a field, typically one the proxy adds such as
// X-Forwarded-For. name and value must stay valid until the head is written.
func (r *Request) AddHeader(name, value []byte) {
	r.Headers = append(r.Headers, Header{Name: name, Value: value})
}

func (r *Request) reset() {
	hs := r.Headers[:0]
	*r = Request{Headers: hs, ContentLength: -1}
}

// Response is a parsed response head, aliasing the Reader's buffer like Request.
type Response struct {
	Major   int
	Minor   int
	Status  int
	Reason  []byte
	Headers []Header

	// ContentLength is -1 without a Content-Length field.
	ContentLength int64
	Chunked       bool
	// Body says how the body that follows this head is framed, with the
	// request method and status already taken into account.
	Body Framing
	// KeepAlive is false when the server asked to close, spoke HTTP/1.0
	// without keep-alive, or delimits the body by closing.
	KeepAlive bool
	// Tunnel is set for 101 Switching Protocols and for 2xx answers to
	// CONNECT: after the head, the connection carries raw bytes.
	Tunnel bool
	// FramingFault is set, with Relax.Framing only, for an HTTP/1.0
	// response with Transfer-Encoding: the client connection closes
	// after it, as HAProxy closes it. (KeepAlive is false after any
	// response Relax.Framing let through.)
	FramingFault bool
}

// Informational reports a 1xx head, which is followed by another head.
func (r *Response) Informational() bool { return r.Status >= 100 && r.Status < 200 }

func (r *Response) reset() {
	hs := r.Headers[:0]
	*r = Response{Headers: hs, ContentLength: -1}
}

// fields collects framing facts from a header list; shared by requests and
// responses so both sides apply the same Content-Length and
// Transfer-Encoding rules.
type fields struct {
	contentLength int64 // -1 none
	hasTE         bool
	chunked       bool
	connClose     bool
	connKeepAlive bool
	connUpgrade   bool
	upgrade       []byte
	hasUpgrade    bool
	expect100     bool
	host          []byte
	hostIdx       int // index of the (last) Host field
	hostCount     int

	teCount, teChunkedCount int
	teLastChunked           bool
	teOther, teBadSyntax    bool
}

func scanFields(hs []Header, response bool) (fields, *ParseError) {
	f := fields{contentLength: -1}
	for i := range hs {
		n, v := hs[i].Name, hs[i].Value
		switch len(n) {
		case 4:
			if equalFold(n, "host") {
				f.host, f.hostIdx = v, i
				f.hostCount++
			}
		case 6:
			if equalFold(n, "expect") && equalFold(v, "100-continue") {
				f.expect100 = true
			}
		case 7:
			if equalFold(n, "upgrade") {
				f.upgrade, f.hasUpgrade = v, true
			}
		case 10:
			if equalFold(n, "connection") {
				for rest := v; len(rest) > 0; {
					var e []byte
					e, rest = nextListElem(rest)
					switch {
					case equalFold(e, "close"):
						f.connClose = true
					case equalFold(e, "keep-alive"):
						f.connKeepAlive = true
					case equalFold(e, "upgrade"):
						f.connUpgrade = true
					}
				}
			}
		case 14:
			if equalFold(n, "content-length") {
				if err := f.addContentLength(v, response); err != nil {
					return f, err
				}
			}
		case 17:
			if equalFold(n, "transfer-encoding") {
				f.addTransferEncoding(v)
			}
		}
	}
	if f.hasTE {
		if err := f.finishTE(response); err != nil {
			return f, err
		}
	}
	return f, nil
}

// framingFault applies RFC 9112 §6.1 and §6.3 item 3 to a message whose
// framing two parsers could read differently: Content-Length together
// with Transfer-Encoding, or Transfer-Encoding in HTTP/1.0. By default it
// is refused. With Relax.Framing it is handled as HAProxy 2.6 does:
// Transfer-Encoding wins, every Content-Length field is removed so that
// no later hop sees it, and the connection must close after the message.
// It reports whether the message is such a case.
func (f *fields) framingFault(hs *[]Header, minor int, relax bool, response bool) (bool, *ParseError) {
	both := f.hasTE && f.contentLength >= 0
	if !both && !(f.hasTE && minor == 0) {
		return false, nil
	}
	if !relax {
		if both {
			return true, errFor(response, CodeCLAndTE)
		}
		return true, errFor(response, CodeTEInHTTP10)
	}
	if both {
		kept := (*hs)[:0]
		for _, h := range *hs {
			if len(h.Name) == 14 && equalFold(h.Name, "content-length") {
				continue
			}
			kept = append(kept, h)
		}
		*hs = kept
		f.contentLength = -1
	}
	return true, nil
}

// addContentLength accepts 1*DIGIT, or a list of identical values which
// RFC 9110 §8.6 allows merging; anything else is rejected.
func (f *fields) addContentLength(v []byte, response bool) *ParseError {
	if len(v) == 0 {
		return errFor(response, CodeBadContentLength)
	}
	for len(v) > 0 {
		var e []byte
		e, v = nextListElem(v)
		n, ok := ParseDecimal(e)
		if !ok {
			return errFor(response, CodeBadContentLength)
		}
		if f.contentLength >= 0 && f.contentLength != n {
			return errFor(response, CodeConflictingContentLength)
		}
		f.contentLength = n
	}
	return nil
}

// ParseDecimal reads a non-empty run of ASCII digits as a non-negative
// int64, refusing anything else and overflow.
func ParseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// addTransferEncoding records the codings of one Transfer-Encoding field;
// finishTE judges the list once all fields are seen, since the list spans
// fields ("TE: gzip" then "TE: chunked" is "gzip, chunked").
func (f *fields) addTransferEncoding(v []byte) {
	f.hasTE = true
	for len(v) > 0 {
		var e []byte
		e, v = nextListElem(v)
		if len(e) == 0 {
			continue
		}
		f.teCount++
		f.teLastChunked = equalFold(e, "chunked")
		switch {
		case f.teLastChunked:
			f.teChunkedCount++
		case !isToken(e):
			// Parameters (";q=") or stray characters.
			f.teBadSyntax = true
		default:
			f.teOther = true
		}
	}
}

// finishTE supports only "chunked", once and last. Other codings are
// refused: re-chunking would require carrying them along, and codings are
// where parsers in a chain disagree.
func (f *fields) finishTE(response bool) *ParseError {
	switch {
	case f.teBadSyntax || f.teCount == 0:
		return errFor(response, CodeTEBadSyntax)
	case f.teChunkedCount > 1:
		return errFor(response, CodeTEChunkedTwice)
	case !f.teLastChunked && !response:
		// RFC 9112 §6.1: the server MUST answer 400.
		return reqErr(CodeTEFinalNotChunked)
	case f.teOther || !f.teLastChunked:
		// A response could be close-delimited here; Bulwark refuses.
		return errFor(response, CodeTEUnsupported)
	}
	f.chunked = true
	return nil
}
