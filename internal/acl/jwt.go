package acl

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"hash"
	"math/big"
)

// JSON Web Tokens (CM 7.3.1 jwt_header_query, jwt_payload_query,
// jwt_verify; RFC 7515 compact serialization, RFC 7518 algorithms).

func prepJWTQuery(c *compiler, cc *convCall) error {
	if len(cc.args) == 0 || cc.args[0].s == "" {
		cc.args = nil
		return nil
	}
	return prepJSONQuery(c, cc)
}

// jwtPart returns the base64url-decoded part i (0 header, 1 payload) of
// a compact JWS, appended to e.buf.
func jwtPart(e *Eval, tok []byte, i int) ([]byte, bool) {
	parts := bytes.SplitN(tok, []byte("."), 4)
	if len(parts) != 3 {
		return nil, false
	}
	n := len(e.buf)
	out, err := base64.RawURLEncoding.AppendDecode(e.buf, parts[i])
	if err != nil {
		return nil, false
	}
	e.buf = out
	return e.tail(n), true
}

func convJWTQuery(part int) convFn {
	return func(e *Eval, c *convCall, s Sample) (Sample, bool) {
		dec, ok := jwtPart(e, s.B, part)
		if !ok {
			return Sample{}, false
		}
		if len(c.args) == 0 {
			return strSample(dec), true
		}
		return convJSONQuery(e, c, strSample(dec))
	}
}

// jwt_verify results (CM 7.3.1 "jwt_verify").
const (
	jwtFail       = 0
	jwtOK         = 1
	jwtUnknownAlg = -1
	jwtPSAlg      = -2
	jwtInvalid    = -3
	jwtUnknownKey = -5
)

// jwtAlgs maps the RFC 7518 "alg" names to a family and a hash.
var jwtAlgs = map[string]struct {
	fam  byte // 'H' HMAC, 'R' RSA PKCS#1 v1.5, 'E' ECDSA, 'P' RSA-PSS, 'N' none
	hash crypto.Hash
}{
	"HS256": {'H', crypto.SHA256}, "HS384": {'H', crypto.SHA384}, "HS512": {'H', crypto.SHA512},
	"RS256": {'R', crypto.SHA256}, "RS384": {'R', crypto.SHA384}, "RS512": {'R', crypto.SHA512},
	"ES256": {'E', crypto.SHA256}, "ES384": {'E', crypto.SHA384}, "ES512": {'E', crypto.SHA512},
	"PS256": {'P', crypto.SHA256}, "PS384": {'P', crypto.SHA384}, "PS512": {'P', crypto.SHA512},
	"none": {'N', 0},
}

// prepJWTVerify loads the certificate a literal key names when the
// configuration is compiled (the manual: "no disk access is required
// during runtime").
func prepJWTVerify(c *compiler, cc *convCall) error {
	prepStrOrVar(cc, 0, false)
	prepStrOrVar(cc, 1, false)
	alg := cc.args[0]
	if !alg.isVar {
		a, ok := jwtAlgs[alg.s]
		if !ok {
			return fmt.Errorf("unknown JWT algorithm '%s'", alg.s)
		}
		if a.fam == 'H' || a.fam == 'N' || a.fam == 'P' {
			return nil
		}
	}
	key := &cc.args[1]
	if key.isVar {
		return nil
	}
	pub, err := loadJWTKey(c, key.s)
	if err != nil {
		if alg.isVar {
			return nil // maybe an HMAC secret: decided per token
		}
		return err
	}
	key.obj = pub
	return nil
}

func loadJWTKey(c *compiler, path string) (crypto.PublicKey, error) {
	data, err := c.opt.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot load certificate '%s': %v", path, err)
	}
	for len(data) > 0 {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			crt, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("cannot parse certificate '%s': %v", path, err)
			}
			return crt.PublicKey, nil
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("cannot parse public key '%s': %v", path, err)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("no certificate or public key in '%s'", path)
}

func convJWTVerify(e *Eval, c *convCall, s Sample) (Sample, bool) {
	algName, ok := argValue(e, &c.args[0], false)
	if !ok {
		return Sample{}, false
	}
	key, ok := argValue(e, &c.args[1], false)
	if !ok {
		return Sample{}, false
	}
	return intSample(jwtVerify(s.B, string(algName), key, c.args[1].obj)), true
}

// jwtVerify checks the signature of a compact JWS; pub is the loaded key
// for the asymmetric algorithms, secret the HMAC key.
func jwtVerify(tok []byte, algName string, secret []byte, pub any) int64 {
	alg, ok := jwtAlgs[algName]
	if !ok {
		return jwtUnknownAlg
	}
	if alg.fam == 'P' {
		return jwtPSAlg
	}
	dot2 := bytes.LastIndexByte(tok, '.')
	if dot2 < 0 || bytes.Count(tok, []byte(".")) != 2 {
		return jwtInvalid
	}
	signed, sig64 := tok[:dot2], tok[dot2+1:]
	dot1 := bytes.IndexByte(signed, '.')
	if dot1 <= 0 || dot1 == len(signed)-1 {
		return jwtInvalid
	}
	sig, err := base64.RawURLEncoding.DecodeString(string(sig64))
	if err != nil {
		return jwtInvalid
	}
	if alg.fam == 'N' {
		return jwtFail
	}
	if alg.fam == 'H' {
		m := hmac.New(hashNew(alg.hash), secret)
		m.Write(signed)
		if hmac.Equal(m.Sum(nil), sig) {
			return jwtOK
		}
		return jwtFail
	}
	if pub == nil {
		return jwtUnknownKey
	}
	h := alg.hash.New()
	h.Write(signed)
	sum := h.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg.fam == 'R' && rsa.VerifyPKCS1v15(k, alg.hash, sum, sig) == nil {
			return jwtOK
		}
	case *ecdsa.PublicKey:
		// JWS carries R and S as two fixed-size big-endian integers.
		if alg.fam == 'E' && len(sig)%2 == 0 && len(sig) > 0 {
			r := new(big.Int).SetBytes(sig[:len(sig)/2])
			s := new(big.Int).SetBytes(sig[len(sig)/2:])
			if ecdsa.Verify(k, sum, r, s) {
				return jwtOK
			}
		}
	}
	return jwtFail
}

func hashNew(h crypto.Hash) func() hash.Hash {
	switch h {
	case crypto.SHA384:
		return sha512.New384
	case crypto.SHA512:
		return sha512.New
	}
	return sha256.New
}
