package acl_test

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"

	. "bulwark/internal/acl"
	"bulwark/internal/acl/acltest"
)

// reqTxn is a transaction holding the client's data as tcp-request
// content inspection sees it.
type reqTxn struct {
	*acltest.Txn
	req []byte
}

func (t *reqTxn) ReqPayload() []byte { return t.req }

// firstWrite is a connection that keeps what its first Write carried and
// fails it, so that a TLS client stops after sending its hello.
type firstWrite struct {
	net.Conn
	b []byte
}

func (c *firstWrite) Write(p []byte) (int, error) {
	c.b = append(c.b, p...)
	return 0, errors.New("hello kept")
}

// goHelloRecord is the record holding a ClientHello of crypto/tls with
// cfg.
func goHelloRecord(t *testing.T, cfg *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &firstWrite{Conn: a}
	tls.Client(c, cfg).Handshake()
	if len(c.b) < 5 {
		t.Fatal("no hello written")
	}
	return c.b
}

// The req.ssl_* fetches read the ClientHello of a whole handshake record
// in the request buffer: its record version, the ALPN names, whether it
// has supported_groups, and an (empty) SessionTicket extension; a cut
// record leaves them undecided while more may come.
func TestReqSSLHello(t *testing.T) {
	rec := goHelloRecord(t, &tls.Config{ServerName: "x.test", NextProtos: []string{"h2", "http/1.1"},
		ClientSessionCache: tls.NewLRUClientSessionCache(1)})
	plain := goHelloRecord(t, &tls.Config{ServerName: "x.test"})
	eval := func(cond string, data []byte, partial bool) string {
		t.Helper()
		c := mustCond(t, "", cond, Options{})
		e := NewEval(&reqTxn{Txn: acltest.New(), req: data})
		e.Partial = partial
		m := c.Match(e)
		switch {
		case e.Missed():
			return "miss"
		case m:
			return "pass"
		}
		return "fail"
	}
	for _, tc := range []struct{ cond, want string }{
		{"if { req.ssl_hello_type 1 }", "pass"},
		{"if { req_ssl_hello_type 1 }", "pass"},
		{"if { req.ssl_ver 196609 }", "pass"}, // 3<<16 | 1: crypto/tls's record version
		{"if { req_ssl_ver 196609 }", "pass"},
		{"if { req.ssl_alpn h2 }", "pass"},
		{"if { req.ssl_alpn http/1.1 }", "pass"},
		{"if { req.ssl_alpn spdy/3 }", "fail"},
		{"if { req.ssl_ec_ext }", "pass"},
		{"if { req.ssl_st_ext 1 }", "pass"},
	} {
		if got := eval(tc.cond, rec, true); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.cond, got, tc.want)
		}
	}
	if got := eval("if { req.ssl_hello_type 1 }", rec[:len(rec)-1], true); got != "miss" {
		t.Errorf("on a cut record: %s, want miss", got)
	}
	if got := eval("if { req.ssl_alpn -m found }", plain, true); got != "fail" {
		t.Errorf("ALPN found in a hello without it: %s", got)
	}
	// Without a session cache crypto/tls offers no tickets.
	if got := eval("if { req.ssl_st_ext 0 }", plain, true); got != "pass" {
		t.Errorf("SessionTicket extension in a hello without it: %s", got)
	}
	if got := eval("if { req.ssl_hello_type 1 }", []byte("GET / HTTP/1.1\r\n\r\n"), true); got != "fail" {
		t.Errorf("on plain text: %s, want fail", got)
	}
}
