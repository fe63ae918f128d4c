package rules_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"bulwark/internal/h1"
	"bulwark/internal/rules"
	"bulwark/internal/stick"
)

const head = "frontend fe\n mode http\n bind :80\n"

func TestActions(t *testing.T) {
	type tc struct {
		name  string
		lines string
		mod   func(*txn)
		check func(t *testing.T, r rules.Result, tx *txn)
	}
	verdict := func(v rules.Verdict, status int) func(*testing.T, rules.Result, *txn) {
		return func(t *testing.T, r rules.Result, tx *txn) {
			if r.Verdict != v || r.Status != status {
				t.Fatalf("got %v %d, want %v %d", r.Verdict, r.Status, v, status)
			}
		}
	}
	cases := []tc{
		{"allow stops", " http-request allow\n http-request deny\n", nil, verdict(rules.Allow, 0)},
		{"deny default", " http-request deny\n", nil, func(t *testing.T, r rules.Result, _ *txn) {
			if r.Verdict != rules.Deny || r.Status != 403 || !r.Errorfile {
				t.Fatalf("%+v", r)
			}
		}},
		{"deny status", " http-request deny deny_status 429\n", nil, verdict(rules.Deny, 429)},
		{"deny body", " http-request deny status 403 content-type text/plain string nope hdr X-Why %[method]\n", nil,
			func(t *testing.T, r rules.Result, _ *txn) {
				if string(r.Body) != "nope" || r.ContentType != "text/plain" || r.Errorfile ||
					len(r.Headers) != 1 || string(r.Headers[0].Value) != "GET" {
					t.Fatalf("%+v", r)
				}
			}},
		{"tarpit", " http-request tarpit\n", nil, verdict(rules.Tarpit, 500)},
		{"auth", " http-request auth realm Admins\n", nil, func(t *testing.T, r rules.Result, _ *txn) {
			if r.Verdict != rules.Auth || r.Status != 401 || r.Realm != "Admins" {
				t.Fatalf("%+v", r)
			}
		}},
		{"return lf-string", " http-request return status 200 content-type text/plain lf-string \"hi %[src] 100%%\"\n", nil,
			func(t *testing.T, r rules.Result, _ *txn) {
				if r.Verdict != rules.Return || string(r.Body) != "hi 192.0.2.10 100%" {
					t.Fatalf("%+v %q", r, r.Body)
				}
			}},
		{"return dummy", " http-request return status 204\n", nil, func(t *testing.T, r rules.Result, _ *txn) {
			if r.Verdict != rules.Return || r.Status != 204 || r.Errorfile || r.Body != nil {
				t.Fatalf("%+v", r)
			}
		}},
		{"conditions skip", " http-request deny if { path /x }\n http-request return status 200\n", nil, verdict(rules.Return, 200)},
		{"set-header replaces", " http-request set-header X-A new-%[req.ver]\n", func(tx *txn) { tx.Header("X-A", "old").Header("x-a", "old2") },
			func(t *testing.T, r rules.Result, tx *txn) {
				if r.Verdict != rules.Continue || fmt.Sprint(hdr(tx.Req, "X-A"), hdr(tx.Req, "x-a")) != "[new-1.1] []" {
					t.Fatalf("%+v %v", r, tx.Req)
				}
			}},
		{"add-header appends", " http-request add-header X-A two\n", func(tx *txn) { tx.Header("X-A", "one") },
			func(t *testing.T, r rules.Result, tx *txn) {
				if fmt.Sprint(hdr(tx.Req, "X-A")) != "[one two]" {
					t.Fatalf("%v", tx.Req)
				}
			}},
		{"del-header", " http-request del-header x-a\n", func(tx *txn) { tx.Header("X-A", "1").Header("X-B", "2") },
			func(t *testing.T, r rules.Result, tx *txn) {
				if len(tx.Req) != 1 || string(tx.Req[0].Name) != "X-B" {
					t.Fatalf("%v", tx.Req)
				}
			}},
		{"del-header -m beg", " http-request del-header x- -m beg\n", func(tx *txn) { tx.Header("X-A", "1").Header("Y", "2").Header("x-c", "3") },
			func(t *testing.T, r rules.Result, tx *txn) {
				if len(tx.Req) != 1 || string(tx.Req[0].Name) != "Y" {
					t.Fatalf("%v", tx.Req)
				}
			}},
		{"replace-header", ` http-request replace-header Host ^(.*)\.old\.com$ \1.new.com` + "\n", func(tx *txn) { tx.Header("Host", "www.old.com") },
			func(t *testing.T, r rules.Result, tx *txn) {
				if fmt.Sprint(hdr(tx.Req, "Host")) != "[www.new.com]" {
					t.Fatalf("%v", tx.Req)
				}
			}},
		{"replace-value", ` http-request replace-value X-L ^a(.)$ b\1` + "\n", func(tx *txn) { tx.Header("X-L", "a1, c, a2") },
			func(t *testing.T, r rules.Result, tx *txn) {
				if fmt.Sprint(hdr(tx.Req, "X-L")) != "[b1, c, b2]" {
					t.Fatalf("%v", tx.Req)
				}
			}},
		{"set-path keeps query", " http-request set-path /new%[path]\n", func(tx *txn) { tx.Tgt = "/a?x=1" },
			func(t *testing.T, r rules.Result, tx *txn) {
				if tx.Tgt != "/new/a?x=1" {
					t.Fatal(tx.Tgt)
				}
			}},
		{"set-query", " http-request set-query y=2\n", func(tx *txn) { tx.Tgt = "/a?x=1" },
			func(t *testing.T, r rules.Result, tx *txn) {
				if tx.Tgt != "/a?y=2" {
					t.Fatal(tx.Tgt)
				}
			}},
		{"set-uri", " http-request set-uri /z\n", nil, func(t *testing.T, r rules.Result, tx *txn) {
			if tx.Tgt != "/z" {
				t.Fatal(tx.Tgt)
			}
		}},
		{"replace-path", ` http-request replace-path ^/api/(.*) /\1` + "\n", func(tx *txn) { tx.Tgt = "http://h/api/v1?q" },
			func(t *testing.T, r rules.Result, tx *txn) {
				if tx.Tgt != "http://h/v1?q" {
					t.Fatal(tx.Tgt)
				}
			}},
		// replace-pathq sees the query string too: the pattern anchors on it.
		{"replace-pathq", ` http-request replace-pathq ^/old\?id=([0-9]+)$ /new/\1?v=2` + "\n", func(tx *txn) { tx.Tgt = "http://h/old?id=42" },
			func(t *testing.T, r rules.Result, tx *txn) {
				if tx.Tgt != "http://h/new/42?v=2" {
					t.Fatal(tx.Tgt)
				}
			}},
		{"replace-pathq no match", ` http-request replace-pathq ^/old$ /new` + "\n", func(tx *txn) { tx.Tgt = "/old?id=1" },
			func(t *testing.T, r rules.Result, tx *txn) {
				if tx.Tgt != "/old?id=1" {
					t.Fatal(tx.Tgt)
				}
			}},
		{"set-pathq", " http-request set-pathq /b?y=2\n", func(tx *txn) { tx.Tgt = "/a?x=1" },
			func(t *testing.T, r rules.Result, tx *txn) {
				if tx.Tgt != "/b?y=2" {
					t.Fatal(tx.Tgt)
				}
			}},
		{"set-var-fmt then acl", " http-request set-var-fmt(txn.m) %[method]-x\n http-request deny if { var(txn.m) GET-x }\n", nil, verdict(rules.Deny, 403)},
		{"unset-var clears", " http-request set-var(txn.m) method\n http-request unset-var(txn.m)\n http-request deny if { var(txn.m) GET }\n", nil, verdict(rules.Continue, 0)},
		{"set-var then acl", " http-request set-var(txn.m) method\n http-request deny if { var(txn.m) GET }\n", nil, verdict(rules.Deny, 403)},
		{"set-log-level", " http-request set-log-level silent\n", nil, func(t *testing.T, r rules.Result, tx *txn) {
			if tx.level != "silent" {
				t.Fatal(tx.level)
			}
		}},
		{"capture", " http-request capture hdr(host) len 3\n", func(tx *txn) { tx.Header("Host", "example") },
			func(t *testing.T, r rules.Result, tx *txn) {
				if tx.captures[0] != "exa" {
					t.Fatal(tx.captures)
				}
			}},
		{"redirect scheme", " http-request redirect scheme https code 301 unless { ssl_fc }\n", func(tx *txn) { tx.Header("Host", "ex.com"); tx.Tgt = "/a?b" },
			func(t *testing.T, r rules.Result, tx *txn) {
				if r.Verdict != rules.Redirect || r.Status != 301 || string(r.Location) != "https://ex.com/a?b" {
					t.Fatalf("%+v %s", r, r.Location)
				}
			}},
		{"redirect prefix drop-query append-slash", " http-request redirect prefix https://x.com drop-query append-slash\n", func(tx *txn) { tx.Tgt = "/a?b" },
			func(t *testing.T, r rules.Result, tx *txn) {
				if r.Status != 302 || string(r.Location) != "https://x.com/a/" {
					t.Fatalf("%+v %s", r, r.Location)
				}
			}},
		{"redirect location", " http-request redirect location /login?from=%[path] code 303 set-cookie SEEN=1\n", func(tx *txn) { tx.Tgt = "/p" },
			func(t *testing.T, r rules.Result, tx *txn) {
				if r.Status != 303 || string(r.Location) != "/login?from=/p" || len(r.Headers) != 1 || string(r.Headers[0].Value) != "SEEN=1; path=/" {
					t.Fatalf("%+v %s", r, r.Location)
				}
			}},
		{"defaults rules first", "", nil, nil},
	}
	for _, c := range cases {
		if c.check == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			ev := mustSetup(t, head+c.lines)
			tx := newTxn()
			if c.mod != nil {
				c.mod(tx)
			}
			c.check(t, run(ev.req, tx), tx)
		})
	}
}

func TestResponseActions(t *testing.T) {
	ev := mustSetup(t, head+
		" http-response set-header Strict-Transport-Security \"max-age=63072000\"\n"+
		" http-response set-header X-Frame-Options DENY\n"+
		" http-response add-header X-Content-Type-Options nosniff\n"+
		" http-response del-header Server\n"+
		" http-response replace-header Via ^1\\.1\\ (.*)$ proxied-by-\\1\n"+
		" http-response set-status 299 reason Fine if { status 200 }\n"+
		" http-response deny if { res.hdr(x-leak) -m found }\n")
	tx := newTxn()
	tx.Code = 200
	tx.Resp = []h1.Header{{Name: []byte("Server"), Value: []byte("nginx")}, {Name: []byte("Via"), Value: []byte("1.1 cache")}}
	r := run(ev.resp, tx)
	if r.Verdict != rules.Continue {
		t.Fatalf("%+v", r)
	}
	want := map[string]string{"Strict-Transport-Security": "max-age=63072000", "X-Frame-Options": "DENY",
		"X-Content-Type-Options": "nosniff", "Via": "proxied-by-cache"}
	for k, v := range want {
		if got := hdr(tx.Resp, k); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %v, want %s", k, got, v)
		}
	}
	if len(hdr(tx.Resp, "Server")) != 0 || tx.Code != 299 || tx.reason != "Fine" {
		t.Errorf("server %v, status %d %q", hdr(tx.Resp, "Server"), tx.Code, tx.reason)
	}
	tx2 := newTxn()
	tx2.Code = 200
	tx2.Resp = []h1.Header{{Name: []byte("X-Leak"), Value: []byte("1")}}
	if r := run(ev.resp, tx2); r.Verdict != rules.Deny || r.Status != 502 {
		t.Fatalf("%+v", r)
	}
}

// TestInjectionRefused: values rendered from request data that contain
// CR, LF or NUL are never set; the rule fails with 500 (502 for responses).
func TestInjectionRefused(t *testing.T) {
	ev := mustSetup(t, head+
		" http-request set-header X-Echo %[url_param(v)]\n"+
		" http-request redirect location %[url_param(to)] if { url_param(to) -m found }\n"+
		" http-response add-header X-Echo %[var(txn.v)]\n")
	for _, bad := range []string{"a\r\nSet-Cookie: x=1", "a\nb", "a\x00b", "a\rb"} {
		tx := newTxn()
		tx.Tgt = "/?v=" + bad
		r := run(ev.req, tx)
		if r.Verdict != rules.Error || r.Status != 500 || len(hdr(tx.Req, "X-Echo")) != 0 {
			t.Errorf("%q: %+v %v", bad, r, tx.Req)
		}
		tx = newTxn()
		tx.Tgt = "/?v=ok&to=" + bad
		if r := run(ev.req, tx); r.Verdict != rules.Error {
			t.Errorf("redirect %q: %+v", bad, r)
		}
		tx = newTxn()
		tx.Code = 200
		tx.SetVar("txn.v", accept(bad))
		if r := run(ev.resp, tx); r.Verdict != rules.Error || r.Status != 502 || len(tx.Resp) != 0 {
			t.Errorf("response %q: %+v", bad, r)
		}
	}
	tx := newTxn()
	tx.Tgt = "/?v=fine"
	if r := run(ev.req, tx); r.Verdict != rules.Continue || hdr(tx.Req, "X-Echo")[0] != "fine" {
		t.Errorf("%+v", r)
	}
}

func TestSeedPatterns(t *testing.T) {
	t.Run("trace", func(t *testing.T) {
		ev := mustSetup(t, head+" http-request deny if { method TRACE }\n")
		tx := newTxn()
		if r := run(ev.req, tx); r.Verdict != rules.Continue {
			t.Fatalf("GET: %+v", r)
		}
		tx.Meth = "TRACE"
		if r := run(ev.req, tx); r.Verdict != rules.Deny || r.Status != 403 {
			t.Fatalf("TRACE: %+v", r)
		}
	})
	t.Run("admin_net", func(t *testing.T) {
		ev := mustSetup(t, head+" acl admin_net src 10.0.0.0/24\n http-request deny unless admin_net\n")
		tx := newTxn()
		if r := run(ev.req, tx); r.Verdict != rules.Deny {
			t.Fatalf("outsider: %+v", r)
		}
		tx.SrcAddr = netip.MustParseAddrPort("10.0.0.7:1")
		if r := run(ev.req, tx); r.Verdict != rules.Continue {
			t.Fatalf("admin: %+v", r)
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		ev := mustSetup(t, head+
			" stick-table type ip size 1m expire 10m store http_req_rate(10s)\n"+
			" http-request track-sc0 src\n"+
			" http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100 }\n")
		for i := 1; i <= 105; i++ {
			tx := newTxn()
			tx.Clock = int64(i)
			r := run(ev.req, tx)
			if (i > 100) != (r.Verdict == rules.Deny) || r.Verdict == rules.Deny && r.Status != 429 {
				t.Fatalf("request %d: %+v", i, r)
			}
			ref := tx.Slots[0]
			ref.Release(tx.Clock)
		}
		// Another source is not limited.
		tx := newTxn()
		tx.SrcAddr = netip.MustParseAddrPort("192.0.2.99:1")
		if r := run(ev.req, tx); r.Verdict != rules.Continue {
			t.Fatalf("other source: %+v", r)
		}
	})
	t.Run("security headers", func(t *testing.T) {
		ev := mustSetup(t, head+" http-response set-header X-Frame-Options SAMEORIGIN\n http-response set-header X-Content-Type-Options nosniff\n")
		tx := newTxn()
		tx.Code = 200
		tx.Resp = []h1.Header{{Name: []byte("x-frame-options"), Value: []byte("ALLOWALL")}}
		run(ev.resp, tx)
		if fmt.Sprint(hdr(tx.Resp, "X-Frame-Options"), hdr(tx.Resp, "x-frame-options"), hdr(tx.Resp, "X-Content-Type-Options")) != "[SAMEORIGIN] [] [nosniff]" {
			t.Fatalf("%v", tx.Resp)
		}
	})
}

func TestTCPAndTracking(t *testing.T) {
	ev := mustSetup(t, "frontend fe\n mode tcp\n bind :80\n stick-table type ip size 10 store conn_cur,gpc0\n"+
		" tcp-request connection track-sc1 src\n"+
		" tcp-request connection reject if { sc1_get_gpc0 gt 0 }\n"+
		" tcp-request connection accept if { src 10.0.0.0/8 }\n"+
		" tcp-request connection reject\n")
	tx := newTxn()
	if r := run(ev.tcp, tx); r.Verdict != rules.Reject {
		t.Fatalf("%+v", r)
	}
	if v, ok := tx.Slots[1].Get(0+6, 0); !ok || v != 1 { // DTConnCur
		t.Fatalf("conn_cur %d %v", v, ok)
	}
	tx = newTxn()
	tx.SrcAddr = netip.MustParseAddrPort("10.1.1.1:1")
	if r := run(ev.tcp, tx); r.Verdict != rules.Accept {
		t.Fatalf("%+v", r)
	}
	tx.Slots[1].IncGPC0(0)
	tx2 := newTxn()
	tx2.SrcAddr = tx.SrcAddr
	if r := run(ev.tcp, tx2); r.Verdict != rules.Reject {
		t.Fatalf("after gpc0: %+v", r)
	}
}

// sc-inc-gpc and sc-set-gpt update one element of the tracked entry's
// arrays; an index past the array does nothing.
func TestArrayActions(t *testing.T) {
	ev := mustSetup(t, head+" stick-table type ip size 10 store gpc(2),gpc_rate(2,10s),gpt(3)\n"+
		" http-request track-sc1 src\n"+
		" http-request sc-inc-gpc(1,1)\n"+
		" http-request sc-inc-gpc(1,1)\n"+
		" http-request sc-inc-gpc(7,1)\n"+
		" http-request sc-inc-gpc(-1,1)\n"+
		" http-request sc-set-gpt(2,1) 11\n"+
		" http-request sc-set-gpt(0,1) int(5)\n"+
		" http-request sc-set-gpt(9,1) 1\n"+
		" http-request sc-inc-gpc0(1)\n")
	tx := newTxn()
	run(ev.req, tx)
	r := tx.Slots[1]
	for _, c := range []struct {
		dt   stick.DataType
		idx  int
		want uint64
	}{
		{stick.DTGPC, 0, 1}, {stick.DTGPC, 1, 2}, {stick.DTGPCRate, 1, 2}, {stick.DTGPCRate, 0, 1},
		{stick.DTGPT, 0, 5}, {stick.DTGPT, 1, 0}, {stick.DTGPT, 2, 11},
	} {
		if v, ok := r.GetElem(c.dt, c.idx, 0); !ok || v != c.want {
			t.Errorf("%s[%d] = %d,%v; want %d", c.dt, c.idx, v, ok, c.want)
		}
	}
}

func TestFirstTrackWins(t *testing.T) {
	ev := mustSetup(t, head+" stick-table type string size 10 store http_req_cnt\n"+
		" http-request track-sc0 hdr(x-a)\n http-request track-sc0 hdr(x-b)\n"+
		" http-request sc-inc-gpc0(0)\n")
	tx := newTxn()
	tx.Header("X-A", "a").Header("X-B", "b")
	run(ev.req, tx)
	if n := ev.tables["fe"].Used(); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ lines, want string }{
		{" http-request set-header Bad:Name x\n", "invalid header name"},
		{" http-request set-header X %[nope]\n", "unknown fetch method 'nope'"},
		{" http-request set-header X %ci\n", "log-format variable '%ci' is not supported"},
		{" http-request deny deny_status 99\n", "invalid status code"},
		{" http-request return status 200 string x\n", "requires 'content-type'"},
		{" http-request return status 200 content-type t file /nonexistent/x\n", "failed to read"},
		{" http-request redirect scheme https code 305\n", "unsupported HTTP code '305'"},
		{" http-request replace-path (?<=a)b x\n", "regex '(?<=a)b' is not supported"},
		{" http-request deny if { path_reg (a)\\1 }\n", "regex '(a)\\1' is not supported"},
		{" http-request set-var(bad) src\n", "invalid variable name"},
		{" http-response set-status 42\n", "invalid status code"},
		{" http-request sc-inc-gpc(1)\n", "missing gpc ID"},
		{" http-request sc-inc-gpc(x,0)\n", "missing gpc ID"},
		{" http-request sc-inc-gpc(1,3)\n", "invalid stick counter '3'"},
		{" http-request sc-inc-gpc(1,0) extra\n", "unexpected argument 'extra'"},
		{" http-request sc-set-gpt(1,0)\n", "expects exactly 1 argument"},
		{" http-request sc-set-gpt(0,x) 1\n", "invalid stick counter 'x'"},
		{" http-request capture hdr(x) id 0\n", "unable to find capture id '0'"},
		{" declare capture request len 2\n http-request capture hdr(x) id 1\n", "unable to find capture id '1'"},
		{" declare capture response len 2\n http-request capture hdr(x) id 0\n", "unable to find capture id '0'"},
		{" http-request capture hdr(x) len 0\n", "length must be > 0"},
	}
	for _, c := range cases {
		_, ds := setup(t, head+c.lines)
		found := false
		for _, d := range ds {
			if strings.Contains(d.Msg, c.want) && d.Pos.File == "test.cfg" && d.Pos.Line >= 4 {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: got %v, want %q with test.cfg:4", c.lines, ds, c.want)
		}
	}
}

// set-status without "reason" writes HAProxy 2.6's phrase for the code,
// or for its class (Debian's 2.6.12 on loopback: "404 Not Found", "299
// Success", "777 Other", "502 Bad Gateway or Proxy Error").
func TestSetStatusDefaultReason(t *testing.T) {
	for code, want := range map[int]string{404: "Not Found", 299: "Success", 777: "Other", 200: "OK",
		502: "Bad Gateway or Proxy Error", 199: "Informational", 399: "Redirection", 499: "client has closed connection", 498: "Client Error", 599: "Server Error"} {
		ev := mustSetup(t, head+fmt.Sprintf(" http-response set-status %d\n", code))
		tx := newTxn()
		tx.Code = 200
		run(ev.resp, tx)
		if tx.Code != code || tx.reason != want {
			t.Errorf("set-status %d: %d %q, want reason %q", code, tx.Code, tx.reason, want)
		}
	}
}
