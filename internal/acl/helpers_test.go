package acl_test

import (
	. "bulwark/internal/acl"
	"fmt"
	"strings"
	"testing"

	"bulwark/internal/acl/acltest"
	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/stick"
)

// build compiles a configuration text and returns the model, the first
// frontend (or listen) and the compiled ACL set.
func build(t testing.TB, text string, opt Options) (*model.Model, *model.Proxy, *Set, config.Diagnostics) {
	t.Helper()
	cfg, ds := config.Parse("test.cfg", []byte(text), config.LexOptions{})
	if ds.HasAlerts() {
		t.Fatalf("parse: %v", ds)
	}
	m, ds := model.Compile(cfg, model.Options{})
	for _, d := range ds {
		if d.Severity == config.SevAlert && d.Code != model.CodeUnsupported {
			t.Fatalf("model: %v", d)
		}
	}
	var p *model.Proxy
	for _, x := range m.Proxies {
		if x.Cap&model.CapFrontend != 0 {
			p = x
			break
		}
	}
	if p == nil {
		t.Fatal("no frontend")
	}
	s, ads := Compile(p, m, opt)
	return m, p, s, ads
}

// condOf compiles "acl" lines plus one condition into a Cond.
func condOf(t testing.TB, acls, cond string, opt Options) (*Cond, config.Diagnostics) {
	t.Helper()
	text := "frontend fe\n mode http\n bind :80\n" + acls + "\n http-request deny " + cond + "\n"
	_, p, s, ds := build(t, text, opt)
	if ds.HasAlerts() {
		return nil, ds
	}
	c, cds := s.Cond(p.HTTPRequest[len(p.HTTPRequest)-1].Cond)
	return c, cds
}

func mustCond(t testing.TB, acls, cond string, opt Options) *Cond {
	t.Helper()
	c, ds := condOf(t, acls, cond, opt)
	if ds.HasAlerts() {
		t.Fatalf("%s / %s: %v", acls, cond, ds)
	}
	return c
}

func testOpts(tables map[string]*stick.Table) Options {
	return Options{Tables: func(n string) *stick.Table { return tables[n] }}
}

func indent(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, " %s\n", l)
	}
	return b.String()
}

func match(t testing.TB, c *Cond, tx *acltest.Txn) bool {
	t.Helper()
	e := NewEval(tx)
	return c.Match(e)
}
