package tlsconf

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// loadCAPool reads a ca-file: PEM certificates, or "@system-ca" for the
// system's trust store.
func loadCAPool(path string, o Options) (*x509.CertPool, error) {
	if path == "@system-ca" {
		p, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("ca-file @system-ca: %w", err)
		}
		return p, nil
	}
	full := o.caPath(path)
	data, err := os.ReadFile(full)
	if err != nil {
		return nil, fmt.Errorf("ca-file: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("ca-file %s: no PEM certificate found", full)
	}
	return p, nil
}

// loadCRLs reads a crl-file: one or more PEM "X509 CRL" blocks, or a single
// DER CRL.
func loadCRLs(path string, o Options) ([]*x509.RevocationList, error) {
	full := o.caPath(path)
	data, err := os.ReadFile(full)
	if err != nil {
		return nil, fmt.Errorf("crl-file: %w", err)
	}
	var out []*x509.RevocationList
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		crl, err := parseCRL(data)
		if err != nil {
			return nil, fmt.Errorf("crl-file %s: %w", full, err)
		}
		return append(out, crl), nil
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		crl, err := parseCRL(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("crl-file %s: %w", full, err)
		}
		out = append(out, crl)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("crl-file %s: no CRL found", full)
	}
	return out, nil
}

// checkRevocation checks every certificate of a verified chain below its
// root against the CRLs. Like HAProxy (OpenSSL's CRL_CHECK_ALL), a missing
// or expired CRL for an issuer fails the check: a stale list must not
// silently let a revoked certificate through.
func checkRevocation(chain []*x509.Certificate, crls []*x509.RevocationList, now time.Time) error {
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
			return fmt.Errorf("no CRL for issuer %q", issuer.Subject.String())
		}
		if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			return fmt.Errorf("CRL of %q has expired", issuer.Subject.String())
		}
		for _, r := range crl.RevokedCertificateEntries {
			if r.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return fmt.Errorf("certificate %q (serial %s) is revoked", cert.Subject.String(), cert.SerialNumber)
			}
		}
	}
	return nil
}

// parseCRL parses a DER CRL of version 2 or 1. crypto/x509 reads only
// version 2; a version 1 list (no version field, no extensions: OpenSSL's
// "openssl ca -gencrl" without crl extensions writes those, HAProxy's
// reg-test CRLs are some) has otherwise the same structure, so it is
// parsed with the field added and its signed bytes put back, which is
// what CheckSignatureFrom verifies.
func parseCRL(der []byte) (*x509.RevocationList, error) {
	crl, err := x509.ParseRevocationList(der)
	if err == nil {
		return crl, nil
	}
	in := cryptobyte.String(der)
	var list, tbs, rest cryptobyte.String
	var tbsFull cryptobyte.String
	if !in.ReadASN1(&list, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, err
	}
	rest = list
	if !rest.ReadASN1Element(&tbsFull, cbasn1.SEQUENCE) {
		return nil, err
	}
	tbs = tbsFull
	var body cryptobyte.String
	if !tbs.ReadASN1(&body, cbasn1.SEQUENCE) || body.PeekASN1Tag(cbasn1.INTEGER) {
		return nil, err // not a version 1 list: the first error stands
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(1) // v2
			b.AddBytes(body)
		})
		b.AddBytes(rest)
	})
	v2, berr := b.Bytes()
	if berr != nil {
		return nil, err
	}
	crl, err2 := x509.ParseRevocationList(v2)
	if err2 != nil {
		return nil, err
	}
	crl.Raw = der
	crl.RawTBSRevocationList = []byte(tbsFull)
	return crl, nil
}
