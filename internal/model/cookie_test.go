package model

import (
	"strings"
	"testing"

	"bulwark/internal/config"
)

// The cookie directive's errors use HAProxy's wording; appsession is
// refused as HAProxy 2.6 refuses it.
func TestCookieDirective(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"cookie", "'cookie' expects <cookie_name> as argument."},
		{"cookie S rewrite insert", "cookie 'rewrite', 'insert' and 'prefix' modes are incompatible."},
		{"cookie S rewrite indirect", "cookie 'rewrite' and 'indirect' modes are incompatible."},
		{"cookie S insert bogus", "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options."},
		{"cookie S insert domain a;b", "character ';' is not permitted in domain name 'a;b'."},
		{"appsession JSESSIONID len 52 timeout 3h", "'appsession' is not supported anymore since HAProxy 1.6."},
		{"force-persist", "'force-persist' requires either 'if' or 'unless' followed by a condition."},
	} {
		cfg := "backend be\n    " + tc.line + "\n    server s 127.0.0.1:80 cookie a\n"
		ast, ds := config.Parse("t.cfg", []byte(cfg), config.LexOptions{})
		_, cds := Compile(ast, Options{})
		ds = append(ds, cds...)
		found := false
		for _, d := range ds {
			found = found || (d.Severity == config.SevAlert && strings.Contains(d.Msg, tc.want))
		}
		if !found {
			t.Errorf("%q: no alert %q in %v", tc.line, tc.want, ds)
		}
	}
	ast, _ := config.Parse("t.cfg", []byte("backend be\n    cookie S insert indirect nocache maxidle 30m maxlife 8h dynamic attr SameSite=Lax\n    dynamic-cookie-key k\n    force-persist if TRUE\n    option persist\n    server s 127.0.0.1:80 cookie a\n"), config.LexOptions{})
	m, ds := Compile(ast, Options{})
	if ds.HasAlerts() {
		t.Fatalf("valid cookie config: %v", ds)
	}
	ck := m.Proxies[0].Cookie
	if ck.Mode != CookieInsert || !ck.Indirect || !ck.NoCache || !ck.Dynamic || ck.MaxIdle.Minutes() != 30 || ck.MaxLife.Hours() != 8 || len(ck.Attrs) != 1 || len(m.Proxies[0].PersistRules) != 1 || m.Proxies[0].DynamicCookieKey != "k" {
		t.Fatalf("cookie %+v", ck)
	}
}
