package proxy

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// headerOf returns the value of the first header name in a response text,
// and whether it is there.
func headerOf(text, name string) (string, bool) {
	head, _, _ := strings.Cut(text, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n")[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func get(t *testing.T, addr, cookie string, extra ...string) string {
	t.Helper()
	req := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	if cookie != "" {
		req += "Cookie: " + cookie + "\r\n"
	}
	for _, h := range extra {
		req += h + "\r\n"
	}
	return rawRequest(t, addr, req+"\r\n", 5*time.Second)
}

// lastRequest returns the last request head backend b received.
func lastRequest(b *rawBackend) string { return b.Last() }

func conns(b *rawBackend) int { return b.Accepted() }

// insert indirect nocache: a new client gets the server's cookie with the
// configured attributes and "Cache-control: private"; a returning client
// goes to its server, which never sees the cookie, and gets no new one;
// an unknown cookie is balanced and replaced. The log shows HAProxy's
// cookie characters.
func TestCookieInsertIndirect(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 2\r\n\r\ns1"))
	s2 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 2\r\n\r\ns2"))
	var mu sync.Mutex
	var flags []string
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    log stdout format raw local0
    default_backend be
backend be
    balance roundrobin
    cookie SRVID insert indirect nocache httponly secure domain .example.com attr SameSite=Lax
    server a S1 cookie one
    server b S2 cookie two
`, "S1", s1.addr, "S2", s2.addr), Options{Log: func(e *LogEntry) {
		mu.Lock()
		flags = append(flags, e.Term+e.Cookie)
		mu.Unlock()
	}})
	out := get(t, addr, "")
	sc, ok := headerOf(out, "Set-Cookie")
	if !ok || !strings.HasSuffix(sc, "; path=/; domain=.example.com; HttpOnly; Secure; SameSite=Lax") {
		t.Fatalf("new client: Set-Cookie %q in %q", sc, out)
	}
	if !strings.Contains(out, "\r\nCache-control: private\r\n") {
		t.Errorf("no Cache-control: private in %q", out)
	}
	// Whichever server answered, the cookie names it.
	want := "SRVID=one;"
	if strings.HasSuffix(out, "s2") {
		want = "SRVID=two;"
	}
	if !strings.HasPrefix(sc, want) {
		t.Fatalf("Set-Cookie %q for response %q", sc, out)
	}
	for i := 0; i < 3; i++ {
		out = get(t, addr, "a=1; SRVID=two; b=2")
		if !strings.HasSuffix(out, "s2") {
			t.Fatalf("returning client %d went elsewhere: %q", i, out)
		}
		if _, ok := headerOf(out, "Set-Cookie"); ok {
			t.Errorf("returning client got a new cookie: %q", out)
		}
	}
	if req := lastRequest(s2); !strings.Contains(req, "\r\nCookie: a=1; b=2\r\n") {
		t.Errorf("server saw %q, want the persistence cookie removed", req)
	}
	get(t, addr, "SRVID=two")
	if req := lastRequest(s2); strings.Contains(strings.ToLower(req), "cookie") {
		t.Errorf("server saw %q, want no Cookie header left", req)
	}
	out = get(t, addr, "SRVID=s9")
	if sc, _ := headerOf(out, "Set-Cookie"); !strings.HasPrefix(sc, "SRVID=one;") && !strings.HasPrefix(sc, "SRVID=two;") {
		t.Errorf("invalid cookie: Set-Cookie %q", sc)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(flags) == 6 }, "six log entries")
	if got := strings.Join(flags, " "); got != "--NI --VN --VN --VN --VN --II" {
		t.Errorf("log states %s", got)
	}
}

// A cookie naming a server in maintenance is redispatched and replaced,
// unless force-persist (or option persist) keeps the client on it.
func TestCookieDownServer(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\ns1"))
	s2 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\ns2"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    cookie SRVID insert indirect
    force-persist if { hdr(x-force) 1 }
    server a S1 cookie one
    server b S2 cookie two disabled
`, "S1", s1.addr, "S2", s2.addr))
	out := get(t, addr, "SRVID=two")
	if sc, _ := headerOf(out, "Set-Cookie"); !strings.HasSuffix(out, "s1") || !strings.HasPrefix(sc, "SRVID=one;") {
		t.Fatalf("down server: %q", out)
	}
	if out := get(t, addr, "SRVID=two", "X-Force: 1"); !strings.HasSuffix(out, "s2") {
		t.Fatalf("force-persist: %q", out)
	}
}

// prefix: the server's own cookie is prefixed with the server's cookie
// on the way out and the prefix stripped on the way in; rewrite replaces
// the value the application set.
func TestCookiePrefixAndRewrite(t *testing.T) {
	app := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nSet-Cookie: JSESSIONID=abc; Path=/app\r\nContent-Length: 2\r\n\r\nok"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    use_backend rw if { path_beg /rw }
    default_backend pfx
backend pfx
    cookie JSESSIONID prefix
    server a A cookie s1
backend rw
    cookie JSESSIONID rewrite
    server a A cookie s1
`, "A", app.addr))
	out := get(t, addr, "")
	if sc, _ := headerOf(out, "Set-Cookie"); sc != "JSESSIONID=s1~abc; Path=/app" {
		t.Fatalf("prefix Set-Cookie %q", sc)
	}
	get(t, addr, "JSESSIONID=s1~abc")
	if req := lastRequest(app); !strings.Contains(req, "\r\nCookie: JSESSIONID=abc\r\n") {
		t.Fatalf("prefix: server saw %q", req)
	}
	out = rawRequest(t, addr, "GET /rw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
	if sc, _ := headerOf(out, "Set-Cookie"); sc != "JSESSIONID=s1; Path=/app" {
		t.Fatalf("rewrite Set-Cookie %q", sc)
	}
	if n := conns(app); n != 3 {
		t.Fatalf("%d connections", n)
	}
}

// Dynamic cookies are 16 hex digits that depend on key, address and
// port; insert-mode dates survive their 5-character encoding (to HAProxy's
// 4-second resolution).
func TestDynamicCookieAndDates(t *testing.T) {
	a := dynamicCookie("secret", "192.0.2.1", 80)
	if len(a) != 16 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("dynamic cookie %q", a)
	}
	for _, other := range []string{dynamicCookie("secret2", "192.0.2.1", 80), dynamicCookie("secret", "192.0.2.2", 80), dynamicCookie("secret", "192.0.2.1", 81)} {
		if other == a {
			t.Fatalf("dynamic cookie does not depend on its inputs: %q", a)
		}
	}
	// The value Debian's HAProxy 2.6 sets for this key and server.
	if got := dynamicCookie("mysecret", "127.0.0.1", 18931); got != "f7ccf26ed90eba06" {
		t.Fatalf("dynamic cookie %q, HAProxy's is f7ccf26ed90eba06", got)
	}
	if dynamicCookie("secret", "backend.example", 80) != "" {
		t.Fatal("a host name got a dynamic cookie")
	}
	// HAProxy 2.6 sent "SRV=one|aw9Zv|aw9Zv" at Unix time 1796168122.
	if got := string(appendDateB64(nil, (1796168122+3)>>2)); got != "aw9Zv" {
		t.Fatalf("date encodes to %q, HAProxy's is aw9Zv", got)
	}
	now := time.Now().Unix()
	if got := b64ToDate(appendDateB64(nil, now>>2)); got != now>>2<<2 {
		t.Fatalf("date %d -> %d", now, got)
	}
}

// nocache marks only responses a cache could store: with freshness
// information or a validator, and without private/no-store.
func TestCookieNoCache(t *testing.T) {
	for _, tc := range []struct {
		hdrs string
		want bool
	}{
		{"Cache-Control: max-age=60\r\n", true},
		{"Last-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n", true},
		{"", false},
		{"Cache-Control: private, max-age=60\r\n", false},
		{"Cache-Control: private, public, max-age=60\r\n", true},
		{"Pragma: no-cache\r\nExpires: Tue, 01 Dec 2026 10:00:00 GMT\r\n", false},
	} {
		b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\n"+tc.hdrs+"Content-Length: 2\r\n\r\nok"))
		_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    cookie SRVID insert nocache
    server a B cookie one
`, "B", b.addr))
		out := get(t, addr, "")
		if got := strings.Contains(out, "\r\nCache-control: private\r\n"); got != tc.want {
			t.Errorf("%q: Cache-control: private added %v, want %v:\n%s", tc.hdrs, got, tc.want, out)
		}
		if _, ok := headerOf(out, "Set-Cookie"); !ok {
			t.Errorf("%q: no Set-Cookie", tc.hdrs)
		}
	}
}
