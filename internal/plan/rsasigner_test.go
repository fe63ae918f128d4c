package plan_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/config"
	"bulwark/internal/libcrypto"
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

// fipsOnlyConf makes libcrypto fetch only FIPS implementations, and none
// is loaded: the library opens, but the signer's self-test cannot sign, so
// the key stays with crypto/rsa with a warning. libcrypto reads it once
// per process, hence the child process.
const fipsOnlyConf = `openssl_conf = openssl_init
[openssl_init]
alg_section = algorithm_sect
[algorithm_sect]
default_properties = fips=yes
`

// A server's client certificate ("server ... ssl crt") whose RSA key
// falls back to crypto/rsa is reported as a bind's is: a warning at the
// server's line with the reason, for "ssl" and for "check-ssl" alone.
func TestServerCrtRSAFallbackWarns(t *testing.T) {
	if os.Getenv("BULWARK_TEST_FIPS_ONLY") != "1" {
		conf := filepath.Join(t.TempDir(), "fips.cnf")
		if err := os.WriteFile(conf, []byte(fipsOnlyConf), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestServerCrtRSAFallbackWarns$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "BULWARK_TEST_FIPS_ONLY=1", "OPENSSL_CONF="+conf)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	if _, err := libcrypto.Open(""); err != nil {
		testtool.Missing(t, "no libcrypto on this machine: "+err.Error())
	}
	crt := testtool.RSACertFile(t, "rsa.example")
	src := defaults + "frontend fe from base\n    bind 127.0.0.1:8443 ssl crt " + crt + "\n    default_backend be\n" +
		"backend be from base\n    server s1 127.0.0.1:9 ssl verify none crt " + crt + "\n" +
		"    server s2 127.0.0.1:9 check check-ssl verify none crt " + crt + "\n"
	cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
	m, cds := model.Compile(cfg, model.Options{})
	if ds = append(ds, cds...); ds.HasAlerts() {
		t.Fatal(ds)
	}
	pl, pds := plan.Compile(m, plan.Options{})
	if pds.HasAlerts() || pl.RSA == nil {
		t.Fatalf("%v (libcrypto %v: %s)", pds, pl.RSA, pl.NoRSA)
	}
	fallback := crt + ": the RSA key signs with Go's crypto/rsa: libcrypto self-test"
	for _, want := range []string{"frontend 'fe': bind: ", "backend 'be': server 's1': ", "backend 'be': server 's2': check-ssl: "} {
		found := false
		for _, d := range pds {
			found = found || d.Severity == config.SevWarning && strings.Contains(d.Msg, want+fallback)
		}
		if !found {
			t.Errorf("no warning %q…: %v", want+fallback, pds)
		}
	}
	for _, p := range m.Proxies {
		if p.Name != "be" {
			continue
		}
		if got := tlsconf.RSASigner(&pl.Proxies[p].ServerTLS[p.Servers[0]].Certificates[0]); got != "crypto/rsa" {
			t.Errorf("server s1's key signs with %q", got)
		}
	}
}
