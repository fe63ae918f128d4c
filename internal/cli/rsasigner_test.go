package cli

import (
	"strings"
	"testing"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/testtool"
)

// The start-up line names the signer of the RSA keys, and why it is
// crypto/rsa when it is.
func TestRSASignerLine(t *testing.T) {
	crt := testtool.RSACertFile(t, "rsa.example")
	// The client certificates of server lines count too, a check-ssl
	// one apart from its server's only when the server has no "ssl".
	servers := "    default_backend be\nbackend be\n    server s1 127.0.0.1:9 ssl verify none crt " + crt +
		"\n    server s2 127.0.0.1:9 check check-ssl verify none crt " + crt + "\n    server s3 127.0.0.1:9 ssl check check-ssl verify none crt " + crt + "\n"
	for _, tc := range []struct{ directive, lib, servers, want string }{
		{"", "", "", "[NOTICE]   (bulwark) : RSA certificate signatures: OpenSSL 3"},
		{"", "/nonexistent/libcrypto.so.3", "", "[WARNING]  (bulwark) : RSA certificate signatures: Go's crypto/rsa for 1 key(s) (dlopen /nonexistent/libcrypto.so.3"},
		{"bulwark-ssl-rsa-signer go", "", "", "[NOTICE]   (bulwark) : RSA certificate signatures: Go's crypto/rsa for 1 key(s) (bulwark-ssl-rsa-signer go)"},
		{"bulwark-ssl-rsa-signer go", "", servers, "[NOTICE]   (bulwark) : RSA certificate signatures: Go's crypto/rsa for 4 key(s) (bulwark-ssl-rsa-signer go)"},
	} {
		src := "global\n.if feature(BULWARK)\n    " + tc.directive + "\n.endif\ndefaults\n    mode http\n    timeout client 1s\n" +
			"    timeout connect 1s\n    timeout server 1s\nfrontend fe\n    bind 127.0.0.1:8443 ssl crt " + crt + "\n" + tc.servers
		cfg, _ := config.Parse("t.cfg", []byte(src), config.LexOptions{})
		m, _ := model.Compile(cfg, model.Options{})
		pl, ds := plan.Compile(m, plan.Options{LibCrypto: tc.lib})
		if ds.HasAlerts() {
			t.Fatal(ds)
		}
		if got := rsaSignerLine(pl); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%q %q: %q, want %q…", tc.directive, tc.lib, got, tc.want)
		}
	}
}
