// Package libcrypto makes the RSA private-key operation of TLS handshakes
// go through the system's OpenSSL libcrypto (libcrypto.so.3, the library
// HAProxy uses) while crypto/tls does everything else.
//
// Why: a full TLS handshake with an RSA 2048 certificate spends most of the
// server's CPU in one RSA signature, and Go's crypto/rsa, constant-time
// but without OpenSSL's assembly, takes 2.5 to 3 times as long as
// libcrypto for it (docs/performance.md, "RSA signatures through
// libcrypto"). crypto/tls accepts any crypto.Signer as a certificate's
// key, so a Signer that calls EVP_PKEY_sign is the whole integration.
//
// The library is opened with dlopen through github.com/ebitengine/purego,
// without cgo, so that the CGO_ENABLED=0 release build keeps it; building
// with the tag bulwark_nolibcrypto leaves purego out (a static binary whose
// Open always fails, so every key signs with crypto/rsa).
package libcrypto

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// DefaultPath is the library Open loads when given "": the soname of
// OpenSSL 3, found by the dynamic loader as HAProxy's own libcrypto is.
const DefaultPath = "libcrypto.so.3"

// OpenSSL constants (openssl/evp.h, openssl/rsa.h of OpenSSL 3.0).
const (
	evpPKEYRSA         = 6  // EVP_PKEY_RSA (NID_rsaEncryption)
	rsaPKCS1Padding    = 1  // RSA_PKCS1_PADDING
	rsaPKCS1PSSPadding = 6  // RSA_PKCS1_PSS_PADDING
	pssSaltLenDigest   = -1 // RSA_PSS_SALTLEN_DIGEST
	pssSaltLenMax      = -3 // RSA_PSS_SALTLEN_MAX
	minVersion         = 0x30000000
)

// Lib is an opened libcrypto. It is immutable once Open returns but for
// the count of live keys, and safe for concurrent use. A Lib is never
// closed: keys imported through it are freed by the garbage collector's
// cleanups, which need the library mapped, and dlopen of a library already
// loaded only counts a reference (and works inside a chroot).
type Lib struct {
	path    string
	version string
	fn      functions
	// mds are the EVP_MD of the digests crypto/tls asks signatures over;
	// another hash is signed by crypto/rsa.
	mds map[crypto.Hash]uintptr
	// live counts the EVP_PKEYs imported and not yet freed: a reload
	// must not leak them (tests, and the operator's "show info").
	live atomic.Int64
}

// functions are the libcrypto entry points the signer calls; bind fills
// them (purego) or leaves Open failing (bulwark_nolibcrypto).
type functions struct {
	d2iPrivateKey  func(typ int32, a uintptr, pp *uintptr, length int64) uintptr
	pkeyFree       func(pkey uintptr)
	pkeySize       func(pkey uintptr) int32
	ctxNew         func(pkey, engine uintptr) uintptr
	ctxFree        func(ctx uintptr)
	signInit       func(ctx uintptr) int32
	setPadding     func(ctx uintptr, pad int32) int32
	setSignatureMD func(ctx, md uintptr) int32
	setPSSSaltLen  func(ctx uintptr, n int32) int32
	sign           func(ctx uintptr, sig []byte, siglen *uint64, tbs []byte, tbslen uint64) int32
	errGet         func() uint64
	errString      func(e uint64, buf []byte, n uint64)
	errClear       func()
	versionNum     func() uint64
	versionText    func(t int32) string
	// digests by hash, each an EVP_sha256-like constructor
	digests map[crypto.Hash]func() uintptr
}

// Open loads libcrypto from path (DefaultPath when ""), checks it is
// OpenSSL 3 and resolves what the signer calls.
func Open(path string) (*Lib, error) {
	if path == "" {
		path = DefaultPath
	}
	l := &Lib{path: path}
	if err := bind(path, &l.fn); err != nil {
		return nil, err
	}
	if v := l.fn.versionNum(); v < minVersion {
		return nil, fmt.Errorf("%s: OpenSSL version %#x, 3.0 or newer needed", path, v)
	}
	l.version = l.fn.versionText(0) // OPENSSL_VERSION
	l.mds = make(map[crypto.Hash]uintptr, len(l.fn.digests))
	for h, f := range l.fn.digests {
		if md := f(); md != 0 {
			l.mds[h] = md
		}
	}
	return l, nil
}

// Version is OpenSSL's version line, as "openssl version" prints it.
func (l *Lib) Version() string { return l.version }

// Path is the library file as given to Open.
func (l *Lib) Path() string { return l.path }

// LiveKeys is the number of imported keys not yet freed.
func (l *Lib) LiveKeys() int64 { return l.live.Load() }

// Signer is an RSA private key imported into libcrypto. Sign goes through
// EVP_PKEY_sign; Decrypt (the RSA key exchange of the TLS_RSA_* suites)
// and whatever libcrypto is not asked for go to crypto/rsa.
type Signer struct {
	lib  *Lib
	key  *rsa.PrivateKey
	pkey uintptr // EVP_PKEY*; freed by a cleanup once the Signer is garbage
	size int     // signature length in bytes
}

// NewSigner imports k into libcrypto from its PKCS #1 DER and checks, with
// crypto/rsa, that libcrypto's PSS and PKCS #1 v1.5 signatures with it
// verify. The EVP_PKEY is freed when the Signer is garbage collected: a
// certificate dropped on reload may still be in handshakes that started
// before, so nothing frees it explicitly.
func (l *Lib) NewSigner(k *rsa.PrivateKey) (*Signer, error) {
	der := x509.MarshalPKCS1PrivateKey(k)
	p := []uintptr{0} // d2i advances the pointer it is given
	defer clear(der)
	p[0] = uintptr(unsafe.Pointer(&der[0]))
	pkey := l.fn.d2iPrivateKey(evpPKEYRSA, 0, &p[0], int64(len(der)))
	runtime.KeepAlive(der)
	if pkey == 0 {
		return nil, fmt.Errorf("libcrypto: importing the RSA key: %s", l.lastError())
	}
	l.live.Add(1)
	s := &Signer{lib: l, key: k, pkey: pkey, size: int(l.fn.pkeySize(pkey))}
	runtime.AddCleanup(s, func(p uintptr) {
		l.fn.pkeyFree(p)
		l.live.Add(-1)
	}, pkey)
	if err := s.selfTest(); err != nil {
		return nil, err
	}
	return s, nil
}

// selfTest signs one digest each way and verifies with crypto/rsa, so a
// library or an import that gets anything wrong is caught at load, not by
// every client.
func (s *Signer) selfTest() error {
	digest := make([]byte, crypto.SHA256.Size())
	for i := range digest {
		digest[i] = byte(i * 7)
	}
	pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	sig, err := s.sign(digest, pss)
	if err == nil {
		err = rsa.VerifyPSS(&s.key.PublicKey, crypto.SHA256, digest, sig, pss)
	}
	if err != nil {
		return fmt.Errorf("libcrypto self-test (RSA-PSS SHA-256): %w", err)
	}
	sig, err = s.sign(digest, crypto.SHA256)
	if err == nil {
		err = rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, digest, sig)
	}
	if err != nil {
		return fmt.Errorf("libcrypto self-test (RSA PKCS #1 v1.5 SHA-256): %w", err)
	}
	return nil
}

// Public is the certificate's public key.
func (s *Signer) Public() crypto.PublicKey { return &s.key.PublicKey }

// Key is the Go key the signer was made from.
func (s *Signer) Key() *rsa.PrivateKey { return s.key }

// Decrypt is crypto/rsa's: only the TLS_RSA_* key exchange, which no
// default cipher list offers, uses it.
func (s *Signer) Decrypt(rand io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return s.key.Decrypt(rand, msg, opts)
}

// Sign signs digest, a hash of the kind opts names, with RSA-PSS when opts
// is *rsa.PSSOptions and PKCS #1 v1.5 otherwise, as crypto/rsa does. A
// hash without an EVP_MD here (none, or one crypto/tls never asks for) and
// a PSS salt length other than "equals hash" or "auto" go to crypto/rsa.
func (s *Signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.sign(digest, opts)
	if err == errNotMapped {
		return s.key.Sign(rand, digest, opts)
	}
	return sig, err
}

func pssSaltLen(o *rsa.PSSOptions) (int32, bool) {
	switch o.SaltLength {
	case rsa.PSSSaltLengthEqualsHash:
		return pssSaltLenDigest, true
	case rsa.PSSSaltLengthAuto:
		// crypto/rsa signs "auto" with the longest salt that fits.
		return pssSaltLenMax, true
	}
	return 0, false
}

var (
	errShortDigest = errors.New("libcrypto: digest length does not match the hash")
	// errNotMapped: a hash without an EVP_MD here or a PSS salt length
	// sign does not map; Sign hands those to crypto/rsa.
	errNotMapped = errors.New("libcrypto: parameters not mapped")
)

// sign is one EVP_PKEY_sign with a context of its own: OpenSSL 3 allows
// concurrent operations on one EVP_PKEY, not on one EVP_PKEY_CTX.
func (s *Signer) sign(digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h := opts.HashFunc()
	md := s.lib.mds[h]
	if md == 0 {
		return nil, errNotMapped
	}
	pad, salt := int32(rsaPKCS1Padding), int32(0)
	o, isPSS := opts.(*rsa.PSSOptions)
	if isPSS {
		var ok bool
		if salt, ok = pssSaltLen(o); !ok {
			return nil, errNotMapped
		}
		if h == crypto.MD5SHA1 {
			return nil, errors.New("libcrypto: unsupported PSS parameters")
		}
		pad = rsaPKCS1PSSPadding
	}
	if len(digest) != h.Size() {
		return nil, errShortDigest
	}
	f := &s.lib.fn
	ctx := f.ctxNew(s.pkey, 0)
	if ctx == 0 {
		return nil, fmt.Errorf("libcrypto: EVP_PKEY_CTX_new: %s", s.lib.lastError())
	}
	defer f.ctxFree(ctx)
	if f.signInit(ctx) <= 0 || f.setPadding(ctx, pad) <= 0 || f.setSignatureMD(ctx, md) <= 0 ||
		(isPSS && f.setPSSSaltLen(ctx, salt) <= 0) {
		return nil, fmt.Errorf("libcrypto: setting up the signature: %s", s.lib.lastError())
	}
	sig := make([]byte, s.size)
	n := uint64(len(sig))
	if f.sign(ctx, sig, &n, digest, uint64(len(digest))) <= 0 {
		return nil, fmt.Errorf("libcrypto: EVP_PKEY_sign: %s", s.lib.lastError())
	}
	runtime.KeepAlive(s) // the cleanup must not free pkey during the call
	return sig[:n], nil
}

// lastError empties this thread's OpenSSL error queue into one message.
// The goroutine may have moved to another thread since the failing call;
// the message is then less precise, never wrong about the failure itself.
func (l *Lib) lastError() string {
	msg := ""
	buf := make([]byte, 256)
	for i := 0; i < 8; i++ {
		e := l.fn.errGet()
		if e == 0 {
			break
		}
		l.fn.errString(e, buf, uint64(len(buf)))
		if msg != "" {
			msg += "; "
		}
		msg += cString(buf)
	}
	l.fn.errClear()
	if msg == "" {
		return "failed (no OpenSSL error)"
	}
	return msg
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Interface guards.
var (
	_ crypto.Signer    = (*Signer)(nil)
	_ crypto.Decrypter = (*Signer)(nil)
)
