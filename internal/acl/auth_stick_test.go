package acl_test

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"testing"

	. "bulwark/internal/acl"
	"bulwark/internal/acl/acltest"
	"bulwark/internal/stick"

	"golang.org/x/crypto/bcrypt"
)

func TestHTTPAuth(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte("bpass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("userlist L\n group admins users alice\n group ops\n"+
		" user alice insecure-password apass\n"+
		" user bob password $5$abcdefgh$gruCpC7VkOTspMQTTSAR8mtlO9Upms.fwqE5y16JVM. groups ops\n"+
		" user carol password %s\n"+
		"frontend fe\n mode http\n bind :80\n"+
		" acl ok http_auth(L)\n acl adm http_auth_group(L) admins\n acl op http_auth_group(L) ops\n"+
		" http-request deny if ok\n http-request deny if adm\n http-request deny if op\n", bc)
	_, p, s, ds := build(t, text, Options{})
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	_ = p
	cases := []struct {
		user, pass       string
		ok, admin, inOps bool
	}{
		{"alice", "apass", true, true, false},
		{"alice", "wrong", false, false, false},
		{"bob", "secret", true, false, true},
		{"bob", "Secret", false, false, false},
		{"carol", "bpass", true, false, false},
		{"carol", "bpas", false, false, false},
		{"nobody", "x", false, false, false},
	}
	for _, c := range cases {
		tx := acltest.New().Header("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.user+":"+c.pass)))
		e := NewEval(tx)
		got := [3]bool{s.ACL("ok").Match(e), s.ACL("adm").Match(e), s.ACL("op").Match(e)}
		if got != [3]bool{c.ok, c.admin, c.inOps} {
			t.Errorf("%s:%s: got %v", c.user, c.pass, got)
		}
	}
	if s.ACL("ok").Match(NewEval(acltest.New().Header("Authorization", "Basic !!!"))) {
		t.Error("garbage credentials accepted")
	}
}

func TestStickFetches(t *testing.T) {
	spec, err := stick.ParseTableSpec([]string{"type", "ip", "size", "100", "store", "http_req_rate(10s),http_req_cnt,gpc0,conn_cur"})
	if err != nil {
		t.Fatal(err)
	}
	tbl := stick.New("fe", spec)
	other := stick.New("other", spec)
	opt := testOpts(map[string]*stick.Table{"fe": tbl, "other": other})
	cfg := indent("stick-table type ip size 100 store http_req_rate(10s),http_req_cnt,gpc0,conn_cur")
	src := netip.MustParseAddr("192.0.2.10")
	ref, err := tbl.Track(stick.AddrKey(src), 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 7 {
		ref.IncHTTPReq(0)
	}
	cases := []struct {
		acl     string
		tracked bool
		want    bool
	}{
		{"sc_http_req_rate(0) eq 7", true, true},
		{"sc0_http_req_rate gt 6", true, true},
		{"sc_http_req_rate(0) -m found", false, false},
		{"sc_http_req_rate(1) -m found", true, false},
		{"sc0_http_req_cnt 7", true, true},
		{"sc0_conn_cur 1", true, true},
		{"sc0_http_err_rate -m found", true, false}, // not stored: no match
		{"sc0_tracked", true, true},
		{"sc1_tracked", true, false},
		{"sc0_trackers 1", true, true},
		{"src_http_req_cnt 7", false, true},
		{"src_conn_cnt -m found", false, false},
		{"src,table_http_req_cnt(fe) 7", false, true},
		{"src,table_gpc0(fe) 0", false, true},
		{"src,table_http_req_rate(fe) 7", false, true},
		{"hdr(x-ip),table_http_req_cnt(fe) 7", false, true},
	}
	for _, c := range cases {
		cond := mustCond(t, cfg, "if { "+c.acl+" }", opt)
		tx := acltest.New().Header("X-IP", "192.0.2.10")
		if c.tracked {
			tx.Slots[0] = ref
		}
		if got := match(t, cond, tx); got != c.want {
			t.Errorf("%s (tracked %v): got %v want %v", c.acl, c.tracked, got, c.want)
		}
	}
	// src_inc_gpc0 creates and increments.
	cond := mustCond(t, cfg, "if { src_inc_gpc0 2 }", opt)
	tx := acltest.New()
	match(t, cond, tx)
	if !match(t, cond, tx) {
		t.Error("src_inc_gpc0 did not reach 2")
	}
}

// The array fetches and converters read and update one element each;
// gpc0/gpc1/gpt0 read the arrays' first elements when only the arrays
// are stored; an element past the array gives no sample.
func TestStickArrayFetches(t *testing.T) {
	const store = "gpc(3),gpc_rate(2,10s),gpt(2)"
	spec, err := stick.ParseTableSpec([]string{"type", "ip", "size", "100", "store", store})
	if err != nil {
		t.Fatal(err)
	}
	tbl := stick.New("fe", spec)
	opt := testOpts(map[string]*stick.Table{"fe": tbl})
	cfg := indent("stick-table type ip size 100 store " + store)
	src := netip.MustParseAddr("192.0.2.10")
	ref, err := tbl.Track(stick.AddrKey(src), 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		ref.IncGPC(1, 0)
	}
	ref.IncGPC(2, 0)
	ref.SetGPT(1, 9)
	cases := []struct {
		acl     string
		tracked bool
		want    bool
	}{
		{"sc_get_gpc(1,0) eq 4", true, true},
		{"sc_get_gpc(2,0,fe) eq 1", true, true},
		{"sc_get_gpc(0,0) eq 0", true, true},
		{"sc_get_gpc(3,0) -m found", true, false}, // past the array
		{"sc_get_gpc(-1,0) -m found", true, false},
		{"sc_get_gpc(1,1) -m found", true, false}, // slot 1 not tracked
		{"sc_gpc_rate(1,0) eq 4", true, true},
		{"sc_gpc_rate(2,0) -m found", true, false}, // gpc_rate has 2 elements
		{"sc_get_gpt(1,0) eq 9", true, true},
		{"sc_get_gpc1(0) eq 4", true, true}, // legacy name on the array
		{"sc0_get_gpc1 eq 4", true, true},
		{"sc0_gpc1_rate eq 4", true, true},
		{"sc0_get_gpt0 eq 0", true, true},
		{"src_get_gpc(1,fe) eq 4", false, true},
		{"src_gpc_rate(1,fe) eq 4", false, true},
		{"src_get_gpt(1,fe) eq 9", false, true},
		{"src,table_gpc(1,fe) eq 4", false, true},
		{"src,table_gpc_rate(1,fe) eq 4", false, true},
		{"src,table_gpt(1,fe) eq 9", false, true},
		{"src,table_gpc1(fe) eq 4", false, true},
		{"src,table_gpc(5,fe) -m found", false, false},
		{"hdr(x-ip),table_gpc(0,fe) eq 0", false, true},
	}
	for _, c := range cases {
		cond := mustCond(t, cfg, "if { "+c.acl+" }", opt)
		tx := acltest.New().Header("X-IP", "203.0.113.9")
		if c.tracked {
			tx.Slots[0] = ref
		}
		if got := match(t, cond, tx); got != c.want {
			t.Errorf("%s (tracked %v): got %v want %v", c.acl, c.tracked, got, c.want)
		}
	}
	// sc_inc_gpc answers the new count, sc_clr_gpc the old one.
	tx := acltest.New()
	tx.Slots[0] = ref
	if !match(t, mustCond(t, cfg, "if { sc_inc_gpc(1,0) 5 }", opt), tx) {
		t.Error("sc_inc_gpc(1,0) did not answer 5")
	}
	if !match(t, mustCond(t, cfg, "if { sc_clr_gpc(1,0) 5 }", opt), tx) {
		t.Error("sc_clr_gpc(1,0) did not answer 5")
	}
	if v, _ := ref.GetElem(stick.DTGPC, 1, 0); v != 0 {
		t.Errorf("gpc1 after sc_clr_gpc = %d", v)
	}
	// src_inc_gpc creates the entry for another source.
	cond := mustCond(t, cfg, "if { src_inc_gpc(2,fe) 2 }", opt)
	tx = acltest.New()
	tx.SrcAddr = netip.MustParseAddrPort("198.51.100.1:1234")
	match(t, cond, tx)
	if !match(t, cond, tx) {
		t.Error("src_inc_gpc(2,fe) did not reach 2")
	}
	for _, bad := range []string{
		"sc_get_gpc(1) -m found",    // ctr missing
		"sc_get_gpc(x,0) -m found",  // index not a number
		"sc_get_gpc(0,3) -m found",  // no slot 3
		"src_get_gpc(0) -m found",   // the table is mandatory
		"src,table_gpc(0) -m found", // here too
		"sc0_get_gpc -m found",      // no sc<N>_ form in 2.6
	} {
		if _, ds := condOf(t, cfg, "if { "+bad+" }", opt); !ds.HasAlerts() {
			t.Errorf("%s: accepted", bad)
		}
	}
}
