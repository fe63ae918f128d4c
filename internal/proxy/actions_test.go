package proxy

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a backend that keeps the raw bytes of every request head
// (and body, by Content-Length) it receives and answers resp to each.
type recorder struct {
	addr string
	mu   sync.Mutex
	reqs []string
	// heads are the times the request lines arrived.
	heads []time.Time
}

func newRecorder(t testing.TB, resp string) *recorder {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r := &recorder{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go r.serve(c, resp)
		}
	}()
	return r
}

func (r *recorder) serve(c net.Conn, resp string) {
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 0; n < 100; n++ {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var b strings.Builder
		clen := 0
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if b.Len() == 0 {
				r.mu.Lock()
				r.heads = append(r.heads, time.Now())
				r.mu.Unlock()
			}
			b.WriteString(line)
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "content-length") {
				clen, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if line == "\r\n" {
				break
			}
		}
		if clen > 0 {
			body := make([]byte, clen)
			if _, err := io.ReadFull(br, body); err != nil {
				return
			}
			b.Write(body)
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, b.String())
		r.mu.Unlock()
		if _, err := io.WriteString(c, resp); err != nil {
			return
		}
	}
}

// last returns the last request received, "" when none.
func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		return ""
	}
	return r.reqs[len(r.reqs)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

const recOK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func rget(t testing.TB, addr, path string, hdrs ...string) string {
	t.Helper()
	req := "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	for _, h := range hdrs {
		req += h + "\r\n"
	}
	return rawRequest(t, addr, req+"\r\n", 5*time.Second)
}

func writeFile(t testing.TB, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// CM 4.2 "errorfiles", "http-error", "errorfile": each directive overrides
// the earlier ones for its codes, inherited first; an empty file sends
// nothing.
func TestErrorMessages(t *testing.T) {
	ef := func(tag string, code int) string {
		return writeFile(t, tag+strconv.Itoa(code)+".http", "HTTP/1.1 "+strconv.Itoa(code)+" X\r\nx-err: "+tag+"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
	}
	empty := writeFile(t, "empty", "")
	cfg := sub(`
http-errors sec
    errorfile 403 SEC403
    errorfile 404 SEC404
`+baseDefaults+`
    errorfile 404 DEF404
frontend fe
    bind 127.0.0.1:0
    errorfile 403 OWN403
    errorfiles sec 404
    errorfile 408 EMPTY
    http-error status 500 content-type text/plain hdr x-p "%[path]" lf-string "p=%[path]"
    errorloc303 429 http://elsewhere/
    http-request deny deny_status 403 if { path /403 }
    http-request deny deny_status 404 if { path /404 }
    http-request deny deny_status 408 if { path /408 }
    http-request deny deny_status 500 if { path /500 }
    http-request deny deny_status 429 if { path /429 }
    http-request deny deny_status 403 errorfiles sec if { path /sec403 }
    http-request return status 500 default-errorfiles if { path /ret500 }
    default_backend be
backend be
    server s B
`, "SEC403", ef("sec", 403), "SEC404", ef("sec", 404), "DEF404", ef("def", 404), "OWN403", ef("own", 403), "EMPTY", empty, "B", "127.0.0.1:1")
	_, addr := startProxy(t, cfg)
	for _, tc := range []struct{ path, want string }{
		{"/403", "x-err: own"},
		{"/404", "x-err: sec"},
		{"/sec403", "x-err: sec"},
		{"/500", "x-p: /500"},
		{"/ret500", "p=/ret500"},
		{"/429", "location: http://elsewhere/"},
	} {
		out := rget(t, addr, tc.path)
		if !strings.Contains(out, tc.want) {
			t.Errorf("%s: %q, want %q in it", tc.path, out, tc.want)
		}
	}
	if out := rget(t, addr, "/408"); out != "" {
		t.Errorf("/408 with an empty errorfile: %q, want nothing", out)
	}
}

// CM 4.2 "http-after-response": every response, the server's and the
// generated ones, backend rules first; "allow" ends only its own list.
func TestHTTPAfterResponse(t *testing.T) {
	b := newRecorder(t, "HTTP/1.1 234 Odd\r\nContent-Length: 2\r\nx-srv: 1\r\n\r\nok")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request deny if { path /deny }
    http-request return status 200 content-type text/plain string hi if { path /ret }
    http-after-response set-header x-fe "st=%[status]"
    http-after-response allow if { status 299 }
    http-after-response set-header x-fe2 yes
    default_backend be
backend be
    http-after-response set-status 299 if { status 234 }
    http-after-response set-header x-be be
    http-after-response del-header x-srv
    server s B
`, "B", b.addr))
	out := rget(t, addr, "/")
	for _, want := range []string{"HTTP/1.1 299 ", "x-be: be\r\n", "x-fe: st=299\r\n", "\r\n\r\nok"} {
		if !strings.Contains(out, want) {
			t.Errorf("server response: %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "x-fe2") || strings.Contains(out, "x-srv") {
		t.Errorf("server response: %q: allow did not end the frontend list, or del-header did not run", out)
	}
	out = rget(t, addr, "/deny")
	if statusOf(out) != 403 || !strings.Contains(out, "x-fe: st=403\r\n") || !strings.Contains(out, "x-fe2: yes") || strings.Contains(out, "x-be") {
		t.Errorf("deny: %q", out)
	}
	if out = rget(t, addr, "/ret"); !strings.Contains(out, "x-fe: st=200\r\n") || !strings.HasSuffix(out, "\r\n\r\nhi") {
		t.Errorf("return: %q", out)
	}
}

// CM 4.2 "return": the connection stays open for the next request, and
// content-type is dropped without a payload.
func TestReturnKeepsAlive(t *testing.T) {
	_, addr := startProxy(t, baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request return content-type text/plain if { path /a }
    http-request return status 201 content-type text/plain string hi hdr x-u "%[url]" if { path /b }
    http-request deny
`)
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	var got []string
	for i := 0; i < 2; i++ {
		var head strings.Builder
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("response %d: %v after %q", i, err, head.String())
			}
			head.WriteString(l)
			if l == "\r\n" {
				break
			}
		}
		got = append(got, head.String())
	}
	if strings.Contains(got[0], "content-type") || !strings.Contains(got[0], "content-length: 0") || strings.Contains(got[0], "close") {
		t.Errorf("/a: %q", got[0])
	}
	if !strings.HasPrefix(got[1], "HTTP/1.1 201") || !strings.Contains(got[1], "x-u: /b\r\n") {
		t.Errorf("/b: %q", got[1])
	}
}

// CM 4.2: tcp-request session and content rules run in an HTTP proxy (the
// content ones for every request, before http-request), tcp-response
// content before http-response; defaults' rules first.
func TestTCPRulesInHTTP(t *testing.T) {
	b := newRecorder(t, recOK)
	_, addr := startProxy(t, sub(`
defaults common
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
defaults dfe from common
    tcp-request session set-var(sess.s) str(sess)
    tcp-request content set-var(txn.c) str(content)
    tcp-request content accept
frontend fe from dfe
    bind 127.0.0.1:0
    tcp-request content reject
    http-request set-header x-c "%[var(txn.c)]"
    http-request set-header x-s "%[var(sess.s)]"
    default_backend be
backend be from common
    tcp-request content reject if { path /be-reject }
    tcp-response content set-var(txn.r) str(resp)
    tcp-response content reject if { path /resp-reject }
    http-response set-header x-r "%[var(txn.r)]"
    server s B
`, "B", b.addr))
	out := rget(t, addr, "/")
	if !strings.Contains(out, "x-r: resp\r\n") {
		t.Errorf("response: %q", out)
	}
	if req := b.last(); !strings.Contains(req, "x-c: content\r\n") || !strings.Contains(req, "x-s: sess\r\n") {
		t.Errorf("server saw %q", req)
	}
	n := b.count()
	if out := rget(t, addr, "/be-reject"); out != "" || b.count() != n {
		t.Errorf("backend tcp-request content reject: %q, %d requests", out, b.count()-n)
	}
	if out := rget(t, addr, "/resp-reject"); out != "" {
		t.Errorf("tcp-response content reject: %q", out)
	}
}

// set-src/set-dst feed X-Forwarded-For and X-Original-To (with their
// "except"), set-method the request line, and
// http-restrict-req-hdr-names deletes or refuses odd header names.
func TestAddrMethodAndHeaderNames(t *testing.T) {
	b := newRecorder(t, recOK)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request set-src hdr(x-src)
    http-request set-dst hdr(x-dst)
    http-request set-method PURGE if { path /purge }
    use_backend strict if { path /strict }
    default_backend be
backend be
    option forwardfor except 10.0.0.0/8
    option originalto except 10.0.0.0/8 header x-dst-was
    option http-restrict-req-hdr-names delete
    server s B
backend strict
    option http-restrict-req-hdr-names reject
    server s B
`, "B", b.addr))
	rget(t, addr, "/purge", "x-src: 192.0.2.7", "x-dst: 2001:db8::1", "x_odd: 1")
	req := b.last()
	for _, want := range []string{"PURGE /purge HTTP/1.1\r\n", "X-Forwarded-For: 192.0.2.7\r\n", "x-dst-was: 2001:db8::1\r\n"} {
		if !strings.Contains(req, want) {
			t.Errorf("server saw %q, lacks %q", req, want)
		}
	}
	if strings.Contains(req, "x_odd") {
		t.Errorf("x_odd was not deleted: %q", req)
	}
	rget(t, addr, "/", "x-src: 10.1.2.3", "x-dst: 10.0.0.9")
	if req := b.last(); strings.Contains(req, "X-Forwarded-For") || strings.Contains(req, "x-dst-was") || !strings.HasPrefix(req, "GET / ") {
		t.Errorf("excepted addresses: server saw %q", req)
	}
	n := b.count()
	if out := rget(t, addr, "/strict", "x_odd: 1"); statusOf(out) != 403 || b.count() != n {
		t.Errorf("reject: %q", out)
	}
}

// "http-request set-timeout server" bounds the wait for this request's
// response, in place of the backend's "timeout server".
func TestSetTimeoutServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			// Read the request and never answer.
			go func() { defer c.Close(); io.Copy(io.Discard, c) }()
		}
	}()
	_, addr := startProxy(t, sub(`
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    http-request set-timeout server 200ms if { path /short }
    http-request set-timeout server int(300) if { path /expr }
    server s B
`, "B", l.Addr().String()))
	for _, p := range []string{"/short", "/expr"} {
		start := time.Now()
		out := rawRequest(t, addr, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second)
		if statusOf(out) != 504 || time.Since(start) > 8*time.Second {
			t.Errorf("%s: %q after %v, want a 504 well before timeout server", p, out, time.Since(start))
		}
	}
}

// "http-request wait-for-body": the request goes to the server only once
// its body (or the at-least part) arrived, with the rest streamed.
func TestWaitForBody(t *testing.T) {
	b := newRecorder(t, recOK)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request wait-for-body time 3s if { path /wait }
    http-request wait-for-body time 3s at-least 4 if { path /least }
    http-request wait-for-body time 200ms if { path /stall }
    default_backend be
backend be
    server s B
`, "B", b.addr))
	// /least has its 4 bytes with the head: no waiting for the rest.
	for _, tc := range []struct {
		path, first, rest string
		waits             bool
	}{{"/wait", "", "0123456789", true}, {"/least", "0123", "456789", false}} {
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "POST "+tc.path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"+tc.first)
		time.Sleep(300 * time.Millisecond)
		sent := time.Now()
		io.WriteString(c, tc.rest)
		resp, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.HasPrefix(resp, "HTTP/1.1 200") {
			t.Fatalf("%s: %q", tc.path, resp)
		}
		b.mu.Lock()
		head, req := b.heads[len(b.heads)-1], b.reqs[len(b.reqs)-1]
		b.mu.Unlock()
		if head.Before(sent) == tc.waits {
			t.Errorf("%s: the server got the head at %v from the rest of the body, waiting %v", tc.path, head.Sub(sent), tc.waits)
		}
		if !strings.HasSuffix(req, "\r\n\r\n0123456789") {
			t.Errorf("%s: server saw %q", tc.path, req)
		}
	}
	// A body that does not come in time is a 408, as in HAProxy.
	n := b.count()
	out := rawRequest(t, addr, "POST /stall HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01", 5*time.Second)
	if statusOf(out) != 408 || b.count() != n {
		t.Errorf("/stall: %q, %d requests reached the server", out, b.count()-n)
	}
}

// CM 4.2 "monitor-uri" / "monitor fail": answered before the http-request
// rules, 503 when a fail condition matches, never forwarded.
func TestMonitorURI(t *testing.T) {
	b := newRecorder(t, recOK)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    monitor-uri /alive
    monitor fail if { req.hdr(x-fail) -m found }
    http-request deny
    default_backend be
backend be
    server s B
`, "B", b.addr))
	if out := rget(t, addr, "/alive?x=1"); statusOf(out) != 200 {
		t.Errorf("monitor: %q", out)
	}
	if out := rget(t, addr, "/alive", "x-fail: 1"); statusOf(out) != 503 {
		t.Errorf("monitor fail: %q", out)
	}
	if out := rget(t, addr, "/other"); statusOf(out) != 403 {
		t.Errorf("other path: %q", out)
	}
	if b.count() != 0 {
		t.Errorf("%d requests reached the server", b.count())
	}
}

// "redirect" options in any order, and the legacy "redirect" directive
// (after http-request rules, before use_backend).
func TestRedirectForms(t *testing.T) {
	b := newRecorder(t, recOK)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request redirect code 301 drop-query location /moved if { path /a }
    http-request set-header x-seen 1
    redirect prefix https://example.com code 308 if { path /b } { req.hdr(x-seen) 1 }
    default_backend be
backend be
    server s B
`, "B", b.addr))
	if out := rget(t, addr, "/a?q=1"); statusOf(out) != 301 || !strings.Contains(out, "Location: /moved\r\n") {
		t.Errorf("/a: %q", out)
	}
	if out := rget(t, addr, "/b?q=1"); statusOf(out) != 308 || !strings.Contains(out, "Location: https://example.com/b?q=1\r\n") {
		t.Errorf("/b: %q", out)
	}
	if out := rget(t, addr, "/c"); statusOf(out) != 200 || b.count() != 1 {
		t.Errorf("/c: %q", out)
	}
}

// sc-set-gpt0 writes the tracked entry (read back by sc0_get_gpt0), and
// silent-drop closes without a response.
func TestGPT0AndSilentDrop(t *testing.T) {
	b := newRecorder(t, recOK)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    stick-table type ip size 10 expire 1m store gpt0
    http-request track-sc0 src
    http-request sc-set-gpt0(0) 7 if { path /set }
    http-request sc-set-gpt0(0) int(9) if { path /expr }
    http-request silent-drop if { path /drop }
    http-request return status 200 content-type text/plain lf-string "gpt0=%[sc0_get_gpt0]" if { path /get }
    default_backend be
backend be
    server s B
`, "B", b.addr))
	rget(t, addr, "/set")
	if out := rget(t, addr, "/get"); !strings.HasSuffix(out, "gpt0=7") {
		t.Errorf("after sc-set-gpt0 7: %q", out)
	}
	rget(t, addr, "/expr")
	if out := rget(t, addr, "/get"); !strings.HasSuffix(out, "gpt0=9") {
		t.Errorf("after sc-set-gpt0 int(9): %q", out)
	}
	if out := rget(t, addr, "/drop"); out != "" || b.count() != 2 {
		t.Errorf("silent-drop answered %q, %d requests forwarded (want only /set and /expr)", out, b.count())
	}
}

// "dispatch <addr>" is the server of a backend without server lines.
func TestDispatch(t *testing.T) {
	b := newRecorder(t, recOK)
	_, addr := startProxy(t, sub(baseDefaults+`
listen li
    bind 127.0.0.1:0
    dispatch B
`, "B", b.addr))
	if out := rget(t, addr, "/"); statusOf(out) != 200 || b.count() != 1 {
		t.Errorf("dispatch: %q, %d requests", out, b.count())
	}
}
