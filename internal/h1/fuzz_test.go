package h1

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// checkErr fails on errors the parser must never return for in-memory input.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	switch {
	case err == nil, err == io.EOF, err == io.ErrUnexpectedEOF, errors.As(err, &pe):
		if pe != nil && (pe.Status < 400 || pe.Status > 599 || pe.Code == CodeNone) {
			t.Fatalf("bad ParseError %+v", pe)
		}
	default:
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
}

func sameHeaders(a, b []Header) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Name, b[i].Name) || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte(benchRequest))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: b\r\n\r\n"))
	f.Add([]byte(chunkedHead + "3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"))
	f.Add([]byte("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(bytes.NewReader(data), Config{MaxHeaderBytes: 2048})
		var req, again Request
		for range 8 {
			err := rd.ReadRequest(&req)
			checkErr(t, err)
			if err != nil {
				return
			}
			if req.Chunked && req.ContentLength >= 0 {
				t.Fatal("both chunked and Content-Length accepted")
			}
			if req.Minor == 1 && !req.HasHost {
				t.Fatal("HTTP/1.1 without Host accepted")
			}
			head := AppendRequestHead(nil, &req)
			rd2 := NewReader(bytes.NewReader(head), Config{MaxHeaderBytes: 2048})
			if err := rd2.ReadRequest(&again); err != nil {
				t.Fatalf("re-parse of %q: %v", head, err)
			}
			if !bytes.Equal(req.Method, again.Method) || !bytes.Equal(req.Target, again.Target) ||
				!sameHeaders(req.Headers, again.Headers) || req.ContentLength != again.ContentLength ||
				req.Chunked != again.Chunked || req.KeepAlive != again.KeepAlive {
				t.Fatalf("re-parse differs for %q", head)
			}
			var body bytes.Buffer
			_, err = CopyBody(&body, rd, make([]byte, 300))
			checkErr(t, err)
			if err != nil {
				return
			}
			if req.Framing() == FramingLength && int64(body.Len()) != req.ContentLength {
				t.Fatalf("body %d bytes; Content-Length %d", body.Len(), req.ContentLength)
			}
		}
	})
}

func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), false)
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"), true)
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\nuntil close"), false)
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := []byte("GET")
		if head {
			method = []byte("HEAD")
		}
		rd := NewReader(bytes.NewReader(data), Config{MaxHeaderBytes: 2048})
		var resp, again Response
		for range 8 {
			err := rd.ReadResponse(&resp, method)
			checkErr(t, err)
			if pe := (*ParseError)(nil); errors.As(err, &pe) && (!pe.Response || pe.Status != 502) {
				t.Fatalf("response error %+v", pe)
			}
			if err != nil {
				return
			}
			out := AppendResponseHead(nil, &resp)
			if err := NewReader(bytes.NewReader(out), Config{MaxHeaderBytes: 2048}).ReadResponse(&again, method); err != nil {
				t.Fatalf("re-parse of %q: %v", out, err)
			}
			if resp.Status != again.Status || !sameHeaders(resp.Headers, again.Headers) || resp.Body != again.Body {
				t.Fatalf("re-parse differs for %q", out)
			}
			if resp.Tunnel {
				return
			}
			_, err = CopyBody(io.Discard, rd, make([]byte, 300))
			checkErr(t, err)
			if err != nil || resp.Body == FramingClose {
				return
			}
		}
	})
}

func FuzzChunked(f *testing.F) {
	f.Add([]byte("0\r\n\r\n"))
	f.Add([]byte("3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("3;a=\"b\\\"c\"\r\nabc\r\nA\r\n0123456789\r\n0\r\nX: y\r\n\r\n"))
	f.Add([]byte("ffffffffffffffff\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(io.MultiReader(bytes.NewReader([]byte(chunkedHead)), bytes.NewReader(data)), Config{})
		var req Request
		if err := rd.ReadRequest(&req); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		n, err := CopyBody(&out, rd, make([]byte, 300))
		checkErr(t, err)
		if err != nil {
			return
		}
		// Compare against a plain decode of the same input.
		plain := NewReader(io.MultiReader(bytes.NewReader([]byte(chunkedHead)), bytes.NewReader(data)), Config{})
		if err := plain.ReadRequest(&req); err != nil {
			t.Fatal(err)
		}
		want, err := io.ReadAll(plain.Body())
		if err != nil || int64(len(want)) != n {
			t.Fatalf("plain decode %d bytes, %v; CopyBody %d", len(want), err, n)
		}
		got, trailers := decodeChunked(t, out.Bytes())
		if !bytes.Equal(got, want) {
			t.Fatal("re-chunked body differs")
		}
		if trailers != string(AppendHeaders(nil, plain.Body().Trailers())) {
			t.Fatal("trailers differ")
		}
	})
}
