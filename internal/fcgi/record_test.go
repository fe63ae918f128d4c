package fcgi

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("x"), MaxContent+10)
	b := AppendRecord(nil, TypeStdin, 7, big)
	b = AppendRecord(b, TypeStdin, 7, nil)
	rr := NewRecordReader(bytes.NewReader(b))
	var got []byte
	var n int
	for {
		h, c, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Type != TypeStdin || h.ID != 7 || (int(h.ContentLen)+int(h.PaddingLen))%8 != 0 {
			t.Fatalf("header %+v", h)
		}
		got = append(got, c...)
		n++
	}
	if n != 3 || !bytes.Equal(got, big) {
		t.Fatalf("%d records, %d bytes", n, len(got))
	}
}

func TestPairs(t *testing.T) {
	long := strings.Repeat("v", 300)
	b := AppendPair(nil, []byte("A"), []byte("1"))
	b = AppendPair(b, []byte("LONG"), []byte(long))
	b = AppendPair(b, []byte("E"), nil)
	if b[0] != 1 || b[1] != 1 || b[4] != 4 || b[5] != 0x80 || b[8] != 0x2c {
		t.Fatalf("encoding % x", b[:12])
	}
	var got []string
	if err := ParsePairs(b, func(n, v []byte) { got = append(got, string(n)+"="+string(v)) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "A=1" || got[1] != "LONG="+long || got[2] != "E=" {
		t.Fatalf("got %q", got)
	}
	if ParsePairs(b[:len(b)-2], func(n, v []byte) {}) == nil {
		t.Fatal("truncated pairs accepted")
	}
}

// answer builds an application's records for request 1.
func answer(stdout ...string) []byte {
	var b []byte
	for _, s := range stdout {
		b = AppendRecord(b, TypeStdout, 1, []byte(s))
	}
	b = AppendRecord(b, TypeStdout, 1, nil)
	return AppendRecord(b, TypeEndRequest, 1, make([]byte, 8))
}

func readAll(t *testing.T, records []byte, head, keep bool) (string, *Response, error) {
	t.Helper()
	rs := NewResponse(bytes.NewReader(records))
	var stderr []string
	rs.Stderr = func(b []byte) { stderr = append(stderr, string(b)) }
	rs.Start(1, head, keep)
	var out []byte
	buf := make([]byte, 7) // small reads cross every boundary
	for !rs.Complete() {
		n, err := rs.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return string(out), rs, err
		}
	}
	return string(out) + strings.Join(stderr, "|"), rs, nil
}

func TestResponseTranslation(t *testing.T) {
	cases := []struct {
		name    string
		records []byte
		head    bool
		keep    bool
		want    string
		err     error
	}{
		{"status and length", answer("Status: 404 Gone\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabc"), false, true,
			"HTTP/1.1 404 Gone\r\nX-A: b\r\nContent-Length: 3\r\n\r\nabc", nil},
		{"default 200, chunked, LF only, split head", answer("Content-Type: text/plain\nX-", "B: c\n\nhel", "lo"), false, true,
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-B: c\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", nil},
		{"no keep-conn closes", answer("Status: 201\r\n\r\n"), false, false,
			"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", nil},
		{"hop-by-hop dropped, extra bytes dropped", answer("Connection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nabcdef"), false, true,
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab", nil},
		{"HEAD drops the body", answer("Content-Length: 5\r\n\r\nhello"), true, true,
			"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", nil},
		{"204 has no body", answer("Status: 204\r\nContent-Length: 4\r\n\r\nbody"), false, true,
			"HTTP/1.1 204 No Content\r\n\r\n", nil},
		{"stderr", append(AppendRecord(nil, TypeStderr, 1, []byte("warn")), answer("\r\nx")...), false, true,
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nwarn", nil},
		{"other ids and management records ignored", append(append(AppendRecord(nil, TypeStdout, 2, []byte("junk")),
			AppendRecord(nil, TypeGetValuesResult, 0, AppendPair(nil, []byte("FCGI_MPXS_CONNS"), []byte("1")))...),
			answer("Content-Length: 0\r\n\r\n")...), false, true, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", nil},
		{"1xx refused", answer("Status: 101\r\n\r\n"), false, true, "", ErrBadHead},
		{"bad field", answer("No colon here\r\n\r\n"), false, true, "", ErrBadHead},
		{"no head", answer("partial: x\r\n"), false, true, "", ErrNoHead},
		{"truncated", answer("Content-Length: 9\r\n\r\nabc"), false, true, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", ErrTruncated},
		{"refused", AppendRecord(nil, TypeEndRequest, 1, []byte{0, 0, 0, 0, Overloaded, 0, 0, 0}), false, true, "", ErrRefused},
		{"eof", AppendRecord(nil, TypeStdout, 1, []byte("A: b\r\n\r\nx")), false, true, "HTTP/1.1 200 OK\r\nA: b\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n", io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		got, _, err := readAll(t, c.records, c.head, c.keep)
		if err != c.err || got != c.want {
			t.Errorf("%s:\n got %q, %v\nwant %q, %v", c.name, got, err, c.want, c.err)
		}
	}
}

// TestResponseHoldsLastBytes: with a Content-Length, the last body bytes
// come only once END_REQUEST is read, so a kept connection is clean.
func TestResponseHoldsLastBytes(t *testing.T) {
	pr, pw := io.Pipe()
	rs := NewResponse(pr)
	rs.Start(1, false, true)
	go func() {
		pw.Write(AppendRecord(nil, TypeStdout, 1, []byte("Content-Length: 2\r\n\r\nok")))
		pw.Write(AppendRecord(nil, TypeEndRequest, 1, make([]byte, 8)))
	}()
	br := bufio.NewReader(rs)
	all, err := io.ReadAll(io.LimitReader(br, int64(len("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))))
	if err != nil || !strings.HasSuffix(string(all), "ok") || !rs.Complete() {
		t.Fatalf("got %q %v complete %v", all, err, rs.Complete())
	}
}

func TestIdleRead(t *testing.T) {
	rs := NewResponse(bytes.NewReader(answer("\r\n")))
	if _, err := rs.Read(make([]byte, 8)); err == nil {
		t.Fatal("read before Start succeeded")
	}
}

// FuzzResponse feeds arbitrary bytes as an application's answer: the
// translation never panics, never loops, and what it produces for a
// completed request is a head the HTTP reader can take.
func FuzzResponse(f *testing.F) {
	f.Add(answer("Status: 200 OK\r\nContent-Length: 2\r\n\r\nok"), false)
	f.Add(answer("X: y\n\nbody"), true)
	f.Add(AppendRecord(nil, TypeEndRequest, 1, []byte{0, 0, 0, 1, 3, 0, 0, 0}), false)
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		rs := NewResponse(bytes.NewReader(data))
		rs.MaxHead = 512
		rs.Start(1, head, true)
		buf := make([]byte, 64)
		var out []byte
		for range 100000 {
			n, err := rs.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil || rs.Complete() {
				break
			}
		}
		if rs.Complete() && !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) {
			t.Fatalf("complete response without a status line: %q", out)
		}
	})
}

// FuzzRecords reads arbitrary bytes as records and pairs.
func FuzzRecords(f *testing.F) {
	f.Add(AppendRecord(nil, TypeParams, 1, AppendPair(nil, []byte("A"), []byte("b"))))
	f.Add(AppendBeginRequest(nil, 1, true))
	f.Fuzz(func(t *testing.T, data []byte) {
		rr := NewRecordReader(bytes.NewReader(data))
		for range 10000 {
			h, c, err := rr.Next()
			if err != nil {
				return
			}
			if len(c) != int(h.ContentLen) {
				t.Fatalf("content %d, header says %d", len(c), h.ContentLen)
			}
			var total int
			if ParsePairs(c, func(n, v []byte) { total += len(n) + len(v) }) == nil && total > len(c) {
				t.Fatalf("pairs longer than their record")
			}
		}
	})
}
