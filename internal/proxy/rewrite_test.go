package proxy

import (
	"strings"
	"testing"
	"time"

	"bulwark/internal/model"
)

const val60 = "123456789012345678901234567890123456789012345678901234567890"

// rewriteCfg: buffers of 2048 bytes of which reads fill 1920, so a
// message that filled them has 128 bytes for rewrites: one 70-byte
// field, not two (strict_rw_mode.vtc).
const rewriteCfg = `
global
    tune.bufsize 2048
    tune.maxrewrite 128
` + baseDefaults + `
frontend fe
    bind 127.0.0.1:0
    option http-buffer-request
    http-request set-header x-hdr1 V
    http-request set-header x-hdr2 V if { path /two }
    http-request strict-mode off if { path /lax }
    http-request set-header x-hdr3 V if { path /lax }
    default_backend be
backend be
    server s1 S1
`

func feStats(px *Proxy, name string) *counters {
	for _, fe := range px.cur.Load().frontends {
		if fe.name == name {
			return &fe.stats
		}
	}
	return nil
}

// A request that filled its buffer (a 2000-byte body read ahead) has
// room for one added field: a second fails with 500 and reaches no
// server; under "strict-mode off" it is skipped. Without a body the same
// rewrites fit. Each failure counts in wrew.
func TestRewriteBufferRoomRequest(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	px, addr := startProxy(t, sub(rewriteCfg, "S1", s1.addr, "V", val60))
	body := strings.Repeat("b", 2000)
	post := func(path string, withBody bool) string {
		req := "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		if withBody {
			req += "Content-Length: 2000\r\n\r\n" + body
		} else {
			req += "\r\n"
		}
		return rawRequest(t, addr, req, 5*time.Second)
	}
	if out := post("/one", true); statusOf(out) != 200 {
		t.Errorf("/one: client got %q, want 200", out)
	}
	if !strings.Contains(s1.received(), "x-hdr1: "+val60) {
		t.Errorf("/one: the server did not get x-hdr1")
	}
	before := s1.received()
	if out := post("/two", true); statusOf(out) != 500 {
		t.Errorf("/two: client got %q, want 500", out)
	}
	if got := s1.received(); got != before {
		t.Errorf("/two reached the server: %q", got[len(before):])
	}
	if out := post("/lax", true); statusOf(out) != 200 {
		t.Errorf("/lax: client got %q, want 200", out)
	}
	got := s1.received()[len(before):]
	if !strings.Contains(got, "x-hdr1: ") || strings.Contains(got, "x-hdr3") || !strings.HasSuffix(got, body) {
		t.Errorf("/lax: the server got %q, want x-hdr1, no x-hdr3 and the whole body", got)
	}
	if out := post("/two", false); statusOf(out) != 200 {
		t.Errorf("/two without a body: client got %q, want 200", out)
	}
	if got := s1.received(); !strings.Contains(got, "x-hdr2: "+val60) {
		t.Errorf("/two without a body: the server did not get x-hdr2")
	}
	if n := feStats(px, "fe").wrew.Load(); n != 2 {
		t.Errorf("wrew = %d, want 2 (/two and /lax)", n)
	}
}

// A response whose head and body came together fills the buffer too: a
// second added field fails with 500 (HAProxy's internal error, for a
// response as well), and a small response has room for both.
func TestRewriteBufferRoomResponse(t *testing.T) {
	big := "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + strings.Repeat("r", 2000)
	s1 := newRawBackend(t, func(in []byte, sent int) (string, bool) {
		if strings.Contains(string(in), "GET /small") {
			return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", sent == 0
		}
		return big, sent == 0 && strings.Contains(string(in), "\r\n\r\n")
	})
	_, addr := startProxy(t, sub(`
global
    tune.bufsize 2048
    tune.maxrewrite 128
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    http-response set-header x-hdr1 V
    http-response set-header x-hdr2 V
    server s1 S1
`, "S1", s1.addr, "V", val60))
	if out := rawRequest(t, addr, "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second); statusOf(out) != 500 {
		t.Errorf("big response: client got %.80q, want 500", out)
	}
	out := rawRequest(t, addr, "GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
	if statusOf(out) != 200 || !strings.Contains(out, "x-hdr2: "+val60) {
		t.Errorf("small response: client got %q, want 200 with x-hdr2", out)
	}
}

func TestRewriteReserve(t *testing.T) {
	for _, c := range []struct{ bufsize, set, want int }{
		{16384, 0, 1024}, // HAProxy's default
		{2048, 128, 128},
		{2048, 1500, 1024}, // at most half the buffer
		{1024, 0, 512},
	} {
		g := model.Global{BufSize: c.bufsize, MaxRewrite: c.set}
		if got := rewriteReserve(g); got != c.want {
			t.Errorf("bufsize %d maxrewrite %d: reserve %d, want %d", c.bufsize, c.set, got, c.want)
		}
	}
}
