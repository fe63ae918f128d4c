package cache

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"bulwark/internal/h1"
)

func request(method, target string, hdrs ...string) *h1.Request {
	r := &h1.Request{Method: []byte(method), Target: []byte(target), Major: 1, Minor: 1}
	r.Headers = append(r.Headers, h1.Header{Name: []byte("Host"), Value: []byte("example.com")})
	for i := 0; i+1 < len(hdrs); i += 2 {
		r.Headers = append(r.Headers, h1.Header{Name: []byte(hdrs[i]), Value: []byte(hdrs[i+1])})
	}
	return r
}

func fields(hdrs ...string) []h1.Header {
	var hs []h1.Header
	for i := 0; i+1 < len(hdrs); i += 2 {
		hs = append(hs, h1.Header{Name: []byte(hdrs[i]), Value: []byte(hdrs[i+1])})
	}
	return hs
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newCache(vary bool) (*Cache, *clock) {
	clk := &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	return New(Config{Name: "c", TotalMax: 1 << 20, MaxObject: 4096, MaxAge: 60 * time.Second, ProcessVary: vary, MaxSecondary: 10}, clk.now), clk
}

func TestPrepare(t *testing.T) {
	get := request("GET", "/")
	for _, tc := range []struct {
		name   string
		req    *h1.Request
		status int
		hs     []h1.Header
		vary   bool
		life   time.Duration // 0: not storable
	}{
		{"max-age", get, 200, fields("Cache-Control", "max-age=5"), false, 5 * time.Second},
		{"s-maxage wins", get, 200, fields("Cache-Control", "max-age=5, s-maxage=30"), false, 30 * time.Second},
		{"capped by max-age", get, 200, fields("Cache-Control", "max-age=500"), false, 60 * time.Second},
		{"etag alone", get, 200, fields("ETag", `"x"`), false, 60 * time.Second},
		{"last-modified alone", get, 200, fields("Last-Modified", "Thu, 22 Oct 2020 16:51:12 GMT"), false, 60 * time.Second},
		{"expires", get, 200, fields("Date", "Wed, 02 Dec 2026 10:00:00 GMT", "Expires", "Wed, 02 Dec 2026 10:00:10 GMT"), false, 10 * time.Second},
		{"invalid expires", get, 200, fields("Expires", "tomorrow"), false, 0},
		{"nothing to go by", get, 200, fields("Content-Type", "text/plain"), false, 0},
		{"404", get, 404, fields("Cache-Control", "max-age=5"), false, 0},
		{"no-store", get, 200, fields("Cache-Control", "max-age=5, no-store"), false, 0},
		{"no-cache", get, 200, fields("Cache-Control", "no-cache"), false, 0},
		{"private", get, 200, fields("Cache-Control", "private, max-age=5"), false, 0},
		{"max-age=0", get, 200, fields("Cache-Control", "max-age=0", "ETag", `"x"`), false, 0},
		{"set-cookie", get, 200, fields("Cache-Control", "max-age=5", "Set-Cookie", "sid=secret"), false, 0},
		{"authorization", request("GET", "/", "Authorization", "Basic eDp5"), 200, fields("Cache-Control", "max-age=5"), false, 0},
		{"post", request("POST", "/"), 200, fields("Cache-Control", "max-age=5"), false, 0},
		{"http/1.0", &h1.Request{Method: []byte("GET"), Target: []byte("/"), Major: 1}, 200, fields("Cache-Control", "max-age=5"), false, 0},
		{"vary without process-vary", get, 200, fields("Cache-Control", "max-age=5", "Vary", "Accept-Encoding"), false, 0},
		{"vary managed", get, 200, fields("Cache-Control", "max-age=5", "Vary", "accept-encoding, referer"), true, 5 * time.Second},
		{"vary unmanaged", get, 200, fields("Cache-Control", "max-age=5", "Vary", "accept-encoding,cookie"), true, 0},
		{"unknown coding", get, 200, fields("Cache-Control", "max-age=5", "Vary", "accept-encoding", "Content-Encoding", "x-mine"), true, 0},
		{"age within", get, 200, fields("Cache-Control", "max-age=500", "Age", "100"), false, 60 * time.Second},
		{"age past", get, 200, fields("Cache-Control", "max-age=5", "Age", "10"), false, 0},
		{"age invalid", get, 200, fields("Cache-Control", "max-age=5", "Age", "abc"), false, 0},
	} {
		c, clk := newCache(tc.vary)
		e := c.Prepare(tc.req, tc.status, []byte("OK"), tc.hs)
		switch {
		case tc.life == 0 && e != nil:
			t.Errorf("%s: stored (expires in %v)", tc.name, e.Expires.Sub(clk.t))
		case tc.life != 0 && e == nil:
			t.Errorf("%s: not stored", tc.name)
		case e != nil && e.Expires.Sub(clk.t) != tc.life:
			t.Errorf("%s: lifetime %v, want %v", tc.name, e.Expires.Sub(clk.t), tc.life)
		}
	}
}

func store(t *testing.T, c *Cache, req *h1.Request, body string, hdrs ...string) {
	t.Helper()
	e := c.Prepare(req, 200, []byte("OK"), fields(hdrs...))
	if e == nil {
		t.Fatal("not storable")
	}
	e.Body = []byte(body)
	if !c.Insert(Key(req), e) {
		t.Fatal("not inserted")
	}
}

func TestLookupExpiryAndKeys(t *testing.T) {
	c, clk := newCache(false)
	store(t, c, request("GET", "/a"), "A", "Cache-Control", "max-age=10", "Connection", "X-Hop", "X-Hop", "1", "Content-Length", "1")
	e := c.Lookup([]byte(Key(request("GET", "/a"))), request("GET", "/a"))
	if e == nil || string(e.Body) != "A" {
		t.Fatal("miss right after store")
	}
	for _, h := range e.Headers {
		if n := strings.ToLower(string(h.Name)); n == "x-hop" || n == "connection" || n == "content-length" {
			t.Errorf("stored hop-by-hop or framing field %s", n)
		}
	}
	other := request("GET", "/a")
	other.Headers[0].Value = []byte("other.example")
	if c.Lookup([]byte(Key(other)), other) != nil {
		t.Fatal("hit for another Host")
	}
	if c.Lookup([]byte(Key(request("GET", "/a?x"))), request("GET", "/a?x")) != nil {
		t.Fatal("hit for another query")
	}
	clk.t = clk.t.Add(10 * time.Second)
	if c.Lookup([]byte(Key(request("GET", "/a"))), request("GET", "/a")) != nil {
		t.Fatal("hit after expiry")
	}
	if st := c.Stats(); st.Entries != 0 || st.Used != 0 {
		t.Fatalf("expired entry kept: %+v", st)
	}
}

func TestEvictionAndSizeLimits(t *testing.T) {
	clk := &clock{t: time.Now()}
	c := New(Config{Name: "c", TotalMax: 10000, MaxObject: 3000, MaxAge: time.Minute}, clk.now)
	body := strings.Repeat("x", 2500)
	for i := 0; i < 6; i++ {
		store(t, c, request("GET", fmt.Sprintf("/%d", i)), body, "Cache-Control", "max-age=10")
	}
	if st := c.Stats(); st.Used > 10000 || st.Entries >= 6 {
		t.Fatalf("over the total: %+v", st)
	}
	if c.Lookup([]byte(Key(request("GET", "/0"))), request("GET", "/0")) != nil {
		t.Fatal("the least recently used entry survived")
	}
	if c.Lookup([]byte(Key(request("GET", "/5"))), request("GET", "/5")) == nil {
		t.Fatal("the newest entry was evicted")
	}
	big := c.Prepare(request("GET", "/big"), 200, nil, fields("Cache-Control", "max-age=10"))
	big.Body = make([]byte, 3001)
	if c.Insert(Key(request("GET", "/big")), big) {
		t.Fatal("an object over max-object-size was stored")
	}
}

func TestVaryAcceptEncoding(t *testing.T) {
	c, _ := newCache(true)
	gz := request("GET", "/v", "Accept-Encoding", "gzip")
	store(t, c, gz, "gzipped", "Cache-Control", "max-age=10", "Vary", "Accept-Encoding", "Content-Encoding", "gzip")
	store(t, c, request("GET", "/v", "Accept-Encoding", "identity"), "plain", "Cache-Control", "max-age=10", "Vary", "Accept-Encoding")
	for _, tc := range []struct {
		ae   []string
		want string
	}{
		{[]string{"Accept-Encoding", "gzip"}, "gzipped"},
		{[]string{"Accept-Encoding", "deflate, GZIP;q=0.5"}, "gzipped"},
		{[]string{"Accept-Encoding", "gzip;q=0"}, "plain"},
		{[]string{"Accept-Encoding", "br"}, "plain"},
		{[]string{"Accept-Encoding", "br, identity;q=0"}, ""},
		{nil, "gzipped"}, // no field: anything is acceptable
	} {
		r := request("GET", "/v", tc.ae...)
		e := c.Lookup([]byte(Key(r)), r)
		got := ""
		if e != nil {
			got = string(e.Body)
		}
		if got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.ae, got, tc.want)
		}
	}
	// Referer is part of the variant.
	store(t, c, request("GET", "/r", "Referer", "a"), "from a", "Cache-Control", "max-age=10", "Vary", "Referer")
	if r := request("GET", "/r", "Referer", "b"); c.Lookup([]byte(Key(r)), r) != nil {
		t.Fatal("a variant for another Referer was served")
	}
}

func TestNotModified(t *testing.T) {
	c, _ := newCache(false)
	req := request("GET", "/")
	e := c.Prepare(req, 200, nil, fields("ETag", `"v1"`, "Last-Modified", "Thu, 15 Oct 2020 22:23:24 GMT"))
	for _, tc := range []struct {
		hdrs []string
		want bool
	}{
		{[]string{"If-None-Match", `"v1"`}, true},
		{[]string{"If-None-Match", `W/"v1"`}, true},
		{[]string{"If-None-Match", `"v0", "v1"`}, true},
		{[]string{"If-None-Match", `*`}, true},
		{[]string{"If-None-Match", `"v2"`}, false},
		{[]string{"If-None-Match", `"v2"`, "If-Modified-Since", "Thu, 22 Oct 2020 23:00:00 GMT"}, false},
		{[]string{"If-Modified-Since", "Thu, 15 Oct 2020 22:23:24 GMT"}, true},
		{[]string{"If-Modified-Since", "Thu, 15 Oct 2020 00:00:01 GMT"}, false},
		{[]string{"If-Modified-Since", "garbage"}, false},
		{nil, false},
	} {
		if got := NotModified(request("GET", "/", tc.hdrs...), e); got != tc.want {
			t.Errorf("%v: got %v, want %v", tc.hdrs, got, tc.want)
		}
	}
}

func TestDeliverable(t *testing.T) {
	for _, tc := range []struct {
		req  *h1.Request
		want bool
	}{
		{request("GET", "/"), true},
		{request("HEAD", "/"), true},
		{request("POST", "/"), false},
		{request("GET", "/", "Authorization", "Bearer x"), false},
		{request("GET", "/", "Cache-Control", "no-cache"), false},
		{request("GET", "/", "Pragma", "no-cache"), false},
		{request("GET", "/", "Cache-Control", "max-age=0"), true},
	} {
		if got := Deliverable(tc.req); got != tc.want {
			t.Errorf("%s %v: got %v", tc.req.Method, tc.req.Headers, got)
		}
	}
}
