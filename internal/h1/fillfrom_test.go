package h1

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// errSrc fails every read: the tests below must not read the source.
type errSrc struct{}

func (errSrc) Read([]byte) (int, error) { return 0, errors.New("read from the source") }

// HeadBuffered says whether ReadRequest can do without another read: a
// whole head, or enough of one to fail; never a head that still lacks its
// empty line, whatever empty lines came before the request line.
func TestHeadBuffered(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", false},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody", true},
		{"GET / HTTP/1.1\r\nHost: x\r\n", false},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r", false},
		{"GET / HTTP/1.1\r\n", false},
		{"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n", false},
		{"\r\n\r\n\r\n", false},
		{"\r\n", false},
		{"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"GET / HTTP/1.1\nHost: x\r\n", true}, // a bare LF fails there
		{"\n", true},
	} {
		rd := NewReader(errSrc{}, Config{Pool: NewBufPool(1024)})
		if got := rd.FillFrom(func(b []byte) (int, error) { return copy(b, tc.in), nil }); got != len(tc.in) {
			t.Fatalf("%q: FillFrom read %d", tc.in, got)
		}
		if got := rd.HeadBuffered(); got != tc.want {
			t.Errorf("HeadBuffered(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if !tc.want {
			continue
		}
		var req Request
		err := rd.ReadRequest(&req)
		if err != nil && strings.Contains(err.Error(), "read from the source") {
			t.Errorf("%q: ReadRequest read more: %v", tc.in, err)
		}
	}
}

// What FillFrom's read returns is the Reader's: bytes go to the buffer, an
// error (EOF) is kept for the next read, (0, nil) leaves the reader as it
// was.
func TestFillFrom(t *testing.T) {
	rd := NewReader(strings.NewReader("\r\n\r\n"), Config{Pool: NewBufPool(1024)})
	if n := rd.FillFrom(func([]byte) (int, error) { return 0, nil }); n != 0 || rd.Buffered() != 0 {
		t.Fatalf("nothing read: %d, %d buffered", n, rd.Buffered())
	}
	rd.FillFrom(func(b []byte) (int, error) { return copy(b, "GET / HTTP/1.1\r\nHost: x"), nil })
	var req Request
	if err := rd.ReadRequest(&req); err != nil || string(req.Target) != "/" || rd.Buffered() != 0 {
		t.Fatalf("head read across FillFrom and the source: %v %q", err, req.Target)
	}

	rd = NewReader(strings.NewReader("GET / HTTP/1.1\r\n\r\n"), Config{Pool: NewBufPool(1024)})
	rd.FillFrom(func([]byte) (int, error) { return 0, io.EOF })
	if err := rd.ReadRequest(&req); err != io.EOF {
		t.Fatalf("after an EOF from FillFrom: %v, want io.EOF", err)
	}
}
