package acl_test

import (
	"testing"

	. "bulwark/internal/acl"
	"bulwark/internal/acl/acltest"
)

// resTxn is a transaction holding the server's data as tcp-response
// content inspection sees it.
type resTxn struct {
	*acltest.Txn
	res []byte
}

func (t *resTxn) ResPayload() []byte { return t.res }

// eval3 evaluates cond on data: "pass", "fail" or "miss" (undecided
// while more data may come, only when partial).
func eval3(t *testing.T, cond string, data string, partial bool) string {
	t.Helper()
	c := mustCond(t, "", cond, Options{})
	e := NewEval(&resTxn{Txn: acltest.New(), res: []byte(data)})
	e.Partial = partial
	m := c.Match(e)
	switch {
	case e.Missed():
		if m {
			t.Fatalf("%s on %q: undecided but matched", cond, data)
		}
		return "miss"
	case m:
		return "pass"
	}
	return "fail"
}

// The response fetches read the server's buffer; a condition that could
// still change with more data is undecided while data may come, and
// decided on what is there once it may not (HAProxy's SMP_F_MAY_CHANGE
// and SMP_OPT_FINAL).
func TestResPayloadFetchesPartial(t *testing.T) {
	for _, tc := range []struct {
		cond, data   string
		partial, fin string
	}{
		// The whole buffer may grow: a failed match waits, a pass is final.
		{"if { res.payload(0,0) -m sub END }", "abc", "miss", "fail"},
		{"if { res.payload(0,0) -m sub END }", "abcEND", "pass", "pass"},
		// unless keeps an undecided condition undecided.
		{"unless { res.payload(0,0) -m sub END }", "abc", "miss", "pass"},
		{"unless { res.payload(0,0) -m sub END }", "xEND", "fail", "fail"},
		// A fixed block not received yet waits; once there it decides.
		{"if { res.payload(2,3) -m bin 636465 }", "abcd", "miss", "fail"},
		{"if { res.payload(2,3) -m bin 636465 }", "abcdef", "pass", "pass"},
		{"if { res.payload(2,3) -m bin 585858 }", "abcdef", "fail", "fail"},
		// Negation of an undecided ACL stays undecided; of a decided one
		// inverts.
		{"if ! { res.payload(0,2) -m str ab }", "a", "miss", "pass"},
		{"if ! { res.payload(0,2) -m str ab }", "ab", "fail", "fail"},
		// AND stops at the first term that is not a pass; OR takes any pass.
		{"if { res.len ge 1 } { res.payload(0,0) -m sub Z }", "ab", "miss", "fail"},
		{"if { res.len ge 9 } || { res.payload(0,1) -m str a }", "ab", "pass", "pass"},
		{"if { always_false } { res.payload(0,0) -m sub Z }", "ab", "fail", "fail"},
		// res.len is always liable to grow.
		{"if { res.len eq 0 }", "", "pass", "pass"},
		{"if { res.len gt 3 }", "ab", "miss", "fail"},
		// payload_lv: a 1-byte length at 0, the data after it.
		{"if { res.payload_lv(0,1) -m str hey }", "\x03he", "miss", "fail"},
		{"if { res.payload_lv(0,1) -m str hey }", "\x03hey!", "pass", "pass"},
		{"if { res.payload_lv(0,1) -m str hey }", "", "miss", "fail"},
	} {
		if got := eval3(t, tc.cond, tc.data, true); got != tc.partial {
			t.Errorf("%s on %q while data may come: %s, want %s", tc.cond, tc.data, got, tc.partial)
		}
		if got := eval3(t, tc.cond, tc.data, false); got != tc.fin {
			t.Errorf("%s on %q, final: %s, want %s", tc.cond, tc.data, got, tc.fin)
		}
	}
}

// res.ssl_hello_type reads the handshake type of a TLS record from the
// server: 2 for a ServerHello, undecided while the record is incomplete.
func TestResSSLHelloType(t *testing.T) {
	// A handshake record holding a 4-byte-header ServerHello stub.
	rec := "\x16\x03\x03\x00\x08\x02\x00\x00\x04abcd"
	for _, name := range []string{"res.ssl_hello_type", "rep_ssl_hello_type"} {
		if got := eval3(t, "if { "+name+" 2 }", rec, true); got != "pass" {
			t.Errorf("%s on a ServerHello: %s", name, got)
		}
		if got := eval3(t, "if { "+name+" 2 }", rec[:7], true); got != "miss" {
			t.Errorf("%s on a cut record: %s, want miss", name, got)
		}
		if got := eval3(t, "if { "+name+" 2 }", "HTTP/1.1 200 OK\r\n", true); got != "fail" {
			t.Errorf("%s on plain text: %s, want fail", name, got)
		}
	}
}

// The request-side fetches do not read the response buffer, nor the
// response ones the request's.
func TestResPayloadSides(t *testing.T) {
	c := mustCond(t, "", "if { req.payload(0,1) -m found }", Options{})
	if c.Match(NewEval(&resTxn{Txn: acltest.New(), res: []byte("abc")})) {
		t.Error("req.payload read the response buffer")
	}
	c = mustCond(t, "", "if { res.payload(0,1) -m found }", Options{})
	if c.Match(NewEval(acltest.New())) {
		t.Error("res.payload matched without a response buffer")
	}
}
