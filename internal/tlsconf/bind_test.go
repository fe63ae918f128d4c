package tlsconf

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/model"
)

func TestSNISelection(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	def := ca.writePEM(t, dir, "default.pem", leafSpec{cn: "default.example.org"})
	exact := ca.writePEM(t, dir, "exact.pem", leafSpec{cn: "www.example.com", sans: []string{"www.example.com", "api.example.com"}})
	wild := ca.writePEM(t, dir, "wild.pem", leafSpec{cn: "*.example.net", sans: []string{"*.example.net"}})

	tests := []struct {
		name   string
		strict bool
		sni    string
		wantCN string // "" = handshake must fail
	}{
		{"exact CN/SAN", false, "www.example.com", "www.example.com"},
		{"exact second SAN", false, "api.example.com", "www.example.com"},
		{"case insensitive", false, "WWW.Example.COM", "www.example.com"},
		{"wildcard first label", false, "a.example.net", "*.example.net"},
		{"wildcard not two labels", false, "a.b.example.net", "default.example.org"},
		{"wildcard not apex", false, "example.net", "default.example.org"},
		{"no SNI default", false, "", "default.example.org"},
		{"unknown default", false, "other.test", "default.example.org"},
		{"strict exact", true, "www.example.com", "www.example.com"},
		{"strict wildcard", true, "x.example.net", "*.example.net"},
		{"strict unknown", true, "other.test", ""},
		{"strict no SNI", true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := map[string]string{}
			if tt.strict {
				opts["strict-sni"] = ""
			}
			bt := mustBind(t, sslBind(opts, def, exact, wild), nil, Options{})
			addr := serve(t, bt.Config)
			cs, err := dial(addr, &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true})
			if tt.wantCN == "" {
				if err == nil {
					t.Fatalf("handshake succeeded with %q, want failure", peerCN(cs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := peerCN(cs); got != tt.wantCN {
				t.Errorf("served %q, want %q", got, tt.wantCN)
			}
		})
	}
}

func TestSNIKeyTypeByClient(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	rsaF := ca.writePEM(t, dir, "rsa.pem", leafSpec{cn: "rsa", sans: []string{"dual.test"}, rsa: true})
	ecF := ca.writePEM(t, dir, "ec.pem", leafSpec{cn: "ec", sans: []string{"dual.test"}})
	bt := mustBind(t, sslBind(nil, rsaF, ecF), nil, Options{})
	addr := serve(t, bt.Config)
	// A TLS 1.2 client offering only RSA-authenticated suites must get the
	// RSA certificate even though the ECDSA one also matches the name.
	cs, err := dial(addr, &tls.Config{ServerName: "dual.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	if peerCN(cs) != "rsa" {
		t.Errorf("RSA-only client got %q", peerCN(cs))
	}
	cs, err = dial(addr, &tls.Config{ServerName: "dual.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	if peerCN(cs) != "ec" {
		t.Errorf("ECDSA-only client got %q", peerCN(cs))
	}
}

func TestProtocolVersionsHandshake(t *testing.T) {
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "c.pem", leafSpec{cn: "v.test", rsa: true})
	tests := []struct {
		name string
		opts map[string]string
		g    model.SSLDefaults
		ok   map[uint16]bool
	}{
		{"default", nil, model.SSLDefaults{}, map[uint16]bool{tls.VersionTLS12: true, tls.VersionTLS13: true}},
		{"min 1.3", map[string]string{"ssl-min-ver": "TLSv1.3"}, model.SSLDefaults{}, map[uint16]bool{tls.VersionTLS13: true}},
		{"global no-tlsv13", nil, model.SSLDefaults{BindOptions: []string{"no-tlsv13"}}, map[uint16]bool{tls.VersionTLS12: true}},
		{"force-tlsv12", map[string]string{"force-tlsv12": ""}, model.SSLDefaults{}, map[uint16]bool{tls.VersionTLS12: true}},
		{"global min 1.3", nil, model.SSLDefaults{BindOptions: []string{"ssl-min-ver TLSv1.3"}}, map[uint16]bool{tls.VersionTLS13: true}},
		// Explicit TLS 1.0 is honoured, but the default AEAD suites do not
		// exist before TLS 1.2, so 1.0/1.1 need CBC ciphers too.
		{"min 1.0 with CBC", map[string]string{"ssl-min-ver": "TLSv1.0", "ciphers": "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256"}, model.SSLDefaults{},
			map[uint16]bool{tls.VersionTLS10: true, tls.VersionTLS11: true, tls.VersionTLS12: true, tls.VersionTLS13: true}},
		{"CBC but default min", map[string]string{"ciphers": "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256"}, model.SSLDefaults{},
			map[uint16]bool{tls.VersionTLS12: true, tls.VersionTLS13: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.g
			bt := mustBind(t, sslBind(tt.opts, crt), &g, Options{})
			addr := serve(t, bt.Config)
			for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13} {
				cs, err := dial(addr, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v})
				if tt.ok[v] != (err == nil) {
					t.Errorf("%s: ok=%v, want %v (err %v)", versionName(v), err == nil, tt.ok[v], err)
				}
				if err == nil && cs.Version != v {
					t.Errorf("negotiated %s, want %s", versionName(cs.Version), versionName(v))
				}
			}
		})
	}
}

func TestCipherListLimitsSuites(t *testing.T) {
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "c.pem", leafSpec{cn: "c.test", rsa: true})
	tests := []struct {
		name    string
		ciphers string
		client  uint16
		ok      bool
	}{
		{"listed", "ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, true},
		{"not listed", "ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, false},
		{"default refuses CBC", "", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false},
		{"default refuses RSA kx", "", tls.TLS_RSA_WITH_AES_128_GCM_SHA256, false},
		{"default refuses 3DES", "", tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, false},
		{"default accepts ECDHE GCM", "", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, true},
		{"HIGH:!aNULL:!MD5 minus SHA1", "HIGH:!aNULL:!MD5:!SHA1", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false},
		{"HIGH accepts CBC SHA", "HIGH:!aNULL:!MD5", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := map[string]string{}
			if tt.ciphers != "" {
				opts["ciphers"] = tt.ciphers
			}
			bt := mustBind(t, sslBind(opts, crt), nil, Options{})
			addr := serve(t, bt.Config)
			cs, err := dial(addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tt.client}})
			if (err == nil) != tt.ok {
				t.Fatalf("ok=%v, want %v (err %v)", err == nil, tt.ok, err)
			}
			if err == nil && cs.CipherSuite != tt.client {
				t.Errorf("negotiated %s", tls.CipherSuiteName(cs.CipherSuite))
			}
		})
	}
}

func TestALPN(t *testing.T) {
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "c.pem", leafSpec{cn: "a.test"})
	b := sslBind(map[string]string{"alpn": "h2,http/1.1"}, crt)
	b.ALPN = []string{"h2", "http/1.1"}
	addr := serve(t, mustBind(t, b, nil, Options{}).Config)
	for _, tt := range []struct {
		offer []string
		want  string
	}{
		{[]string{"http/1.1", "h2"}, "h2"}, // server preference wins
		{[]string{"http/1.1"}, "http/1.1"},
		{nil, ""},
	} {
		cs, err := dial(addr, &tls.Config{InsecureSkipVerify: true, NextProtos: tt.offer})
		if err != nil {
			t.Fatal(err)
		}
		if cs.NegotiatedProtocol != tt.want {
			t.Errorf("offer %v: got %q, want %q", tt.offer, cs.NegotiatedProtocol, tt.want)
		}
	}
}

func TestClientVerify(t *testing.T) {
	ca := newCA(t)
	other := newCA(t)
	dir := t.TempDir()
	crt := ca.writePEM(t, dir, "srv.pem", leafSpec{cn: "m.test"})
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, ca.pem, 0o644)
	good := clientCert(t, ca)
	bad := clientCert(t, other)

	tests := []struct {
		verify string
		cert   *tls.Certificate
		ok     bool
	}{
		{"required", good, true},
		{"required", nil, false},
		{"required", bad, false},
		{"optional", nil, true},
		{"optional", good, true},
		{"optional", bad, false},
		{"none", nil, true},
	}
	for _, tt := range tests {
		opts := map[string]string{"verify": tt.verify, "ca-file": caFile}
		addr := serve(t, mustBind(t, sslBind(opts, crt), nil, Options{}).Config)
		cc := &tls.Config{InsecureSkipVerify: true}
		if tt.cert != nil {
			cc.Certificates = []tls.Certificate{*tt.cert}
		}
		_, err := dial(addr, cc)
		if (err == nil) != tt.ok {
			t.Errorf("verify %s, cert %v: ok=%v, want %v (%v)", tt.verify, tt.cert != nil, err == nil, tt.ok, err)
		}
	}
	if _, err := LoadBind(sslBind(map[string]string{"verify": "required"}, crt), nil, Options{}); err == nil ||
		!strings.Contains(err.Error(), "no CA file") {
		t.Errorf("verify required without ca-file: %v", err)
	}
}

func clientCert(t *testing.T, ca *testCA) *tls.Certificate {
	t.Helper()
	c, k := ca.issue(t, leafSpec{cn: "client", client: true})
	cert, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return &cert
}

func TestKeyPermissions(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	c, k := ca.issue(t, leafSpec{cn: "p.test"})
	combined := filepath.Join(dir, "combined.pem")
	writeFile(t, combined, append(c, k...), 0o640)
	split := filepath.Join(dir, "split.pem")
	writeFile(t, split, c, 0o644) // a certificate alone may be public
	writeFile(t, split+".key", k, 0o604)
	okSplit := filepath.Join(dir, "oksplit.pem")
	writeFile(t, okSplit, c, 0o644)
	writeFile(t, okSplit+".key", k, 0o400)

	for _, tt := range []struct {
		file, keyFile string
		allow, ok     bool
	}{
		{combined, combined, false, false},
		{combined, combined, true, true},
		{split, split + ".key", false, false},
		{split, split + ".key", true, true},
		{okSplit, "", false, true},
	} {
		_, err := LoadBind(sslBind(nil, tt.file), nil, Options{AllowInsecureKeyPerms: tt.allow})
		if (err == nil) != tt.ok {
			t.Errorf("%s allow=%v: err %v", filepath.Base(tt.file), tt.allow, err)
		}
		if err != nil {
			for _, want := range []string{tt.keyFile, "chmod 600", InsecureKeyPermsKeyword} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		}
	}
}

func TestExpiredCertWarns(t *testing.T) {
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "old.pem", leafSpec{cn: "old.test", expired: true})
	bt := mustBind(t, sslBind(nil, crt), nil, Options{})
	if !anyContains(bt.Warnings, "expired") {
		t.Errorf("no expiry warning in %q", bt.Warnings)
	}
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestCrtDirectoryOrder(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	// Written out of order: the first file by name is the default.
	ca.writePEM(t, dir, "20-b.pem", leafSpec{cn: "b.test"})
	ca.writePEM(t, dir, "10-a.pem", leafSpec{cn: "a.test"})
	c, k := ca.issue(t, leafSpec{cn: "c.test"})
	writeFile(t, filepath.Join(dir, "30-c.pem"), c, 0o644)
	writeFile(t, filepath.Join(dir, "30-c.pem.key"), k, 0o600)
	writeFile(t, filepath.Join(dir, ".hidden.pem"), []byte("garbage"), 0o600)
	writeFile(t, filepath.Join(dir, "00.ocsp"), []byte("garbage"), 0o600)
	writeFile(t, filepath.Join(dir, "00.issuer"), []byte("garbage"), 0o600)
	writeFile(t, filepath.Join(dir, "00.sctl"), []byte("garbage"), 0o600)
	if err := os.Mkdir(filepath.Join(dir, "00-subdir"), 0o700); err != nil {
		t.Fatal(err)
	}

	bt := mustBind(t, sslBind(nil, dir), nil, Options{})
	var got []string
	for _, c := range bt.Store.Certificates() {
		got = append(got, c.Leaf.Subject.CommonName)
	}
	if strings.Join(got, ",") != "a.test,b.test,c.test" {
		t.Errorf("load order %v", got)
	}
	addr := serve(t, bt.Config)
	for sni, want := range map[string]string{"": "a.test", "c.test": "c.test", "b.test": "b.test"} {
		cs, err := dial(addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		if peerCN(cs) != want {
			t.Errorf("sni %q: got %q, want %q", sni, peerCN(cs), want)
		}
	}
}

func TestCrtList(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	fb := ca.writePEM(t, dir, "fallback.pem", leafSpec{cn: "fallback.test", sans: []string{"fallback.test"}})
	w := ca.writePEM(t, dir, "wild.pem", leafSpec{cn: "*.corp.test", sans: []string{"*.corp.test"}})
	h2 := ca.writePEM(t, dir, "h2.pem", leafSpec{cn: "h2only"})
	list := filepath.Join(dir, "list.txt")
	writeFile(t, list, []byte(strings.Join([]string{
		"# comment",
		fb + " !*",
		w + " *.corp.test !secret.corp.test",
		"",
		h2 + " [alpn h2 ssl-min-ver TLSv1.3] fast.test",
	}, "\n")), 0o644)

	b := &model.Bind{SSL: true, CrtList: []string{list}, Opts: map[string]string{"ssl": ""}}
	b.ALPN = []string{"http/1.1"}
	bt := mustBind(t, b, nil, Options{})
	addr := serve(t, bt.Config)
	for _, tt := range []struct {
		sni, cn, alpn string
		max           uint16
		ok            bool
	}{
		{"fallback.test", "fallback.test", "http/1.1", 0, true}, // "!*": not indexed, default only
		{"www.corp.test", "*.corp.test", "http/1.1", 0, true},
		{"secret.corp.test", "fallback.test", "http/1.1", 0, true},
		{"fast.test", "h2only", "h2", 0, true},
		{"fast.test", "", "", tls.VersionTLS12, false}, // per-line ssl-min-ver
		{"www.corp.test", "*.corp.test", "http/1.1", tls.VersionTLS12, true},
	} {
		cs, err := dial(addr, &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true, MaxVersion: tt.max, NextProtos: []string{"h2", "http/1.1"}})
		if (err == nil) != tt.ok {
			t.Errorf("%s max %x: ok=%v (%v)", tt.sni, tt.max, err == nil, err)
			continue
		}
		if err != nil {
			continue
		}
		if peerCN(cs) != tt.cn || cs.NegotiatedProtocol != tt.alpn {
			t.Errorf("%s: got %q/%q, want %q/%q", tt.sni, peerCN(cs), cs.NegotiatedProtocol, tt.cn, tt.alpn)
		}
	}

	writeFile(t, list, []byte(fb+" [npn h2] x.test\n"), 0o644)
	if _, err := LoadBind(b, nil, Options{}); err == nil || !strings.Contains(err.Error(), "'npn' is not supported") {
		t.Errorf("npn in crt-list: %v", err)
	}
}

func TestBindRefusesIgnoreErr(t *testing.T) {
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "c.pem", leafSpec{cn: "c.test"})
	_, err := LoadBind(sslBind(map[string]string{"ca-ignore-err": "all"}, crt), nil, Options{})
	if err == nil || !strings.Contains(err.Error(), "ca-ignore-err") {
		t.Errorf("got %v", err)
	}
}

func TestBindErrors(t *testing.T) {
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "c.pem", leafSpec{cn: "c.test"})
	for _, tt := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"ciphers": "DHE-RSA-AES128-GCM-SHA256:CAMELLIA128-SHA"}, "DHE-RSA-AES128-GCM-SHA256, CAMELLIA128-SHA"},
		{map[string]string{"ciphers": "NOPE"}, "unknown: NOPE"},
		{map[string]string{"ciphersuites": "TLS_FOO"}, "TLS_FOO"},
		{map[string]string{"curves": "brainpoolP256r1"}, "no curve"},
		{map[string]string{"no-tlsv12": "", "no-tlsv13": ""}, "every TLS version is disabled"},
		{map[string]string{"ssl-max-ver": "SSLv3"}, "SSLv3"},
	} {
		_, err := LoadBind(sslBind(tt.opts, crt), nil, Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want error with %q", tt.opts, err, tt.want)
		}
	}
	_, err := LoadBind(sslBind(nil, filepath.Join(t.TempDir(), "missing.pem")), nil, Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing crt: %v", err)
	}
}

func TestBindOptionsApplied(t *testing.T) {
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "c.pem", leafSpec{cn: "c.test"})
	g := &model.SSLDefaults{BindCiphers: "ECDHE-ECDSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256",
		BindCurves: "X25519:P-256", BindOptions: []string{"no-tls-tickets"}, BindCipherSuites: "TLS_AES_256_GCM_SHA384"}
	bt := mustBind(t, sslBind(nil, crt), g, Options{})
	c := bt.Config
	if len(c.CipherSuites) != 1 || c.CipherSuites[0] != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Errorf("suites %v", c.CipherSuites)
	}
	if len(c.CurvePreferences) != 2 || c.CurvePreferences[0] != tls.X25519 {
		t.Errorf("curves %v", c.CurvePreferences)
	}
	if !c.SessionTicketsDisabled {
		t.Error("no-tls-tickets not applied")
	}
	if !anyContains(bt.Warnings, "DHE-RSA-AES128-GCM-SHA256") || !anyContains(bt.Warnings, "TLS_AES_128_GCM_SHA256") {
		t.Errorf("warnings %q", bt.Warnings)
	}
	// The bind's own ciphers win over the global default.
	bt = mustBind(t, sslBind(map[string]string{"ciphers": "ECDHE-RSA-AES256-GCM-SHA384"}, crt), g, Options{})
	if len(bt.Config.CipherSuites) != 1 || bt.Config.CipherSuites[0] != tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 {
		t.Errorf("bind ciphers %v", bt.Config.CipherSuites)
	}
}

// "ecdhe <curve>" is the one curve when no "curves" list applies; a
// "curves" list (the bind's or the global one) wins.
func TestBindECDHE(t *testing.T) {
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "c.pem", leafSpec{cn: "c.test"})
	bt := mustBind(t, sslBind(map[string]string{"ecdhe": "secp521r1"}, crt), nil, Options{})
	if c := bt.Config.CurvePreferences; len(c) != 1 || c[0] != tls.CurveP521 {
		t.Errorf("ecdhe secp521r1: curves %v", c)
	}
	bt = mustBind(t, sslBind(map[string]string{"ecdhe": "secp521r1", "curves": "P-256:P-384"}, crt), nil, Options{})
	if c := bt.Config.CurvePreferences; len(c) != 2 || c[0] != tls.CurveP256 {
		t.Errorf("curves and ecdhe: curves %v", c)
	}
	bt = mustBind(t, sslBind(map[string]string{"ecdhe": "prime256v1"}, crt), &model.SSLDefaults{BindCurves: "X25519"}, Options{})
	if c := bt.Config.CurvePreferences; len(c) != 1 || c[0] != tls.X25519 {
		t.Errorf("global curves and ecdhe: curves %v", c)
	}
	if _, err := LoadBind(sslBind(map[string]string{"ecdhe": "P-256:P-384"}, crt), nil, Options{}); err == nil {
		t.Error("ecdhe with a list accepted")
	}
}

// HAProxy picks among the certificates for the exact name and for the
// wildcard by key type, whatever names the certificates hold (crt-list
// filters bug #810/#818): an RSA-only client asking a name whose exact
// line is ECDSA gets the RSA wildcard line; a wildcard line excluding the
// name does not count, and then the handshake fails rather than falling
// back to the default certificate.
func TestCrtListKeyTypeAcrossWildcard(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	def := ca.writePEM(t, dir, "def.pem", leafSpec{cn: "default", rsa: true})
	rsaF := ca.writePEM(t, dir, "rsa.pem", leafSpec{cn: "rsa-elsewhere", rsa: true})
	ecF := ca.writePEM(t, dir, "ec.pem", leafSpec{cn: "ec-elsewhere"})
	list := filepath.Join(dir, "list.txt")
	writeFile(t, list, []byte(strings.Join([]string{
		def + " default.test",
		rsaF + " *.a.test *.b.test !y.b.test",
		ecF + " x.a.test *.b.test",
	}, "\n")), 0o644)
	b := &model.Bind{SSL: true, CrtList: []string{list}, Opts: map[string]string{"ssl": "", "ciphers": "kRSA:aECDSA"}}
	addr := serve(t, mustBind(t, b, nil, Options{}).Config)
	rsaOnly := []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
	ecOnly := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	for _, tt := range []struct {
		sni    string
		suites []uint16
		cn     string // "" = handshake fails
	}{
		{"x.a.test", rsaOnly, "rsa-elsewhere"},
		{"x.a.test", ecOnly, "ec-elsewhere"},
		{"x.b.test", rsaOnly, "rsa-elsewhere"},
		{"y.b.test", rsaOnly, ""},
		{"y.b.test", ecOnly, "ec-elsewhere"},
	} {
		cs, err := dial(addr, &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: tt.suites})
		if tt.cn == "" {
			if err == nil {
				t.Errorf("%s %x: served %q, want a failed handshake", tt.sni, tt.suites, peerCN(cs))
			}
			continue
		}
		if err != nil || peerCN(cs) != tt.cn {
			t.Errorf("%s %x: got %q (%v), want %q", tt.sni, tt.suites, peerCN(cs), err, tt.cn)
		}
	}
}
