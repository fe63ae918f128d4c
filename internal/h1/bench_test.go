package h1

import (
	"io"
	"testing"
)

const benchRequest = "GET /api/v1/items?id=42 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Cookie: session=0123456789abcdef; theme=dark\r\n" +
	"Connection: keep-alive\r\n" +
	"X-Request-Id: 5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f\r\n" +
	"\r\n"

// loopReader replays the same bytes forever, like a keep-alive client.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func BenchmarkReadRequest(b *testing.B) {
	rd := NewReader(&loopReader{data: []byte(benchRequest)}, Config{})
	var req Request
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRequest)))
	for b.Loop() {
		if err := rd.ReadRequest(&req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteRequestHead(b *testing.B) {
	rd := NewReader(&loopReader{data: []byte(benchRequest)}, Config{})
	var req Request
	if err := rd.ReadRequest(&req); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRequest)))
	for b.Loop() {
		out := AppendRequestLine(buf[:0], req.Method, req.Target, req.Major, req.Minor)
		out = AppendForwardHeaders(out, req.Headers, false)
		out = AppendHeaderField(out, "X-Forwarded-For", "192.0.2.1")
		buf = append(out, '\r', '\n')
	}
}

func BenchmarkCopyChunkedBody(b *testing.B) {
	chunk := make([]byte, 8192)
	var msg []byte
	msg = append(msg, chunkedHead...)
	for range 16 {
		msg = append(msg, "2000\r\n"...)
		msg = append(msg, chunk...)
		msg = append(msg, "\r\n"...)
	}
	msg = append(msg, "0\r\n\r\n"...)
	rd := NewReader(&loopReader{data: msg}, Config{})
	var req Request
	buf := make([]byte, 32<<10)
	b.ReportAllocs()
	b.SetBytes(16 * 8192)
	for b.Loop() {
		if err := rd.ReadRequest(&req); err != nil {
			b.Fatal(err)
		}
		if _, err := CopyBody(io.Discard, rd, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReadRequestZeroAllocs(t *testing.T) {
	rd := NewReader(&loopReader{data: []byte(benchRequest)}, Config{})
	var req Request
	allocs := testing.AllocsPerRun(200, func() {
		if err := rd.ReadRequest(&req); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request", allocs)
	}
}
