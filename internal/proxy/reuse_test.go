package proxy

import (
	"strings"
	"testing"
	"time"
)

// "http-reuse" as HAProxy 2.6 runs it (its connection/http_reuse_* reg
// tests): a session's server connection goes to the idle pool at the end
// of each transaction, so a client that comes next can use it at once;
// "safe" never gives a first request an idle connection; "aggressive"
// gives it only one that already carried a second request; "always" any;
// a full pool (pool-max-conn) keeps its connections and closes the one
// that does not fit. Each client is one connection, closed before the
// next starts, and sends its name on every request: the backend's record
// shows which connection carried which client's requests.
func TestHTTPReuseModes(t *testing.T) {
	cases := []struct {
		mode    string
		clients [][]string // the requests (client names) of each client in turn
		want    []string   // per server connection, the names it carried
	}{
		{"always", [][]string{{"c1"}, {"c2", "c2"}, {"c3"}}, []string{"c1 c2 c2 c3"}},
		// c1's connection carried one request: c2's first gets a new
		// one, which its second takes back and so proves for c3.
		{"aggressive", [][]string{{"c1"}, {"c2", "c2"}, {"c3"}}, []string{"c1", "c2 c2 c3"}},
		{"safe", [][]string{{"c1"}, {"c2", "c2"}, {"c3"}}, []string{"c1", "c2 c2", "c3"}},
		// c1's connection fills the pool: c2's does not fit and closes,
		// and c2's second request takes c1's.
		{"safe pool-max-conn 1", [][]string{{"c1", "c1", "c1"}, {"c2", "c2", "c2"}, {"c3", "c3"}}, []string{"c1 c1 c1 c2 c2 c3", "c2", "c3"}},
		{"never", [][]string{{"c1", "c1"}, {"c2"}}, []string{"c1 c1", "c2"}},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			mode, srvOpts, _ := strings.Cut(c.mode, " ")
			b := newRawBackend(t, answerEachHead(okResp))
			_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    http-reuse MODE
    server s B OPTS
`, "MODE", mode, "B", b.addr, "OPTS", srvOpts))
			for _, names := range c.clients {
				rc := newRawClient(t, addr)
				for _, n := range names {
					if st, _, err := rc.do("GET /"+n+" HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second); st != 200 || err != nil {
						t.Fatalf("%s: %d %v", n, st, err)
					}
				}
				rc.c.Close()
			}
			var got []string
			for _, in := range b.Conns() {
				var names []string
				for _, line := range strings.Split(string(in), "\r\n") {
					if p, ok := strings.CutPrefix(line, "GET /"); ok {
						names = append(names, strings.TrimSuffix(p, " HTTP/1.1"))
					}
				}
				got = append(got, strings.Join(names, " "))
			}
			if strings.Join(got, " | ") != strings.Join(c.want, " | ") {
				t.Fatalf("server connections carried %q, want %q", got, c.want)
			}
		})
	}
}

// An answer that http-response rules put in place of the server's (a
// redirect, a deny) keeps the client connection, as HAProxy 2.6 does: the
// next request on it is served. The server connection, whose response
// was dropped, is not reused.
func TestResponseRuleReplyKeepsClient(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    http-response redirect location / if { path /red }
    http-response deny if { path /deny }
    server s B
`, "B", b.addr))
	rc := newRawClient(t, addr)
	for _, c := range []struct {
		path string
		want int
	}{{"/red", 302}, {"/deny", 502}, {"/ok", 200}} {
		st, head, err := rc.do("GET "+c.path+" HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second)
		if err != nil || st != c.want {
			t.Fatalf("%s: %d %v, want %d", c.path, st, err, c.want)
		}
		if strings.Contains(strings.ToLower(head), "connection: close") {
			t.Fatalf("%s: the answer closes the connection:\n%s", c.path, head)
		}
	}
	if n := conns(b); n != 3 {
		t.Fatalf("%d server connections, want 3 (a replaced response's connection is not reused)", n)
	}
}
