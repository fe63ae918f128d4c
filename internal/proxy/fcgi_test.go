package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	stdfcgi "net/http/fcgi"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bulwark/internal/fcgi"
	"bulwark/internal/h1"
	"bulwark/internal/model"
)

func paramsOf(t *testing.T, b []byte) map[string]string {
	t.Helper()
	m := map[string]string{}
	if err := fcgi.ParsePairs(b, func(n, v []byte) {
		if _, dup := m[string(n)]; dup {
			t.Errorf("parameter %s sent twice", n)
		}
		m[string(n)] = string(v)
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

func hdrs(kv ...string) []h1.Header {
	var hs []h1.Header
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, h1.Header{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return hs
}

// TestCGIParams checks the parameters of CM 10.2 (the expected values
// are what HAProxy 2.6.12 sent to a recording application for the same
// requests, where it has the case).
func TestCGIParams(t *testing.T) {
	app := &model.FCGIApp{DocRoot: "/var/www/", Index: "index.php", PathInfo: regexp.MustCompile(`^(/.+\.php)(/.*)?$`)}
	src := netip.MustParseAddrPort("192.0.2.1:4321")
	dst := netip.MustParseAddrPort("127.0.0.1:8080")
	cases := []struct {
		name string
		r    cgiRequest
		want map[string]string // "" value: must be absent
	}{
		{"path-info, query, headers", cgiRequest{app: app, method: []byte("GET"), target: []byte("/a/b.php/x%20y/z?q=1&r=2"), major: 1, minor: 1,
			headers: hdrs("Host", "ex.com:8080", "X-Bar", "2", "Authorization", "Basic eA==", "Proxy-Authorization", "x", "Connection", "close, X-Hop", "X-Hop", "1", "Accept", "a", "accept", "b", "Cookie", "c=1", "Cookie", "d=2"),
			src:     src, dst: dst, length: 0, software: "Bulwark test"},
			map[string]string{"HTTP_HOST": "ex.com:8080", "HTTP_X_BAR": "2", "GATEWAY_INTERFACE": "CGI/1.1", "DOCUMENT_ROOT": "/var/www",
				"SCRIPT_NAME": "/a/b.php", "PATH_INFO": "/x y/z", "REQUEST_URI": "/a/b.php/x%20y/z?q=1&r=2", "REQUEST_METHOD": "GET",
				"QUERY_STRING": "q=1&r=2", "SERVER_NAME": "ex.com:8080", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
				"REMOTE_ADDR": "192.0.2.1", "REMOTE_PORT": "4321", "SCRIPT_FILENAME": "/var/www/a/b.php", "PATH_TRANSLATED": "/var/www/x y/z",
				"CONTENT_LENGTH": "0", "SERVER_SOFTWARE": "Bulwark test", "HTTP_ACCEPT": "a, b", "HTTP_COOKIE": "c=1; d=2",
				"HTTP_AUTHORIZATION": "", "HTTP_PROXY_AUTHORIZATION": "", "HTTP_CONNECTION": "", "HTTP_X_HOP": "", "HTTPS": "", "CONTENT_TYPE": ""}},
		{"index, body, pass-header, https, set-param wins", cgiRequest{app: app, method: []byte("POST"), target: []byte("http://ex.com/dir/"), major: 1, minor: 1,
			headers: hdrs("Host", "ex.com", "Content-Type", "text/x", "Content-Length", "5", "Authorization", "Basic eA=="),
			src:     src, dst: dst, tls: true, length: 5, pass: []string{"authorization"},
			set: []cgiParam{{[]byte("SERVER_NAME"), []byte("first")}, {[]byte("SERVER_NAME"), []byte("set")}, {[]byte("HTTP_HOST"), []byte("h")}}},
			map[string]string{"SCRIPT_NAME": "/dir/index.php", "SCRIPT_FILENAME": "/var/www/dir/index.php", "REQUEST_URI": "/dir/",
				"CONTENT_TYPE": "text/x", "CONTENT_LENGTH": "5", "HTTP_CONTENT_TYPE": "", "HTTP_CONTENT_LENGTH": "", "HTTPS": "on",
				"HTTP_AUTHORIZATION": "Basic eA==", "SERVER_NAME": "set", "HTTP_HOST": "h", "PATH_INFO": "", "QUERY_STRING": ""}},
		{"no match: whole path; no Host: the destination", cgiRequest{app: app, method: []byte("GET"), target: []byte("/static/x.css?"), major: 1, minor: 0,
			src: src, dst: dst},
			map[string]string{"SCRIPT_NAME": "/static/x.css", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.0", "PATH_INFO": ""}},
	}
	for _, c := range cases {
		got := paramsOf(t, appendCGIParams(nil, &c.r))
		for k, v := range c.want {
			g, ok := got[k]
			switch {
			case v == "" && ok && !(k == "QUERY_STRING" && strings.HasSuffix(string(c.r.target), "?")):
				t.Errorf("%s: %s=%q should be absent", c.name, k, g)
			case v != "" && g != v:
				t.Errorf("%s: %s=%q, want %q", c.name, k, g, v)
			}
		}
	}
}

// TestFCGIPercentDecode: malformed escapes stay as they are.
func TestFCGIPercentDecode(t *testing.T) {
	for in, want := range map[string]string{"/a%20b": "/a b", "/%zz%2": "/%zz%2", "/%41%4a": "/AJ", "/plain": "/plain"} {
		if got := string(percentDecode([]byte(in))); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// TestFCGIWithGoApplication puts Bulwark in front of Go's net/http/fcgi
// application side, an independent implementation of the protocol: the
// application sees the request as the client sent it, the client gets
// the application's answer, and a kept connection carries the next
// requests.
func TestFCGIWithGoApplication(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: l}
	go stdfcgi.Serve(cl, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env := stdfcgi.ProcessEnv(r)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Script", env["SCRIPT_FILENAME"])
		if r.URL.Path == "/len.php" {
			w.Header().Set("Content-Length", "4")
			w.Write([]byte("four"))
			return
		}
		if r.URL.Path == "/missing.php" {
			w.WriteHeader(404)
		}
		fmt.Fprintf(w, "%s %s q=%s host=%s body=%s ua=%s", r.Method, r.URL.Path, r.URL.RawQuery, r.Host, body, r.Header.Get("User-Agent"))
	}))
	t.Cleanup(func() { l.Close() })
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    use-fcgi-app app
    server s B proto fcgi
fcgi-app app
    docroot /srv
    path-info ^(/.+\.php)(/.*)?$
`, "B", l.Addr().String()))

	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	send := func(raw string) *http.Response {
		t.Helper()
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		method, _, _ := strings.Cut(raw, " ")
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	read := func(resp *http.Response) string {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	resp := send("GET /app.php/extra?x=1 HTTP/1.1\r\nHost: ex.com\r\nUser-Agent: t/1\r\n\r\n")
	if b := read(resp); resp.StatusCode != 200 || b != "GET /app.php/extra q=x=1 host=ex.com body= ua=t/1" ||
		resp.Header.Get("X-Script") != "/srv/app.php" {
		t.Errorf("GET: %d %v %q", resp.StatusCode, resp.Header, b)
	}
	// No length from the application: chunked to the client.
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("GET: transfer-encoding %v", resp.TransferEncoding)
	}
	resp = send("POST /post.php HTTP/1.1\r\nHost: ex.com\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
	if b := read(resp); b != "POST /post.php q= host=ex.com body=hello ua=" {
		t.Errorf("POST: %q", b)
	}
	resp = send("POST /post.php HTTP/1.1\r\nHost: ex.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	if b := read(resp); b != "POST /post.php q= host=ex.com body=abcde ua=" {
		t.Errorf("chunked POST: %q", b)
	}
	resp = send("GET /len.php HTTP/1.1\r\nHost: ex.com\r\n\r\n")
	if b := read(resp); b != "four" || resp.ContentLength != 4 {
		t.Errorf("length: %d %q", resp.ContentLength, b)
	}
	resp = send("GET /missing.php HTTP/1.1\r\nHost: ex.com\r\n\r\n")
	if read(resp); resp.StatusCode != 404 {
		t.Errorf("status %d", resp.StatusCode)
	}
	resp = send("HEAD /len.php HTTP/1.1\r\nHost: ex.com\r\n\r\n")
	if b := read(resp); b != "" || resp.StatusCode != 200 {
		t.Errorf("HEAD: %d %q", resp.StatusCode, b)
	}
	resp = send("GET /app.php HTTP/1.1\r\nHost: ex.com\r\n\r\n")
	if b := read(resp); !strings.HasPrefix(b, "GET /app.php ") {
		t.Errorf("after HEAD: %q", b)
	}
	// option keep-conn (the default): one connection for all of them.
	if n := cl.n.Load(); n != 1 {
		t.Errorf("%d connections to the application, want 1", n)
	}
}

// fcgiRecorder is a raw FastCGI application: it records each request's
// records and answers with fixed bytes.
type fcgiRecorder struct {
	l      net.Listener
	mu     sync.Mutex
	begins [][]byte
	params []map[string]string
	stdin  []string
	values []string // GET_VALUES names asked
	aborts []uint16 // ids of ABORT_REQUEST records
	conns  atomic.Int64
	answer []byte
}

func newFCGIRecorder(t *testing.T, answer []byte) *fcgiRecorder {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &fcgiRecorder{l: l, answer: answer}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r.conns.Add(1)
			go r.serve(t, c)
		}
	}()
	return r
}

func (r *fcgiRecorder) serve(t *testing.T, c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	rr := fcgi.NewRecordReader(c)
	var params, stdin []byte
	for {
		h, content, err := rr.Next()
		if err != nil {
			return
		}
		r.mu.Lock()
		switch h.Type {
		case fcgi.TypeGetValues:
			fcgi.ParsePairs(content, func(n, v []byte) { r.values = append(r.values, string(n)) })
			c.Write(fcgi.AppendRecord(nil, fcgi.TypeGetValuesResult, 0, fcgi.AppendPair(nil, []byte("FCGI_MPXS_CONNS"), []byte("0"))))
		case fcgi.TypeAbortRequest:
			r.aborts = append(r.aborts, h.ID)
		case fcgi.TypeBeginRequest:
			r.begins = append(r.begins, append([]byte(nil), content...))
		case fcgi.TypeParams:
			if len(content) == 0 {
				m := map[string]string{}
				fcgi.ParsePairs(params, func(n, v []byte) { m[string(n)] = string(v) })
				r.params = append(r.params, m)
				params = nil
			}
			params = append(params, content...)
		case fcgi.TypeStdin:
			stdin = append(stdin, content...)
			if len(content) == 0 {
				r.stdin = append(r.stdin, string(stdin))
				stdin = nil
				c.Write(r.answer)
			}
		}
		r.mu.Unlock()
	}
}

// TestFCGIRecordedRequest checks the exact records Bulwark sends and the
// handling of what comes back: keep-conn, GET_VALUES, set-param and
// pass-header with their conditions, STDERR to log-stderr, the default
// header-name deletion.
func TestFCGIRecordedRequest(t *testing.T) {
	var answer []byte
	answer = fcgi.AppendRecord(answer, fcgi.TypeStderr, 1, []byte("PHP Notice: x\n"))
	answer = fcgi.AppendRecord(answer, fcgi.TypeStdout, 1, []byte("Status: 201 Made\r\nX-App: 1\r\nContent-Length: 2\r\n\r\nok"))
	answer = fcgi.AppendRecord(answer, fcgi.TypeStdout, 1, nil)
	answer = fcgi.AppendRecord(answer, fcgi.TypeEndRequest, 1, make([]byte, 8))
	rec := newFCGIRecorder(t, answer)
	var logMu sync.Mutex
	var logs []string
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    option forwardfor
    use-fcgi-app app
    server s B proto fcgi
fcgi-app app
    docroot /srv
    index index.php
    option get-values
    option keep-conn
    acl admin path_beg /admin
    set-param REDIRECT_STATUS 200
    set-param X_HDR %[req.hdr(x-in)] if admin
    set-param EMPTY %[req.hdr(none)]
    pass-header Authorization if admin
    log-stderr 127.0.0.1:9 local0
`, "B", rec.l.Addr().String()), Options{ProxyLog: func(proxy, level, msg string) {
		logMu.Lock()
		logs = append(logs, proxy+"|"+level+"|"+msg)
		logMu.Unlock()
	}})
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for _, path := range []string{"/admin/", "/pub/"} {
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: h\r\nX-In: v\r\nX_Odd: 1\r\nAuthorization: Basic eA==\r\nContent-Length: 3\r\n\r\nabc", path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 201 || string(b) != "ok" || resp.Header.Get("X-App") != "1" || resp.ContentLength != 2 {
			t.Errorf("%s: %d %v %q", path, resp.StatusCode, resp.Header, b)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.params) != 2 || rec.conns.Load() != 1 {
		t.Fatalf("%d requests on %d connections", len(rec.params), rec.conns.Load())
	}
	if got := fmt.Sprint(rec.values); got != "[FCGI_MAX_REQS FCGI_MPXS_CONNS]" {
		t.Errorf("GET_VALUES asked %s, once per connection", got)
	}
	for i, b := range rec.begins {
		if string(b) != "\x00\x01\x01\x00\x00\x00\x00\x00" {
			t.Errorf("BEGIN_REQUEST %d: % x", i, b)
		}
	}
	admin, pub := rec.params[0], rec.params[1]
	for k, v := range map[string]string{"SCRIPT_NAME": "/admin/index.php", "SCRIPT_FILENAME": "/srv/admin/index.php", "REDIRECT_STATUS": "200",
		"X_HDR": "v", "HTTP_AUTHORIZATION": "Basic eA==", "CONTENT_LENGTH": "3", "HTTP_X_FORWARDED_FOR": "127.0.0.1", "HTTP_X_IN": "v"} {
		if admin[k] != v {
			t.Errorf("admin: %s=%q, want %q", k, admin[k], v)
		}
	}
	for _, k := range []string{"X_HDR", "HTTP_AUTHORIZATION", "EMPTY", "HTTP_X_ODD"} {
		if _, ok := pub[k]; ok {
			t.Errorf("pub: %s sent", k)
		}
	}
	if _, ok := admin["HTTP_X_ODD"]; ok {
		t.Errorf("X_Odd passed: names outside [A-Za-z0-9-] are deleted by default for an application")
	}
	if len(rec.aborts) != 0 {
		t.Errorf("ABORT_REQUEST sent for completed requests: %v", rec.aborts)
	}
	if fmt.Sprint(rec.stdin) != "[abc abc]" {
		t.Errorf("stdin %q", rec.stdin)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if len(logs) != 2 || logs[0] != "fcgi-app/app|err|PHP Notice: x" {
		t.Errorf("stderr logs %q", logs)
	}
	keys := make([]string, 0, len(admin))
	for k := range admin {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("params: %v", keys)
}

// TestFCGIBrokenAnswers: an application that sends junk, refuses the
// request or closes early gives the client a 502, and its connection is
// not kept.
func TestFCGIBrokenAnswers(t *testing.T) {
	for name, answer := range map[string][]byte{
		"junk head":  append(fcgi.AppendRecord(nil, fcgi.TypeStdout, 1, []byte("no colon\r\n\r\n")), fcgi.AppendRecord(nil, fcgi.TypeEndRequest, 1, make([]byte, 8))...),
		"overloaded": fcgi.AppendRecord(nil, fcgi.TypeEndRequest, 1, []byte{0, 0, 0, 0, fcgi.Overloaded, 0, 0, 0}),
		"bad record": []byte("HTTP/1.1 200 OK\r\n\r\n"),
	} {
		rec := newFCGIRecorder(t, answer)
		_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    use-fcgi-app app
    server s B proto fcgi
fcgi-app app
    docroot /srv
`, "B", rec.l.Addr().String()))
		out := rawRequest(t, addr, "GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 5*time.Second)
		if statusOf(out) != 502 {
			t.Errorf("%s: %q", name, out)
		}
	}
}
