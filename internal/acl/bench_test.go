package acl_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	. "bulwark/internal/acl"
	"bulwark/internal/acl/acltest"
)

// BenchmarkFrontend evaluates the conditions of 20 rules over 50 ACLs
// against one request, as a frontend does per request.
func BenchmarkFrontend(b *testing.B) {
	var cfg strings.Builder
	cfg.WriteString("frontend fe\n mode http\n bind :80\n")
	for i := range 50 {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&cfg, " acl a%d path_beg /api%d /v%d\n", i, i, i)
		case 1:
			fmt.Fprintf(&cfg, " acl a%d hdr(host) -i host%d.example.com\n", i, i)
		case 2:
			fmt.Fprintf(&cfg, " acl a%d src 10.%d.0.0/16 2001:db8:%d::/48\n", i, i, i)
		case 3:
			fmt.Fprintf(&cfg, " acl a%d method POST PUT DELETE\n", i)
		case 4:
			fmt.Fprintf(&cfg, " acl a%d hdr(host) -m str h%d.example.com\n", i, i)
		}
	}
	for i := range 20 {
		c := fmt.Sprintf("if a%d a%d || !a%d a%d", i, i+5, i+10, (i+15)%50)
		fmt.Fprintf(&cfg, " http-request deny %s\n", c)
	}
	_, p, s, ds := build(b, cfg.String(), Options{})
	if ds.HasAlerts() {
		b.Fatal(ds)
	}
	var cs []*Cond
	for _, r := range p.HTTPRequest {
		c, ds := s.Cond(r.Cond)
		if ds.HasAlerts() {
			b.Fatal(ds)
		}
		cs = append(cs, c)
	}
	tx := acltest.New().Header("Host", "www.example.com").Header("User-Agent", "bench").Header("Accept", "*/*")
	tx.Tgt = "/static/app.js?v=1"
	tx.SrcAddr = netip.MustParseAddrPort("192.0.2.10:5555")
	e := NewEval(tx)
	tx.Method()
	tx.Target()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e.Reset()
		for _, c := range cs {
			c.Match(e)
		}
	}
}
