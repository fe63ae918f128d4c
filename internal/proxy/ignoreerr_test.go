package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark/internal/plan"
)

// ignoreCA issues the client certificates of the ignore-err tests.
type ignoreCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newIgnoreCA(t *testing.T, cn string) *ignoreCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().AddDate(30, 0, 0), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &ignoreCA{cert: c, key: key}
}

// client issues a client certificate valid from nb to na; the chain the
// client sends is the leaf and the CA.
func (ca *ignoreCA) client(t *testing.T, serial int64, nb, na time.Time) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "client"},
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}
}

// With BULWARK_ALLOW_IGNORE_CERT_ERR (plan.Options.AllowIgnoreCertErr),
// crt-ignore-err lets a client certificate with the listed errors in and
// the ssl_c_* fetches report them in OpenSSL's numbers; an error not
// listed still ends the handshake.
func TestCrtIgnoreErrFetches(t *testing.T) {
	srvCrt, _ := writeCert(t, "www.bulwark.test")
	ca := newIgnoreCA(t, "Ignore CA")
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o644)
	now := time.Now()
	// 2051 is past UTCTime's range: the certificate holds a
	// GeneralizedTime, which HAProxy prints with two year digits.
	good := ca.client(t, 2, now.Add(-time.Hour), time.Date(2051, 1, 2, 3, 4, 5, 0, time.UTC))
	expired := ca.client(t, 3, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	revoked := ca.client(t, 4, now.Add(-time.Hour), now.Add(24*time.Hour))
	stranger := newIgnoreCA(t, "Other CA").client(t, 5, now.Add(-time.Hour), now.Add(24*time.Hour))
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(4), RevocationTime: now.Add(-time.Minute)}}},
		ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	crlFile := filepath.Join(dir, "crl.pem")
	os.WriteFile(crlFile, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}), 0o644)

	_, addr := startProxyPlan(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt SRV verify required ca-file CA crl-file CRL crt-ignore-err 10,23
    http-request return status 200 hdr X-V "%[ssl_c_verify],%[ssl_c_err],%[ssl_c_ca_err],%[ssl_c_ca_err_depth]" hdr X-CH "%[ssl_c_chain_der,hex]" hdr X-NA "%[ssl_c_notafter]"
`, "SRV", srvCrt, "CA", caFile, "CRL", crlFile), Options{}, plan.Options{AllowIgnoreCertErr: true})

	get := func(cert tls.Certificate) (string, error) {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}})
		if err != nil {
			return "", err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
			return "", err
		}
		out, err := io.ReadAll(c)
		return string(out), err
	}
	for _, tc := range []struct {
		name string
		cert tls.Certificate
		want []string
	}{
		{"good", good, []string{"X-V: 0,0,0,0\r\n", "X-CH: " + strings.ToUpper(hex.EncodeToString(ca.cert.Raw)) + "\r\n",
			"X-NA: 510102030405Z\r\n"}},
		{"expired", expired, []string{"X-V: 10,10,0,0\r\n"}},
		{"revoked", revoked, []string{"X-V: 23,23,0,0\r\n"}},
	} {
		out, err := get(tc.cert)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: response lacks %q:\n%s", tc.name, w, out)
			}
		}
	}
	// 20 (unable to get the issuer) is not in the list.
	if out, err := get(stranger); err == nil && strings.Contains(out, "200") {
		t.Errorf("a certificate of an unknown CA got through:\n%s", out)
	}
}
