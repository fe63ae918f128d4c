package proxy

import (
	"strings"
	"testing"
	"time"
)

// normalize-uri over sockets: the fragment normalizers act on a '#' that a
// rewrite brought in, the query sort drops the empty parameter after a
// trailing '&', an absolute target without a '/' has no path to normalize,
// and a client's '#' is a 400 that never reaches the server (the
// CVE-2023-45539 fix Debian's HAProxy 2.6.12 carries). The server records
// the raw request lines it receives.
func TestNormalizeURIOnTheWire(t *testing.T) {
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	cfg := `
global
    expose-experimental-directives
` + baseDefaults + `
frontend fe
    bind 127.0.0.1:0
    http-request set-uri %[req.hdr(x-u)] if { req.hdr(x-u) -m found }
    http-request normalize-uri fragment-strip if { req.hdr(x-n) strip }
    http-request normalize-uri fragment-encode if { req.hdr(x-n) encode }
    http-request normalize-uri query-sort-by-name if { req.hdr(x-n) sort }
    http-request normalize-uri path-merge-slashes if { req.hdr(x-n) merge }
    default_backend be
backend be
    server s ` + b.addr + `
`
	_, addr := startProxy(t, cfg)
	for _, tc := range []struct{ norm, uri, want string }{
		{"strip", "/a?b#c&d", "GET /a?b HTTP/1.1"},
		{"strip", "/%23a#b", "GET /%23a HTTP/1.1"},
		{"encode", "/a#b/#c?d#e", "GET /a%23b/%23c?d%23e HTTP/1.1"},
		{"sort", "/?b&a&", "GET /?a&b HTTP/1.1"},
		{"sort", "/?&", "GET /? HTTP/1.1"},
		{"sort", "/?b=1&&a", "GET /?&a&b=1 HTTP/1.1"},
		{"sort", "http://x?b&a", "GET http://x?b&a HTTP/1.1"},
		{"merge", "http://x/a//b#c//d", "GET http://x/a/b#c/d HTTP/1.1"},
	} {
		before := len(b.received())
		out := rawRequest(t, addr, "GET /o HTTP/1.1\r\nHost: x\r\nx-u: "+tc.uri+"\r\nx-n: "+tc.norm+"\r\nConnection: close\r\n\r\n", 3*time.Second)
		if statusOf(out) != 200 {
			t.Fatalf("%s %s: %q", tc.norm, tc.uri, out)
		}
		got := b.received()[before:]
		if line, _, _ := strings.Cut(got, "\r\n"); line != tc.want {
			t.Errorf("%s %s: server got %q, want %q", tc.norm, tc.uri, line, tc.want)
		}
	}
	before := len(b.received())
	out := rawRequest(t, addr, "GET /a#b HTTP/1.1\r\nHost: x\r\nx-n: strip\r\n\r\n", 3*time.Second)
	if statusOf(out) != 400 {
		t.Fatalf("'#' from the client: %q", out)
	}
	time.Sleep(20 * time.Millisecond)
	if got := b.received(); len(got) != before {
		t.Fatalf("'#' from the client reached the server: %q", got[before:])
	}
}
