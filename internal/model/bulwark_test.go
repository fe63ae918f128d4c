package model

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"bulwark/internal/config"
)

func compileBulwark(global, bind string) (*Model, config.Diagnostics) {
	src := "global\n.if feature(BULWARK)\n" + global + ".endif\n" +
		"defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
		"frontend f\n    bind 127.0.0.1:8080\n    bind 127.0.0.1:8443 " + bind + "\n"
	cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
	m, cds := Compile(cfg, Options{})
	return m, append(ds, cds...)
}

// The Bulwark-only directives compile to typed settings inside their
// .if feature(BULWARK) block.
func TestBulwarkDirectives(t *testing.T) {
	m, ds := compileBulwark(`    bulwark-acme-directory https://acme.example/dir
    bulwark-acme-email ops@example.org
    bulwark-acme-storage /var/lib/bulwark/acme
    bulwark-acme-challenge tls-alpn-01
    bulwark-acme-renew-ratio 0.5
    bulwark-acme-renew-check 1m
    bulwark-abuse-http-errors 100 10s
    bulwark-abuse-tls-failures 20 1m
    bulwark-abuse-flaps 3 5m
    bulwark-abuse-webhook http://127.0.0.1:9000/x
    bulwark-ssl-rsa-signer go
`, "ssl bulwark-acme WWW.example.org,api.example.org")
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	a := m.Global.Bulwark.ACME
	if a.Directory != "https://acme.example/dir" || a.Email != "ops@example.org" || a.Storage != "/var/lib/bulwark/acme" ||
		a.Challenge != "tls-alpn-01" || a.RenewRatio != 0.5 || a.RenewCheck != time.Minute {
		t.Errorf("acme %+v", a)
	}
	ab := m.Global.Bulwark.Abuse
	if ab.HTTPErrors != (Threshold{100, 10 * time.Second}) || ab.TLSFailures != (Threshold{20, time.Minute}) ||
		ab.Flaps != (Threshold{3, 5 * time.Minute}) || ab.Webhook != "http://127.0.0.1:9000/x" || !ab.Enabled() {
		t.Errorf("abuse %+v", ab)
	}
	if m.Global.Bulwark.RSASigner != "go" {
		t.Errorf("bulwark-ssl-rsa-signer: %q", m.Global.Bulwark.RSASigner)
	}
	if b := m.Frontend("f").Binds[1]; !slices.Equal(b.ACME, []string{"www.example.org", "api.example.org"}) || !b.SSL {
		t.Errorf("bind %+v", b)
	}
}

// "bulwark-abuse" sets every kind to its default, except those given on
// their own line, before or after it.
func TestBulwarkAbuseDefaults(t *testing.T) {
	for _, global := range []string{
		"    bulwark-abuse-denied 7 1s\n    bulwark-abuse\n",
		"    bulwark-abuse\n    bulwark-abuse-denied 7 1s\n",
	} {
		m, ds := compileBulwark(global, "")
		if ds.HasAlerts() {
			t.Fatal(ds)
		}
		ab, def := m.Global.Bulwark.Abuse, DefaultAbuse()
		def.Denied, def.Pos = Threshold{7, time.Second}, ab.Pos
		if ab != def {
			t.Errorf("%q: %+v, want %+v", global, ab, def)
		}
	}
}

// Bad values are refused with the directive's position.
func TestBulwarkDirectivesBad(t *testing.T) {
	for _, tc := range []struct{ global, bind, want string }{
		{"    bulwark-acme-challenge dns-01\n", "", "expects 'http-01' or 'tls-alpn-01'"},
		{"    bulwark-acme-directory http://acme.example/dir\n", "", "expects an https:// URL"},
		{"    bulwark-acme-renew-ratio 1.5\n", "", "fraction between 0 and 1"},
		{"    bulwark-abuse-http-errors 0 10s\n", "", "positive count"},
		{"    bulwark-abuse-http-errors 10\n", "", "expects <count> <window>"},
		{"    bulwark-abuse-flaps 3 soon\n", "", "positive time window"},
		{"    bulwark-abuse-webhook ftp://x\n", "", "http:// or https:// URL"},
		{"    bulwark-nonsense 1\n", "", "unknown Bulwark directive"},
		{"    bulwark-abuse on\n", "", "takes no argument"},
		{"    bulwark-log-framing crlf\n", "", "expects 'octet-count' or 'lf'"},
		{"    bulwark-ssl-rsa-signer openssl\n", "", "expects 'libcrypto' or 'go'"},
		{"    bulwark-ssl-rsa-signer\n", "", "expects 'libcrypto' or 'go'"},
		{"    bulwark-abuse-denied 5 0s\n", "", "positive time window"},
		{"", "bulwark-acme example.org", "needs 'ssl'"},
		{"", "ssl bulwark-acme *.example.org", "no wildcards"},
	} {
		_, ds := compileBulwark(tc.global, tc.bind)
		if !ds.HasAlerts() || !strings.Contains(fmt.Sprint(ds), tc.want) {
			t.Errorf("%q %q: %v, want %q", tc.global, tc.bind, ds, tc.want)
		}
	}
}

// Stream log targets are accepted, with or without a port (514);
// ring@ and fd@ stay refused with the line.
func TestLogTargets(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"log tcp@10.0.0.5:6514 format rfc5424 local0", ""},
		{"log tcp6@[2001:db8::5]:6514 local0", ""},
		{"log uxst@/run/syslog.sock local0", ""},
		{"log tcp@10.0.0.5 local0", ""}, // port 514, as HAProxy
		{"log ring@buf local0", "not supported"},
		{"log fd@3 local0", "not supported"},
		{"log 127.0.0.1 format timed local0 info notice", ""},
		{"log 127.0.0.1 format pretty local0", "unknown log format"},
	} {
		src := "global\n    " + tc.line + "\n"
		cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
		_, cds := Compile(cfg, Options{})
		ds = append(ds, cds...)
		if tc.want == "" && ds.HasAlerts() || tc.want != "" && (!ds.HasAlerts() || !strings.Contains(fmt.Sprint(ds), tc.want) || !strings.Contains(fmt.Sprint(ds), "t.cfg:2")) {
			t.Errorf("%s: %v, want %q", tc.line, ds, tc.want)
		}
	}
}
