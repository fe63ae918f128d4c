package tlsconf

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"

	"golang.org/x/crypto/ocsp"
)

// OCSP stapling (CM 5.1 "crt": "<crt>.ocsp"; MG 9.3 "set ssl
// ocsp-response"): the DER response a certificate file comes with is
// stapled to its handshakes, and the runtime API replaces it. A response
// is identified, as in HAProxy, by its certificate ID: the SHA-1 hashes
// of the issuer's name and key and the certificate's serial number.

// Issuer returns the issuer of the certificate of path: the chain's next
// certificate, else "<path>.issuer" (HAProxy's two places), else nil.
func Issuer(path string, c *tls.Certificate) *x509.Certificate {
	if x := ChainIssuer(c); x != nil {
		return x
	}
	data, err := os.ReadFile(path + ".issuer")
	if err != nil {
		return nil
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil
	}
	x, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil
	}
	return x
}

// ChainIssuer is the chain's certificate after the leaf, nil without one.
func ChainIssuer(c *tls.Certificate) *x509.Certificate {
	if len(c.Certificate) > 1 {
		if x, err := x509.ParseCertificate(c.Certificate[1]); err == nil {
			return x
		}
	}
	return nil
}

// CertID is a certificate's OCSP identity.
type CertID struct {
	NameHash, KeyHash []byte
	Serial            *big.Int
}

var oidSHA1 = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}

// certIDOf is the SHA-1 certificate ID of leaf under issuer.
func certIDOf(leaf, issuer *x509.Certificate) (CertID, bool) {
	if leaf == nil || issuer == nil {
		return CertID{}, false
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return CertID{}, false
	}
	n := sha1.Sum(issuer.RawSubject)
	k := sha1.Sum(spki.PublicKey.RightAlign())
	return CertID{NameHash: n[:], KeyHash: k[:], Serial: leaf.SerialNumber}, true
}

// Key is the hex of the DER certificate ID: HAProxy's "OCSP Response
// Key" and the id of "show ssl ocsp-response".
func (id CertID) Key() string {
	der, err := asn1.Marshal(struct {
		Alg      pkix.AlgorithmIdentifier
		NameHash []byte
		KeyHash  []byte
		Serial   *big.Int
	}{pkix.AlgorithmIdentifier{Algorithm: oidSHA1, Parameters: asn1.NullRawValue}, id.NameHash, id.KeyHash, id.Serial})
	if err != nil {
		return ""
	}
	return hex.EncodeToString(der)
}

// OCSPError is an OCSP response refused, in HAProxy's words (the runtime
// API answers with them).
type OCSPError string

func (e OCSPError) Error() string { return string(e) }

const (
	ErrOCSPParse    OCSPError = "Unable to parse OCSP response."
	ErrOCSPUnknown  OCSPError = "OCSP single response: certificate status is unknown."
	ErrOCSPNoMatch  OCSPError = "OCSP single response: Certificate ID does not match any certificate or issuer."
	ErrOCSPNoIssuer OCSPError = "no issuer certificate (chain or .issuer file) to check the response with"
)

// CheckOCSP checks that der is a response about leaf signed for issuer
// and that it says good or revoked, as HAProxy's loading does.
func CheckOCSP(der []byte, leaf, issuer *x509.Certificate) (*ocsp.Response, error) {
	if issuer == nil {
		return nil, ErrOCSPNoIssuer
	}
	r, err := ocsp.ParseResponse(der, nil)
	if err != nil {
		return nil, ErrOCSPParse
	}
	id, _ := certIDOf(leaf, issuer)
	if r.SerialNumber == nil || r.SerialNumber.Cmp(id.Serial) != 0 {
		return nil, ErrOCSPNoMatch
	}
	if r, err = ocsp.ParseResponseForCert(der, leaf, issuer); err != nil {
		return nil, ErrOCSPNoMatch
	}
	if r.Status == ocsp.Unknown {
		return nil, ErrOCSPUnknown
	}
	return r, nil
}

// OCSPEntry is a stapled response as the store serves it.
type OCSPEntry struct {
	File   string
	ID     CertID
	Staple []byte
}

// OCSPEntries returns the responses the store staples, a certificate
// file once.
func (s *Store) OCSPEntries() []OCSPEntry {
	seen := map[string]bool{}
	var out []OCSPEntry
	for _, e := range s.snap.Load().entries {
		if seen[e.source] || len(e.cert.OCSPStaple) == 0 {
			continue
		}
		seen[e.source] = true
		if id, ok := certIDOf(e.cert.Leaf, Issuer(e.source, e.cert)); ok {
			out = append(out, OCSPEntry{File: e.source, ID: id, Staple: e.cert.OCSPStaple})
		}
	}
	return out
}

// CertIDUnder is the certificate ID of leaf under issuer.
func CertIDUnder(leaf, issuer *x509.Certificate) (CertID, bool) { return certIDOf(leaf, issuer) }

// CertIDOf returns the certificate ID of the certificate of file, for
// "show ssl cert".
func CertIDOf(file string, c *tls.Certificate) (CertID, bool) {
	return certIDOf(c.Leaf, Issuer(file, c))
}

// SetOCSP staples der to the certificates it is about that were loaded
// with a response, from the next
// handshake on (a new snapshot: handshakes under way keep theirs). It
// reports whether one matched, and the response's error if der does not
// fit the certificate it names.
func (s *Store) SetOCSP(der []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.snap.Load()
	entries := make([]*certEntry, len(old.entries))
	matched := false
	var firstErr error
	r, err := ocsp.ParseResponse(der, nil)
	if err != nil {
		return false, ErrOCSPParse
	}
	for i, e := range old.entries {
		entries[i] = e
		// As in HAProxy, only a certificate loaded with a response has
		// one replaced: the others have no OCSP entry to update.
		if len(e.cert.OCSPStaple) == 0 || e.cert.Leaf == nil || r.SerialNumber == nil || r.SerialNumber.Cmp(e.cert.Leaf.SerialNumber) != 0 {
			continue
		}
		if _, err := CheckOCSP(der, e.cert.Leaf, Issuer(e.source, e.cert)); err != nil {
			if firstErr == nil && err != ErrOCSPNoMatch {
				firstErr = err
			}
			continue
		}
		c := *e.cert
		c.OCSPStaple = append([]byte(nil), der...)
		ne := *e
		ne.cert = &c
		if ne.conf != nil {
			ne.conf = ne.conf.Clone()
			ne.conf.Certificates = []tls.Certificate{c}
		}
		entries[i] = &ne
		matched = true
	}
	if matched {
		s.snap.Store(index(entries))
		return true, nil
	}
	return false, firstErr
}
