package h1

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func newTestReader(s string) *Reader {
	return NewReader(strings.NewReader(s), Config{})
}

func TestReadRequestRejects(t *testing.T) {
	const ok = "GET / HTTP/1.1\r\nHost: a\r\n"
	tests := []struct {
		name   string
		in     string
		code   Code
		status int
	}{
		{"cl and te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", CodeCLAndTE, 400},
		{"te and cl", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", CodeCLAndTE, 400},
		{"differing cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", CodeConflictingContentLength, 400},
		{"differing cl list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\n", CodeConflictingContentLength, 400},
		{"cl non numeric", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3a\r\n\r\n", CodeBadContentLength, 400},
		{"cl negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", CodeBadContentLength, 400},
		{"cl plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", CodeBadContentLength, 400},
		{"cl empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", CodeBadContentLength, 400},
		{"cl empty list elem", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,,1\r\n\r\n", CodeBadContentLength, 400},
		{"cl overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", CodeBadContentLength, 400},
		{"cl hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", CodeBadContentLength, 400},
		{"cl inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\n", CodeBadContentLength, 400},
		{"te final gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", CodeTEFinalNotChunked, 400},
		{"te chunked then gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", CodeTEFinalNotChunked, 400},
		{"te split chunked then gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", CodeTEFinalNotChunked, 400},
		{"te unknown then chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n", CodeTEUnsupported, 422},
		{"te gzip then chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", CodeTEUnsupported, 422},
		{"te chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", CodeTEChunkedTwice, 400},
		{"te xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", CodeTEFinalNotChunked, 400},
		{"te params", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", CodeTEBadSyntax, 400},
		{"te empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", CodeTEBadSyntax, 400},
		{"te vtab", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \vchunked\r\n\r\n", CodeBadHeaderValue, 400},
		{"te in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", CodeTEInHTTP10, 400},
		{"method ctl", "G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadMethod, 400},
		{"method paren", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadMethod, 400},
		{"method empty", " / HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadMethod, 400},
		{"no target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadRequestLine, 400},
		{"trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", CodeBadVersion, 400},
		{"leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadMethod, 400},
		{"target space", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadVersion, 400},
		{"target nul", "GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadTarget, 400},
		{"target ctl", "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadTarget, 400},
		{"target high", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadTarget, 400},
		{"target fragment", "GET /#x HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadTarget, 400},
		{"target relative", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadTarget, 400},
		{"asterisk with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadTarget, 400},
		{"connect origin form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadTarget, 400},
		{"target bare cr", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", CodeBadTarget, 400},
		{"version lower", "GET / http/1.1\r\nHost: a\r\n\r\n", CodeBadVersion, 400},
		{"version long", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", CodeBadVersion, 400},
		{"version missing", "GET /\r\nHost: a\r\n\r\n", CodeBadRequestLine, 400},
		{"version 2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", CodeUnsupportedVersion, 505},
		{"version 1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", CodeUnsupportedVersion, 505},
		{"version 0.9", "GET / HTTP/0.9\r\n\r\n", CodeUnsupportedVersion, 505},
		{"trailing space in line", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", CodeBadVersion, 400},
		{"name ctl", ok + "X\x01: v\r\n\r\n", CodeBadHeaderName, 400},
		{"name slash", ok + "X/Y: v\r\n\r\n", CodeBadHeaderName, 400},
		{"name empty", ok + ": v\r\n\r\n", CodeBadHeaderName, 400},
		{"no colon", ok + "X-Foo\r\n\r\n", CodeBadHeaderName, 400},
		{"space before colon", ok + "X-Foo : v\r\n\r\n", CodeSpaceBeforeColon, 400},
		{"tab before colon", ok + "Content-Length\t: 1\r\n\r\n", CodeSpaceBeforeColon, 400},
		{"value nul", ok + "X: a\x00b\r\n\r\n", CodeBadHeaderValue, 400},
		{"value bare cr", ok + "X: a\rb\r\n\r\n", CodeBadHeaderValue, 400},
		{"value ctl", ok + "X: a\x1bb\r\n\r\n", CodeBadHeaderValue, 400},
		{"value del", ok + "X: a\x7fb\r\n\r\n", CodeBadHeaderValue, 400},
		{"obs fold space", ok + "X: a\r\n b\r\n\r\n", CodeObsFold, 400},
		{"obs fold tab", ok + "X: a\r\n\tb\r\n\r\n", CodeObsFold, 400},
		{"space after start line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", CodeObsFold, 400},
		{"bare lf end", "GET / HTTP/1.1\r\nHost: a\n\r\n", CodeBareLF, 400},
		{"bare lf everywhere", "GET / HTTP/1.1\nHost: a\n\n", CodeBareLF, 400},
		{"bare lf value", ok + "X: a\nY: b\r\n\r\n", CodeBareLF, 400},
		{"bare lf leading", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", CodeBareLF, 400},
		{"missing host", "GET / HTTP/1.1\r\n\r\n", CodeMissingHost, 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", CodeMultipleHost, 400},
		{"two identical hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", CodeMultipleHost, 400},
		{"two hosts 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", CodeMultipleHost, 400},
		{"host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", CodeBadHost, 400},
		{"host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", CodeBadHost, 400},
		{"host userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", CodeBadHost, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req Request
			err := newTestReader(tc.in).ReadRequest(&req)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v; want *ParseError %v", err, tc.code)
			}
			if pe.Code != tc.code || pe.Status != tc.status || pe.Response {
				t.Fatalf("got code %v status %d response %v; want %v %d", pe.Code, pe.Status, pe.Response, tc.code, tc.status)
			}
			if !errors.Is(err, &ParseError{Code: tc.code}) {
				t.Fatalf("errors.Is does not match code %v", tc.code)
			}
		})
	}
}

func TestReadRequestValid(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		method    string
		target    string
		minor     int
		cl        int64
		chunked   bool
		keepAlive bool
		upgrade   bool
		expect    bool
		host      string
		nHeaders  int
	}{
		{"simple 1.1", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", 1, -1, false, true, false, false, "a", 1},
		{"1.0 no host", "GET /x HTTP/1.0\r\n\r\n", "GET", "/x", 0, -1, false, false, false, false, "", 0},
		{"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "GET", "/", 0, -1, false, true, false, false, "", 1},
		{"1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", "GET", "/", 0, -1, false, false, false, false, "", 1},
		{"1.1 close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", "GET", "/", 1, -1, false, false, false, false, "a", 2},
		{"1.1 close in second field", "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nConnection: close\r\n\r\n", "GET", "/", 1, -1, false, false, false, false, "a", 3},
		{"content length", "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "POST", "/p", 1, 0, false, true, false, false, "a", 2},
		{"identical cl merged", "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\ncontent-length: 0, 0\r\n\r\n", "POST", "/p", 1, 0, false, true, false, false, "a", 3},
		{"chunked mixed case", "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n0\r\n\r\n", "POST", "/p", 1, -1, true, true, false, false, "a", 2},
		{"chunked empty elems", "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked ,\r\n\r\n0\r\n\r\n", "POST", "/p", 1, -1, true, true, false, false, "a", 2},
		{"upgrade", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "GET", "/ws", 1, -1, false, true, true, false, "a", 3},
		{"upgrade without token", "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", "GET", "/ws", 1, -1, false, true, false, false, "a", 2},
		{"expect", "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n", "PUT", "/", 1, 0, false, true, false, true, "a", 3},
		{"absolute form", "GET http://a.example/x?y HTTP/1.1\r\nHost: a.example\r\n\r\n", "GET", "http://a.example/x?y", 1, -1, false, true, false, false, "a.example", 1},
		{"connect", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", "CONNECT", "a.example:443", 1, -1, false, true, false, false, "a.example", 1}, // Host loses :443, as in HAProxy
		{"options star", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS", "*", 1, -1, false, true, false, false, "a", 1},
		{"empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET", "/", 1, -1, false, true, false, false, "", 1},
		{"ipv6 host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", "GET", "/", 1, -1, false, true, false, false, "[::1]:8080", 1},
		{"leading crlf", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", 1, -1, false, true, false, false, "a", 1},
		{"ows around value", "GET / HTTP/1.1\r\nHost: \t a \t\r\n\r\n", "GET", "/", 1, -1, false, true, false, false, "a", 1},
		{"obs-text value", "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", "GET", "/", 1, -1, false, true, false, false, "a", 2},
		{"extension method", "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n", "PURGE", "/x", 1, -1, false, true, false, false, "a", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req Request
			if err := newTestReader(tc.in).ReadRequest(&req); err != nil {
				t.Fatal(err)
			}
			got := []any{string(req.Method), string(req.Target), req.Major, req.Minor, req.ContentLength, req.Chunked, req.KeepAlive, req.Upgrade, req.Expect100, string(req.Host), len(req.Headers)}
			want := []any{tc.method, tc.target, 1, tc.minor, tc.cl, tc.chunked, tc.keepAlive, tc.upgrade, tc.expect, tc.host, tc.nHeaders}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("field %d: got %v; want %v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestHeaderCaseAndOrderPreserved(t *testing.T) {
	in := "GET / HTTP/1.1\r\nhOsT: a\r\nX-B: 2\r\nx-a: 1\r\nX-B: 3\r\n\r\n"
	var req Request
	if err := newTestReader(in).ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	out := AppendRequestHead(nil, &req)
	if string(out) != in {
		t.Fatalf("got %q; want %q", out, in)
	}
}

func TestPipelined(t *testing.T) {
	in := "GET /a HTTP/1.1\r\nHost: a\r\n\r\n" +
		"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: v\r\n\r\n" +
		"GET /d HTTP/1.0\r\n\r\n"
	rd := newTestReader(in)
	var req Request
	wantTargets := []string{"/a", "/b", "/c", "/d"}
	wantBodies := []string{"", "hello", "abc", ""}
	for i, want := range wantTargets {
		if err := rd.ReadRequest(&req); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if string(req.Target) != want {
			t.Fatalf("request %d: target %q; want %q", i, req.Target, want)
		}
		body, err := io.ReadAll(rd.Body())
		if err != nil {
			t.Fatalf("request %d body: %v", i, err)
		}
		if string(body) != wantBodies[i] {
			t.Fatalf("request %d: body %q; want %q", i, body, wantBodies[i])
		}
		// Head fields must survive body reads.
		if string(req.Target) != want {
			t.Fatalf("request %d: target changed to %q during body read", i, req.Target)
		}
	}
	if tr := rd.Body().Trailers(); len(tr) != 0 {
		t.Fatalf("trailers leaked into next message: %v", tr)
	}
	if err := rd.ReadRequest(&req); err != io.EOF {
		t.Fatalf("after last request: got %v; want io.EOF", err)
	}
}

func TestBodyUnread(t *testing.T) {
	rd := newTestReader("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n")
	var req Request
	if err := rd.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	if err := rd.ReadRequest(&req); err != ErrBodyUnread {
		t.Fatalf("got %v; want ErrBodyUnread", err)
	}
	if n, err := rd.Body().Discard(); n != 5 || err != nil {
		t.Fatalf("Discard: %d, %v", n, err)
	}
	if err := rd.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
}

func TestHeaderTooLarge(t *testing.T) {
	big := "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 200) + "\r\n\r\n"
	cfg := Config{MaxHeaderBytes: 128}
	var req Request
	err := NewReader(strings.NewReader(big), cfg).ReadRequest(&req)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Code != CodeHeaderTooLarge || pe.Status != 400 {
		t.Fatalf("got %v; want header too large with 400", err)
	}
	// Exactly at the limit is fine; one byte over is not.
	exact := "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 128-len("GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n")) + "\r\n\r\n"
	if len(exact) != 128 {
		t.Fatalf("test bug: len %d", len(exact))
	}
	if err := NewReader(strings.NewReader(exact), cfg).ReadRequest(&req); err != nil {
		t.Fatalf("head of exactly the limit: %v", err)
	}
	over := exact[:30] + "a" + exact[30:]
	if err := NewReader(strings.NewReader(over), cfg).ReadRequest(&req); CodeOf(err) != CodeHeaderTooLarge {
		t.Fatalf("one byte over: got %v", err)
	}
	// A head with no line end at all must not wait for more than the limit.
	endless := "GET /" + strings.Repeat("a", 1000)
	if err := NewReader(strings.NewReader(endless), cfg).ReadRequest(&req); CodeOf(err) != CodeHeaderTooLarge {
		t.Fatalf("endless line: got %v", err)
	}
}

func TestTooManyHeaders(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("GET / HTTP/1.1\r\nHost: a\r\n")
	for range 4 {
		sb.WriteString("X: y\r\n")
	}
	sb.WriteString("\r\n")
	var req Request
	err := NewReader(strings.NewReader(sb.String()), Config{MaxHeaders: 4}).ReadRequest(&req)
	if CodeOf(err) != CodeTooManyHeaders {
		t.Fatalf("got %v", err)
	}
	if err := NewReader(strings.NewReader(sb.String()), Config{MaxHeaders: 5}).ReadRequest(&req); err != nil {
		t.Fatalf("5 fields with limit 5: %v", err)
	}
}

func TestTruncatedHead(t *testing.T) {
	var req Request
	if err := newTestReader("GET / HTTP/1.1\r\nHost: a\r\n").ReadRequest(&req); err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v; want io.ErrUnexpectedEOF", err)
	}
	if err := newTestReader("").ReadRequest(&req); err != io.EOF {
		t.Fatalf("got %v; want io.EOF", err)
	}
	if err := newTestReader("\r\n").ReadRequest(&req); err != io.EOF {
		t.Fatalf("got %v; want io.EOF", err)
	}
}

// oneByteReader returns one byte per Read, to exercise every refill path.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestByteAtATime(t *testing.T) {
	in := "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=\"q\\\"\"\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\nGET /n HTTP/1.1\r\nHost: b\r\n\r\n"
	rd := NewReader(oneByteReader{strings.NewReader(in)}, Config{})
	var req Request
	if err := rd.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := CopyBody(&out, rd, nil); err != nil {
		t.Fatal(err)
	}
	body, trailers := decodeChunked(t, out.Bytes())
	if string(body) != "abc0123456789abcdef" || trailers != "T: v\r\n" {
		t.Fatalf("re-encoded body decodes to %q, trailers %q", body, trailers)
	}
	if err := rd.ReadRequest(&req); err != nil || string(req.Target) != "/n" {
		t.Fatalf("next request: %v %q", err, req.Target)
	}
}

// decodeChunked parses s as a chunked body and returns the payload and the
// trailers serialized back.
func decodeChunked(t testing.TB, s []byte) ([]byte, string) {
	t.Helper()
	head := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	rd := NewReader(io.MultiReader(strings.NewReader(head), bytes.NewReader(s)), Config{})
	var req Request
	if err := rd.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(rd.Body())
	if err != nil {
		t.Fatalf("decoding re-encoded body: %v", err)
	}
	if rd.Buffered() != 0 {
		t.Fatalf("%d bytes after the chunked body", rd.Buffered())
	}
	return body, string(AppendHeaders(nil, rd.Body().Trailers()))
}

// Authority checks and default-port normalization, case by case as
// HAProxy 2.6.12 handles them (reg-tests
// http-messaging/h1_host_normalization.vtc): target and Host after the
// parse, or the status of the refusal.
func TestAuthorityNormalization(t *testing.T) {
	for _, tc := range []struct {
		method, target, host string
		userinfo             bool
		wantTarget, wantHost string
		status               int
	}{
		{"GET", "http://toto:poue@hostname:80/c1", "hostname:80", true, "http://toto:poue@hostname/c1", "hostname", 0},
		{"GET", "http://a@b@hostname:80/", "hostname", true, "http://a@b@hostname/", "hostname", 0},
		{"GET", "http://toto@hostname/", "hostname", false, "", "", 400},
		{"GET", "http://hostname:8080/c2", "hostname:8080", false, "http://hostname:8080/c2", "hostname:8080", 0},
		{"GET", "https://hostname:443/c3", "hostname:443", false, "https://hostname/c3", "hostname", 0},
		{"GET", "https://hostname:80/c4", "hostname:80", false, "https://hostname:80/c4", "hostname:80", 0},
		{"CONNECT", "hostname:80", "hostname:80", false, "hostname:80", "hostname", 0},
		{"CONNECT", "hostname:80", "hostname", false, "hostname:80", "hostname", 0},
		{"CONNECT", "hostname:80", "hostname:", false, "hostname:80", "hostname:", 0},
		{"CONNECT", "hostname:443", "hostname:443", false, "hostname:443", "hostname", 0},
		{"CONNECT", "hostname:8443", "hostname:8443", false, "hostname:8443", "hostname:8443", 0},
		{"GET", "http://hostname1/", "hostname2", false, "", "", 400},
		{"GET", "http://hostname:80/", "hostname:81", false, "", "", 400},
		{"GET", "http://hostname:8080/", "hostname", false, "", "", 400},
		{"GET", "http://hostname/", "hostname:81", false, "", "", 400},
		{"CONNECT", "hostname", "hostname", false, "", "", 400},
		{"CONNECT", "hostname1:80", "hostname2:80", false, "", "", 400},
		{"CONNECT", "hostname:80", "hostname:443", false, "", "", 400},
		{"CONNECT", "hostname:8080", "hostname", false, "", "", 400},
		{"CONNECT", "/", "hostname", false, "", "", 400},
		{"CONNECT", "hostname:", "hostname", false, "", "", 400},
		{"GET", "http://hostname:80/c20", "hostname", false, "http://hostname/c20", "hostname", 0},
		{"GET", "http://hostname/c22", "hostname:80", false, "http://hostname/c22", "hostname:80", 0},
		{"GET", "http://hostname:/c24", "hostname", false, "http://hostname/c24", "hostname", 0},
		{"GET", "http://hostname/c26", "hostname:", false, "http://hostname/c26", "hostname:", 0},
		{"GET", "http://hostname:80/c28", "hostname:", false, "http://hostname/c28", "hostname", 0},
		{"GET", "https://hostname:/c31", "hostname:443", false, "https://hostname/c31", "hostname", 0},
		{"GET", "http://[::1]:80/", "[::1]", false, "http://[::1]/", "[::1]", 0},
		{"GET", "http://:", ":80", false, "http://", "", 0},
		{"GET", "https://:", ":", false, "https://", "", 0},
		{"GET", "ftp://hostname:21/", "hostname:21", false, "ftp://hostname:21/", "hostname:21", 0},
		{"GET", "ftp://hostname:21/", "hostname", false, "", "", 400},
	} {
		raw := tc.method + " " + tc.target + " HTTP/1.1\r\nHost: " + tc.host + "\r\nX: y\r\n\r\n"
		var req Request
		err := NewReader(strings.NewReader(raw), Config{Relax: Relax{Userinfo: tc.userinfo}}).ReadRequest(&req)
		if tc.status != 0 {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Status != tc.status {
				t.Errorf("%q: err %v, want status %d", raw, err, tc.status)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", raw, err)
			continue
		}
		if string(req.Target) != tc.wantTarget || string(req.Host) != tc.wantHost || string(req.Headers[0].Value) != tc.wantHost || string(req.Headers[1].Value) != "y" {
			t.Errorf("%q: target %q host %q fields %q, want %q and %q", raw, req.Target, req.Host, req.Headers, tc.wantTarget, tc.wantHost)
		}
	}
}

// An HTTP/1.0 absolute-form request without Host gets the authority's
// host, never the userinfo, as Host.
func TestAuthorityAddsHost(t *testing.T) {
	var req Request
	raw := "GET http://admin@public:80/x HTTP/1.0\r\n\r\n"
	if err := NewReader(strings.NewReader(raw), Config{Relax: Relax{Userinfo: true}}).ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	if string(req.Host) != "public" || len(req.Headers) != 1 || string(req.Headers[0].Value) != "public" {
		t.Errorf("host %q fields %q", req.Host, req.Headers)
	}
}

// Runs of SP and HTAB separate the request line's parts, as in HAProxy
// 2.6.12 (reg-tests http-messaging/http_request_buffer.vtc sends
// "POST /1  HTTP/1.1").
func TestRequestLineWhitespace(t *testing.T) {
	for _, l := range []string{"GET /p  HTTP/1.1", "GET  /p HTTP/1.1", "GET\t/p\tHTTP/1.1", "GET /p \t HTTP/1.1"} {
		var req Request
		if err := newTestReader(l + "\r\nHost: a\r\n\r\n").ReadRequest(&req); err != nil {
			t.Errorf("%q: %v", l, err)
			continue
		}
		if string(req.Method) != "GET" || string(req.Target) != "/p" || req.Minor != 1 {
			t.Errorf("%q: %q %q 1.%d", l, req.Method, req.Target, req.Minor)
		}
	}
}

// A CONNECT target needs a port, Host or not (HAProxy 2.6.12 answers 400
// to both of these).
func TestConnectNeedsPort(t *testing.T) {
	for _, raw := range []string{"CONNECT hostname: HTTP/1.0\r\n\r\n", "CONNECT hostname HTTP/1.0\r\n\r\n"} {
		var req Request
		if err := newTestReader(raw).ReadRequest(&req); CodeOf(err) != CodeBadTarget {
			t.Errorf("%q: %v, want CodeBadTarget", raw, err)
		}
	}
}
