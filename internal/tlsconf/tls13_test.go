package tlsconf

import (
	"crypto/tls"
	"sync"
	"testing"

	"bulwark/internal/model"
)

// The prediction of crypto/tls's TLS 1.3 suite choice matches what it
// really chooses for a Go client on this machine.
func TestPredictTLS13MatchesGo(t *testing.T) {
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "c.pem", leafSpec{cn: "v.test"})
	bt := mustBind(t, sslBind(nil, crt), &model.SSLDefaults{}, Options{})
	var mu sync.Mutex
	var offered []uint16
	cfg := bt.Config.Clone()
	inner := cfg.GetConfigForClient
	cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		offered = append([]uint16(nil), h.CipherSuites...)
		mu.Unlock()
		return inner(h)
	}
	addr := serve(t, cfg)
	cs, err := dial(addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if cs.Version != tls.VersionTLS13 || predictTLS13(offered, hasAESGCMHardware) != cs.CipherSuite {
		t.Fatalf("Go chose %s, predicted %s (offered %x)", tls.CipherSuiteName(cs.CipherSuite),
			tls.CipherSuiteName(predictTLS13(offered, hasAESGCMHardware)), offered)
	}
}

func TestPredictTLS13(t *testing.T) {
	aes128, aes256, chacha := tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256
	for _, tc := range []struct {
		offered []uint16
		hw      bool
		want    uint16
	}{
		{[]uint16{aes128, aes256, chacha}, true, aes128},
		{[]uint16{aes128, aes256, chacha}, false, chacha},
		{[]uint16{chacha, aes128}, true, chacha}, // the client prefers ChaCha20
		{[]uint16{aes256, chacha}, true, aes256},
		{[]uint16{aes256}, false, aes256},
		{[]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, chacha, aes128}, true, aes128}, // first known suite is AES-GCM
		{[]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, aes128, chacha}, true, chacha},
		{nil, true, 0},
	} {
		if got := predictTLS13(tc.offered, tc.hw); got != tc.want {
			t.Errorf("%x hw=%v: %s, want %s", tc.offered, tc.hw, tls.CipherSuiteName(got), tls.CipherSuiteName(tc.want))
		}
	}
}

// A bind's ciphersuites is enforced over loopback: a TLS 1.3 session
// only ever uses an allowed suite; a client that would get another is
// capped at TLS 1.2, or refused when the bind requires TLS 1.3.
func TestCipherSuites13Enforced(t *testing.T) {
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "c.pem", leafSpec{cn: "v.test"})
	// What a Go client gets from a bind allowing everything.
	full := mustBind(t, sslBind(nil, crt), &model.SSLDefaults{}, Options{})
	cs, err := dial(serve(t, full.Config), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	goChoice := cs.CipherSuite
	var other string
	for name, id := range tls13IDs {
		if id != goChoice {
			other = name
		}
	}
	for _, tc := range []struct {
		name    string
		opts    map[string]string
		version uint16 // 0: refused
	}{
		{"the suite Go picks is allowed", map[string]string{"ciphersuites": tls.CipherSuiteName(goChoice)}, tls.VersionTLS13},
		{"only another suite", map[string]string{"ciphersuites": other}, tls.VersionTLS12},
		{"only another suite, TLS 1.3 required", map[string]string{"ciphersuites": other, "ssl-min-ver": "TLSv1.3"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bt := mustBind(t, sslBind(tc.opts, crt), &model.SSLDefaults{}, Options{})
			cs, err := dial(serve(t, bt.Config), &tls.Config{InsecureSkipVerify: true})
			if tc.version == 0 {
				if err == nil {
					t.Fatalf("handshake succeeded with %s", tls.CipherSuiteName(cs.CipherSuite))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cs.Version != tc.version {
				t.Fatalf("version %x, want %x (suite %s)", cs.Version, tc.version, tls.CipherSuiteName(cs.CipherSuite))
			}
			if cs.Version == tls.VersionTLS13 && tls.CipherSuiteName(cs.CipherSuite) != tc.opts["ciphersuites"] {
				t.Fatalf("TLS 1.3 with %s", tls.CipherSuiteName(cs.CipherSuite))
			}
		})
	}
}
