//go:build !bulwark_nolibcrypto

package libcrypto

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"runtime"
	"strings"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

func openLib(t testing.TB) *Lib {
	t.Helper()
	l, err := Open("")
	if err != nil {
		// A failure under BULWARK_REQUIRE_TOOLS=1: CI installs libssl3.
		testtool.Missing(t, "no libcrypto on this machine: "+err.Error())
	}
	return l
}

func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func digestOf(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA1:
		d := sha1.Sum(msg)
		return d[:]
	case crypto.SHA256:
		d := sha256.Sum256(msg)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(msg)
		return d[:]
	case crypto.MD5SHA1:
		// The TLS 1.0/1.1 concatenation; any 36 bytes do for a test.
		d := sha1.Sum(msg)
		m := sha256.Sum256(msg)
		return append(m[:16], d[:]...)
	}
	panic("hash")
}

// TestSignVerifies signs through libcrypto and verifies with crypto/rsa,
// for every hash and padding crypto/tls asks for: a wrong padding, hash
// or salt mapping fails here.
func TestSignVerifies(t *testing.T) {
	l := openLib(t)
	for _, bits := range []int{2048, 3072} {
		k := rsaKey(t, bits)
		s, err := l.NewSigner(k)
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte("bulwark")
		tests := []struct {
			name string
			opts crypto.SignerOpts
		}{
			{"pkcs1-sha1", crypto.SHA1},
			{"pkcs1-sha256", crypto.SHA256},
			{"pkcs1-sha384", crypto.SHA384},
			{"pkcs1-sha512", crypto.SHA512},
			{"pkcs1-md5sha1", crypto.MD5SHA1},
			{"pss-sha256", &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}},
			{"pss-sha384", &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA384}},
			{"pss-sha512", &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA512}},
			{"pss-sha256-auto", &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: crypto.SHA256}},
		}
		for _, tt := range tests {
			h := tt.opts.HashFunc()
			d := digestOf(h, msg)
			// sign, not Sign: Sign would hand an unmapped case to
			// crypto/rsa and the test would pass without libcrypto.
			sig, err := s.sign(d, tt.opts)
			if err != nil {
				t.Fatalf("%d %s: %v", bits, tt.name, err)
			}
			if pss, ok := tt.opts.(*rsa.PSSOptions); ok {
				// Verify with the salt length the signature must have.
				want := &rsa.PSSOptions{Hash: h, SaltLength: h.Size()}
				if pss.SaltLength == rsa.PSSSaltLengthAuto {
					want.SaltLength = (k.N.BitLen()-1+7)/8 - 2 - h.Size()
				}
				err = rsa.VerifyPSS(&k.PublicKey, h, d, sig, want)
			} else {
				err = rsa.VerifyPKCS1v15(&k.PublicKey, h, d, sig)
			}
			if err != nil {
				t.Errorf("%d %s: crypto/rsa does not verify libcrypto's signature: %v", bits, tt.name, err)
			}
			// The public entry point takes the same path.
			if sig, err = s.Sign(rand.Reader, d, tt.opts); err != nil || len(sig) != k.Size() {
				t.Errorf("%d %s: Sign: %d bytes, %v", bits, tt.name, len(sig), err)
			}
		}
	}
}

func TestSignRefusesWrongDigestLength(t *testing.T) {
	l := openLib(t)
	s, err := l.NewSigner(rsaKey(t, 2048))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(rand.Reader, make([]byte, 20), crypto.SHA256); err == nil {
		t.Error("a 20-byte digest signed as SHA-256")
	}
	// A hash libcrypto is not asked for goes to crypto/rsa, which signs it.
	k := s.Key()
	sig, err := s.Sign(rand.Reader, make([]byte, 28), crypto.SHA224)
	if err != nil || rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA224, make([]byte, 28), sig) != nil {
		t.Errorf("SHA-224 through crypto/rsa: %v", err)
	}
}

func TestOpenMissingLibrary(t *testing.T) {
	if _, err := Open("/nonexistent/libcrypto.so.3"); err == nil {
		t.Fatal("a library that does not exist opened")
	}
	// A library that is not libcrypto lacks the symbols.
	if _, err := Open("libc.so.6"); err == nil || !strings.Contains(err.Error(), "no symbol") {
		t.Fatalf("libc.so.6: %v", err)
	}
}

// TestKeysFreed drops signers as a reload drops certificates and checks
// that their EVP_PKEYs are freed.
func TestKeysFreed(t *testing.T) {
	l := openLib(t)
	k := rsaKey(t, 2048)
	for range 20 {
		if _, err := l.NewSigner(k); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.LiveKeys() > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := l.LiveKeys(); n != 0 {
		t.Fatalf("%d keys still allocated in libcrypto after GC", n)
	}
}

// TestConcurrentSign signs from several goroutines with one key, each
// call with its own EVP_PKEY_CTX.
func TestConcurrentSign(t *testing.T) {
	l := openLib(t)
	k := rsaKey(t, 2048)
	s, err := l.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	d := digestOf(crypto.SHA256, []byte("x"))
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for range 20 {
				var sig []byte
				if sig, err = s.Sign(rand.Reader, d, crypto.SHA256); err == nil {
					err = rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, d, sig)
				}
				if err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	l := openLib(b)
	k := rsaKey(b, 2048)
	s, err := l.NewSigner(k)
	if err != nil {
		b.Fatal(err)
	}
	d := digestOf(crypto.SHA256, []byte("x"))
	pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	b.Run("libcrypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Sign(rand.Reader, d, pss); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-rsa", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Sign(rand.Reader, d, pss); err != nil {
				b.Fatal(err)
			}
		}
	})
}
