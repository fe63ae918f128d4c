package h1

import (
	"errors"
	"strconv"
)

// Code names the rule a message broke. Codes are stable so that logs,
// counters and tests can refer to a rejection without parsing text.
type Code uint8

// Rejection codes. docs/http-normalization.md lists each with its status.
const (
	CodeNone Code = iota
	CodeHeaderTooLarge
	CodeTooManyHeaders
	CodeBareLF
	CodeBadRequestLine
	CodeBadMethod
	CodeBadTarget
	CodeBadVersion
	CodeUnsupportedVersion
	CodeBadStatusLine
	CodeObsFold
	CodeBadHeaderName
	CodeSpaceBeforeColon
	CodeBadHeaderValue
	CodeBadContentLength
	CodeConflictingContentLength
	CodeCLAndTE
	CodeTEInHTTP10
	CodeTEBadSyntax
	CodeTEFinalNotChunked
	CodeTEChunkedTwice
	CodeTEUnsupported
	CodeMissingHost
	CodeMultipleHost
	CodeBadHost
	CodeBadChunkSize
	CodeChunkSizeOverflow
	CodeBadChunkExtension
	CodeChunkLineTooLong
	CodeBadChunkTerminator
	CodeTrailerTooLarge
	CodeBadTrailer
	CodeAuthorityMismatch
	CodeAuthorityUserinfo
	numCodes
)

func (c Code) String() string {
	// A local table keeps the package free of mutable globals.
	text := [numCodes]string{
		CodeNone:                     "no error",
		CodeHeaderTooLarge:           "header section too large",
		CodeTooManyHeaders:           "too many header fields",
		CodeBareLF:                   "bare LF line ending",
		CodeBadRequestLine:           "malformed request line",
		CodeBadMethod:                "invalid character in method",
		CodeBadTarget:                "invalid request target",
		CodeBadVersion:               "malformed HTTP version",
		CodeUnsupportedVersion:       "unsupported HTTP version",
		CodeBadStatusLine:            "malformed status line",
		CodeObsFold:                  "obsolete line folding",
		CodeBadHeaderName:            "invalid header field name",
		CodeSpaceBeforeColon:         "whitespace before colon in header field",
		CodeBadHeaderValue:           "invalid character in header field value",
		CodeBadContentLength:         "invalid Content-Length",
		CodeConflictingContentLength: "conflicting Content-Length values",
		CodeCLAndTE:                  "both Content-Length and Transfer-Encoding",
		CodeTEInHTTP10:               "Transfer-Encoding in HTTP/1.0 message",
		CodeTEBadSyntax:              "malformed Transfer-Encoding",
		CodeTEFinalNotChunked:        "final transfer coding is not chunked",
		CodeTEChunkedTwice:           "chunked applied more than once",
		CodeTEUnsupported:            "unsupported transfer coding",
		CodeMissingHost:              "HTTP/1.1 request without Host",
		CodeMultipleHost:             "multiple Host header fields",
		CodeBadHost:                  "invalid Host",
		CodeBadChunkSize:             "invalid chunk size",
		CodeChunkSizeOverflow:        "chunk size overflow",
		CodeBadChunkExtension:        "invalid chunk extension",
		CodeChunkLineTooLong:         "chunk line too long",
		CodeBadChunkTerminator:       "chunk data not followed by CRLF",
		CodeTrailerTooLarge:          "trailer section too large",
		CodeAuthorityMismatch:        "absolute-form authority differs from Host",
		CodeAuthorityUserinfo:        "userinfo in request target",
		CodeBadTrailer:               "invalid trailer field",
	}
	if c < numCodes {
		return text[c]
	}
	return "code(" + strconv.Itoa(int(c)) + ")"
}

// ParseError reports a message Bulwark refuses to forward. The proxy answers
// with Status and closes the connection: after a framing error the position
// of the next message on the connection is unknown.
type ParseError struct {
	Code Code
	// Status is what to answer the client with. For requests it is 400,
	// except 422 for transfer codings before chunked and 505 for a
	// well-formed but unsupported version. For responses it is always 502.
	Status int
	// Reason is a short fixed text, safe to log and to put in an error page.
	Reason string
	// Response is true when the offending message came from a server.
	Response bool
}

func (e *ParseError) Error() string {
	side := "request"
	if e.Response {
		side = "response"
	}
	return "h1: bad " + side + ": " + e.Reason
}

// Is lets errors.Is match on the code alone: errors.Is(err, &ParseError{Code: CodeObsFold}).
func (e *ParseError) Is(target error) bool {
	t, ok := target.(*ParseError)
	return ok && t.Code == e.Code
}

func reqErr(c Code) *ParseError {
	st := 400
	switch c {
	case CodeTEUnsupported:
		// A coding before the final chunked: HAProxy 2.6 answers 422
		// (measured with 2.6.12), which monitoring already knows.
		st = 422
	case CodeUnsupportedVersion:
		// RFC 9110 §15.6.6.
		st = 505
	}
	return &ParseError{Code: c, Status: st, Reason: c.String()}
}

func respErr(c Code) *ParseError {
	return &ParseError{Code: c, Status: 502, Reason: c.String(), Response: true}
}

// errFor builds the error for the side being parsed.
func errFor(response bool, c Code) *ParseError {
	if response {
		return respErr(c)
	}
	return reqErr(c)
}

// CodeOf returns the rejection code of err, or CodeNone.
func CodeOf(err error) Code {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return CodeNone
}

// ErrBodyUnread is returned by ReadRequest/ReadResponse when the previous
// message's body was not read to its end; the next head's position is unknown.
var ErrBodyUnread = errors.New("h1: previous message body not fully read")
