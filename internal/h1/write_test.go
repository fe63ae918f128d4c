package h1

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func parseHeaders(t testing.TB, fields string) *Request {
	t.Helper()
	var req Request
	if err := newTestReader("GET / HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n").ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	return &req
}

func TestAppendForwardHeaders(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		keepUpgrade bool
		want        string
	}{
		{"fixed list",
			"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Keep: 1\r\n",
			false, "Host: h\r\nX-Keep: 1\r\n"},
		{"named in connection",
			"Connection: X-Secret, x-other\r\nX-Secret: s\r\nX-Other: o\r\nX-Keep: 1\r\n",
			false, "Host: h\r\nX-Keep: 1\r\n"},
		{"named in second connection field",
			"Connection: close\r\nconnection: X-Secret\r\nX-Secret: s\r\n",
			false, "Host: h\r\n"},
		{"named past the eighth connection token",
			"Connection: a, b, , c, d, e, f, g, h\r\nConnection: X-Secret\r\nX-Secret: s\r\nX-Keep: 1\r\n",
			false, "Host: h\r\nX-Keep: 1\r\n"},
		{"framing and host survive connection",
			"Connection: host, content-length\r\nContent-Length: 0\r\n",
			false, "Host: h\r\nContent-Length: 0\r\n"},
		{"upgrade kept for tunnel",
			"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n",
			true, "Host: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nConnection: upgrade\r\n"},
		{"upgrade dropped",
			"Connection: Upgrade\r\nUpgrade: websocket\r\n",
			false, "Host: h\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := parseHeaders(t, tc.in)
			got := string(AppendForwardHeaders(nil, req.Headers, tc.keepUpgrade))
			if got != tc.want {
				t.Fatalf("got %q; want %q", got, tc.want)
			}
			// The in-place filter must agree, apart from the added Connection.
			hs := RemoveHopByHop(req.Headers, tc.keepUpgrade)
			want := strings.TrimSuffix(tc.want, "Connection: upgrade\r\n")
			if got := string(AppendHeaders(nil, hs)); got != want {
				t.Fatalf("RemoveHopByHop: got %q; want %q", got, want)
			}
		})
	}
}

func TestTransferEncodingChunkedDroppedAndReEmitted(t *testing.T) {
	rd := newTestReader(chunkedHead + "3\r\nabc\r\n0\r\n\r\n")
	var req Request
	if err := rd.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	out := AppendRequestLine(nil, req.Method, req.Target, 1, 1)
	out = AppendForwardHeaders(out, req.Headers, false)
	out = AppendHeaderField(out, "X-Forwarded-For", "192.0.2.1")
	out = AppendHeaderField(out, "Transfer-Encoding", "chunked")
	out = append(out, "\r\n"...)
	var body bytes.Buffer
	if _, err := CopyBody(&body, rd, nil); err != nil {
		t.Fatal(err)
	}
	out = append(out, body.Bytes()...)
	want := "POST / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	if string(out) != want {
		t.Fatalf("got %q; want %q", out, want)
	}
	// What we emit must parse under our own rules.
	rd2 := newTestReader(string(out))
	if err := rd2.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(rd2.Body()); err != nil || string(b) != "abc" {
		t.Fatalf("reparse body %q %v", b, err)
	}
}

func TestAppendStatusLine(t *testing.T) {
	got := string(AppendStatusLine(nil, 1, 0, 503, []byte("Service Unavailable")))
	if got != "HTTP/1.0 503 Service Unavailable\r\n" {
		t.Fatalf("got %q", got)
	}
}

func TestAppendAllocs(t *testing.T) {
	req := parseHeaders(t, "Connection: X-A\r\nX-A: 1\r\nX-B: 2\r\n")
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendRequestLine(buf[:0], req.Method, req.Target, req.Major, req.Minor)
		b = AppendForwardHeaders(b, req.Headers, false)
		b = AppendHeaderField(b, "X-Forwarded-For", "192.0.2.1")
		_ = append(b, '\r', '\n')
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per head", allocs)
	}
}
