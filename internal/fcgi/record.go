// Package fcgi speaks the client (web server) side of FastCGI 1.0: the
// records a responder application reads and writes, the name-value pairs
// of PARAMS and GET_VALUES, and the translation of an application's CGI
// answer into an HTTP/1.1 response stream (response.go). Go's net/http/fcgi
// only has the application side. Written from the FastCGI 1.0
// specification; HAProxy 2.6's use of it is its manual's section 10.
package fcgi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Type is a record type.
type Type uint8

// The record types of FastCGI 1.0.
const (
	TypeBeginRequest    Type = 1
	TypeAbortRequest    Type = 2
	TypeEndRequest      Type = 3
	TypeParams          Type = 4
	TypeStdin           Type = 5
	TypeStdout          Type = 6
	TypeStderr          Type = 7
	TypeData            Type = 8
	TypeGetValues       Type = 9
	TypeGetValuesResult Type = 10
	TypeUnknownType     Type = 11
)

// Version is the only protocol version there is.
const Version = 1

// HeaderLen is the fixed size of a record header; MaxContent the largest
// content one record carries.
const (
	HeaderLen  = 8
	MaxContent = 65535
)

// RoleResponder is the role of BEGIN_REQUEST for an HTTP request;
// FlagKeepConn asks the application to keep the connection after it.
const (
	RoleResponder = 1
	FlagKeepConn  = 1
)

// The protocol statuses of END_REQUEST.
const (
	RequestComplete = 0
	CantMpxConn     = 1
	Overloaded      = 2
	UnknownRole     = 3
)

// Header is a decoded record header.
type Header struct {
	Version    uint8
	Type       Type
	ID         uint16
	ContentLen uint16
	PaddingLen uint8
}

// ErrVersion is returned for a record whose version is not 1.
var ErrVersion = errors.New("fcgi: unsupported record version")

// ErrPairs is returned for a malformed name-value pair list.
var ErrPairs = errors.New("fcgi: malformed name-value pairs")

// ParseHeader decodes the first HeaderLen bytes of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, io.ErrUnexpectedEOF
	}
	h := Header{Version: b[0], Type: Type(b[1]), ID: binary.BigEndian.Uint16(b[2:]),
		ContentLen: binary.BigEndian.Uint16(b[4:]), PaddingLen: b[6]}
	if h.Version != Version {
		return h, ErrVersion
	}
	return h, nil
}

// AppendRecord appends content as records of type t for request id: one
// record per MaxContent bytes, each padded to a multiple of 8 bytes as the
// specification recommends. Empty content gives one empty record (the end
// of a PARAMS or STDIN stream).
func AppendRecord(dst []byte, t Type, id uint16, content []byte) []byte {
	for {
		n := min(len(content), MaxContent)
		pad := (8 - n%8) % 8
		dst = append(dst, Version, byte(t), byte(id>>8), byte(id), byte(n>>8), byte(n), byte(pad), 0)
		dst = append(dst, content[:n]...)
		dst = append(dst, make([]byte, pad)...)
		content = content[n:]
		if len(content) == 0 {
			return dst
		}
	}
}

// AppendBeginRequest appends a BEGIN_REQUEST record for the responder role.
func AppendBeginRequest(dst []byte, id uint16, keepConn bool) []byte {
	var flags byte
	if keepConn {
		flags = FlagKeepConn
	}
	return AppendRecord(dst, TypeBeginRequest, id, []byte{0, RoleResponder, flags, 0, 0, 0, 0, 0})
}

// AppendPair appends one name-value pair in the encoding of PARAMS and
// GET_VALUES: lengths below 128 take one byte, others four with the high
// bit set.
func AppendPair(dst []byte, name, value []byte) []byte {
	dst = appendLen(dst, len(name))
	dst = appendLen(dst, len(value))
	dst = append(dst, name...)
	return append(dst, value...)
}

func appendLen(dst []byte, n int) []byte {
	if n < 128 {
		return append(dst, byte(n))
	}
	return append(dst, byte(n>>24)|0x80, byte(n>>16), byte(n>>8), byte(n))
}

// ParsePairs calls fn for each name-value pair of b; the slices alias b.
func ParsePairs(b []byte, fn func(name, value []byte)) error {
	for len(b) > 0 {
		nl, r, ok := readLen(b)
		if !ok {
			return ErrPairs
		}
		vl, r, ok := readLen(r)
		if !ok || uint64(len(r)) < uint64(nl)+uint64(vl) {
			return ErrPairs
		}
		fn(r[:nl], r[nl:nl+vl])
		b = r[nl+vl:]
	}
	return nil
}

func readLen(b []byte) (uint32, []byte, bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	if b[0]&0x80 == 0 {
		return uint32(b[0]), b[1:], true
	}
	if len(b) < 4 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint32(b) & 0x7fffffff, b[4:], true
}

// EndRequest is the body of an END_REQUEST record.
type EndRequest struct {
	AppStatus      uint32
	ProtocolStatus uint8
}

// ParseEndRequest decodes an END_REQUEST body.
func ParseEndRequest(b []byte) (EndRequest, error) {
	if len(b) < 8 {
		return EndRequest{}, fmt.Errorf("fcgi: END_REQUEST body of %d bytes", len(b))
	}
	return EndRequest{AppStatus: binary.BigEndian.Uint32(b), ProtocolStatus: b[4]}, nil
}

// RecordReader reads records from a stream.
type RecordReader struct {
	r   io.Reader
	buf []byte
}

// NewRecordReader reads records from r.
func NewRecordReader(r io.Reader) *RecordReader {
	return &RecordReader{r: r}
}

// Next reads one record. The content is valid until the next call. A
// stream that ends between records gives io.EOF, one that ends inside a
// record io.ErrUnexpectedEOF.
func (rr *RecordReader) Next() (Header, []byte, error) {
	var hb [HeaderLen]byte
	if _, err := io.ReadFull(rr.r, hb[:]); err != nil {
		return Header{}, nil, err
	}
	h, err := ParseHeader(hb[:])
	if err != nil {
		return h, nil, err
	}
	n := int(h.ContentLen) + int(h.PaddingLen)
	if cap(rr.buf) < n {
		rr.buf = make([]byte, n)
	}
	rr.buf = rr.buf[:n]
	if _, err := io.ReadFull(rr.r, rr.buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, err
	}
	return h, rr.buf[:h.ContentLen], nil
}

// StdinWriter sends what is written to it as STDIN records of one request.
type StdinWriter struct {
	W   io.Writer
	ID  uint16
	buf []byte
}

// Write sends p as STDIN records in one write to the stream. An empty p
// sends nothing: the empty record ends the stream (Close).
func (w *StdinWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w.buf = AppendRecord(w.buf[:0], TypeStdin, w.ID, p)
	if _, err := w.W.Write(w.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close sends the empty STDIN record that ends the request body.
func (w *StdinWriter) Close() error {
	w.buf = AppendRecord(w.buf[:0], TypeStdin, w.ID, nil)
	_, err := w.W.Write(w.buf)
	return err
}
