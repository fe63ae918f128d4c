package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

const haproxyBin = "/usr/sbin/haproxy"

func needHAProxy(t *testing.T) {
	t.Helper()
	testtool.Path(t, haproxyBin)
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	// Below Linux's ephemeral range (32768–60999): a port the kernel
	// handed out for ":0" is free again once closed, but any outgoing
	// connection of the tests running beside this one may take it as its
	// source port before the proxy under test binds it ("address already
	// in use", TestSocketHandoverRefused once). Ports here are only ever
	// taken on purpose.
	for i := 0; i < 200; i++ {
		port := 20000 + mrand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port in 20000-31999")
	return 0
}

// writeCertPEM writes a self-signed certificate and its key into one PEM
// file, as HAProxy's 'crt' expects.
func writeCertPEM(t *testing.T, path string) {
	t.Helper()
	writeCertPEMAt(t, path, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour))
}

// writeCertPEMAt is writeCertPEM with the validity period given.
func writeCertPEMAt(t *testing.T, path string, notBefore, notAfter time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: notBefore, NotAfter: notAfter,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	pem.Encode(&b, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

type jsonFinding struct {
	ID       string `json:"id"`
	Verdict  string `json:"verdict"`
	Summary  string `json:"summary"`
	Evidence []struct {
		Verdict string `json:"verdict"`
		Text    string `json:"text"`
	} `json:"evidence"`
}

func runLiveAudit(t *testing.T, args ...string) map[string]jsonFinding {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"audit", "--live", "--format", "json", "--no-git"}, args...), &out, &errb)
	if code == 2 {
		t.Fatalf("audit exit 2: %s", errb.String())
	}
	var rep struct {
		Live     bool          `json:"live"`
		Findings []jsonFinding `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !rep.Live {
		t.Error("report not marked live")
	}
	m := map[string]jsonFinding{}
	for _, f := range rep.Findings {
		m[f.ID] = f
	}
	return m
}

// hasLive reports whether f has live evidence with verdict v whose text
// contains sub.
func hasLive(f jsonFinding, v, sub string) bool {
	for _, e := range f.Evidence {
		if strings.HasPrefix(e.Text, "live") && e.Verdict == v && strings.Contains(e.Text, sub) {
			return true
		}
	}
	return false
}
