package h1

import (
	"io"
	"strings"
	"testing"
)

// Direct offers the rest of a Content-Length body once the buffered
// part is read, and Moved ends the body there: the next request on the
// connection is read as a head.
func TestDirectMoved(t *testing.T) {
	src := strings.NewReader("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123")
	rd := NewReader(src, Config{})
	var req Request
	if err := rd.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	b := rd.Body()
	if _, ok := b.Direct(); ok {
		t.Fatal("Direct with body bytes buffered")
	}
	buf := make([]byte, 64)
	if n, _ := b.Read(buf); n != 4 {
		t.Fatalf("buffered part: %d bytes", n)
	}
	n, ok := b.Direct()
	if !ok || n != 6 {
		t.Fatalf("Direct: %d %v, want 6 true", n, ok)
	}
	b.Moved(6, false)
	if !b.Done() {
		t.Fatal("body not done after its last bytes moved")
	}
	if _, err := b.Read(buf); err != io.EOF {
		t.Fatalf("read after the end: %v", err)
	}
}

// A close-delimited body ends when a move reports the connection's end;
// chunked bodies are never offered.
func TestDirectCloseAndChunked(t *testing.T) {
	rd := NewReader(strings.NewReader("HTTP/1.1 200 OK\r\n\r\n"), Config{})
	var resp Response
	if err := rd.ReadResponse(&resp, []byte("GET")); err != nil {
		t.Fatal(err)
	}
	b := rd.Body()
	if n, ok := b.Direct(); !ok || n != -1 {
		t.Fatalf("close-delimited: %d %v", n, ok)
	}
	b.Moved(100, false)
	if b.Done() {
		t.Fatal("done before the connection ended")
	}
	b.Moved(0, true)
	if !b.Done() {
		t.Fatal("not done at the connection's end")
	}
	rd2 := NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), Config{})
	if err := rd2.ReadResponse(&resp, []byte("GET")); err != nil {
		t.Fatal(err)
	}
	if _, ok := rd2.Body().Direct(); ok {
		t.Fatal("chunked body offered")
	}
}
