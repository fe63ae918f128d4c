package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/testtool"
	"bulwark/internal/tlsconf"
)

// The RSA key of a bind's certificate signs through libcrypto unless the
// configuration says "go"; a libcrypto that does not load leaves
// crypto/rsa and says why, and is an error only when the configuration
// requires it.
func TestRSASigner(t *testing.T) {
	crt := testtool.RSACertFile(t, "rsa.example")
	for _, tc := range []struct {
		name, directive, lib string
		want                 string // tlsconf.RSASigner of the bind's key
		alert, why           string
	}{
		{"default", "", "", "libcrypto", "", ""},
		{"required", "bulwark-ssl-rsa-signer libcrypto", "", "libcrypto", "", ""},
		{"opt-out", "bulwark-ssl-rsa-signer go", "", "crypto/rsa", "", plan.RSAOptOut},
		{"no library", "", "/nonexistent/libcrypto.so.3", "crypto/rsa", "", "/nonexistent/libcrypto.so.3"},
		{"required, no library", "bulwark-ssl-rsa-signer libcrypto", "/nonexistent/libcrypto.so.3", "", "/nonexistent/libcrypto.so.3", ""},
		{"not libcrypto", "", "libc.so.6", "crypto/rsa", "", "no symbol"},
	} {
		src := "global\n.if feature(BULWARK)\n    " + tc.directive + "\n.endif\n" + defaults +
			"frontend fe from base\n    bind 127.0.0.1:8443 ssl crt " + crt + "\n"
		cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
		m, cds := model.Compile(cfg, model.Options{})
		if ds = append(ds, cds...); ds.HasAlerts() {
			t.Fatalf("%s: model: %v", tc.name, ds)
		}
		pl, pds := plan.Compile(m, plan.Options{LibCrypto: tc.lib})
		if tc.alert != "" {
			if !pds.HasAlerts() || !strings.Contains(fmt.Sprint(pds), tc.alert) {
				t.Errorf("%s: %v, want an alert about %s", tc.name, pds, tc.alert)
			}
			continue
		}
		if pds.HasAlerts() || pds.Count(config.SevWarning) > 0 {
			t.Fatalf("%s: %v", tc.name, pds)
		}
		if got := tlsconf.RSASigner(pl.Stores[0].Certificates()[0]); got != tc.want {
			t.Errorf("%s: key signs with %q, want %q", tc.name, got, tc.want)
		}
		if (pl.RSA == nil) != (tc.want == "crypto/rsa") || !strings.Contains(pl.NoRSA, tc.why) {
			t.Errorf("%s: plan RSA %v, NoRSA %q, want it to mention %q", tc.name, pl.RSA, pl.NoRSA, tc.why)
		}
	}
}
