package h1

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadResponseFraming(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		in        string
		framing   Framing
		keepAlive bool
		tunnel    bool
		body      string
		rest      string // what the Reader must still hold afterwards
	}{
		{"length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcNEXT", FramingLength, true, false, "abc", "NEXT"},
		{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\nNEXT", FramingChunked, true, false, "ab", "NEXT"},
		{"head ignores length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nNEXT", FramingNone, true, false, "", "NEXT"},
		{"head ignores chunked", "HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nNEXT", FramingNone, true, false, "", "NEXT"},
		{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\nNEXT", FramingNone, true, false, "", "NEXT"},
		{"204 with length", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nNEXT", FramingNone, true, false, "", "NEXT"},
		{"304 with length", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nNEXT", FramingNone, true, false, "", "NEXT"},
		{"100 continue", "POST", "HTTP/1.1 100 Continue\r\n\r\nNEXT", FramingNone, true, false, "", "NEXT"},
		{"101 switching", "GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nRAW", FramingNone, false, true, "", "RAW"},
		{"connect 200", "CONNECT", "HTTP/1.1 200 Connection established\r\n\r\nRAW", FramingNone, false, true, "", "RAW"},
		{"connect 407 has body", "CONNECT", "HTTP/1.1 407 Auth\r\nContent-Length: 1\r\n\r\nxNEXT", FramingLength, true, false, "x", "NEXT"},
		{"close delimited", "GET", "HTTP/1.1 200 OK\r\n\r\nall of it", FramingClose, false, false, "all of it", ""},
		{"close delimited 1.0", "GET", "HTTP/1.0 200 OK\r\n\r\nall", FramingClose, false, false, "all", ""},
		{"1.0 keep-alive with length", "GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", FramingLength, true, false, "x", ""},
		{"1.1 close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", FramingLength, false, false, "x", ""},
		{"no reason", "GET", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", FramingLength, true, false, "", ""},
		{"empty reason", "GET", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", FramingLength, true, false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd := newTestReader(tc.in)
			var resp Response
			if err := rd.ReadResponse(&resp, []byte(tc.method)); err != nil {
				t.Fatal(err)
			}
			if resp.Body != tc.framing || resp.KeepAlive != tc.keepAlive || resp.Tunnel != tc.tunnel {
				t.Fatalf("got framing %v keepalive %v tunnel %v; want %v %v %v", resp.Body, resp.KeepAlive, resp.Tunnel, tc.framing, tc.keepAlive, tc.tunnel)
			}
			body, err := io.ReadAll(rd.Body())
			if err != nil || string(body) != tc.body {
				t.Fatalf("body %q, %v; want %q", body, err, tc.body)
			}
			rest, _ := io.ReadAll(rd)
			if string(rest) != tc.rest {
				t.Fatalf("left %q; want %q", rest, tc.rest)
			}
		})
	}
}

func TestReadResponseInformationalThenFinal(t *testing.T) {
	rd := newTestReader("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
	var resp Response
	var statuses []int
	for {
		if err := rd.ReadResponse(&resp, []byte("POST")); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, resp.Status)
		if !resp.Informational() {
			break
		}
	}
	if len(statuses) != 3 || statuses[2] != 201 || string(resp.Reason) != "Created" {
		t.Fatalf("got %v %q", statuses, resp.Reason)
	}
}

func TestReadResponseRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code Code
	}{
		{"cl and te", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", CodeCLAndTE},
		{"differing cl", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", CodeConflictingContentLength},
		{"bad cl", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", CodeBadContentLength},
		{"te gzip only", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", CodeTEUnsupported},
		{"te gzip chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", CodeTEUnsupported},
		{"te in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", CodeTEInHTTP10},
		{"obs fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", CodeObsFold},
		{"nul value", "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n", CodeBadHeaderValue},
		{"bare lf", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", CodeBareLF},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", CodeSpaceBeforeColon},
		{"status short", "HTTP/1.1 20 OK\r\n\r\n", CodeBadStatusLine},
		{"status 600", "HTTP/1.1 600 X\r\n\r\n", CodeBadStatusLine},
		{"status 099", "HTTP/1.1 099 X\r\n\r\n", CodeBadStatusLine},
		{"status letters", "HTTP/1.1 2x0 X\r\n\r\n", CodeBadStatusLine},
		{"no space after status", "HTTP/1.1 200OK\r\n\r\n", CodeBadStatusLine},
		{"reason ctl", "HTTP/1.1 200 O\x01K\r\n\r\n", CodeBadStatusLine},
		{"bad version", "HTTP/1.x 200 OK\r\n\r\n", CodeBadStatusLine},
		{"version 2", "HTTP/2.0 200 OK\r\n\r\n", CodeUnsupportedVersion},
		{"not http", "ICY 200 OK\r\n\r\n", CodeBadStatusLine},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var resp Response
			err := newTestReader(tc.in).ReadResponse(&resp, []byte("GET"))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v; want *ParseError", err)
			}
			if pe.Code != tc.code || pe.Status != 502 || !pe.Response {
				t.Fatalf("got %v status %d response %v; want %v 502 true", pe.Code, pe.Status, pe.Response, tc.code)
			}
		})
	}
}

func TestResponseTruncatedBody(t *testing.T) {
	rd := newTestReader("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
	var resp Response
	if err := rd.ReadResponse(&resp, []byte("GET")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rd.Body()); err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v; want io.ErrUnexpectedEOF", err)
	}
}

func TestAppendResponseHeadRoundTrip(t *testing.T) {
	in := "HTTP/1.1 404 Not Found\r\nX-Case: A\r\ncontent-length: 0\r\n\r\n"
	rd := newTestReader(in)
	var resp Response
	if err := rd.ReadResponse(&resp, []byte("GET")); err != nil {
		t.Fatal(err)
	}
	if got := string(AppendResponseHead(nil, &resp)); got != in {
		t.Fatalf("got %q; want %q", got, in)
	}
	if !strings.HasPrefix(resp.Body.String(), "length") {
		t.Fatalf("framing %v", resp.Body)
	}
}
