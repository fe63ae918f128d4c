package h1

import (
	"io"
	"strings"
	"testing"
)

// A pooled reader gives its buffer back between requests and parses the
// next one after being primed with a byte read by the caller.
func TestReleaseAndPrime(t *testing.T) {
	pool := NewBufPool(1024)
	src := strings.NewReader("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: y\r\n\r\n")
	rd := NewReader(src, Config{Pool: pool})
	if rd.buf != nil {
		t.Fatal("a pooled reader must not hold a buffer before the first read")
	}
	var req Request
	if err := rd.ReadRequest(&req); err != nil || string(req.Target) != "/a" {
		t.Fatalf("first: %v %q", err, req.Target)
	}
	if rd.Buffered() > 0 && rd.Release() {
		t.Fatal("Release must refuse while bytes are buffered")
	}
	// Drain what was buffered so the reader is idle, as a proxy session is
	// between requests.
	rest := make([]byte, rd.Buffered())
	io.ReadFull(rd, rest)
	if !rd.Release() || rd.buf != nil {
		t.Fatal("idle reader did not release its buffer")
	}
	rd.Prime(rest[:1])
	rd.src = io.MultiReader(strings.NewReader(string(rest[1:])), src)
	if err := rd.ReadRequest(&req); err != nil || string(req.Target) != "/b" || string(req.Host) != "y" {
		t.Fatalf("second: %v %q %q", err, req.Target, req.Host)
	}
}
