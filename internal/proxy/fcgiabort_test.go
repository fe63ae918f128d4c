package proxy

import (
	"fmt"
	"net"
	"testing"
	"time"

	"bulwark/internal/fcgi"
)

func fcgiProxy(t *testing.T, app string, backendLines ...string) string {
	t.Helper()
	cfg := baseDefaults + `
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    use-fcgi-app app
`
	for _, l := range backendLines {
		cfg += "    " + l + "\n"
	}
	cfg += "    server s " + app + " proto fcgi\nfcgi-app app\n    docroot /srv\n"
	_, addr := startProxy(t, cfg)
	return addr
}

func (r *fcgiRecorder) abortsSeen(want int) []uint16 {
	for range 200 {
		r.mu.Lock()
		got := append([]uint16(nil), r.aborts...)
		r.mu.Unlock()
		if len(got) >= want {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint16(nil), r.aborts...)
}

// A request given up on while the application still works on it gets an
// FCGI_ABORT_REQUEST before the connection closes: after the server
// timeout (HAProxy 2.6.12 sends the same record, then closes), and when
// the client aborts under "option abortonclose".
func TestFCGIAbortRequest(t *testing.T) {
	t.Run("server timeout", func(t *testing.T) {
		rec := newFCGIRecorder(t, nil) // never answers
		addr := fcgiProxy(t, rec.l.Addr().String(), "timeout server 200ms")
		out := rawRequest(t, addr, "GET /slow.php HTTP/1.1\r\nHost: h\r\n\r\n", 5*time.Second)
		if statusOf(out) != 504 {
			t.Fatalf("response %q", out)
		}
		if got := rec.abortsSeen(1); fmt.Sprint(got) != "[1]" {
			t.Fatalf("ABORT_REQUEST records for ids %v, want [1]", got)
		}
	})
	t.Run("client abort", func(t *testing.T) {
		rec := newFCGIRecorder(t, nil)
		addr := fcgiProxy(t, rec.l.Addr().String(), "option abortonclose")
		c := dial(t, addr)
		defer c.Close()
		if _, err := c.Write([]byte("GET /slow.php HTTP/1.1\r\nHost: h\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		// The request must have reached the application before the abort.
		for i := 0; i < 200; i++ {
			rec.mu.Lock()
			n := len(rec.stdin)
			rec.mu.Unlock()
			if n > 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		c.(*net.TCPConn).CloseWrite()
		if got := rec.abortsSeen(1); fmt.Sprint(got) != "[1]" {
			t.Fatalf("ABORT_REQUEST records for ids %v, want [1]", got)
		}
	})
}

// AUTH_TYPE and REMOTE_USER come from the first Authorization field as in
// HAProxy 2.6.12 (each case below is what it sent to a recording
// application), checked by a userlist or not, the field itself hidden.
func TestFCGIAuthParams(t *testing.T) {
	var answer []byte
	answer = fcgi.AppendRecord(answer, fcgi.TypeStdout, 1, []byte("Status: 200\r\nContent-Length: 2\r\n\r\nok"))
	answer = fcgi.AppendRecord(answer, fcgi.TypeStdout, 1, nil)
	answer = fcgi.AppendRecord(answer, fcgi.TypeEndRequest, 1, make([]byte, 8))
	rec := newFCGIRecorder(t, answer)
	addr := fcgiProxy(t, rec.l.Addr().String())
	cases := []struct{ auth, typ, user string }{
		{"Basic YWxpY2U6c2VjcmV0", "Basic", "alice"}, // alice:secret
		{"basic YWxpY2U6c2VjcmV0", "Basic", "alice"},
		{"BASIC  YWxpY2U6c2VjcmV0", "Basic", "alice"},
		{"Bas YWxpY2U6c2VjcmV0", "Basic", "alice"},
		{"Basic YWxpY2U6", "Basic", "alice"}, // empty password
		{"Basic OnB3", "Basic", ""},          // empty user
		{"Basic YWxpY2U=", "", ""},           // no colon
		{"Basic !!!", "", ""},
		{"Basic YWxpY2U6c2VjcmV0 junk", "", ""},
		{"Basic", "", ""},
		{"Bearer abc", "Bearer", ""},
		{"bearer abc", "Bearer", ""},
		{"Bearer", "", ""},
		{"Digest username=x", "", ""},
		{"", "", ""},
	}
	for i, tc := range cases {
		req := "GET /x.php HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
		if tc.auth != "" {
			req += "Authorization: " + tc.auth + "\r\n"
		}
		if tc.auth == "Basic YWxpY2U6c2VjcmV0" {
			req += "Authorization: Basic Ym9iOnNlY3JldA==\r\n" // only the first counts
		}
		if out := rawRequest(t, addr, req+"\r\n", 5*time.Second); statusOf(out) != 200 {
			t.Fatalf("%q: %q", tc.auth, out)
		}
		rec.mu.Lock()
		p := rec.params[i]
		rec.mu.Unlock()
		typ, hasType := p["AUTH_TYPE"]
		user, hasUser := p["REMOTE_USER"]
		if typ != tc.typ || hasType != (tc.typ != "") || user != tc.user || hasUser != (tc.user != "") {
			t.Errorf("%q: AUTH_TYPE=%q (%v) REMOTE_USER=%q (%v), want %q and %q", tc.auth, typ, hasType, user, hasUser, tc.typ, tc.user)
		}
		if _, ok := p["HTTP_AUTHORIZATION"]; ok {
			t.Errorf("%q: Authorization passed", tc.auth)
		}
	}
	if got := rec.abortsSeen(0); len(got) != 0 {
		t.Errorf("ABORT_REQUEST sent for completed requests: %v", got)
	}
}
