package acl_test

import (
	. "bulwark/internal/acl"
	"net/netip"
	"strings"
	"testing"

	"bulwark/internal/acl/acltest"
	"bulwark/internal/h1"
)

// TestMatchers runs one anonymous ACL per case against a fake request.
func TestMatchers(t *testing.T) {
	type tc struct {
		acl  string
		want bool
		mod  func(*acltest.Txn)
	}
	host := func(h string) func(*acltest.Txn) { return func(x *acltest.Txn) { x.Header("Host", h) } }
	path := func(p string) func(*acltest.Txn) { return func(x *acltest.Txn) { x.Tgt = p } }
	src := func(a string) func(*acltest.Txn) {
		return func(x *acltest.Txn) { x.SrcAddr = netip.AddrPortFrom(netip.MustParseAddr(a), 1234) }
	}
	cases := []tc{
		{"path_beg /api", true, path("/api/v1")},
		{"path_beg /api", true, path("/apix")}, // as HAProxy: a prefix, not a directory
		{"path_beg /api", false, path("/v1/api")},
		{"path_beg /API", false, path("/api")},
		{"path_beg -i /API", true, path("/api")},
		{"path_end .php", true, path("/x/index.php?a=b")},
		{"path_end .php", false, path("/x/index.php5")},
		{"path_sub admin", true, path("/x/admin/y")},
		{"path_reg ^/[0-9]+$", true, path("/123")},
		{"path_reg ^/[0-9]+$", false, path("/12a")},
		{"path_dir img", true, path("/static/img/a.png")},
		{"path_dir img", false, path("/static/imgs/a.png")},
		{"path_len 4", true, path("/abc?zz")},
		{"path_len gt 10", false, path("/abc")},
		{"path /exact", true, path("/exact?q=1")},
		{"path /exact", false, path("/exact/")},
		{"path -m beg /a /b", true, path("/b/c")},
		{"path -m found", true, path("/")},
		{"path -m str -- -dash", true, path("-dash")},
		{"path http://x", false, path("http://h/p")},
		{"path /p", true, path("http://h/p?x")},
		{"url http://h/p?x", true, path("http://h/p?x")},
		{"url_beg /", true, path("/a")},
		{"query a=1&b=2", true, path("/p?a=1&b=2")},
		{"query -m found", false, path("/p")},
		{"url_param(b) 2", true, path("/p?a=1&b=2")},
		{"url_param(c) -m found", false, path("/p?a=1&b=2")},
		{"url_param(a,;) 1", true, path("/p?a=1;b=2")},
		{"hdr(host) -m str example.com", true, host("example.com")},
		{"hdr(host) -i EXAMPLE.COM", true, host("Example.Com")},
		{"hdr(host) example.com", false, host("example.com:8080")},
		{"hdr_beg(host) www.", true, host("www.example.com")},
		{"hdr_end(host) .com", true, host("www.example.com")},
		{"hdr_sub(host) ample", true, host("www.example.com")},
		{"hdr_reg(host) ^www\\.", true, host("www.example.com")},
		{"hdr_dom(host) example.com", true, host("www.example.com")},
		{"hdr_dom(host) example.com", true, host("example.com:80")},
		{"hdr_dom(host) ample.com", false, host("www.example.com")},
		{"hdr_len(host) 11", true, host("example.com")},
		{"hdr_cnt(host) eq 2", true, func(x *acltest.Txn) { x.Header("Host", "a").Header("host", "b") }},
		{"hdr_cnt(x-list) 3", true, func(x *acltest.Txn) { x.Header("X-List", "a, b,c") }},
		{"hdr(x-list) b", true, func(x *acltest.Txn) { x.Header("X-List", "a, b,c") }},
		{"req.fhdr(x-list) b", false, func(x *acltest.Txn) { x.Header("X-List", "a, b,c") }},
		{"req.fhdr(x-list) -m str a,\\ b,c", true, func(x *acltest.Txn) { x.Header("X-List", "a, b,c") }},
		// A value a rule set with blanks around it is read without them.
		{"req.fhdr(x-s) -m str a\\ \\ b", true, func(x *acltest.Txn) { x.Header("X-S", " \ta  b \t") }},
		{"req.fhdr(x-s) -m len 0", true, func(x *acltest.Txn) { x.Header("X-S", "  ") }},
		{"hdr(x-a,1) one", true, func(x *acltest.Txn) { x.Header("X-A", "one").Header("X-A", "two") }},
		{"hdr(x-a,-1) two", true, func(x *acltest.Txn) { x.Header("X-A", "one").Header("X-A", "two") }},
		{"hdr(x-a,-1) one", false, func(x *acltest.Txn) { x.Header("X-A", "one").Header("X-A", "two") }},
		{"hdr_val(x-n) ge 10", true, func(x *acltest.Txn) { x.Header("X-N", "12") }},
		{"hdr_val(x-n) 5:9", false, func(x *acltest.Txn) { x.Header("X-N", "12") }},
		{"hdr_ip(x-forwarded-for) 10.0.0.0/8", true, func(x *acltest.Txn) { x.Header("X-Forwarded-For", "1.2.3.4, 10.1.2.3") }},
		{"req.hdr(host) -m found", false, nil},
		{"req.hdr_cnt(host) 0", true, nil},
		{"req.cook(sid) abc", true, func(x *acltest.Txn) { x.Header("Cookie", "a=1; sid=abc") }},
		{"req.cook(sid) -m found", false, func(x *acltest.Txn) { x.Header("Cookie", "a=1") }},
		{"req.cook_cnt(a) 2", true, func(x *acltest.Txn) { x.Header("Cookie", "a=1; a=2") }},
		{"method GET", true, nil},
		{"method get", false, nil},
		{"method -i get", true, nil},
		{"method POST PUT", false, nil},
		{"req.ver 1.1", true, nil},
		{"req.ver 1.0", false, nil},
		{"base example.com/a", true, func(x *acltest.Txn) { x.Header("Host", "example.com"); x.Tgt = "/a?b" }},
		{"src 192.0.2.10", true, nil},
		{"src 192.0.2.0/24", true, nil},
		{"src 192.0.2.0/255.255.255.0", true, nil},
		{"src 10.0.0.0/8 192.0.2.11", false, nil},
		{"src 10.12", true, src("10.0.0.12")},
		{"src 192.168.1/22", true, src("192.168.3.200")},
		{"src 192.168.1/22", false, src("192.168.4.1")},
		{"src 2001:db8::/32", true, src("2001:db8::1")},
		{"src 2001:db8::/32", false, src("2001:db9::1")},
		{"src ::ffff:192.0.2.0/120", true, src("192.0.2.77")}, // v4 sample, v6 pattern
		{"src ::ffff:0:0/96", true, src("192.0.2.77")},        // v4 sample, v6 pattern
		{"src 192.0.2.0/24", true, src("::ffff:192.0.2.5")},   // mapped
		{"src 192.0.2.0/24", true, src("::192.0.2.5")},        // compatible
		{"src 192.0.2.0/24", true, src("2002:c000:0205::1")},  // 6to4
		{"src 192.0.2.0/24", false, src("2001:db8::c000:205")},
		{"src -f testdata/nets.lst", true, src("10.0.0.99")},
		{"src -f testdata/nets.lst", true, src("192.168.1.5")},
		{"src -f testdata/nets.lst", false, src("192.168.1.6")},
		{"src_port 40000", true, nil},
		{"dst 10.0.0.1", true, nil},
		{"dst_port 80 443", true, nil},
		{"dst_port lt 80", false, nil},
		{"dst_port le 80", true, nil},
		{"dst_port gt 79", true, nil},
		{"dst_port ge 81", false, nil},
		{"dst_port eq 80", true, nil},
		{"dst_port 1:80", true, nil},
		{"dst_port 81:", false, nil},
		{"dst_port :80", true, nil},
		{"ssl_fc", false, nil},
		{"ssl_fc", true, func(x *acltest.Txn) { x.TLSOn = true }},
		{"ssl_fc_sni -i WWW.example.com", true, func(x *acltest.Txn) { x.TLSOn, x.SNI = true, "www.example.com" }},
		{"req.ssl_sni -m end .com", true, func(x *acltest.Txn) { x.TLSOn, x.SNI = true, "www.example.com" }},
		{"always_true", true, nil},
		{"always_false", false, nil},
		{"status 200", false, nil},
		{"status 200:299", true, func(x *acltest.Txn) { x.Code = 204 }},
		{"res.hdr(server) nginx", true, func(x *acltest.Txn) {
			x.Resp = []h1.Header{{Name: []byte("Server"), Value: []byte("nginx")}}
		}},
		{"var(txn.x) abc", true, func(x *acltest.Txn) { x.SetVar("txn.x", Sample{Kind: KindStr, B: []byte("abc")}) }},
		{"var(txn.n) -m int gt 3", true, func(x *acltest.Txn) { x.SetVar("txn.n", Sample{Kind: KindInt, I: 5}) }},
		{"var(txn.none) -m found", false, nil},
		{"path,lower /abc", true, path("/ABC")},
		{"hdr(host),upper -m str EXAMPLE.COM", true, host("example.com")},
		{"hdr(host),hex 4142", true, host("AB")},
		{"hdr(host),base64 QUI=", true, host("AB")},
		{"hdr(host),length 2", true, host("AB")},
		{"src,ipmask(24) 192.0.2.0", true, nil},
		{"src,ipmask(255.255.0.0) 192.0.0.0/16", true, nil},
		{"hdr(host),map(testdata/hosts.map) backend_b", true, host("api.example.com")},
		{"hdr(host),map(testdata/hosts.map,none) none", true, host("other.com")},
		{"hdr(host),map_str(testdata/hosts.map) -m found", false, host("other.com")},
		{"path,map_beg(testdata/prefix.map) 2", true, path("/static/img/x")},
		{"path,map_beg_int(testdata/prefix.map) eq 1", true, path("/static/css")},
		{"fe_conn gt 5", true, nil},
		// -m bin compares every byte of a binary sample, NULs included
		// (the LDAP and MySQL checks' reg tests match such payloads);
		// string methods stop at the first NUL.
		{"bin(300C0004008000) -m bin 300C0004008000", true, nil},
		{"bin(300C0004008000) -m bin 300C0004008001", false, nil},
		{"bin(41004200) -m str A", true, nil},
		{"bin(41004200) -m str A.B", false, nil},
	}
	for _, c := range cases {
		t.Run(c.acl, func(t *testing.T) {
			cond := mustCond(t, "", "if { "+c.acl+" }", Options{})
			tx := acltest.New()
			tx.Environment = acltest.Env{Servers: map[string]int{"app": 0}, BeConns: map[string]int{"app": 3}, FeConns: map[string]int{"": 9}}
			if c.mod != nil {
				c.mod(tx)
			}
			if got := match(t, cond, tx); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestPredefined(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*acltest.Txn)
		want bool
	}{
		{"TRUE", nil, true},
		{"FALSE", nil, false},
		{"HTTP", nil, true},
		{"HTTP_1.1", nil, true},
		{"HTTP_1.0", nil, false},
		{"HTTP_1.0", func(x *acltest.Txn) { x.Minor = 0 }, true},
		{"METH_GET", nil, true},
		{"METH_GET", func(x *acltest.Txn) { x.Meth = "HEAD" }, true},
		{"METH_GET", func(x *acltest.Txn) { x.Meth = "POST" }, false},
		{"METH_POST", func(x *acltest.Txn) { x.Meth = "POST" }, true},
		{"METH_TRACE", func(x *acltest.Txn) { x.Meth = "TRACE" }, true},
		{"METH_OPTIONS", nil, false},
		{"LOCALHOST", nil, false},
		{"LOCALHOST", func(x *acltest.Txn) { x.SrcAddr = netip.MustParseAddrPort("127.1.2.3:5") }, true},
		{"LOCALHOST", func(x *acltest.Txn) { x.SrcAddr = netip.MustParseAddrPort("[::1]:5") }, true},
		{"HTTP_URL_SLASH", nil, true},
		{"HTTP_URL_ABS", func(x *acltest.Txn) { x.Tgt = "http://a/b" }, true},
		{"HTTP_URL_ABS", nil, false},
		{"HTTP_URL_STAR", func(x *acltest.Txn) { x.Tgt = "*" }, true},
		{"HTTP_CONTENT", func(x *acltest.Txn) { x.Header("Content-Length", "3") }, true},
		{"HTTP_CONTENT", nil, false},
	}
	for _, c := range cases {
		cond := mustCond(t, "", "if "+c.name, Options{})
		tx := acltest.New()
		if c.mod != nil {
			c.mod(tx)
		}
		if got := match(t, cond, tx); got != c.want {
			t.Errorf("%s: got %v want %v", c.name, got, c.want)
		}
	}
}

// TestCondDNF checks "if A !B || C D" == (A and not B) or (C and D), named
// ACLs ORing their lines, and unless.
func TestCondDNF(t *testing.T) {
	acls := indent(
		"acl A hdr(x-a) 1",
		"acl B hdr(x-b) 1",
		"acl C hdr(x-c) 1",
		"acl D hdr(x-d) 1",
		"acl D hdr(x-d2) 1", // same name: ORed
	)
	cond := mustCond(t, acls, "if A !B || C D", Options{})
	unless := mustCond(t, acls, "unless A !B || C D", Options{})
	for mask := 0; mask < 32; mask++ {
		tx := acltest.New()
		set := func(bit int, h string) bool {
			if mask&(1<<bit) != 0 {
				tx.Header(h, "1")
				return true
			}
			return false
		}
		a, b, c := set(0, "X-A"), set(1, "X-B"), set(2, "X-C")
		d := set(3, "X-D")
		d = set(4, "X-D2") || d
		want := a && !b || c && d
		if got := match(t, cond, tx); got != want {
			t.Errorf("mask %05b: if got %v want %v", mask, got, want)
		}
		if got := match(t, unless, tx); got != !want {
			t.Errorf("mask %05b: unless got %v want %v", mask, got, !want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		acl, cond string
		line      int
		want      string
	}{
		{"acl x foo_bar 1", "if x", 4, "unknown fetch method 'foo_bar' in ACL expression 'foo_bar'"},
		{"", "if { nosuch(1) -m found }", 6, "unknown fetch method 'nosuch' in ACL expression 'nosuch(1)'"},
		{"acl x path_reg (a)\\1", "if x", 4, "regex '(a)\\1' is not supported"},
		{"acl x path_reg (?=x)", "if x", 4, "regex '(?=x)' is not supported"},
		{"acl x path -f testdata/missing.lst", "if x", 4, "failed to open pattern file 'testdata/missing.lst'"},
		{"acl x src 10.0.0.300", "if x", 4, "is not a valid IPv4 or IPv6 address"},
		{"acl x src -n some.host", "if x", 4, "is not a valid IPv4 or IPv6 address"},
		{"acl x dst_port gt", "if x", 4, "missing value after operator 'gt'"},
		{"acl x dst_port abc", "if x", 4, "'abc' is not a valid integer"},
		{"acl x path -x foo", "if x", 4, "'-x' is not a valid ACL option"},
		{"acl x path -m nope foo", "if x", 4, "unknown matching method 'nope'"},
		{"acl x hdr(a,b,c) x", "if x", 4, "expects 0 to 2 arguments"},
		{"acl x hdr(a", "if x", 4, "missing closing ')'"},
		{"acl x path,nope x", "if x", 4, "unknown converter 'nope'"},
		{"acl x sc_http_req_rate(5) gt 1", "if x", 4, "invalid stick counter '5'"},
		{"acl x src_conn_cur gt 1", "if x", 4, "no stick-table in this proxy"},
		{"acl x var(foo) x", "if x", 4, "invalid variable name 'foo'"},
		{"acl x path,map(testdata/none.map) x", "if x", 4, "failed to open pattern file"},
		{"acl x ssl_fc 1", "if x", 4, "'-m bool' takes no pattern"},
		{"acl x src -m beg 1", "if x", 0, ""}, // ip as string: allowed
	}
	for _, c := range cases {
		_, ds := condOf(t, indent(c.acl), c.cond, Options{})
		if c.want == "" {
			if ds.HasAlerts() {
				t.Errorf("%s: unexpected %v", c.acl, ds)
			}
			continue
		}
		if len(ds) == 0 {
			t.Errorf("%s %s: no error, want %q", c.acl, c.cond, c.want)
			continue
		}
		d := ds[0]
		if !strings.Contains(d.Msg, c.want) {
			t.Errorf("%s: got %q, want %q", c.acl, d.Msg, c.want)
		}
		if d.Pos.File != "test.cfg" || d.Pos.Line != c.line {
			t.Errorf("%s: position %s, want test.cfg:%d", c.acl, d.Pos, c.line)
		}
	}
}

func TestSampleLastOccurrence(t *testing.T) {
	_, _, s, _ := build(t, "frontend fe\n mode http\n bind :80\n", Options{})
	x, err := s.Expr("hdr(x-a)")
	if err != nil {
		t.Fatal(err)
	}
	tx := acltest.New().Header("X-A", "one").Header("X-A", "two, three")
	got, ok := x.Sample(NewEval(tx))
	if !ok || string(got.B) != "three" {
		t.Fatalf("got %q %v, want three", got.B, ok)
	}
	if _, err := s.Expr("nope"); err == nil || !strings.Contains(err.Error(), "unknown fetch method 'nope'") {
		t.Fatalf("err = %v", err)
	}
}
