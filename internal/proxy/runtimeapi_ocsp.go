package proxy

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/ocsp"

	"bulwark/internal/tlsconf"
)

// The OCSP commands of the runtime API (MG 9.3): "set ssl ocsp-response"
// staples a new response to the certificate it is about, from the next
// handshake on; "show ssl ocsp-response" lists the stapled responses by
// certificate ID, or shows one. The details are the head of OpenSSL's
// "openssl ocsp -resp_text" (status, responder, dates, the single
// response, the signature); the extensions of a response and the dump of
// a responder certificate it carries are not written.

func ocspCommands() []apiCommand {
	return []apiCommand{
		{"set ssl ocsp-response", "<resp|payload>", "admin", "update a certificate's OCSP Response from a base64-encode DER", (*Runtime).apiSetOCSP},
		{"show ssl ocsp-response", "[id]", "operator", "display the IDs of the OCSP responses used in memory", wrap((*Runtime).apiShowOCSP)},
	}
}

func (rt *Runtime) apiSetOCSP(cs *apiSession, args []string) string {
	text := ""
	switch {
	case cs.hasPayload:
		text = cs.payload
	case len(args) > 0:
		text = args[0]
	default:
		return "'set ssl ocsp-response' expects response in base64 encoding.\n"
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		return "'set ssl ocsp-response' received invalid base64 encoded response.\n"
	}
	if _, err := ocsp.ParseResponse(der, nil); err != nil {
		return tlsconf.ErrOCSPParse.Error() + "\n"
	}
	matched := false
	var firstErr error
	for _, st := range rt.stores {
		ok, err := st.SetOCSP(der)
		matched = matched || ok
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	switch {
	case matched:
		return "OCSP Response updated!\n"
	case firstErr != nil:
		return firstErr.Error() + "\n"
	}
	return tlsconf.ErrOCSPNoMatch.Error() + "\n"
}

// ocspEntries are the stapled responses of every bind, a file once.
func (rt *Runtime) ocspEntries() []tlsconf.OCSPEntry {
	seen := map[string]bool{}
	var out []tlsconf.OCSPEntry
	for _, st := range rt.stores {
		for _, e := range st.OCSPEntries() {
			if k := e.ID.Key(); !seen[k] {
				seen[k] = true
				out = append(out, e)
			}
		}
	}
	return out
}

func (rt *Runtime) apiShowOCSP(args []string) string {
	entries := rt.ocspEntries()
	var b strings.Builder
	if len(args) == 0 {
		b.WriteString("# Certificate IDs\n")
		for _, e := range entries {
			fmt.Fprintf(&b, "Certificate ID key : %s\n Certificate ID:\n   Issuer Name Hash: %X\n   Issuer Key Hash: %X\n   Serial Number: %X\n",
				e.ID.Key(), e.ID.NameHash, e.ID.KeyHash, e.ID.Serial.Bytes())
		}
		return b.String()
	}
	for _, e := range entries {
		if e.ID.Key() == strings.ToLower(args[0]) {
			writeOCSPDetails(&b, e)
			return b.String()
		}
	}
	return "Certificate ID does not match any certificate.\n"
}

// ocspFor returns the stapled response of a certificate file.
func (rt *Runtime) ocspFor(file string) (tlsconf.OCSPEntry, bool) {
	for _, e := range rt.ocspEntries() {
		if e.File == file {
			return e, true
		}
	}
	return tlsconf.OCSPEntry{}, false
}

// opensslTime is OpenSSL's ASN1_TIME_print.
const opensslTime = "Jan _2 15:04:05 2006 GMT"

// writeOCSPDetails writes "openssl ocsp -resp_text" for e, as HAProxy
// shows it.
func writeOCSPDetails(b *strings.Builder, e tlsconf.OCSPEntry) {
	r, err := ocsp.ParseResponse(e.Staple, nil)
	if err != nil {
		return
	}
	b.WriteString("OCSP Response Data:\n    OCSP Response Status: successful (0x0)\n    Response Type: Basic OCSP Response\n    Version: 1 (0x0)\n")
	if len(r.RawResponderName) > 0 {
		fmt.Fprintf(b, "    Responder Id: %s\n", printName(r.RawResponderName))
	} else {
		fmt.Fprintf(b, "    Responder Id: %X\n", r.ResponderKeyHash)
	}
	fmt.Fprintf(b, "    Produced At: %s\n    Responses:\n    Certificate ID:\n      Hash Algorithm: sha1\n", r.ProducedAt.UTC().Format(opensslTime))
	fmt.Fprintf(b, "      Issuer Name Hash: %X\n      Issuer Key Hash: %X\n      Serial Number: %X\n", e.ID.NameHash, e.ID.KeyHash, e.ID.Serial.Bytes())
	switch r.Status {
	case ocsp.Good:
		b.WriteString("    Cert Status: good\n")
	case ocsp.Revoked:
		fmt.Fprintf(b, "    Cert Status: revoked\n    Revocation Time: %s\n", r.RevokedAt.UTC().Format(opensslTime))
	default:
		b.WriteString("    Cert Status: unknown\n")
	}
	fmt.Fprintf(b, "    This Update: %s\n", r.ThisUpdate.UTC().Format(opensslTime))
	if !r.NextUpdate.IsZero() {
		fmt.Fprintf(b, "    Next Update: %s\n", r.NextUpdate.UTC().Format(opensslTime))
	}
	// Then OpenSSL's line with one space (where the response's extensions
	// would go) and the signature, 18 bytes a line.
	fmt.Fprintf(b, " \n    Signature Algorithm: %s\n    Signature Value:", sigAlgName(r.SignatureAlgorithm))
	for i, c := range r.Signature {
		if i%18 == 0 {
			b.WriteString("\n        ")
		}
		fmt.Fprintf(b, "%02x", c)
		if i < len(r.Signature)-1 {
			b.WriteByte(':')
		}
	}
	b.WriteString("\n")
}

// sigAlgName is OpenSSL's name of a signature algorithm.
func sigAlgName(a x509.SignatureAlgorithm) string {
	switch a {
	case x509.SHA1WithRSA:
		return "sha1WithRSAEncryption"
	case x509.SHA256WithRSA:
		return "sha256WithRSAEncryption"
	case x509.SHA384WithRSA:
		return "sha384WithRSAEncryption"
	case x509.SHA512WithRSA:
		return "sha512WithRSAEncryption"
	case x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		return "rsassaPss"
	case x509.ECDSAWithSHA1:
		return "ecdsa-with-SHA1"
	case x509.ECDSAWithSHA256:
		return "ecdsa-with-SHA256"
	case x509.ECDSAWithSHA384:
		return "ecdsa-with-SHA384"
	case x509.ECDSAWithSHA512:
		return "ecdsa-with-SHA512"
	case x509.PureEd25519:
		return "ED25519"
	}
	return a.String()
}

// printName is OpenSSL's one-line name of "-resp_text": "C = FR, O = …".
func printName(raw []byte) string {
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(raw, &rdns); err != nil {
		return fmt.Sprintf("%X", raw)
	}
	var parts []string
	for _, rdn := range rdns {
		for _, atv := range rdn {
			k := oidNames[atv.Type.String()]
			if k == "" {
				k = atv.Type.String()
			}
			parts = append(parts, fmt.Sprintf("%s = %v", k, atv.Value))
		}
	}
	return strings.Join(parts, ", ")
}
