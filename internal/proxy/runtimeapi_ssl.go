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
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
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
	// issuer is what the transaction knows of the certificate's issuer,
	// as HAProxy knows it: the chain's next certificate, or the ".issuer"
	// file of a certificate loaded with an OCSP response. A response set
	// with "set ssl cert <file>.ocsp" is committed only with one.
	issuer *x509.Certificate
	// issuers are the issuers known of the certificates committed since
	// the configuration was loaded (a nil value: none); the others' are
	// what loading knew (knownIssuer).
	issuers map[string]*x509.Certificate
	// newCerts are the files "new ssl cert" created, which no bind
	// serves: nil until a certificate is committed to one.
	newCerts map[string]*tls.Certificate
	// caFile and caCerts are the open "set ssl ca-file" transaction
	// (caCerts nil: none); newCAs the files "new ssl ca-file" created.
	caFile  string
	caCerts []*x509.Certificate
	newCAs  map[string][]*x509.Certificate
}

func sslCommands() []apiCommand {
	return []apiCommand{
		{"show ssl cert", "[<certfile>]", "operator", "display the SSL certificates used in memory, or the details of a file", wrap((*Runtime).apiShowSSLCert)},
		{"set ssl cert", "<certfile> <payload>", "admin", "replace a certificate file", (*Runtime).apiSetSSLCert},
		{"commit ssl cert", "<certfile>", "admin", "commit a certificate file", wrap((*Runtime).apiCommitSSLCert)},
		{"abort ssl cert", "<certfile>", "admin", "abort a transaction for a certificate file", wrap((*Runtime).apiAbortSSLCert)},
		{"new ssl cert", "<certfile>", "admin", "create a new certificate file to be used in a crt-list or a directory", wrap((*Runtime).apiNewSSLCert)},
		{"del ssl cert", "<certfile>", "admin", "delete an unused certificate file", wrap((*Runtime).apiDelSSLCert)},
		{"show ssl ca-file", "[<cafile>[:<index>]]", "operator", "display the SSL CA files used in memory", wrap((*Runtime).apiShowSSLCAFile)},
		{"set ssl ca-file", "<cafile> <payload>", "admin", "replace a CA file", (*Runtime).apiSetSSLCAFile},
		{"commit ssl ca-file", "<cafile>", "admin", "commit a CA file", wrap((*Runtime).apiCommitSSLCAFile)},
		{"abort ssl ca-file", "<cafile>", "admin", "abort a transaction for a CA file", wrap((*Runtime).apiAbortSSLCAFile)},
		{"new ssl ca-file", "<cafile>", "admin", "create a new CA file to be used in a crt-list", wrap((*Runtime).apiNewSSLCAFile)},
		{"del ssl ca-file", "<cafile>", "admin", "delete an unused CA file", wrap((*Runtime).apiDelSSLCAFile)},
		{"add ssl crt-list", "<list> <cert> [opts]*", "admin", "add to crt-list file <list> a line <cert> or a payload", (*Runtime).apiAddSSLCrtList},
		{"del ssl crt-list", "<list> <cert[:line]>", "admin", "delete a line <cert> from crt-list file <list>", wrap((*Runtime).apiDelSSLCrtList)},
		{"show ssl crt-list", "[-n] [<list>]", "operator", "show the list of crt-lists or the content of a crt-list file", wrap((*Runtime).apiShowSSLCrtList)},
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
	txFile, txCert, txIssuer := rt.ssl.file, rt.ssl.cert, rt.ssl.issuer
	rt.ssl.mu.Unlock()
	var b strings.Builder
	if len(args) == 0 {
		if txCert != nil {
			b.WriteString("# transaction\n*" + txFile + "\n")
		}
		b.WriteString("# filename\n")
		for _, f := range rt.allCertFiles() {
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
		// "*<crt>.ocsp": the response the transaction would staple.
		if base, ok := strings.CutSuffix(rest, ".ocsp"); ok && txCert != nil && base == txFile && len(txCert.OCSPStaple) > 0 && txCert.Leaf != nil {
			issuer := txIssuer
			if issuer == nil {
				issuer = tlsconf.Issuer(base, txCert)
			}
			if id, ok := tlsconf.CertIDUnder(txCert.Leaf, issuer); ok {
				writeOCSPDetails(&b, tlsconf.OCSPEntry{File: base, ID: id, Staple: txCert.OCSPStaple})
				return b.String()
			}
		}
	} else {
		c = rt.servedCert(name)
		if base, ok := strings.CutSuffix(name, ".ocsp"); ok && c == nil {
			// "<crt>.ocsp" is the response stapled to <crt>.
			if e, ok := rt.ocspFor(base); ok {
				writeOCSPDetails(&b, e)
				return b.String()
			}
		}
		if c == nil {
			rt.ssl.mu.Lock()
			nc, isNew := rt.ssl.newCerts[name]
			rt.ssl.mu.Unlock()
			if isNew && nc == nil {
				return "Filename: " + name + "\nStatus: Empty\nOCSP Response Key: \n"
			}
			c, status = nc, "Unused"
		}
	}
	if c == nil || c.Leaf == nil {
		return "Can't display the certificate: Not found or the certificate is a bundle!\n"
	}
	writeCertDetails(&b, name, status, c)
	if len(c.OCSPStaple) > 0 {
		if id, ok := tlsconf.CertIDOf(strings.TrimPrefix(name, "*"), c); ok {
			out := strings.TrimSuffix(b.String(), "OCSP Response Key: \n")
			return out + "OCSP Response Key: " + id.Key() + "\n"
		}
	}
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
	// Printed even empty, as HAProxy does.
	fmt.Fprintf(b, "Subject Alternative Name: %s\n", strings.Join(sans, ", "))
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
	// "<crt>.ocsp" is the OCSP response of <crt>, in base64 (MG 9.3).
	base, isOCSP := strings.CutSuffix(file, ".ocsp")
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	if rt.ssl.cert != nil && rt.ssl.file != base {
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\nCan't update %s!\n", rt.ssl.file, file, file)
	}
	newCert, isNew := rt.ssl.newCerts[base]
	served := rt.servedCert(base)
	if !isNew && served == nil {
		return "Can't replace a certificate which is not referenced by the configuration!\nCan't update " + file + "!\n"
	}
	verb := "created"
	if rt.ssl.cert != nil {
		verb = "updated"
	}
	if isOCSP {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(cs.payload), ""))
		cur, issuer := rt.ssl.cert, rt.ssl.issuer
		if cur == nil {
			cur = served
			if cur == nil {
				cur = newCert
			}
			if cur != nil {
				issuer = rt.knownIssuer(base, cur)
			}
		}
		if err != nil || len(der) == 0 || cur == nil {
			// (HAProxy's message has no line break after "format".)
			return "Error reading OCSP response in base64 formatCan't load the payload\nCan't update " + file + "!\n"
		}
		c := *cur
		c.OCSPStaple = der
		rt.ssl.file, rt.ssl.cert, rt.ssl.issuer = base, &c, issuer
		return "Transaction " + verb + " for certificate " + base + "!\n"
	}
	// A key libcrypto does not take signs with crypto/rsa, as at load;
	// the start-up log is gone, so the answer carries the warning.
	c, warn, err := tlsconf.ParseCertificate([]byte(cs.payload), rt.rsa)
	if err != nil || c.Leaf == nil {
		return "unable to load certificate from file '" + file + "'.\nCan't load the payload\nCan't update " + file + "!\n"
	}
	rt.ssl.file, rt.ssl.cert, rt.ssl.issuer = file, c, tlsconf.ChainIssuer(c)
	if warn != "" {
		return "Transaction " + verb + " for certificate " + file + "!\nWarning: " + warn + "\n"
	}
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
	if c := rt.ssl.cert; len(c.OCSPStaple) > 0 {
		if rt.ssl.issuer == nil || c.Leaf == nil {
			// The transaction ends, as HAProxy's does on a failed commit.
			rt.ssl.file, rt.ssl.cert, rt.ssl.issuer = "", nil, nil
			return "Committing " + file + ".\n '" + file + ".ocsp' is present and activates OCSP but it is impossible to compute the OCSP certificate ID (maybe the issuer could not be found)'.\nFailed!\n"
		}
		if _, err := tlsconf.CheckOCSP(c.OCSPStaple, c.Leaf, rt.ssl.issuer); err != nil {
			// HAProxy commits the certificate and staples nothing.
			nc := *c
			nc.OCSPStaple = nil
			rt.ssl.cert = &nc
		}
	}
	if rt.ssl.issuers == nil {
		rt.ssl.issuers = map[string]*x509.Certificate{}
	}
	rt.ssl.issuers[file] = rt.ssl.issuer
	// A dot per certificate instance replaced, as HAProxy writes them.
	dots := 0
	for _, st := range rt.stores {
		dots += st.Instances(file)
		st.Replace(file, rt.ssl.cert)
	}
	if _, isNew := rt.ssl.newCerts[file]; isNew {
		rt.ssl.newCerts[file] = rt.ssl.cert
	}
	rt.ssl.file, rt.ssl.cert, rt.ssl.issuer = "", nil, nil
	return "Committing " + file + strings.Repeat(".", dots) + "\nSuccess!\n"
}

// knownIssuer is the issuer HAProxy knows in memory of the certificate
// of file (rt.ssl.mu held): the one its last commit had, else the
// chain's, else the ".issuer" file when it was loaded with a response.
func (rt *Runtime) knownIssuer(file string, c *tls.Certificate) *x509.Certificate {
	if x, ok := rt.ssl.issuers[file]; ok {
		return x
	}
	if x := tlsconf.ChainIssuer(c); x != nil || len(c.OCSPStaple) == 0 {
		return x
	}
	return tlsconf.Issuer(file, c)
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
	rt.ssl.file, rt.ssl.cert, rt.ssl.issuer = "", nil, nil
	return "Transaction aborted for certificate '" + file + "'!\n"
}

// allCertFiles are the files the binds serve, then those "new ssl cert"
// created, in name order.
func (rt *Runtime) allCertFiles() []string {
	out := rt.certFiles()
	rt.ssl.mu.Lock()
	var extra []string
	for f := range rt.ssl.newCerts {
		extra = append(extra, f)
	}
	rt.ssl.mu.Unlock()
	sort.Strings(extra)
	return append(out, extra...)
}

func (rt *Runtime) apiNewSSLCert(args []string) string {
	if len(args) != 1 {
		return "'new ssl cert' expects a filename\n"
	}
	file := args[0]
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	if _, isNew := rt.ssl.newCerts[file]; isNew || rt.servedCert(file) != nil {
		return "Certificate '" + file + "' already exists!\n"
	}
	if rt.ssl.newCerts == nil {
		rt.ssl.newCerts = map[string]*tls.Certificate{}
	}
	rt.ssl.newCerts[file] = nil
	return "New empty certificate store '" + file + "'!\n"
}

func (rt *Runtime) apiDelSSLCert(args []string) string {
	if len(args) != 1 {
		return "'del ssl cert' expects a certificate name\n"
	}
	file := args[0]
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	if rt.ssl.cert != nil && rt.ssl.file == file {
		return "Can't remove the certificate: ongoing transaction for the certificate '" + file + "'\n"
	}
	if rt.servedCert(file) != nil {
		return "Can't remove the certificate: certificate '" + file + "' in use, can't be deleted!\n\n"
	}
	if _, isNew := rt.ssl.newCerts[file]; !isNew {
		return "Can't remove the certificate: certificate '" + file + "' doesn't exist!\n\n"
	}
	delete(rt.ssl.newCerts, file)
	return "Certificate '" + file + "' deleted!\n"
}

// caFiles are the CA files of the binds by path, each with every bind's
// copy (a commit replaces them all).
func (rt *Runtime) caFiles() map[string][]*tlsconf.CAFile {
	out := map[string][]*tlsconf.CAFile{}
	for _, st := range rt.stores {
		if ca := st.CA(); ca != nil {
			out[ca.Path] = append(out[ca.Path], ca)
		}
	}
	return out
}

// caCerts are the certificates of a CA file the binds use or "new ssl
// ca-file" created, and whether it is known. Called with rt.ssl.mu held.
func (rt *Runtime) caCerts(path string) ([]*x509.Certificate, bool, bool) {
	if cas := rt.caFiles()[path]; len(cas) > 0 {
		return cas[0].Certs(), true, true
	}
	certs, ok := rt.ssl.newCAs[path]
	return certs, ok, false
}

func (rt *Runtime) apiShowSSLCAFile(args []string) string {
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	if len(args) == 0 {
		var b strings.Builder
		if rt.ssl.caCerts != nil {
			fmt.Fprintf(&b, "# transaction\n*%s - %d certificate(s)\n", rt.ssl.caFile, len(rt.ssl.caCerts))
		}
		b.WriteString("# filename\n")
		counts := map[string]int{}
		for p, cas := range rt.caFiles() {
			counts[p] = len(cas[0].Certs())
		}
		for p, certs := range rt.ssl.newCAs {
			counts[p] = len(certs)
		}
		paths := make([]string, 0, len(counts))
		for p := range counts {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			fmt.Fprintf(&b, "%s - %d certificate(s)\n", p, counts[p])
		}
		return b.String()
	}
	name, index := args[0], 0
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		n, err := strconv.Atoi(name[i+1:])
		if err != nil || n <= 0 {
			return "wrong CA index after colons in '" + name + "'!\n" + unterminated
		}
		name, index = name[:i], n
	}
	var certs []*x509.Certificate
	status := "Unused"
	if rest, ok := strings.CutPrefix(name, "*"); ok {
		if rt.ssl.caCerts == nil || rest != rt.ssl.caFile {
			return "Can't display the CA file : Not found!\n"
		}
		certs = rt.ssl.caCerts
	} else {
		c, known, used := rt.caCerts(name)
		if !known {
			return "Can't display the CA file : Not found!\n"
		}
		certs = c
		if used {
			status = "Used"
		}
	}
	var b strings.Builder
	for i, c := range certs {
		if index != 0 && i+1 != index {
			continue
		}
		// HAProxy writes the header with the first certificate shown: a
		// file without one (or an index past its end) shows nothing.
		if b.Len() == 0 {
			fmt.Fprintf(&b, "Filename: %s\nStatus: %s\n", name, status)
		}
		fmt.Fprintf(&b, " \nCertificate #%d:\n", i+1)
		writeCAEntry(&b, c)
	}
	return b.String()
}

// writeCAEntry writes one certificate of "show ssl ca-file <file>".
func writeCAEntry(b *strings.Builder, c *x509.Certificate) {
	var sb strings.Builder
	writeCertDetails(&sb, "", "", &tls.Certificate{Certificate: [][]byte{c.Raw}, Leaf: c})
	// The same lines as "show ssl cert", less its header and its OCSP key.
	lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
	for _, l := range lines[2:] {
		if strings.HasPrefix(l, "OCSP Response Key:") {
			continue
		}
		b.WriteString(l + "\n")
	}
}

func (rt *Runtime) apiSetSSLCAFile(cs *apiSession, args []string) string {
	if len(args) != 1 || !cs.hasPayload {
		return "'set ssl ca-file expects a filename and CAs as a payload\n"
	}
	file := args[0]
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	if rt.ssl.caCerts != nil && rt.ssl.caFile != file {
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\nCan't update %s!\n", rt.ssl.caFile, file, file)
	}
	if _, known, _ := rt.caCerts(file); !known {
		return "Can't replace a CA file which is not referenced by the configuration!\nCan't update " + file + "!\n"
	}
	certs, err := tlsconf.ParseCAs([]byte(cs.payload))
	if err != nil {
		return "Invalid payload\nCan't update " + file + "!\n"
	}
	verb := "created"
	if rt.ssl.caCerts != nil {
		verb = "updated"
	}
	rt.ssl.caFile, rt.ssl.caCerts = file, certs
	return "transaction " + verb + " for CA " + file + "!\n"
}

func (rt *Runtime) apiCommitSSLCAFile(args []string) string {
	if len(args) != 1 {
		return "'commit ssl ca-file expects a filename\n"
	}
	file := args[0]
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	if rt.ssl.caCerts == nil {
		return "No ongoing transaction! !\nCan't commit " + file + "!\n"
	}
	if rt.ssl.caFile != file {
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\nCan't commit %s!\n", rt.ssl.caFile, file, file)
	}
	// A dot per certificate instance verifying with the file, as
	// HAProxy writes them.
	dots := 0
	for _, st := range rt.stores {
		if ca := st.CA(); ca != nil && ca.Path == file {
			ca.Replace(rt.ssl.caCerts)
			for _, f := range st.Files() {
				dots += st.Instances(f)
			}
		}
	}
	if _, isNew := rt.ssl.newCAs[file]; isNew {
		rt.ssl.newCAs[file] = rt.ssl.caCerts
	}
	rt.ssl.caFile, rt.ssl.caCerts = "", nil
	return "Committing " + file + strings.Repeat(".", dots) + "\nSuccess!\n"
}

func (rt *Runtime) apiAbortSSLCAFile(args []string) string {
	if len(args) != 1 {
		return "'abort ssl ca-file' expects a filename\n"
	}
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	if rt.ssl.caCerts == nil {
		return "No ongoing transaction!\n"
	}
	if rt.ssl.caFile != args[0] {
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to abort a transaction for '%s'\n", rt.ssl.caFile, args[0])
	}
	file := rt.ssl.caFile
	rt.ssl.caFile, rt.ssl.caCerts = "", nil
	return "Transaction aborted for certificate '" + file + "'!\n"
}

func (rt *Runtime) apiNewSSLCAFile(args []string) string {
	if len(args) != 1 {
		return "'new ssl ca-file' expects a filename\n"
	}
	file := args[0]
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	if _, known, _ := rt.caCerts(file); known {
		return "CA file '" + file + "' already exists!\n"
	}
	if rt.ssl.newCAs == nil {
		rt.ssl.newCAs = map[string][]*x509.Certificate{}
	}
	rt.ssl.newCAs[file] = []*x509.Certificate{}
	return "New CA file created '" + file + "'!\n"
}

func (rt *Runtime) apiDelSSLCAFile(args []string) string {
	if len(args) != 1 {
		return "'del ssl ca-file' expects a CA file name\n"
	}
	file := args[0]
	rt.ssl.mu.Lock()
	defer rt.ssl.mu.Unlock()
	_, known, used := rt.caCerts(file)
	switch {
	case used:
		return "Can't remove the CA file: CA file '" + file + "' in use, can't be deleted!\n\n"
	case !known:
		return "Can't remove the CA file: CA file '" + file + "' doesn't exist!\n\n"
	}
	delete(rt.ssl.newCAs, file)
	return "CA file '" + file + "' deleted!\n"
}

// apiShowSSLCrtList is "show ssl crt-list [-n] [<list>]": the crt-list
// files and crt directories of the binds, or the lines one serves.
func (rt *Runtime) apiShowSSLCrtList(args []string) string {
	withLine := false
	if len(args) > 0 && args[0] == "-n" {
		withLine, args = true, args[1:]
		if len(args) == 0 {
			return "'show ssl crt-list -n' expects a filename or a directory\n"
		}
	}
	seen := map[string]bool{}
	var lists []string
	for _, st := range rt.stores {
		for _, l := range st.CrtLists() {
			if !seen[l] {
				seen[l] = true
				lists = append(lists, l)
			}
		}
	}
	sort.Strings(lists)
	if len(args) == 0 {
		var b strings.Builder
		for _, l := range lists {
			b.WriteString(l + "\n")
		}
		return b.String()
	}
	list := crtListName(args[0])
	if !seen[list] {
		return "didn't find the specified filename\n"
	}
	var b strings.Builder
	b.WriteString("# " + list + "\n")
	for _, st := range rt.stores {
		lines := st.CrtListLines(list)
		if len(lines) == 0 {
			continue
		}
		// Every bind of the list serves the same lines: one is shown.
		for _, l := range lines {
			b.WriteString(l.String(withLine) + "\n")
		}
		break
	}
	return b.String()
}

// crtListKnown says whether a bind serves list.
func (rt *Runtime) crtListKnown(list string) bool {
	for _, st := range rt.stores {
		for _, l := range st.CrtLists() {
			if l == list {
				return true
			}
		}
	}
	return false
}

// apiAddSSLCrtList is "add ssl crt-list <list> <cert>", or a payload of
// crt-list lines: each certificate (served already, or created with "new
// ssl cert" and committed) is served by every bind of the list from the
// next handshake on. As in HAProxy the one-line form takes no options.
func (rt *Runtime) apiAddSSLCrtList(cs *apiSession, args []string) string {
	if len(args) < 1 || (len(args) < 2 && !cs.hasPayload) {
		return "'add ssl crtlist' expects a filename and a certificate name\n"
	}
	list := crtListName(args[0])
	if !rt.crtListKnown(list) {
		return "Can't edit the crt-list: crt-list '" + list + "' does not exist!\n"
	}
	type line struct {
		file              string
		opts              map[string]string
		optWords, filters []string
	}
	var lines []line
	if cs.hasPayload {
		for _, l := range strings.Split(cs.payload, "\n") {
			if l = strings.TrimSpace(l); l == "" || l[0] == '#' {
				continue
			}
			file, opts, words, filters, err := tlsconf.ParseCrtListLine(l)
			if err != nil {
				return "Can't edit the crt-list: " + err.Error() + "\n"
			}
			lines = append(lines, line{file, opts, words, filters})
		}
	} else {
		lines = append(lines, line{file: args[1]})
	}
	var b strings.Builder
	for _, l := range lines {
		c := rt.servedCert(l.file)
		if c == nil {
			rt.ssl.mu.Lock()
			nc, isNew := rt.ssl.newCerts[l.file]
			rt.ssl.mu.Unlock()
			switch {
			case !isNew:
				return b.String() + "Can't edit the crt-list: certificate '" + l.file + "' does not exist!\n"
			case nc == nil:
				return b.String() + "Can't edit the crt-list: certificate '" + l.file + "' is empty!\n"
			}
			c = nc
		}
		b.WriteString("Inserting certificate '" + l.file + "' in crt-list '" + list + "'.\n")
		for _, st := range rt.stores {
			if _, err := st.AddCrtListLine(list, l.file, c, l.opts, l.optWords, l.filters); err != nil {
				return b.String() + "Can't edit the crt-list: " + err.Error() + "\n"
			}
		}
		// A certificate a bind serves is no longer a "new" one.
		rt.ssl.mu.Lock()
		delete(rt.ssl.newCerts, l.file)
		rt.ssl.mu.Unlock()
	}
	return b.String() + "Success!\n"
}

// apiDelSSLCrtList is "del ssl crt-list <list> <cert>[:<line>]".
func (rt *Runtime) apiDelSSLCrtList(args []string) string {
	if len(args) < 2 {
		return "'del ssl crtlist' expects a filename and a certificate name\n"
	}
	list, file, lineNo := crtListName(args[0]), args[1], 0
	if i := strings.LastIndexByte(file, ':'); i >= 0 {
		if n, err := strconv.Atoi(file[i+1:]); err == nil {
			file, lineNo = file[:i], n
		}
	}
	if !rt.crtListKnown(list) {
		return "Can't delete the entry: crt-list '" + list + "' does not exist!\n"
	}
	var lines []int
	for _, st := range rt.stores {
		if ls := st.CrtListFileLines(list, file); len(ls) > 0 {
			lines = ls
			break
		}
	}
	numbers := func() string {
		s := make([]string, len(lines))
		for i, n := range lines {
			s[i] = strconv.Itoa(n)
		}
		return strings.Join(s, ", ")
	}
	switch {
	case len(lines) == 0:
		return "Can't delete the entry: certificate '" + file + "' can't be found in crt-list '" + list + "'!\n"
	case lineNo == 0 && len(lines) > 1:
		return "Can't delete the entry: found the certificate '" + file + "' in several entries, please specify a line number preceded by colons (" + numbers() + ")!\n"
	case lineNo == 0:
		lineNo = lines[0]
	}
	ok := false
	for _, n := range lines {
		ok = ok || n == lineNo
	}
	if !ok {
		return "Can't delete the entry: found a certificate '" + file + "' but the line number is incorrect, please specify a correct line number preceded by colons (" + numbers() + ")!\n"
	}
	var where []string
	for _, st := range rt.stores {
		if st.IsDefault(list, lineNo) {
			where = append(where, "\t- "+st.Where()+"\n")
		}
	}
	if len(where) > 0 {
		return "Can't delete the entry: certificate '" + file + "' cannot be deleted, it is used as default certificate by the following frontends:\n" + strings.Join(where, "") + "\n"
	}
	c := rt.servedCert(file)
	for _, st := range rt.stores {
		st.DelCrtListLine(list, lineNo)
	}
	if rt.servedCert(file) == nil && c != nil {
		// Served no more, the certificate stays in memory (HAProxy's
		// "Unused"), for another line or "del ssl cert".
		rt.ssl.mu.Lock()
		if rt.ssl.newCerts == nil {
			rt.ssl.newCerts = map[string]*tls.Certificate{}
		}
		rt.ssl.newCerts[file] = c
		rt.ssl.mu.Unlock()
	}
	return "Entry '" + file + "' deleted in crtlist '" + list + "'!\n"
}

// crtListName is a crt-list (or directory) named on the CLI, without the
// trailing slashes HAProxy ignores.
func crtListName(arg string) string {
	if t := strings.TrimRight(arg, "/"); t != "" {
		return t
	}
	return arg
}
