package proxy

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
	"sync"

	"bulwark/internal/tlsconf"
)

// The certificate commands of the runtime API (MG 9.3): "set ssl cert"
// opens a transaction with a new certificate for a file the configuration
// serves, "commit ssl cert" swaps it in every bind serving that file
// (connections already established keep theirs), "abort ssl cert" drops
// it. As in HAProxy only one transaction is open at a time, and what was
// committed lives in memory: a reload reads the files again.

type sslTx struct {
	mu   sync.Mutex
	file string
	cert *tls.Certificate
}

func sslCommands() []apiCommand {
	return []apiCommand{
		{"show ssl cert", "[<certfile>]", "operator", "display the SSL certificates used in memory, or the details of a file", wrap((*Runtime).apiShowSSLCert)},
		{"set ssl cert", "<certfile> <payload>", "admin", "replace a certificate file", (*Runtime).apiSetSSLCert},
		{"commit ssl cert", "<certfile>", "admin", "commit a certificate file", wrap((*Runtime).apiCommitSSLCert)},
		{"abort ssl cert", "<certfile>", "admin", "abort a transaction for a certificate file", wrap((*Runtime).apiAbortSSLCert)},
	}
}

// certFiles lists the files every bind serves, each once.
func (rt *Runtime) certFiles() []string {
	seen := map[string]bool{}
	var out []string
	for _, st := range rt.stores {
		for _, f := range st.Files() {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}

func (rt *Runtime) servedCert(file string) *tls.Certificate {
	for _, st := range rt.stores {
		if c := st.Certificate(file); c != nil {
			return c
		}
	}
	return nil
}

func (rt *Runtime) apiShowSSLCert(args []string) string {
	rt.ssl.mu.Lock()
	txFile, txCert := rt.ssl.file, rt.ssl.cert
	rt.ssl.mu.Unlock()
	var b strings.Builder
	if len(args) == 0 {
		if txCert != nil {
			b.WriteString("# transaction\n*" + txFile + "\n")
		}
		b.WriteString("# filename\n")
		for _, f := range rt.certFiles() {
			b.WriteString(f + "\n")
		}
		return b.String()
	}
	name := args[0]
	var c *tls.Certificate
	status := "Used"
	if rest, ok := strings.CutPrefix(name, "*"); ok {
		if txCert != nil && rest == txFile {
			c, status = txCert, "Unused"
		}
	} else {
		c = rt.servedCert(name)
	}
	if c == nil || c.Leaf == nil {
		return "Can't display the certificate: Not found or the certificate is a bundle!\n"
	}
	writeCertDetails(&b, name, status, c)
	return b.String()
}

// writeCertDetails writes a certificate as HAProxy's "show ssl cert
// <file>" does, with OpenSSL's spelling of dates and names.
func writeCertDetails(b *strings.Builder, name, status string, c *tls.Certificate) {
	leaf := c.Leaf
	fmt.Fprintf(b, "Filename: %s\nStatus: %s\n", name, status)
	fmt.Fprintf(b, "Serial: %X\n", leaf.SerialNumber.Bytes())
	fmt.Fprintf(b, "notBefore: %s\nnotAfter: %s\n", leaf.NotBefore.UTC().Format("Jan _2 15:04:05 2006 GMT"), leaf.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT"))
	var sans []string
	for _, d := range leaf.DNSNames {
		sans = append(sans, "DNS:"+d)
	}
	for _, ip := range leaf.IPAddresses {
		sans = append(sans, "IP Address:"+ip.String())
	}
	if len(sans) > 0 {
		fmt.Fprintf(b, "Subject Alternative Name: %s\n", strings.Join(sans, ", "))
	}
	fmt.Fprintf(b, "Algorithm: %s\n", keyAlgorithm(leaf))
	fmt.Fprintf(b, "SHA1 FingerPrint: %X\n", sha1.Sum(leaf.Raw))
	fmt.Fprintf(b, "Subject: %s\nIssuer: %s\n", oneLine(leaf.Subject), oneLine(leaf.Issuer))
	for _, der := range c.Certificate[1:] {
		if ic, err := x509.ParseCertificate(der); err == nil {
			fmt.Fprintf(b, "Chain Subject: %s\nChain Issuer: %s\n", oneLine(ic.Subject), oneLine(ic.Issuer))
		}
	}
	b.WriteString("OCSP Response Key: \n")
}

func keyAlgorithm(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return fmt.Sprintf("EC%d", k.Curve.Params().BitSize)
	case ed25519.PublicKey:
		return "ED25519"
	}
	return c.PublicKeyAlgorithm.String()
}

// oidNames are OpenSSL's short names of the usual name attributes.
var oidNames = map[string]string{
	"2.5.4.6": "C", "2.5.4.8": "ST", "2.5.4.7": "L", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.3": "CN",
	"1.2.840.113549.1.9.1": "emailAddress", "2.5.4.5": "serialNumber", "2.5.4.9": "street", "2.5.4.17": "postalCode",
	"0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID", "2.5.4.12": "title", "2.5.4.42": "GN", "2.5.4.4": "SN",
}

// oneLine is OpenSSL's X509_NAME_oneline: "/C=FR/O=…/CN=…" in the
// certificate's order.
func oneLine(n pkix.Name) string {
	var b strings.Builder
	for _, atv := range n.Names {
		k := oidNames[atv.Type.String()]
		if k == "" {
			k = asn1.ObjectIdentifier(atv.Type).String()
		}
		fmt.Fprintf(&b, "/%s=%v", k, atv.Value)
	}
	return b.String()
}

func (rt *Runtime) apiSetSSLCert(cs *apiSession, args []string) string {
	if len(args) != 1 || !cs.hasPayload {
		return "'set ssl cert expects a filename and a certificate as a payload\n"
	}
	file := args[0]
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	if rt.ssl.cert != nil && rt.ssl.file != file {
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\nCan't update %s!\n", rt.ssl.file, file, file)
	}
	if rt.servedCert(file) == nil {
		return "Can't replace a certificate which is not referenced by the configuration!\nCan't update " + file + "!\n"
	}
	c, err := tlsconf.ParseCertificate([]byte(cs.payload))
	if err != nil || c.Leaf == nil {
		return "unable to load certificate from file '" + file + "'.\nCan't load the payload\nCan't update " + file + "!\n"
	}
	verb := "created"
	if rt.ssl.cert != nil {
		verb = "updated"
	}
	rt.ssl.file, rt.ssl.cert = file, c
	return "Transaction " + verb + " for certificate " + file + "!\n"
}

func (rt *Runtime) apiCommitSSLCert(args []string) string {
	if len(args) != 1 {
		return "'commit ssl cert expects a filename\n"
	}
	file := args[0]
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	if rt.ssl.cert == nil {
		return "No ongoing transaction! !\nCan't commit " + file + "!\n"
	}
	if rt.ssl.file != file {
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\nCan't commit %s!\n", rt.ssl.file, file, file)
	}
	for _, st := range rt.stores {
		st.Replace(file, rt.ssl.cert)
	}
	rt.ssl.file, rt.ssl.cert = "", nil
	return "Committing " + file + ".\nSuccess!\n"
}

func (rt *Runtime) apiAbortSSLCert(args []string) string {
	if len(args) != 1 {
		return "'abort ssl cert' expects a filename\n"
	}
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	if rt.ssl.cert == nil {
		return "No ongoing transaction!\n"
	}
	if rt.ssl.file != args[0] {
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to abort a transaction for '%s'\nCan't abort %s!\n", rt.ssl.file, args[0], args[0])
	}
	file := rt.ssl.file
	rt.ssl.file, rt.ssl.cert = "", nil
	return "Transaction aborted for certificate '" + file + "'!\n"
}
