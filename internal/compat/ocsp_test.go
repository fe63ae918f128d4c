package compat

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
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSP stapling's runtime commands against HAProxy 2.6: a certificate
// with its ".issuer" and ".ocsp" files, the list and the details of the
// stapled responses with the signature, and "set ssl ocsp-response" with
// its refusals.
const ocspDiffConfig = `global
    stats socket SOCK level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend tls
    bind 127.0.0.1:PORT ssl crt DIR/leaf.pem
    bind 127.0.0.1:PORT2 ssl crt DIR/other.pem
    http-request return status 200
`

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Country: []string{"FR"}, Organization: []string{"Bulwark"}, CommonName: "Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{c, key}
}

// leaf is a certificate and key PEM signed by the CA.
func (ca *testCA) leaf(t *testing.T, name string, serial int64) ([]byte, *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...), c
}

// response is a DER OCSP response of the CA about c.
func (ca *testCA) response(t *testing.T, c *x509.Certificate, status int) []byte {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := ocsp.Response{Status: status, SerialNumber: c.SerialNumber, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour), IssuerHash: crypto.SHA1}
	if status == ocsp.Revoked {
		tmpl.RevokedAt = now.Add(-30 * time.Minute)
	}
	der, err := ocsp.CreateResponse(ca.cert, ca.cert, tmpl, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestOCSPAgainstHAProxy(t *testing.T) {
	hap := haproxyPath(t)
	if _, err := exec.LookPath("socat"); err != nil {
		if os.Getenv("BULWARK_REQUIRE_TOOLS") == "1" {
			t.Fatal("socat not found and BULWARK_REQUIRE_TOOLS=1")
		}
		t.Skip("socat not found")
	}
	data := t.TempDir()
	ca := newTestCA(t)
	leafPEM, leaf := ca.leaf(t, "leaf.example.test", 0x100f)
	otherPEM, other := ca.leaf(t, "other.example.test", 0x2001)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	os.WriteFile(filepath.Join(data, "leaf.pem"), leafPEM, 0o600)
	os.WriteFile(filepath.Join(data, "leaf.pem.issuer"), caPEM, 0o644)
	os.WriteFile(filepath.Join(data, "leaf.pem.ocsp"), ca.response(t, leaf, ocsp.Good), 0o644)
	os.WriteFile(filepath.Join(data, "other.pem"), otherPEM, 0o600)
	os.WriteFile(filepath.Join(data, "other.pem.issuer"), caPEM, 0o644)
	revoked := base64.StdEncoding.EncodeToString(ca.response(t, leaf, ocsp.Revoked))
	stranger := base64.StdEncoding.EncodeToString(ca.response(t, other, ocsp.Good))
	unknown := base64.StdEncoding.EncodeToString(ca.response(t, leaf, ocsp.Unknown))
	good2 := base64.StdEncoding.EncodeToString(ca.response(t, leaf, ocsp.Good))
	bin := filepath.Join(t.TempDir(), "bulwark")
	if out, err := exec.Command("go", "build", "-o", bin, "bulwark/cmd/bulwark").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var sides []diffSide
	for _, name := range []string{"haproxy", "bulwark"} {
		dir := t.TempDir()
		d := diffSide{name: name, sock: filepath.Join(dir, "api.sock"), cfg: filepath.Join(dir, "test.cfg"), port: freePort(t)}
		cfg := strings.NewReplacer("SOCK", d.sock, "PORT2", freePort(t), "PORT", d.port, "DIR", data).Replace(ocspDiffConfig)
		os.WriteFile(d.cfg, []byte(cfg), 0o644)
		cmd := exec.Command(hap, "-db", "-f", d.cfg)
		if name == "bulwark" {
			cmd = exec.Command(bin, "-f", d.cfg)
			cmd.Env = append(os.Environ(), "BULWARK_ALLOW_ROOT=1", "BULWARK_ALLOW_INSECURE_KEY_PERMS=1")
		}
		start(t, cmd, d.port)
		sides = append(sides, d)
	}
	key := "" // the certificate ID key, read from HAProxy's list
	cmds := []string{"show ssl ocsp-response", "show ssl ocsp-response KEY", "show ssl ocsp-response 3030", "show ssl cert DIR/leaf.pem",
		"show ssl cert DIR/leaf.pem.ocsp", "set ssl ocsp-response", "set ssl ocsp-response !!!", "set ssl ocsp-response AAAA",
		"set ssl ocsp-response " + stranger, "set ssl ocsp-response " + unknown, "set ssl ocsp-response <<\n" + revoked + "\n",
		"show ssl ocsp-response KEY", "show ssl cert DIR/leaf.pem.ocsp", "show ssl ocsp-response",
		// A certificate's response replaced in a "set ssl cert" transaction.
		"set ssl cert DIR/leaf.pem.ocsp <<\n" + good2 + "\n", "show ssl cert *DIR/leaf.pem", "show ssl cert *DIR/leaf.pem.ocsp",
		"show ssl ocsp-response KEY", "commit ssl cert DIR/leaf.pem", "show ssl ocsp-response KEY", "show ssl cert DIR/leaf.pem",
		"set ssl cert DIR/leaf.pem.ocsp <<\nAAAA\n", "abort ssl cert DIR/leaf.pem",
		"set ssl cert DIR/leaf.pem.ocsp <<\n!!!\n", "abort ssl cert DIR/leaf.pem",
		"set ssl cert DIR/leaf.pem.ocsp <<\n" + stranger + "\n", "abort ssl cert DIR/leaf.pem",
		"set ssl cert DIR/other.pem.ocsp <<\n" + stranger + "\n", "commit ssl cert DIR/other.pem", "show ssl ocsp-response",
		"set ssl cert DIR/nope.pem.ocsp <<\n" + good2 + "\n", "set ssl cert DIR/leaf.pem.ocsp",
		"set ssl cert DIR/leaf.pem <<\nLEAF", "set ssl cert DIR/leaf.pem.ocsp <<\n" + good2 + "\n", "commit ssl cert DIR/leaf.pem", "abort ssl cert DIR/leaf.pem",
		"show ssl cert DIR/leaf.pem.ocsp"}
	var diffs []string
	for _, cmd := range cmds {
		cmd = strings.NewReplacer("DIR", data, "KEY", key, "LEAF", string(leafPEM)).Replace(cmd)
		h, b := sides[0].run(t, cmd), sides[1].run(t, cmd)
		if cmd == "show ssl ocsp-response" && key == "" {
			if _, rest, ok := strings.Cut(h, "Certificate ID key : "); ok {
				key, _, _ = strings.Cut(rest, "\n")
			}
		}
		if h != b {
			diffs = append(diffs, cmd[:min(len(cmd), 60)]+":\n  haproxy: "+quote(h)+"\n  bulwark: "+quote(b))
		}
	}
	if key == "" {
		t.Fatal("HAProxy lists no OCSP response")
	}
	// Both staple the response committed through "set ssl cert
	// <crt>.ocsp" (the later commit failed and changed nothing).
	want, _ := base64.StdEncoding.DecodeString(good2)
	for _, d := range sides {
		c, err := tls.Dial("tcp", "127.0.0.1:"+d.port, &tls.Config{InsecureSkipVerify: true, ServerName: "leaf.example.test"})
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		if got := c.ConnectionState().OCSPResponse; !bytes.Equal(got, want) {
			diffs = append(diffs, fmt.Sprintf("%s staples %d bytes, not the committed response", d.name, len(got)))
		}
		c.Close()
	}
	if len(diffs) > 0 {
		t.Fatalf("%d of %d answers differ:\n%s", len(diffs), len(cmds), strings.Join(diffs, "\n"))
	}
}
