package tlsconf

import (
	"crypto/tls"
	"strings"
	"testing"
)

func names(ids []uint16) string {
	var out []string
	for _, id := range ids {
		for _, s := range suites {
			if s.id == id {
				out = append(out, s.name)
			}
		}
	}
	return strings.Join(out, ":")
}

func TestParseCipherList(t *testing.T) {
	tests := []struct {
		in, want         string
		missing, unknown string
	}{
		{in: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384",
			want: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"},
		{in: "ECDHE-RSA-AES128-GCM-SHA256,DHE-RSA-AES128-GCM-SHA256 FOO",
			want: "ECDHE-RSA-AES128-GCM-SHA256", missing: "DHE-RSA-AES128-GCM-SHA256", unknown: "FOO"},
		{in: "ECDHE+AESGCM",
			want: "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"},
		{in: "ECDHE+AESGCM:!aECDSA",
			want: "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"},
		{in: "!RC4:ECDHE-RSA-RC4-SHA:AES128-GCM-SHA256", want: "AES128-GCM-SHA256"},
		{in: "-AESGCM:ECDHE-RSA-AES128-GCM-SHA256", want: "ECDHE-RSA-AES128-GCM-SHA256"},
		{in: "AESGCM+kRSA:ECDHE-RSA-AES128-GCM-SHA256:+kRSA",
			want: "ECDHE-RSA-AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-GCM-SHA256"},
		{in: "HIGH:!aNULL:!MD5:!SHA1:!SHA256:!kRSA:!CHACHA20",
			want: "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"},
		{in: "MEDIUM:!RC4", want: "ECDHE-RSA-DES-CBC3-SHA:DES-CBC3-SHA"},
		{in: "aNULL:eNULL:EXPORT", want: ""},
		{in: "@STRENGTH:TLS_AES_128_GCM_SHA256:CHACHA20", want: "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"},
		{in: "", want: ""},
	}
	for _, tt := range tests {
		cl := ParseCipherList(tt.in)
		if got := names(cl.IDs); got != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.in, got, tt.want)
		}
		if got := strings.Join(cl.Missing, ","); got != tt.missing {
			t.Errorf("%q: missing %q, want %q", tt.in, got, tt.missing)
		}
		if got := strings.Join(cl.Unknown, ","); got != tt.unknown {
			t.Errorf("%q: unknown %q, want %q", tt.in, got, tt.unknown)
		}
	}
}

func TestDefaultSuitesAreAEADWithForwardSecrecy(t *testing.T) {
	ids := defaultSuites()
	if len(ids) != 6 {
		t.Fatalf("default suites %s", names(ids))
	}
	insecure := map[uint16]bool{}
	for _, s := range tls.InsecureCipherSuites() {
		insecure[s.ID] = true
	}
	for _, id := range ids {
		n := tls.CipherSuiteName(id)
		if insecure[id] || strings.Contains(n, "CBC") || !strings.HasPrefix(n, "TLS_ECDHE_") {
			t.Errorf("default includes %s", n)
		}
	}
	// Every suite Go implements is reachable by an OpenSSL name.
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if s.SupportedVersions[0] == tls.VersionTLS13 {
			continue
		}
		found := false
		for _, x := range suites {
			found = found || x.id == s.ID
		}
		if !found {
			t.Errorf("no OpenSSL name for %s", s.Name)
		}
	}
}

func TestCipherSuites13(t *testing.T) {
	for _, tt := range []struct {
		in       string
		warn, ok bool
	}{
		{"", false, true},
		{"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", false, true},
		{"TLS_AES_256_GCM_SHA384", true, true},
		{"TLS_AES_128_CCM_SHA256", true, true},
		{"TLS_AES_256_GCM_SHA384:BOGUS", false, false},
	} {
		w, err := checkCipherSuites13(tt.in, "ciphersuites", false)
		if (err == nil) != tt.ok || (len(w) > 0) != tt.warn {
			t.Errorf("%q: warns %q err %v", tt.in, w, err)
		}
	}
}

func TestCurves(t *testing.T) {
	ids, w, err := curvePreferences("X25519:prime256v1:secp384r1:brainpoolP512r1", "curves")
	if err != nil || len(ids) != 3 || ids[1] != tls.CurveP256 || len(w) != 1 {
		t.Errorf("ids %v warns %q err %v", ids, w, err)
	}
}

func FuzzParseCipherList(f *testing.F) {
	for _, s := range []string{
		"HIGH:!aNULL:!MD5", "ECDHE+AESGCM:ECDHE+CHACHA20:!kRSA", "+", "!", "-", "::", "A+B+C",
		"@SECLEVEL=2:ALL", "ECDHE-RSA-AES128-GCM-SHA256:+AES128", "+-!", "DEFAULT:!3DES:+RC4",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cl := ParseCipherList(s)
		seen := map[uint16]bool{}
		for _, id := range cl.IDs {
			if seen[id] || id == 0 {
				t.Fatalf("%q: duplicate or zero suite %x", s, id)
			}
			seen[id] = true
		}
		_, _, _ = cipherSuites(s, "ciphers")
	})
}

// OpenSSLName gives OpenSSL's name where the table has one and Go's for
// the others (TLS 1.3 suites have the same in both), without allocating
// for the suites a connection negotiates.
func TestOpenSSLName(t *testing.T) {
	openssl := map[uint16]string{}
	for _, s := range suites {
		if s.id != 0 {
			openssl[s.id] = s.name
		}
	}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		want, ok := openssl[cs.ID]
		if !ok {
			want = cs.Name
		}
		if got := OpenSSLName(cs.ID); got != want {
			t.Errorf("OpenSSLName(%#04x) = %q, want %q", cs.ID, got, want)
		}
		if cs.ID>>8 == 0x13 || ok {
			if n := testing.AllocsPerRun(10, func() { OpenSSLName(cs.ID) }); n != 0 {
				t.Errorf("OpenSSLName(%s): %v allocations", cs.Name, n)
			}
		}
	}
	if got := OpenSSLName(0x1234); got != "0x1234" {
		t.Errorf("unknown suite: %q", got)
	}
}
