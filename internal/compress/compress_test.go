package compress

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"strings"
	"testing"

	"bulwark/internal/h1"
)

func req(proto string, hdrs ...string) *h1.Request {
	r := &h1.Request{Method: []byte("GET"), Major: 1, Minor: 1}
	if proto == "1.0" {
		r.Minor = 0
	}
	for i := 0; i+1 < len(hdrs); i += 2 {
		r.Headers = append(r.Headers, h1.Header{Name: []byte(hdrs[i]), Value: []byte(hdrs[i+1])})
	}
	return r
}

func TestNegotiate(t *testing.T) {
	gz, gzdef, id := []Algo{Gzip}, []Algo{Gzip, Deflate}, []Algo{Identity}
	for _, tc := range []struct {
		name  string
		algos []Algo
		r     *h1.Request
		want  Algo
	}{
		{"no header", gz, req("1.1"), None},
		{"gzip", gz, req("1.1", "Accept-Encoding", "gzip"), Gzip},
		{"case", gz, req("1.1", "accept-encoding", "GZIP"), Gzip},
		{"unknown", gz, req("1.1", "Accept-Encoding", "br, invalid"), None},
		{"http/1.0", gz, req("1.0", "Accept-Encoding", "gzip"), None},
		{"q=0 refuses", gz, req("1.1", "Accept-Encoding", "gzip;q=0"), None},
		{"q priority gzip", gzdef, req("1.1", "Accept-Encoding", "*;q=0, gzip;q=0.750, deflate;q=0.500"), Gzip},
		{"q priority deflate", gzdef, req("1.1", "Accept-Encoding", "*;q=0, gzip;q=0.500, deflate;q=0.750"), Deflate},
		{"tie: first listed", gzdef, req("1.1", "Accept-Encoding", "deflate, gzip"), Deflate},
		{"star", gzdef, req("1.1", "Accept-Encoding", "*"), Gzip},
		{"two fields", gzdef, req("1.1", "Accept-Encoding", "br", "Accept-Encoding", "deflate;q=0.2"), Deflate},
		{"raw-deflate answers deflate", []Algo{RawDeflate}, req("1.1", "Accept-Encoding", "deflate"), RawDeflate},
		{"bad q ignored", gz, req("1.1", "Accept-Encoding", "gzip;q=2"), None},
		{"bad q ignored, other kept", gzdef, req("1.1", "Accept-Encoding", "gzip;q=x, deflate"), Deflate},
		{"params and spaces", gz, req("1.1", "Accept-Encoding", "gzip ; level=1 ; q=0.1"), Gzip},
		{"identity needs no header", id, req("1.1"), Identity},
		{"identity fallback", []Algo{Gzip, Identity}, req("1.1", "Accept-Encoding", "br"), Identity},
		{"mozilla/4", gz, req("1.1", "Accept-Encoding", "gzip", "User-Agent", "Mozilla/4"), None},
		{"msie 7", gz, req("1.1", "Accept-Encoding", "gzip", "User-Agent", "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)"), Gzip},
		{"msie 6 sp2", gz, req("1.1", "Accept-Encoding", "gzip", "User-Agent", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"), Gzip},
		{"msie 6", gz, req("1.1", "Accept-Encoding", "gzip", "User-Agent", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"), None},
		{"mozilla/5", gz, req("1.1", "Accept-Encoding", "gzip", "User-Agent", "Mozilla/5.0"), Gzip},
		{"nothing configured", nil, req("1.1", "Accept-Encoding", "gzip"), None},
	} {
		if got := Negotiate(tc.algos, tc.r); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A client that lists a thousand codings costs one pass over them.
func TestNegotiateManyValues(t *testing.T) {
	v := strings.Repeat("x-unknown;q=0.5, ", 1000) + "gzip;q=0.1"
	if got := Negotiate([]Algo{Gzip}, req("1.1", "Accept-Encoding", v)); got != Gzip {
		t.Fatalf("got %v", got)
	}
	r, algos := req("1.1", "Accept-Encoding", v), []Algo{Gzip}
	allocs := testing.AllocsPerRun(20, func() { Negotiate(algos, r) })
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

func resp(status int, framing h1.Framing, hdrs ...string) *h1.Response {
	r := &h1.Response{Major: 1, Minor: 1, Status: status, Body: framing}
	for i := 0; i+1 < len(hdrs); i += 2 {
		r.Headers = append(r.Headers, h1.Header{Name: []byte(hdrs[i]), Value: []byte(hdrs[i+1])})
	}
	return r
}

func TestEligible(t *testing.T) {
	text := []string{"text/html", "text/plain"}
	get := req("1.1")
	head := req("1.1")
	head.Method = []byte("HEAD")
	old := resp(200, h1.FramingLength, "Content-Type", "text/plain")
	old.Minor = 0
	for _, tc := range []struct {
		name  string
		types []string
		r     *h1.Request
		resp  *h1.Response
		want  bool
	}{
		{"plain 200", text, get, resp(200, h1.FramingLength, "Content-Type", "text/plain"), true},
		{"charset", text, get, resp(200, h1.FramingLength, "Content-Type", "TEXT/HTML; charset=utf-8"), true},
		{"chunked", text, get, resp(203, h1.FramingChunked, "Content-Type", "text/plain"), true},
		{"no types: any", nil, get, resp(200, h1.FramingLength, "Content-Type", "application/json"), true},
		{"no types, no type", nil, get, resp(200, h1.FramingLength), true},
		{"types, no type", text, get, resp(200, h1.FramingLength), false},
		{"type not listed", text, get, resp(200, h1.FramingLength, "Content-Type", "text/css"), false},
		{"multipart", nil, get, resp(200, h1.FramingLength, "Content-Type", "multipart/mixed; boundary=x"), false},
		{"204", nil, get, resp(204, h1.FramingNone), false},
		{"400", nil, get, resp(400, h1.FramingLength), false},
		{"206 range", nil, get, resp(206, h1.FramingLength, "Content-Range", "bytes 0-1/10"), false},
		{"HEAD", nil, head, resp(200, h1.FramingLength), false},
		{"close-delimited", nil, get, resp(200, h1.FramingClose), false},
		{"HTTP/1.0 response", text, get, old, false},
		{"already encoded", nil, get, resp(200, h1.FramingLength, "Content-Encoding", "br"), false},
		{"no-transform", nil, get, resp(200, h1.FramingLength, "Cache-Control", "public, No-Transform"), false},
		{"etag ok", nil, get, resp(200, h1.FramingLength, "ETag", `"123"`), true},
		{"weak etag ok", nil, get, resp(200, h1.FramingLength, "ETag", `W/""`), true},
		{"two etags", nil, get, resp(200, h1.FramingLength, "ETag", `"1"`, "ETag", `"1"`), false},
		{"invalid etag", nil, get, resp(200, h1.FramingLength, "ETag", `"x`), false},
		{"unquoted etag", nil, get, resp(200, h1.FramingLength, "ETag", `W/x`), false},
	} {
		if got := Eligible(tc.types, tc.r, tc.resp); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAppendHeaders(t *testing.T) {
	hs := resp(200, h1.FramingLength, "Content-Type", "text/plain", "Content-Length", "100",
		"ETag", `"123"`, "Connection", "X-Hop", "X-Hop", "1", "Vary", "Cookie").Headers
	got := string(AppendHeaders(nil, hs, Gzip))
	want := "Content-Type: text/plain\r\nETag: W/\"123\"\r\nVary: Cookie\r\nContent-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
	if got != want {
		t.Fatalf("gzip:\n%q\nwant\n%q", got, want)
	}
	got = string(AppendHeaders(nil, hs, Identity))
	want = "Content-Type: text/plain\r\nETag: \"123\"\r\nVary: Cookie\r\n"
	if got != want {
		t.Fatalf("identity:\n%q\nwant\n%q", got, want)
	}
	weak := resp(200, h1.FramingLength, "ETag", `W/"1"`).Headers
	if got := string(AppendHeaders(nil, weak, RawDeflate)); !strings.HasPrefix(got, "ETag: W/\"1\"\r\nContent-Encoding: deflate\r\n") {
		t.Fatalf("raw-deflate: %q", got)
	}
}

// unchunk decodes an HTTP/1.1 chunked body, checking its framing.
func unchunk(t *testing.T, b []byte) (body []byte, chunks int, trailer string) {
	t.Helper()
	rd := h1.NewReader(bytes.NewReader(append([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), b...)), h1.Config{})
	var r h1.Response
	if err := rd.ReadResponse(&r, []byte("GET")); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(rd.Body())
	if err != nil {
		t.Fatalf("chunked framing: %v in %q", err, b)
	}
	for _, tr := range rd.Body().Trailers() {
		trailer += string(tr.Name) + ": " + string(tr.Value)
	}
	return body, bytes.Count(b, []byte("\r\n")) / 2, trailer
}

func decode(t *testing.T, a Algo, b []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch a {
	case Gzip:
		r, err = gzip.NewReader(bytes.NewReader(b))
	case Deflate:
		r, err = zlib.NewReader(bytes.NewReader(b))
	case RawDeflate:
		r = flate.NewReader(bytes.NewReader(b))
	default:
		return b
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%v: %v", a, err)
	}
	return out
}

// The encoder's output, read back with the standard library's decoders
// (another implementation than the one that wrote it), is the input.
func TestEncoderRoundTrip(t *testing.T) {
	var pools Pools
	input := []byte(strings.Repeat("Bulwark compresses what HAProxy compresses. ", 5000))
	for _, a := range []Algo{Gzip, Deflate, RawDeflate, Identity} {
		for _, step := range []int{1, 1000, 65536} {
			var out bytes.Buffer
			enc := pools.NewEncoder(a, &out, make([]byte, 16<<10))
			for i := 0; i < len(input); i += step {
				if _, err := enc.Write(input[i:min(i+step, len(input))]); err != nil {
					t.Fatal(err)
				}
				if i%(50*step) == 0 {
					enc.Flush()
				}
			}
			if err := enc.Close([]h1.Header{{Name: []byte("X-T"), Value: []byte("1")}}); err != nil {
				t.Fatal(err)
			}
			if enc.Sent != int64(out.Len()) {
				t.Fatalf("Sent %d, wrote %d", enc.Sent, out.Len())
			}
			body, _, tr := unchunk(t, out.Bytes())
			if got := decode(t, a, body); !bytes.Equal(got, input) {
				t.Fatalf("%v step %d: %d bytes back, want %d", a, step, len(got), len(input))
			}
			if tr != "X-T: 1" {
				t.Fatalf("trailers %q", tr)
			}
			if a != Identity && len(body) > len(input)/5 {
				t.Fatalf("%v: %d bytes for %d of repetitive text", a, len(body), len(input))
			}
		}
	}
}

// Flush makes what was written so far decodable by the client at once: a
// streamed response does not wait in the compressor.
func TestEncoderFlushDelivers(t *testing.T) {
	var pools Pools
	var out bytes.Buffer
	enc := pools.NewEncoder(Gzip, &out, nil)
	enc.Write([]byte("first event\n"))
	if out.Len() != 0 {
		t.Fatalf("wrote before a flush: %q", out.Bytes())
	}
	enc.Flush()
	body, _, _ := unchunk(t, append(out.Bytes(), "0\r\n\r\n"...))
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := io.ReadAtLeast(zr, buf, 12)
	if string(buf[:n]) != "first event\n" {
		t.Fatalf("after flush the client decodes %q", buf[:n])
	}
	enc.Abort()
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestEncoderWriteError(t *testing.T) {
	var pools Pools
	enc := pools.NewEncoder(Gzip, failWriter{}, nil)
	enc.Write(make([]byte, 100))
	if err := enc.Flush(); err == nil {
		t.Fatal("flush to a closed client succeeded")
	}
	if _, err := enc.Write([]byte("x")); err == nil {
		t.Fatal("write after a failure succeeded")
	}
	enc.Abort()
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"gzip", "*;q=0, gzip;q=0.750, deflate;q=0.500", "gzip;q=", "deflate ; q = 1.000", ";;,,", "gzip;q=0.0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		a := Negotiate([]Algo{Gzip, Deflate, Identity}, req("1.1", "Accept-Encoding", v))
		if a == None {
			t.Fatal("identity configured but nothing chosen")
		}
	})
}

// tune.comp.maxlevel reaches the encoder: a higher level gives a smaller
// body on text that is not trivially repetitive.
func TestPoolsLevel(t *testing.T) {
	var text strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&text, "line %d of %d: %x\n", i, i*i%977, i*7919)
	}
	size := func(level int) int {
		p := Pools{Level: level}
		var out bytes.Buffer
		enc := p.NewEncoder(Gzip, &out, nil)
		enc.Write([]byte(text.String()))
		enc.Close(nil)
		return out.Len()
	}
	if l1, l9 := size(1), size(9); l9 >= l1 {
		t.Fatalf("level 9: %d bytes, level 1: %d", l9, l1)
	}
}
