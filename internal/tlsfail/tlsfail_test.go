package tlsfail

import (
	"crypto/tls"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"bulwark/internal/tlsconf"
)

func TestClassify(t *testing.T) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}
	old := Hello{Seen: true, Versions: []uint16{0x0a0a, tls.VersionTLS11, tls.VersionTLS10}} // with a GREASE value
	for _, tc := range []struct {
		err  error
		h    Hello
		want Reason
	}{
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, Hello{}, NotTLS},
		{errors.New("tls: client offered only unsupported versions: [302 301]"), old, VersionTooOld},
		{io.EOF, Hello{}, Aborted},
		{errors.New("remote error: tls: unknown certificate authority"), Hello{Seen: true}, PeerRejected},
		{errors.New("tls: no cipher suite supported by both client and server"), Hello{Seen: true}, NoSharedCipher},
		{errors.New("tls: client requested unsupported application protocols ([x])"), Hello{Seen: true}, NoSharedALPN},
		{errors.New("something new"), Hello{Seen: true, Ciphers: []uint16{tls.TLS_AES_128_GCM_SHA256}, Versions: []uint16{tls.VersionTLS13}}, Other},
	} {
		if f := Classify(tc.err, tc.h, cfg); f.Reason != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, f.Reason, tc.want)
		}
	}
	line := Classify(errors.New("tls: x"), old, cfg).Line("web", "127.0.0.1:443", nil)
	if !strings.Contains(line, "version_offered=TLSv1.1 ") || !strings.Contains(line, "client=- ") {
		t.Errorf("line %q", line)
	}
}

// A handshake ended by the ignore-err verifier (an error not ignored) is
// a bad client certificate with the verifier's OpenSSL numbers.
func TestClassifyVerifierError(t *testing.T) {
	err := &tlsconf.CertVerifyError{VerifyResult: tlsconf.VerifyResult{Verify: 23, Err: 10, CAErr: 3, CADepth: 1}, Code: 23}
	f := Classify(err, Hello{Seen: true}, &tls.Config{})
	if f.Reason != BadClientCert {
		t.Fatalf("reason %s, want bad-client-cert", f.Reason)
	}
	if leaf, ca := f.CertErrors(); leaf != 10 || ca != 3 {
		t.Errorf("CertErrors %d/%d, want 10/3", leaf, ca)
	}
}

// helloOf copies every list of the hello, each capped so that appending
// to one cannot write into the next, and an absent list stays nil.
func TestHelloOf(t *testing.T) {
	h := &tls.ClientHelloInfo{ServerName: "www.bulwark.test", SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
		CipherSuites: []uint16{tls.TLS_AES_128_GCM_SHA256, 0x0a0a}, Extensions: []uint16{0, 10, 11, 43},
		SupportedCurves: []tls.CurveID{tls.X25519, tls.CurveP256}, SupportedPoints: []uint8{0}, SupportedProtos: []string{"h2"}}
	got := helloOf(h)
	want := Hello{Seen: true, SNI: "www.bulwark.test", Versions: []uint16{0x0304, 0x0303}, Ciphers: []uint16{0x1301, 0x0a0a},
		Extensions: []uint16{0, 10, 11, 43}, Curves: []uint16{29, 23}, Points: []uint8{0}, ALPN: []string{"h2"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("helloOf = %+v, want %+v", got, want)
	}
	h.CipherSuites[0], h.SupportedCurves[0] = 0, 0
	if got.Ciphers[0] != 0x1301 || got.Curves[0] != 29 {
		t.Error("the copy shares the hello's lists")
	}
	_ = append(got.Versions, 0xffff)
	if got.Ciphers[0] != 0x1301 {
		t.Error("appending to Versions wrote into Ciphers")
	}
	if e := helloOf(&tls.ClientHelloInfo{CipherSuites: []uint16{1}}); e.Versions != nil || e.Extensions != nil || e.Curves != nil || len(e.Ciphers) != 1 {
		t.Errorf("absent lists: %+v", e)
	}
	if n := testing.AllocsPerRun(10, func() { helloOf(h) }); n > 3 {
		t.Errorf("helloOf: %v allocations, want at most 3", n)
	}
}
