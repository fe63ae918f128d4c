package h1

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
)

const chunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

func readChunked(body string) ([]byte, []Header, error) {
	rd := newTestReader(chunkedHead + body)
	var req Request
	if err := rd.ReadRequest(&req); err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(rd.Body())
	return b, rd.Body().Trailers(), err
}

func TestChunkedValid(t *testing.T) {
	tests := []struct {
		name, in, body, trailers string
	}{
		{"empty", "0\r\n\r\n", "", ""},
		{"two chunks", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "abcde", ""},
		{"upper hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", ""},
		{"leading zeros", "0003\r\nabc\r\n000\r\n\r\n", "abc", ""},
		{"extension", "3;name\r\nabc\r\n0;a=b;c=\"d e\"\r\n\r\n", "abc", ""},
		{"extension bws", "3 ; name = value\r\nabc\r\n0\r\n\r\n", "abc", ""},
		{"quoted pair", "3;a=\"x\\\"y\"\r\nabc\r\n0\r\n\r\n", "abc", ""},
		{"trailers", "1\r\nx\r\n0\r\nA: 1\r\nb-B: two words\r\n\r\n", "x", "A: 1\r\nb-B: two words\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, tr, err := readChunked(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.body || string(AppendHeaders(nil, tr)) != tc.trailers {
				t.Fatalf("got %q trailers %q", b, AppendHeaders(nil, tr))
			}
		})
	}
}

func TestChunkedRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code Code
		eof  bool // io.ErrUnexpectedEOF instead of a ParseError
	}{
		{"no size", "\r\nabc\r\n0\r\n\r\n", CodeBadChunkSize, false},
		{"negative", "-1\r\n\r\n", CodeBadChunkSize, false},
		{"0x prefix", "0x3\r\nabc\r\n0\r\n\r\n", CodeBadChunkSize, false},
		{"plus", "+3\r\nabc\r\n0\r\n\r\n", CodeBadChunkSize, false},
		{"overflow", "10000000000000000\r\n", CodeChunkSizeOverflow, false},
		{"trailing space", "3 \r\nabc\r\n0\r\n\r\n", CodeBadChunkExtension, false},
		{"leading space", " 3\r\nabc\r\n0\r\n\r\n", CodeBadChunkSize, false},
		{"ext no name", "3;\r\nabc\r\n0\r\n\r\n", CodeBadChunkExtension, false},
		{"ext bad value", "3;a=\r\nabc\r\n0\r\n\r\n", CodeBadChunkExtension, false},
		{"ext unterminated quote", "3;a=\"x\r\nabc\r\n0\r\n\r\n", CodeBadChunkExtension, false},
		{"ext ctl", "3;a\x01\r\nabc\r\n0\r\n\r\n", CodeBadChunkExtension, false},
		{"ext bare cr", "3;a\r\r\nabc\r\n0\r\n\r\n", CodeBadChunkExtension, false},
		{"bare lf size", "3\nabc\r\n0\r\n\r\n", CodeBareLF, false},
		{"bare lf after data", "3\r\nabc\n0\r\n\r\n", CodeBadChunkTerminator, false},
		{"data too long", "3\r\nabcd\r\n0\r\n\r\n", CodeBadChunkTerminator, false},
		{"bare lf last", "0\n\r\n", CodeBareLF, false},
		{"line too long", "3;a=" + strings.Repeat("b", MaxLineBytes) + "\r\nabc\r\n0\r\n\r\n", CodeChunkLineTooLong, false},
		{"endless size line", strings.Repeat("0", 3*MaxLineBytes), CodeChunkLineTooLong, false},
		{"trailer obs fold", "0\r\nA: 1\r\n b\r\n\r\n", CodeBadTrailer, false},
		{"trailer nul", "0\r\nA: \x00\r\n\r\n", CodeBadTrailer, false},
		{"trailer no colon", "0\r\nA\r\n\r\n", CodeBadTrailer, false},
		{"truncated data", "5\r\nab", 0, true},
		{"truncated size", "5", 0, true},
		{"no last chunk", "1\r\na\r\n", 0, true},
		{"truncated trailers", "0\r\nA: 1\r\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readChunked(tc.in)
			if tc.eof {
				if err != io.ErrUnexpectedEOF {
					t.Fatalf("got %v; want io.ErrUnexpectedEOF", err)
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Code != tc.code || pe.Status != 400 {
				t.Fatalf("got %v; want %v", err, tc.code)
			}
		})
	}
}

func TestTrailerLimits(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("0\r\n")
	for range DefaultMaxHeaders + 1 {
		sb.WriteString("T: v\r\n")
	}
	sb.WriteString("\r\n")
	if _, _, err := readChunked(sb.String()); CodeOf(err) != CodeTrailerTooLarge {
		t.Fatalf("too many trailers: got %v", err)
	}
	// Many long lines, each under MaxLineBytes, together over MaxHeaderBytes.
	sb.Reset()
	sb.WriteString("0\r\n")
	for range DefaultMaxHeaderBytes/4000 + 1 {
		sb.WriteString("T: " + strings.Repeat("v", 4000) + "\r\n")
	}
	sb.WriteString("\r\n")
	if _, _, err := readChunked(sb.String()); CodeOf(err) != CodeTrailerTooLarge {
		t.Fatalf("trailers too large: got %v", err)
	}
}

func TestCopyBodyPlain(t *testing.T) {
	rd := newTestReader("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET")
	var req Request
	if err := rd.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := CopyBody(&out, rd, make([]byte, 256))
	if err != nil || n != 5 || out.String() != "hello" || rd.Buffered() != 3 {
		t.Fatalf("n=%d err=%v out=%q buffered=%d", n, err, out.String(), rd.Buffered())
	}
}

func TestChunkedWriter(t *testing.T) {
	var out bytes.Buffer
	cw := ChunkedWriter{W: &out}
	for _, s := range []string{"abc", "", strings.Repeat("x", 300)} {
		if _, err := cw.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := cw.Close([]Header{{Name: []byte("X-T"), Value: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	want := "3\r\nabc\r\n12c\r\n" + strings.Repeat("x", 300) + "\r\n0\r\nX-T: 1\r\n\r\n"
	if out.String() != want {
		t.Fatalf("got %q", out.String())
	}
}

// pattern yields the same pseudo-random bytes to the writer and the hash
// check without holding 100 MB anywhere.
func fillPattern(p []byte, seed *uint32) {
	for i := range p {
		*seed = *seed*1664525 + 1013904223
		p[i] = byte(*seed >> 24)
	}
}

// TestChunked100MBConstantMemory streams a 100 MB chunked request through
// io.Pipe, re-chunks it with CopyBody into a second pipe, decodes that, and
// checks the payload hash and that the heap never grew with the body.
func TestChunked100MBConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB stream")
	}
	const total = 100 << 20
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()

	wantHash := make(chan [32]byte, 1)
	go func() {
		h := sha256.New()
		var seed uint32 = 1
		io.WriteString(inW, chunkedHead)
		cw := ChunkedWriter{W: inW}
		buf := make([]byte, 70000)
		sizes := []int{1, 4096, 65536, 70000, 17, 32768}
		for sent, i := 0, 0; sent < total; i++ {
			n := min(sizes[i%len(sizes)], total-sent)
			fillPattern(buf[:n], &seed)
			h.Write(buf[:n])
			if _, err := cw.Write(buf[:n]); err != nil {
				inW.CloseWithError(err)
				return
			}
			sent += n
		}
		cw.Close([]Header{{Name: []byte("X-Sum"), Value: []byte("ok")}})
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		wantHash <- sum
		inW.Close()
	}()

	copyErr := make(chan error, 1)
	go func() {
		rd := NewReader(inR, Config{})
		var req Request
		if err := rd.ReadRequest(&req); err != nil {
			copyErr <- err
			outW.CloseWithError(err)
			return
		}
		_, err := CopyBody(outW, rd, make([]byte, 16<<10))
		copyErr <- err
		outW.CloseWithError(err)
	}()

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	// Decode the re-chunked stream with a second Reader.
	rd := NewReader(io.MultiReader(strings.NewReader(chunkedHead), outR), Config{})
	var req Request
	if err := rd.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	buf := make([]byte, 32<<10)
	var got int64
	var peak uint64
	for next := int64(0); ; {
		n, err := rd.Body().Read(buf)
		h.Write(buf[:n])
		got += int64(n)
		if got >= next {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			next += 10 << 20
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-copyErr; err != nil {
		t.Fatal(err)
	}
	if got != total {
		t.Fatalf("got %d bytes; want %d", got, total)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	if sum != <-wantHash {
		t.Fatal("payload hash differs")
	}
	if tr := rd.Body().Trailers(); len(tr) != 1 || string(tr[0].Value) != "ok" {
		t.Fatalf("trailers %v", tr)
	}
	// Generous: buffers here are well under 1 MB; a body held in memory
	// would be 100 MB.
	const bound = 32 << 20
	if peak > before.HeapInuse+bound {
		t.Fatalf("HeapInuse peaked at %d, %d over the start", peak, peak-before.HeapInuse)
	}
}

// TestLoopbackKeepAlive runs two requests over a real TCP connection, the
// second with a chunked body split across writes, and checks the bytes the
// server side re-emits.
func TestLoopbackKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	parts := []string{
		"GET /one HTTP/1.1\r\nHost: a\r\n\r\nPOST /two HTTP/1.1\r\nHo",
		"st: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
		"lo\r\n0\r\n\r\n",
	}
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		for _, p := range parts {
			if _, err := io.WriteString(c, p); err != nil {
				return
			}
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := NewReader(c, Config{})
	var req Request
	var got []string
	var body bytes.Buffer
	for {
		if err := rd.ReadRequest(&req); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(req.Target))
		if _, err := CopyBody(&body, rd, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Chunk boundaries follow TCP reads, so compare the decoded payload.
	payload, _ := decodeChunked(t, body.Bytes())
	if strings.Join(got, ",") != "/one,/two" || string(payload) != "hello" {
		t.Fatalf("targets %v body %q", got, body.String())
	}
}
