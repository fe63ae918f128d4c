package acl_test

import (
	"fmt"
	"strings"
	"testing"

	"bulwark/internal/acl"
)

// A condition of an HTTP proxy that reads raw buffered data warns as
// HAProxy 2.6.12 does, whether the fetch is in a named or an anonymous
// ACL; other conditions, and the same fetches in a TCP proxy, do not.
func TestL6FetchWarningInHTTPProxy(t *testing.T) {
	const warn = "Proxy 'fe': L6 sample fetches ignored on HTTP proxies"
	for _, tc := range []struct {
		acls, cond string
		want       bool
	}{
		{"", "if { req.len gt 10 }", true},
		{" acl big req.len gt 10", "if big", true},
		{"", "if { req.ssl_sni -m found }", true},
		{"", "if { req.payload(0,2) -m bin 0000 } || { path /a }", true},
		{"", "if { res.len gt 0 }", true},
		{"", "if { path /a }", false},
		{"", "if { req.body_len gt 0 }", false},
	} {
		_, ds := condOf(t, tc.acls, tc.cond, acl.Options{})
		if got := strings.Contains(fmt.Sprint(ds), warn); got != tc.want {
			t.Errorf("%q %q: warning %v, want %v (%v)", tc.acls, tc.cond, got, tc.want, ds)
		}
	}
	_, p, s, ds := build(t, "frontend fe\n mode tcp\n bind :80\n tcp-request content reject if { req.len gt 10 }\n", acl.Options{})
	_, cds := s.Cond(p.TCPRequest[0].Cond)
	if strings.Contains(fmt.Sprint(append(ds, cds...)), "L6") {
		t.Errorf("TCP proxy warned: %v", cds)
	}
}
