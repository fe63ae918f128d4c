package tlsconf

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// sinkConn records the verification result, as tlsfail.Conn does.
type sinkConn struct {
	net.Conn
	got chan [4]int
}

func (c *sinkConn) SetClientVerify(last, leaf, ca, depth int) { c.got <- [4]int{last, leaf, ca, depth} }

// serveSink is serve with each connection wrapped in a sinkConn whose
// results arrive on the returned channel.
func serveSink(t *testing.T, cfg *tls.Config) (string, chan [4]int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan [4]int, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				tc := tls.Server(&sinkConn{Conn: c, got: got}, cfg)
				if tc.Handshake() != nil {
					return
				}
				_, _ = tc.Write([]byte("ok"))
			}(c)
		}
	}()
	return ln.Addr().String(), got
}

func expiredClient(t *testing.T, ca *testCA) *tls.Certificate {
	t.Helper()
	c, k := ca.issue(t, leafSpec{cn: "old", client: true, expired: true})
	cert, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return &cert
}

func TestIgnoreErrRefusedByDefault(t *testing.T) {
	ca := newCA(t)
	crt := ca.writePEM(t, t.TempDir(), "c.pem", leafSpec{cn: "c.test"})
	for _, kw := range []string{"crt-ignore-err", "ca-ignore-err"} {
		_, err := LoadBind(sslBind(map[string]string{kw: "all"}, crt), nil, Options{})
		if err == nil || !strings.Contains(err.Error(), kw) || !strings.Contains(err.Error(), AllowIgnoreCertErrEnv+"=1") {
			t.Errorf("%s without the opt-out: %v", kw, err)
		}
	}
	for _, v := range []string{"", "0", "95", "10,x"} {
		_, err := LoadBind(sslBind(map[string]string{"verify": "optional", "ca-file": "x", "crt-ignore-err": v}, crt), nil, Options{AllowIgnoreCertErr: true})
		if err == nil {
			t.Errorf("crt-ignore-err %q accepted", v)
		}
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, caFile, ca.pem, 0o644)
	if _, err := LoadBind(sslBind(map[string]string{"verify": "optional", "ca-file": caFile, "ca-ignore-err": "9,94"}, crt), nil,
		Options{AllowIgnoreCertErr: true}); err != nil {
		t.Errorf("ca-ignore-err 9,94 (HAProxy's range is 1..94): %v", err)
	}
}

// An expired client certificate passes a bind ignoring error 10 and the
// connection is told verify=10, err=10; an unknown CA (20) still fails;
// without a connection to record on, an ignored error fails too.
func TestCrtIgnoreErrHandshake(t *testing.T) {
	// The CA predates the expired leaf, as real ones do.
	ca := newCA(t)
	dir := t.TempDir()
	srv := ca.writePEM(t, dir, "srv.pem", leafSpec{cn: "ign.test"})
	caFile := filepath.Join(dir, "ca.pem")
	old := oldCA(t)
	writeFile(t, caFile, old.pem, 0o644)
	good, expired := clientCert(t, old), expiredClient(t, old)
	stranger := clientCert(t, newCA(t))

	b := sslBind(map[string]string{"verify": "required", "ca-file": caFile, "crt-ignore-err": "10"}, srv)
	bt, err := LoadBind(b, nil, Options{AllowIgnoreCertErr: true})
	if err != nil {
		t.Fatal(err)
	}
	addr, got := serveSink(t, bt.Config)
	cc := func(c *tls.Certificate) *tls.Config {
		return &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{*c}}
	}
	if _, err := dial(addr, cc(good)); err != nil {
		t.Errorf("good client: %v", err)
	}
	if _, err := dial(addr, cc(expired)); err != nil {
		t.Errorf("expired client with 10 ignored: %v", err)
	} else {
		select {
		case r := <-got:
			if r != [4]int{10, 10, 0, 0} {
				t.Errorf("expired client recorded %v, want [10 10 0 0]", r)
			}
		case <-time.After(5 * time.Second):
			t.Error("nothing recorded for the expired client")
		}
	}
	if _, err := dial(addr, cc(stranger)); err == nil {
		t.Error("client of an unknown CA accepted (20 is not ignored)")
	}
	select {
	case r := <-got:
		t.Errorf("unexpected record %v (the good client has no error)", r)
	default:
	}
	// No sink: the ignored error is not dropped silently.
	if _, err := dial(serve(t, bt.Config), cc(expired)); err == nil {
		t.Error("expired client accepted on a connection that cannot record it")
	}
	// "all" covers the unknown CA too.
	b.Opts["crt-ignore-err"] = "all"
	addr, got = serveSink(t, mustBind(t, b, nil, Options{AllowIgnoreCertErr: true}).Config)
	if _, err := dial(addr, cc(stranger)); err != nil {
		t.Errorf("unknown CA with all ignored: %v", err)
	} else {
		select {
		case r := <-got:
			if r[0] != x509UnableToGetIssuerLoc || r[1] != x509UnableToGetIssuerLoc {
				t.Errorf("unknown CA recorded %v, want 20", r)
			}
		case <-time.After(5 * time.Second):
			t.Error("nothing recorded for the unknown CA")
		}
	}
}

// oldCA is a CA valid from three days ago, before expiredClient's leaf.
func oldCA(t *testing.T) *testCA {
	t.Helper()
	ca := newCA(t)
	tmpl := *ca.cert
	tmpl.NotBefore = time.Now().Add(-72 * time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, ca.key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: ca.key, pem: pemBlock("CERTIFICATE", der), serial: 1}
}

// A version 1 CRL (no version field) loads and revokes.
func TestCRLVersion1(t *testing.T) {
	ca := newCA(t)
	utc := func(b *cryptobyte.Builder, t time.Time) {
		b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(t.UTC().Format("060102150405Z"))) })
	}
	sigAlg, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}) // ecdsa-with-SHA256
	var tb cryptobyte.Builder
	tb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(sigAlg) })
		b.AddBytes(ca.cert.RawSubject)
		utc(b, time.Now().Add(-time.Hour))
		utc(b, time.Now().Add(time.Hour))
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1BigInt(big.NewInt(7))
				utc(b, time.Now().Add(-time.Minute))
			})
		})
	})
	tbs := tb.BytesOrPanic()
	sum := sha256.Sum256(tbs)
	sig, err := ca.key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var cb cryptobyte.Builder
	cb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(sigAlg) })
		b.AddASN1BitString(sig)
	})
	der := cb.BytesOrPanic()
	if _, err := x509.ParseRevocationList(der); err == nil {
		t.Fatal("crypto/x509 reads version 1 CRLs now: parseCRL's fallback is dead code")
	}
	p := filepath.Join(t.TempDir(), "v1.crl")
	writeFile(t, p, pemBlock("X509 CRL", der), 0o644)
	crls, err := loadCRLs(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := crls[0].CheckSignatureFrom(ca.cert); err != nil {
		t.Errorf("signature of the version 1 CRL: %v", err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(7)}
	if err := checkRevocation([]*x509.Certificate{leaf, ca.cert}, crls, time.Now()); err == nil {
		t.Error("serial 7 is not revoked by the version 1 CRL")
	}
}
