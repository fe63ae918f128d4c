package proxy

import (
	"strings"
	"testing"
	"time"
)

// A use_backend name given as a log-format is resolved per request: the
// backend of that name; when there is none (or it is a TCP backend behind
// an HTTP frontend), the default backend, with no later rule tried
// (CM 4.2 "use_backend").
func TestDynamicUseBackend(t *testing.T) {
	one := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"))
	two := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo"))
	def := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ndef"))
	_, addr := startProxy(t, strings.NewReplacer("ONE", one.addr, "TWO", two.addr, "DEF", def.addr).Replace(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    use_backend be_%[req.hdr(x-to),lower] if { req.hdr(x-to) -m found }
    use_backend be_two
    default_backend be_def
backend be_one
    server s ONE
backend be_two
    server s TWO
backend be_def
    server s DEF
backend be_tcp
    mode tcp
    server s TWO
`))
	for _, c := range []struct{ to, want string }{
		{"ONE", "one"},  // resolved: be_one
		{"two", "two"},  // resolved: be_two
		{"nope", "def"}, // no such backend: the default, not the next rule
		{"tcp", "def"},  // a TCP backend does not serve an HTTP frontend
		{"", "two"},     // the dynamic rule does not match: the next one
	} {
		req := "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
		if c.to != "" {
			req += "X-To: " + c.to + "\r\n"
		}
		resp := rawRequest(t, addr, req+"\r\n", 3*time.Second)
		if statusOf(resp) != 200 || !strings.HasSuffix(resp, "\r\n\r\n"+c.want) {
			t.Errorf("X-To %q: response %q, want the body %q", c.to, resp, c.want)
		}
	}
}
