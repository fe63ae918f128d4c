package proxy

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// A certificate with a "<crt>.ocsp" file has its response stapled; "set
// ssl ocsp-response" staples a new one from the next handshake on.
func TestOCSPStapling(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "OCSP CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "www.bulwark.test"}, DNSNames: []string{"www.bulwark.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	leaf, _ := x509.ParseCertificate(leafDER)
	resp := func(status int) []byte {
		now := time.Now().Truncate(time.Second)
		der, err := ocsp.CreateResponse(ca, ca, ocsp.Response{Status: status, SerialNumber: leaf.SerialNumber, ThisUpdate: now.Add(-time.Minute),
			NextUpdate: now.Add(time.Hour), RevokedAt: now.Add(-time.Minute), IssuerHash: crypto.SHA1}, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	dir := t.TempDir()
	crt := filepath.Join(dir, "www.pem")
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(crt, append(append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...), // the issuer in the chain
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...), 0o600)
	good := resp(ocsp.Good)
	os.WriteFile(crt+".ocsp", good, 0o644)
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT
    http-request return status 200
`, "SOCK", sock, "CRT", crt))
	staple := func() []byte {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().OCSPResponse
	}
	if got := staple(); !bytes.Equal(got, good) {
		t.Fatalf("stapled %d bytes, want the .ocsp file's %d", len(got), len(good))
	}
	revoked := resp(ocsp.Revoked)
	if out := apiCall(t, sock, "set ssl ocsp-response "+base64.StdEncoding.EncodeToString(revoked)); out != "OCSP Response updated!\n\n" {
		t.Fatalf("set ssl ocsp-response: %q", out)
	}
	if got := staple(); !bytes.Equal(got, revoked) {
		t.Fatal("the new response is not stapled")
	}
	if out := apiCall(t, sock, "set ssl ocsp-response "+base64.StdEncoding.EncodeToString(resp(ocsp.Unknown))); out != "OCSP single response: certificate status is unknown.\n\n" {
		t.Fatalf("an unknown status: %q", out)
	}
	if got := staple(); !bytes.Equal(got, revoked) {
		t.Fatal("a refused response replaced the stapled one")
	}
}
