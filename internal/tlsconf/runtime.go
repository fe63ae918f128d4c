package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
)

// What the runtime API ("stats socket", MG 9.3) reads and changes in the
// TLS settings of the binds: the CA file a bind verifies client
// certificates with, and the crt-list lines a store serves.

// CAFile is the "ca-file" of a bind verifying client certificates. Its
// certificates can be replaced at run time ("commit ssl ca-file"): the
// handshakes that start afterwards verify with the new ones, those under
// way and the connections established keep what they had.
type CAFile struct {
	Path  string
	certs atomic.Pointer[[]*x509.Certificate]
	// pool is the replacement pool, nil while the bind's configuration
	// still verifies with the certificates loaded with it.
	pool atomic.Pointer[x509.CertPool]
}

// Certs returns the certificates the file holds now, in file order.
func (c *CAFile) Certs() []*x509.Certificate {
	if p := c.certs.Load(); p != nil {
		return *p
	}
	return nil
}

// Replace verifies the next client certificates with certs.
func (c *CAFile) Replace(certs []*x509.Certificate) {
	pool := x509.NewCertPool()
	for _, x := range certs {
		pool.AddCert(x)
	}
	cp := append([]*x509.Certificate(nil), certs...)
	c.certs.Store(&cp)
	c.pool.Store(pool)
}

// ErrNoCA says a CA payload holds no certificate.
var ErrNoCA = errors.New("no certificate")

// ParseCAs reads the PEM certificates of a CA file or of a "set ssl
// ca-file" payload.
func ParseCAs(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, ErrNoCA
	}
	return out, nil
}

// bindCAFile returns the CA file of a bind whose verification crypto/tls
// does (verify optional or required, a ca-file other than @system-ca, no
// ignored errors, whose verifier keeps its own pool), or nil.
func bindCAFile(opts map[string]string, o Options) *CAFile {
	v := opts["verify"]
	path, ok := opts["ca-file"]
	if !ok || path == "@system-ca" || (v != "optional" && v != "required") {
		return nil
	}
	for _, k := range ignoreErrKeywords {
		if _, ign := opts[k]; ign {
			return nil
		}
	}
	full := o.caPath(path)
	data, err := os.ReadFile(full)
	if err != nil {
		return nil
	}
	certs, err := ParseCAs(data)
	if err != nil {
		return nil
	}
	ca := &CAFile{Path: full}
	ca.certs.Store(&certs)
	return ca
}

// withCA makes the configurations a bind hands out verify with the CA
// file's replacement pool once there is one. Until then the
// configurations are used as built, at no cost per handshake.
func withCA(base *tls.Config, ca *CAFile, inner func(*tls.ClientHelloInfo) (*tls.Config, error)) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		var c *tls.Config
		var err error
		if inner != nil {
			c, err = inner(h)
		}
		pool := ca.pool.Load()
		if err != nil || pool == nil {
			return c, err
		}
		if c == nil {
			c = base
		}
		cl := c.Clone()
		cl.ClientCAs = pool
		return cl, nil
	}
}

// CA returns the CA file the bind of the store verifies client
// certificates with, or nil (no verification, or one the runtime cannot
// replace).
func (s *Store) CA() *CAFile { return s.ca }

// Instances is how many certificates the store serves from file: each is
// one "instance" HAProxy's commits count with a dot.
func (s *Store) Instances(file string) int {
	n := 0
	for _, e := range s.snap.Load().entries {
		if e.source == file {
			n++
		}
	}
	return n
}

// CrtLists returns the crt-list files and crt directories of the store.
func (s *Store) CrtLists() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range s.snap.Load().entries {
		if e.list != "" && !seen[e.list] {
			seen[e.list] = true
			out = append(out, e.list)
		}
	}
	sort.Strings(out)
	return out
}

// CrtListLine is one line of a crt-list as the store serves it.
type CrtListLine struct {
	File    string
	Line    int
	Opts    []string // the words between the brackets, nil for none
	Filters []string
}

// String writes the line as HAProxy's "show ssl crt-list" does, with its
// line number when withLine.
func (l CrtListLine) String(withLine bool) string {
	var b strings.Builder
	b.WriteString(l.File)
	if withLine {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(l.Line))
	}
	if len(l.Opts) > 0 {
		b.WriteString(" [")
		for _, w := range l.Opts {
			b.WriteString(w + " ")
		}
		b.WriteString("]")
	}
	for _, f := range l.Filters {
		b.WriteString(" " + f)
	}
	return b.String()
}

// CrtListLines returns the lines the store serves from list, in order.
func (s *Store) CrtListLines(list string) []CrtListLine {
	var out []CrtListLine
	for _, e := range s.snap.Load().entries {
		if e.list == list {
			out = append(out, CrtListLine{File: e.source, Line: e.line, Opts: e.optWords, Filters: e.filters})
		}
	}
	return out
}

// ParseCrtListLine reads one crt-list line as the file's loading does,
// for the runtime API's "add ssl crt-list" payload: the certificate file,
// the options (and their words as written) and the SNI filters.
func ParseCrtListLine(line string) (file string, opts map[string]string, optWords, filters []string, err error) {
	file, opts, filters, err = parseCrtListLine(strings.TrimSpace(line))
	if len(opts) == 0 {
		opts = nil
	} else {
		optWords = optionWords(line)
	}
	return file, opts, optWords, filters, err
}

// AddCrtListLine serves c from file as a new last line of list, with the
// line's options and filters, from the next handshake on. It reports
// false when the store does not serve list.
func (s *Store) AddCrtListLine(list, file string, c *tls.Certificate, opts map[string]string, optWords, filters []string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.snap.Load()
	last, found := 0, false
	for _, e := range old.entries {
		if e.list == list {
			found = true
			last = max(last, e.line)
		}
	}
	if !found {
		return false, nil
	}
	e := &certEntry{cert: c, source: file, neg: map[string]bool{}, list: list, line: last + 1, opts: opts, optWords: optWords, filters: filters}
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
	if e.opts != nil {
		if s.lineConfig == nil {
			return true, errors.New("per-certificate ssl options need a bind configuration")
		}
		conf, _, err := s.lineConfig(e)
		if err != nil {
			return true, err
		}
		e.conf = conf
	}
	entries := append(append([]*certEntry(nil), old.entries...), e)
	s.snap.Store(index(entries))
	return true, nil
}

// Where is the "file:line" of the store's bind line, "" if unknown.
func (s *Store) Where() string { return s.where }

// CrtListFileLines returns the line numbers of list serving file.
func (s *Store) CrtListFileLines(list, file string) []int {
	var out []int
	for _, e := range s.snap.Load().entries {
		if e.list == list && e.source == file {
			out = append(out, e.line)
		}
	}
	return out
}

// IsDefault says whether line of list is the store's default
// certificate (its first), which cannot be removed; a strict-sni bind
// has none, as in HAProxy.
func (s *Store) IsDefault(list string, line int) bool {
	if s.strictSNI {
		return false
	}
	e := s.snap.Load().entries[0]
	return e.list == list && e.line == line
}

// DelCrtListLine stops serving line of list from the next handshake on.
func (s *Store) DelCrtListLine(list string, line int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.snap.Load()
	entries := make([]*certEntry, 0, len(old.entries))
	for _, e := range old.entries {
		if e.list != list || e.line != line {
			entries = append(entries, e)
		}
	}
	if len(entries) > 0 && len(entries) != len(old.entries) {
		s.snap.Store(index(entries))
	}
}
