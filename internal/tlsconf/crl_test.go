package tlsconf

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"path/filepath"
	"testing"
	"time"
)

func TestClientCRL(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	srv := ca.writePEM(t, dir, "srv.pem", leafSpec{cn: "crl.test"})
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, ca.pem, 0o644)
	good, revoked := clientCert(t, ca), clientCert(t, ca)

	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:     big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Hour),
		NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: revoked.Leaf.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)},
		},
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	crlFile := filepath.Join(dir, "crl.pem")
	writeFile(t, crlFile, pemBlock("X509 CRL", crlDER), 0o644)

	b := sslBind(map[string]string{"verify": "required", "ca-file": caFile, "crl-file": crlFile}, srv)
	addr := serve(t, mustBind(t, b, nil, Options{}).Config)
	if _, err := dial(addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{*good}}); err != nil {
		t.Errorf("good client refused: %v", err)
	}
	if _, err := dial(addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{*revoked}}); err == nil {
		t.Error("revoked client accepted")
	}

	// A CRL from another CA does not cover this chain: refused, as with
	// OpenSSL's CRL_CHECK_ALL.
	other := newCA(t)
	otherDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour)}, other.cert, other.key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, crlFile, otherDER, 0o644) // DER form
	addr = serve(t, mustBind(t, b, nil, Options{}).Config)
	if _, err := dial(addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{*good}}); err == nil {
		t.Error("client accepted without a CRL for its issuer")
	}
}
