package tlsconf

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/model"
)

func TestServerConfig(t *testing.T) {
	ca := newCA(t)
	other := newCA(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, ca.pem, 0o644)
	otherCA := filepath.Join(dir, "other.pem")
	writeFile(t, otherCA, other.pem, 0o644)
	srvCrt := ca.writePEM(t, dir, "srv.pem", leafSpec{cn: "backend.internal", sans: []string{"backend.internal"}})
	cliCrt := ca.writePEM(t, dir, "cli.pem", leafSpec{cn: "client", client: true})

	// The backend requires a client certificate from ca and speaks h2.
	b := sslBind(map[string]string{"verify": "required", "ca-file": caFile}, srvCrt)
	b.ALPN = []string{"h2", "http/1.1"}
	addr := serve(t, mustBind(t, b, nil, Options{}).Config)

	tests := []struct {
		name string
		opts map[string]string
		g    model.SSLDefaults
		ok   bool
		err  string // ServerConfig error
		alpn string
	}{
		{name: "verified", opts: map[string]string{"ca-file": caFile, "crt": cliCrt}, ok: true},
		{name: "verifyhost match", opts: map[string]string{"ca-file": caFile, "crt": cliCrt, "verifyhost": "backend.internal"}, ok: true},
		{name: "verifyhost mismatch", opts: map[string]string{"ca-file": caFile, "crt": cliCrt, "verifyhost": "evil.internal"}},
		{name: "sni checked", opts: map[string]string{"ca-file": caFile, "crt": cliCrt, "sni": "str(evil.internal)"}},
		{name: "sni ok", opts: map[string]string{"ca-file": caFile, "crt": cliCrt, "sni": "str(backend.internal)"}, ok: true},
		{name: "no-verifyhost", opts: map[string]string{"ca-file": caFile, "crt": cliCrt, "sni": "str(evil.internal)", "no-verifyhost": ""}, ok: true},
		{name: "wrong CA", opts: map[string]string{"ca-file": otherCA, "crt": cliCrt}},
		{name: "verify none", opts: map[string]string{"verify": "none", "crt": cliCrt}, ok: true},
		{name: "global verify none", opts: map[string]string{"crt": cliCrt}, g: model.SSLDefaults{ServerVerify: "none"}, ok: true},
		{name: "no client cert", opts: map[string]string{"ca-file": caFile}},
		{name: "default needs ca-file", opts: map[string]string{"crt": cliCrt}, err: "no CA file"},
		{name: "alpn", opts: map[string]string{"ca-file": caFile, "crt": cliCrt, "alpn": "h2"}, ok: true, alpn: "h2"},
		{name: "max 1.2 + ciphers", opts: map[string]string{"ca-file": caFile, "crt": cliCrt, "ssl-max-ver": "TLSv1.2",
			"ciphers": "ECDHE-ECDSA-AES256-GCM-SHA384"}, ok: true},
		{name: "ciphers refused by server", opts: map[string]string{"ca-file": caFile, "crt": cliCrt, "ssl-max-ver": "TLSv1.2",
			"ciphers": "ECDHE-ECDSA-AES128-SHA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &model.Server{Name: "s1", ServerOptions: model.ServerOptions{SSL: true, Opts: tt.opts}}
			s.Verify = tt.opts["verify"]
			s.SNI = tt.opts["sni"]
			g := tt.g
			cfg, err := ServerConfig(s, &g)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cs, err := dial(addr, cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("ok=%v, want %v (%v)", err == nil, tt.ok, err)
			}
			if err == nil && cs.NegotiatedProtocol != tt.alpn {
				t.Errorf("alpn %q, want %q", cs.NegotiatedProtocol, tt.alpn)
			}
		})
	}
}

func TestServerSNI(t *testing.T) {
	for _, tt := range []struct {
		expr, want string
		constant   bool
	}{
		{"", "", true},
		{"str(api.example.org)", "api.example.org", true},
		{"api.example.org", "api.example.org", true},
		{"req.hdr(host)", "req.hdr(host)", false},
		{"ssl_fc_sni", "ssl_fc_sni", false},
		{"var(txn.host)", "var(txn.host)", false},
	} {
		s := &model.Server{ServerOptions: model.ServerOptions{SNI: tt.expr}}
		got, c := SNI(s)
		if got != tt.want || c != tt.constant {
			t.Errorf("%q: %q %v", tt.expr, got, c)
		}
	}
}

func TestServerConfigMinVersionDefault(t *testing.T) {
	s := &model.Server{Name: "s", ServerOptions: model.ServerOptions{Verify: "none", Opts: map[string]string{}}}
	cfg, err := ServerConfig(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientSessionCache == nil {
		t.Errorf("min %x cache %v", cfg.MinVersion, cfg.ClientSessionCache)
	}
	cfg, err = ServerConfig(s, &model.SSLDefaults{ServerOptions: []string{"ssl-min-ver TLSv1.3", "no-tls-tickets"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS13 || !cfg.SessionTicketsDisabled || cfg.ClientSessionCache != nil {
		t.Errorf("global server options not applied: %+v", cfg)
	}
}
