package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AllowIgnoreCertErrEnv is the environment opt-out that lets a bind's
// crt-ignore-err and ca-ignore-err take effect. Without it they are
// refused: a verification error that is ignored lets an expired, revoked
// or unknown client certificate in, which only rules reading ssl_c_verify
// can then stop (docs/secure-defaults.md).
const AllowIgnoreCertErrEnv = "BULWARK_ALLOW_IGNORE_CERT_ERR"

// OpenSSL's X509_V_ERR numbers of the errors the client verification
// below reports, so that ssl_c_verify, ssl_c_err and ssl_c_ca_err carry
// the values HAProxy's configurations test.
const (
	x509OK                   = 0
	x509Unspecified          = 1
	x509UnableToGetIssuer    = 2
	x509UnableToGetCRL       = 3
	x509CertNotYetValid      = 9
	x509CertHasExpired       = 10
	x509CRLHasExpired        = 12
	x509DepthZeroSelfSigned  = 18
	x509SelfSignedInChain    = 19
	x509UnableToGetIssuerLoc = 20
	x509CertRevoked          = 23
	x509InvalidCA            = 24
	x509InvalidPurpose       = 26
)

// maxVerifyErr is the highest error ID an ignore list may name: HAProxy
// 2.6.12 built with OpenSSL 3 accepts 1..94 (X509_V_ERR numbers).
const maxVerifyErr = 94

// ignoreSet holds the error IDs a bind ignores, one bit each.
type ignoreSet [2]uint64

func (s *ignoreSet) add(code int) { s[code/64] |= 1 << uint(code%64) }

func (s ignoreSet) has(code int) bool {
	return code > 0 && code <= maxVerifyErr && s[code/64]&(1<<uint(code%64)) != 0
}

// parseIgnoreErr reads "all" or a comma-separated list of error IDs.
func parseIgnoreErr(kw, v, what string) (ignoreSet, error) {
	var s ignoreSet
	if v == "" {
		return s, fmt.Errorf("%s: '%s' : missing error IDs list", what, kw)
	}
	if v == "all" {
		return ignoreSet{^uint64(0), ^uint64(0)}, nil
	}
	for _, p := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > maxVerifyErr {
			return s, fmt.Errorf("%s: '%s' : ID '%s' out of range (1..%d) in error IDs list '%s'", what, kw, p, maxVerifyErr, v)
		}
		s.add(n)
	}
	return s, nil
}

// VerifyResult is what the verification of a client certificate found,
// in OpenSSL's numbers: Verify is the last error (ssl_c_verify), Err the
// first at depth 0 (ssl_c_err), CAErr and CADepth the first above it
// (ssl_c_ca_err, ssl_c_ca_err_depth). The zero value is a clean result.
type VerifyResult struct {
	Verify, Err, CAErr, CADepth int
}

// IgnoredVerifyErrors is what a bind's VerifyConnection returns when the
// client certificate had errors and every one of them is ignored. The
// per-connection wrapper LoadBind installs records the result on the
// connection and lets the handshake go on; anywhere it did not run (no
// connection to record on), the error ends the handshake: an ignored
// error is never dropped without a trace.
type IgnoredVerifyErrors struct{ VerifyResult }

func (e *IgnoredVerifyErrors) Error() string {
	return fmt.Sprintf("tls: client certificate verify error %d ignored but not recorded", e.Verify)
}

// CertVerifyError is a client certificate verification error that is not
// ignored: the handshake fails.
type CertVerifyError struct {
	VerifyResult
	Code, Depth int
	Cert        *x509.Certificate
}

func (e *CertVerifyError) Error() string {
	cn := ""
	if e.Cert != nil {
		cn = e.Cert.Subject.String()
	}
	return fmt.Sprintf("tls: failed to verify certificate: X509 error %d at depth %d (%q)", e.Code, e.Depth, cn)
}

// CertErrorCodes gives ssl_c_err and ssl_c_ca_err for a failed handshake.
func (e *CertVerifyError) CertErrorCodes() (leaf, ca int) { return e.Err, e.CAErr }

// verifySink is a connection that keeps the client verification result
// (tlsfail.Conn).
type verifySink interface {
	SetClientVerify(verify, leafErr, caErr, caDepth int)
}

// ignoringVerifier verifies client certificates itself, in OpenSSL's
// order, so that the errors a bind ignores can be skipped one by one.
type ignoringVerifier struct {
	roots   *x509.CertPool
	crls    []*x509.RevocationList
	hasCRL  bool
	crt, ca ignoreSet
	now     func() time.Time
}

type verifyErr struct {
	code, depth int
	cert        *x509.Certificate
}

// verifyConnection is the tls.Config.VerifyConnection of such a bind.
func (v *ignoringVerifier) verifyConnection(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil // verify optional and no certificate: X509_V_OK
	}
	errs := v.check(cs.PeerCertificates)
	var r VerifyResult
	for _, e := range errs {
		r.Verify = e.code
		if e.depth == 0 {
			if r.Err == 0 {
				r.Err = e.code
			}
			if !v.crt.has(e.code) {
				return &CertVerifyError{VerifyResult: r, Code: e.code, Depth: e.depth, Cert: e.cert}
			}
			continue
		}
		if r.CAErr == 0 {
			r.CAErr, r.CADepth = e.code, e.depth
		}
		if !v.ca.has(e.code) {
			return &CertVerifyError{VerifyResult: r, Code: e.code, Depth: e.depth, Cert: e.cert}
		}
	}
	if r == (VerifyResult{}) {
		return nil
	}
	return &IgnoredVerifyErrors{r}
}

// check lists the verification errors of a presented chain in the order
// OpenSSL's verifier meets them: building the chain to a trusted root,
// the certificates' purpose, revocation, then each certificate's validity
// period from the top of the chain down.
func (v *ignoringVerifier) check(certs []*x509.Certificate) []verifyErr {
	now := v.now()
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: v.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	var chain []*x509.Certificate
	var chainErr, purpose []verifyErr
	// crypto/x509 stops at the first invalid certificate; its time is
	// moved into the validity of every certificate found out of date so
	// far (the periods are checked below, against the real time) and its
	// purpose relaxed, a bounded number of times, until a chain is found
	// or a real failure remains. Certificates with no moment valid in
	// common get no chain: an unspecified error.
	var lo, hi time.Time
	for try := 0; try < 8 && chain == nil; try++ {
		chains, err := leaf.Verify(opts)
		if err == nil {
			chain = chains[0]
			break
		}
		var inv x509.CertificateInvalidError
		var ua x509.UnknownAuthorityError
		switch {
		case errors.As(err, &inv) && inv.Reason == x509.Expired && inv.Cert != nil:
			if lo.IsZero() || inv.Cert.NotBefore.After(lo) {
				lo = inv.Cert.NotBefore
			}
			if hi.IsZero() || inv.Cert.NotAfter.Before(hi) {
				hi = inv.Cert.NotAfter
			}
			if lo.After(hi) {
				try = 8
				continue
			}
			opts.CurrentTime = now
			if now.Before(lo) {
				opts.CurrentTime = lo
			} else if now.After(hi) {
				opts.CurrentTime = hi
			}
			continue
		case errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage:
			purpose = append(purpose, verifyErr{x509InvalidPurpose, 0, leaf})
			opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
			continue
		case errors.As(err, &ua):
			chain, chainErr = untrustedChain(certs)
		case errors.As(err, &inv) && inv.Reason == x509.NotAuthorizedToSign:
			chain = untrustedPath(certs)
			depth := 1
			for i, c := range chain {
				if c.Equal(inv.Cert) {
					depth = i
				}
			}
			chainErr = []verifyErr{{x509InvalidCA, depth, inv.Cert}}
		default:
			chain = untrustedPath(certs)
			chainErr = []verifyErr{{x509Unspecified, 0, leaf}}
		}
	}
	if chain == nil {
		chain = untrustedPath(certs)
		chainErr = []verifyErr{{x509Unspecified, 0, leaf}}
	}
	out := append(chainErr, purpose...)
	if v.hasCRL && len(chainErr) == 0 {
		out = append(out, revocationErrors(chain, v.crls, now)...)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		switch c := chain[i]; {
		case now.Before(c.NotBefore):
			out = append(out, verifyErr{x509CertNotYetValid, i, c})
		case now.After(c.NotAfter):
			out = append(out, verifyErr{x509CertHasExpired, i, c})
		}
	}
	return out
}

// untrustedPath follows the presented certificates from the leaf, each
// one's issuer among the others.
func untrustedPath(certs []*x509.Certificate) []*x509.Certificate {
	path := []*x509.Certificate{certs[0]}
	for len(path) < len(certs) {
		top := path[len(path)-1]
		if selfIssued(top) {
			break
		}
		var next *x509.Certificate
		for _, c := range certs[1:] {
			if bytes.Equal(top.RawIssuer, c.RawSubject) && top.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		path = append(path, next)
	}
	return path
}

// untrustedChain is the path of a chain that reaches no trusted root and
// OpenSSL's error for it, at the depth of its top.
func untrustedChain(certs []*x509.Certificate) ([]*x509.Certificate, []verifyErr) {
	path := untrustedPath(certs)
	top := len(path) - 1
	switch {
	case selfIssued(path[top]) && top == 0:
		return path, []verifyErr{{x509DepthZeroSelfSigned, 0, path[top]}}
	case selfIssued(path[top]):
		return path, []verifyErr{{x509SelfSignedInChain, top, path[top]}}
	case top == 0:
		return path, []verifyErr{{x509UnableToGetIssuerLoc, 0, path[top]}}
	}
	return path, []verifyErr{{x509UnableToGetIssuerLoc, top, path[top]}}
}

func selfIssued(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// revocationErrors is checkRevocation with every error kept and numbered.
func revocationErrors(chain []*x509.Certificate, crls []*x509.RevocationList, now time.Time) []verifyErr {
	var out []verifyErr
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], chain[i+1]
		var crl *x509.RevocationList
		for _, c := range crls {
			if bytes.Equal(c.RawIssuer, issuer.RawSubject) && c.CheckSignatureFrom(issuer) == nil {
				crl = c
				break
			}
		}
		if crl == nil {
			out = append(out, verifyErr{x509UnableToGetCRL, i, cert})
			continue
		}
		if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			out = append(out, verifyErr{x509CRLHasExpired, i, cert})
		}
		for _, r := range crl.RevokedCertificateEntries {
			if r.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				out = append(out, verifyErr{x509CertRevoked, i, cert})
				break
			}
		}
	}
	return out
}

// recordVerify wraps a bind's GetConfigForClient so that each connection
// gets a configuration whose VerifyConnection records ignored errors on
// that connection (ssl_c_verify and friends) instead of failing.
func recordVerify(base *tls.Config, inner func(*tls.ClientHelloInfo) (*tls.Config, error)) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		cfg := base
		if inner != nil {
			c, err := inner(h)
			if err != nil {
				return nil, err
			}
			if c != nil {
				cfg = c
			}
		}
		sink, ok := h.Conn.(verifySink)
		vc := cfg.VerifyConnection
		if !ok || vc == nil {
			if cfg == base {
				return nil, nil
			}
			return cfg, nil
		}
		out := cfg.Clone()
		out.VerifyConnection = func(cs tls.ConnectionState) error {
			err := vc(cs)
			var ig *IgnoredVerifyErrors
			if errors.As(err, &ig) {
				sink.SetClientVerify(ig.Verify, ig.Err, ig.CAErr, ig.CADepth)
				return nil
			}
			return err
		}
		return out, nil
	}
}
