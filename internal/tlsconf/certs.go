package tlsconf

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bulwark/internal/libcrypto"
)

// InsecureKeyPermsKeyword is the explicit opt-out of the key permission
// check (HAP-4.3); the error message names it. It is an environment
// variable, not a global keyword, so configurations stay readable by
// HAProxy.
const InsecureKeyPermsKeyword = "BULWARK_ALLOW_INSECURE_KEY_PERMS=1"

// Options are settings that come from outside the bind or server line.
type Options struct {
	// AllowInsecureKeyPerms loads private keys that group or others may
	// read. Off by default: such a key is refused (control HAP-4.3).
	AllowInsecureKeyPerms bool
	// AllowIgnoreCertErr lets crt-ignore-err and ca-ignore-err take
	// effect on binds (BULWARK_ALLOW_IGNORE_CERT_ERR=1); off by default
	// they are refused.
	AllowIgnoreCertErr bool
	// CrtBase and CABase are the global crt-base and ca-base directories,
	// prefixed to relative certificate and CA paths.
	CrtBase, CABase string
	// Now returns the time used for expiry warnings; nil means time.Now.
	Now func() time.Time
	// Sessions is the stateful session cache of the binds with
	// no-tls-tickets; nil: those binds do not resume sessions.
	Sessions *SessionCache
	// TicketLifetime is how long a bind's self-contained tickets resume
	// (tune.ssl.lifetime); 0 leaves crypto/tls's 7 days.
	TicketLifetime time.Duration
	// RSA signs with the RSA keys of certificates through libcrypto;
	// nil leaves them to Go's crypto/rsa.
	RSA *libcrypto.Lib
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) crtPath(p string) string { return basePath(o.CrtBase, p) }
func (o Options) caPath(p string) string  { return basePath(o.CABase, p) }

func basePath(base, p string) string {
	if base == "" || p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "@") {
		return p
	}
	return filepath.Join(base, p)
}

// certEntry is one loaded certificate with the names it answers for.
type certEntry struct {
	cert   *tls.Certificate
	source string
	names  []string        // lower case; "*.example.org" for wildcards
	neg    map[string]bool // crt-list "!name" filters
	opts   map[string]string
	conf   *tls.Config // per-line configuration of a crt-list line, or nil
	// fromCert says names come from the certificate (no crt-list
	// filter): a replaced certificate brings its own.
	fromCert bool
	// list is the crt-list file (or crt directory) the entry comes from,
	// "" for a crt file; line is its line in that file; optWords and
	// filters are the line's options and SNI filters as written, for the
	// runtime API's "show ssl crt-list".
	list     string
	line     int
	optWords []string
	filters  []string
}

// loadCertFile reads a PEM file holding a chain and, unless it holds the key
// too, the key from "<file>.key".
func loadCertFile(path string, o Options) (*tls.Certificate, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("unable to load certificate: %w", err)
	}
	keyFile, keyData := path, data
	if !bytes.Contains(data, []byte("PRIVATE KEY-----")) {
		keyFile = path + ".key"
		keyData, err = os.ReadFile(keyFile)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("%s: no private key in the file and no %s", path, keyFile)
			}
			return nil, nil, fmt.Errorf("unable to load private key: %w", err)
		}
	}
	if err := checkKeyPerms(keyFile, o); err != nil {
		return nil, nil, err
	}
	cert, err := tls.X509KeyPair(data, keyData)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var warns []string
	if w := useLibcrypto(&cert, o.RSA); w != "" {
		warns = append(warns, fmt.Sprintf("%s: %s", path, w))
	}
	leaf := cert.Leaf
	now := o.now()
	switch {
	case now.After(leaf.NotAfter):
		warns = append(warns, fmt.Sprintf("certificate %s (%s) expired on %s", path, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339)))
	case now.Before(leaf.NotBefore):
		warns = append(warns, fmt.Sprintf("certificate %s (%s) is not valid before %s", path, leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339)))
	}
	// "<crt>.ocsp" is stapled, as HAProxy does, once checked against the
	// certificate and its issuer; a response that does not fit is left
	// out with a warning rather than stapled.
	if der, err := os.ReadFile(path + ".ocsp"); err == nil {
		if _, err := CheckOCSP(der, leaf, Issuer(path, &cert)); err != nil {
			warns = append(warns, fmt.Sprintf("%s.ocsp ignored: %v", path, err))
		} else {
			cert.OCSPStaple = der
		}
	}
	for _, ext := range []string{".sctl"} {
		if _, err := os.Stat(path + ext); err == nil {
			warns = append(warns, fmt.Sprintf("%s%s ignored: Bulwark does not send SCTs", path, ext))
		}
	}
	return &cert, warns, nil
}

// useLibcrypto makes an RSA key of c sign through lib, once imported and
// self-tested; a key that fails stays with crypto/rsa, and the warning
// says why. Other keys, and every key when lib is nil, are left alone.
func useLibcrypto(c *tls.Certificate, lib *libcrypto.Lib) string {
	k, ok := c.PrivateKey.(*rsa.PrivateKey)
	if !ok || lib == nil {
		return ""
	}
	s, err := lib.NewSigner(k)
	if err != nil {
		return fmt.Sprintf("the RSA key signs with Go's crypto/rsa: %v", err)
	}
	c.PrivateKey = s
	return ""
}

// KeyType names the algorithm of a certificate's key, "RSA", "ECDSA",
// "Ed25519" or "": an RSA key may be a *libcrypto.Signer as well as an
// *rsa.PrivateKey.
func KeyType(c *tls.Certificate) string {
	s, ok := c.PrivateKey.(crypto.Signer)
	if !ok {
		return ""
	}
	switch s.Public().(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "ECDSA"
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return ""
}

// RSASigner says what signs with the RSA key of c: "libcrypto",
// "crypto/rsa", or "" for another key.
func RSASigner(c *tls.Certificate) string {
	switch c.PrivateKey.(type) {
	case *libcrypto.Signer:
		return "libcrypto"
	case *rsa.PrivateKey:
		return "crypto/rsa"
	}
	return ""
}

// checkKeyPerms refuses a private key that group or others can read: the key
// is the one secret a TLS listener has, and such modes are a common
// deployment mistake (control HAP-4.3).
func checkKeyPerms(path string, o Options) error {
	if o.AllowInsecureKeyPerms {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("unable to load private key: %w", err)
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		return fmt.Errorf("private key %s is readable by group or others (mode %04o): run 'chmod 600 %s' (or set %s in the environment to allow it)",
			path, mode, path, InsecureKeyPermsKeyword)
	}
	return nil
}

// certNames lists the names a certificate is indexed by: its DNS SANs and
// subject CN, lower-cased.
func certNames(c *tls.Certificate) []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range c.Leaf.DNSNames {
		add(n)
	}
	add(c.Leaf.Subject.CommonName)
	return out
}

// skipInDir reports the files a crt directory does not load as certificates.
func skipInDir(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	for _, ext := range []string{".key", ".issuer", ".ocsp", ".sctl"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// loadCrt loads a "crt" argument: a file, or every certificate file of a
// directory in alphabetical order (os.ReadDir sorts by name).
func loadCrt(path string, o Options) ([]*certEntry, []string, error) {
	full := o.crtPath(path)
	fi, err := os.Stat(full)
	if err != nil {
		return nil, nil, fmt.Errorf("crt '%s': %w", path, err)
	}
	files := []string{full}
	if fi.IsDir() {
		files = files[:0]
		des, err := os.ReadDir(full)
		if err != nil {
			return nil, nil, fmt.Errorf("crt '%s': %w", path, err)
		}
		for _, de := range des {
			if skipInDir(de.Name()) {
				continue
			}
			p := filepath.Join(full, de.Name())
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				continue
			}
			files = append(files, p)
		}
		if len(files) == 0 {
			return nil, nil, fmt.Errorf("crt '%s': directory holds no certificate", path)
		}
	}
	var entries []*certEntry
	var warns []string
	for _, f := range files {
		c, w, err := loadCertFile(f, o)
		if err != nil {
			return nil, nil, err
		}
		warns = append(warns, w...)
		e := &certEntry{cert: c, source: f, names: certNames(c), fromCert: true}
		if fi.IsDir() {
			e.list = full
		}
		entries = append(entries, e)
	}
	return entries, warns, nil
}

// crtListOptions are the per-line options Bulwark applies; the value says
// whether the option takes an argument.
var crtListOptions = map[string]bool{
	"alpn": true, "ca-file": true, "crl-file": true, "ciphers": true, "ciphersuites": true,
	"curves": true, "verify": true, "ssl-min-ver": true, "ssl-max-ver": true,
	"no-tls-tickets": false, "ecdhe": true,
}

// crtListRefused are per-line options HAProxy knows but Bulwark cannot apply.
var crtListRefused = map[string]bool{
	"allow-0rtt": false, "npn": true, "sigalgs": true, "client-sigalgs": true,
	"no-ca-names": false, "ca-verify-file": true, "ocsp-update": true,
}

// loadCrtList reads a crt-list file: "<crtfile> [[options ...]] [[!]sni ...]"
// per line, '#' comments.
func loadCrtList(path string, o Options) ([]*certEntry, []string, error) {
	full := o.crtPath(path)
	data, err := os.ReadFile(full)
	if err != nil {
		return nil, nil, fmt.Errorf("crt-list: %w", err)
	}
	var entries []*certEntry
	var warns []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		where := fmt.Sprintf("crt-list %s:%d", full, n)
		file, opts, filters, err := parseCrtListLine(line)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", where, err)
		}
		c, w, err := loadCertFile(o.crtPath(file), o)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", where, err)
		}
		warns = append(warns, w...)
		e := &certEntry{cert: c, source: o.crtPath(file), neg: map[string]bool{}, list: full, line: n, filters: filters}
		if len(opts) > 0 {
			e.opts = opts
			e.optWords = optionWords(line)
		}
		for _, f := range filters {
			f = strings.ToLower(f)
			if strings.HasPrefix(f, "!") {
				e.neg[f[1:]] = true
			} else {
				e.names = append(e.names, f)
			}
		}
		if len(e.names) == 0 && !e.neg["*"] {
			e.names, e.fromCert = certNames(c), true
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("crt-list %s: %w", full, err)
	}
	if len(entries) == 0 {
		return nil, nil, fmt.Errorf("crt-list %s: no certificate", full)
	}
	return entries, warns, nil
}

func parseCrtListLine(line string) (file string, opts map[string]string, filters []string, err error) {
	// A '#' starting a word starts a comment, as in HAProxy's crt-lists.
	for i := 1; i < len(line); i++ {
		if line[i] == '#' && (line[i-1] == ' ' || line[i-1] == '\t') {
			line = strings.TrimSpace(line[:i])
			break
		}
	}
	fields := strings.Fields(line)
	file, rest := fields[0], strings.TrimSpace(strings.TrimPrefix(line, fields[0]))
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", nil, nil, fmt.Errorf("missing ']' after the ssl options")
		}
		words := strings.Fields(rest[1:end])
		rest = rest[end+1:]
		opts = map[string]string{}
		for i := 0; i < len(words); i++ {
			w := words[i]
			takesArg, ok := crtListOptions[w]
			if !ok {
				if _, known := crtListRefused[w]; known {
					return "", nil, nil, fmt.Errorf("ssl option '%s' is not supported by Bulwark in a crt-list", w)
				}
				return "", nil, nil, fmt.Errorf("unknown ssl option '%s'", w)
			}
			if !takesArg {
				opts[w] = ""
				continue
			}
			if i+1 >= len(words) {
				return "", nil, nil, fmt.Errorf("ssl option '%s' expects an argument", w)
			}
			opts[w] = words[i+1]
			i++
		}
	}
	return file, opts, strings.Fields(rest), nil
}

// optionWords are the words between the brackets of a crt-list line.
func optionWords(line string) []string {
	start := strings.IndexByte(line, '[')
	end := strings.IndexByte(line, ']')
	if start < 0 || end < start {
		return nil
	}
	return strings.Fields(line[start+1 : end])
}
