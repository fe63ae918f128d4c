package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"bulwark/internal/libcrypto"
)

// ErrNoCertificate is returned by GetCertificate under strict-sni when the
// client sent no server name or one no certificate matches.
var ErrNoCertificate = errors.New("strict-sni: no certificate matches the requested server name")

// Store holds the certificates of one bind line and picks one per
// handshake. Its content is an immutable snapshot swapped atomically, so
// Reload can serve renewed certificates without a restart while handshakes
// in progress keep the snapshot they started with.
type Store struct {
	crts, crtLists []string
	strictSNI      bool
	opts           Options
	// lineConfig builds the configuration of a crt-list line that has its
	// own ssl options; nil when the store is used without LoadBind.
	lineConfig func(e *certEntry) (*tls.Config, []string, error)

	snap atomic.Pointer[snapshot]
	// ca is the bind's replaceable CA file (runtime API), or nil.
	ca *CAFile
	// where is the bind line's "file:line", for the runtime API's words.
	where string

	mu    sync.Mutex // serialises Reload
	warns []string
}

type snapshot struct {
	entries []*certEntry
	exact   map[string][]*certEntry
	wild    map[string][]*certEntry // key "*.example.org"
}

// NewStore loads the crt files/directories and then the crt-list files.
// The first certificate loaded is the default one. crt-list lines with
// their own ssl options are refused here; use LoadBind for those.
func NewStore(crts, crtLists []string, strictSNI bool, o Options) (*Store, error) {
	s := &Store{crts: crts, crtLists: crtLists, strictSNI: strictSNI, opts: o}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload re-reads every certificate file. When anything fails, the store
// keeps serving the certificates it had and the error says why.
func (s *Store) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, warns, err := s.load()
	if err != nil {
		return err
	}
	s.snap.Store(snap)
	s.warns = warns
	return nil
}

// Warnings returns the warnings of the last successful load.
func (s *Store) Warnings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.warns...)
}

// Certificates returns the loaded certificates in load order (the first is
// the default).
func (s *Store) Certificates() []*tls.Certificate {
	var out []*tls.Certificate
	for _, e := range s.snap.Load().entries {
		out = append(out, e.cert)
	}
	return out
}

func (s *Store) load() (*snapshot, []string, error) {
	var entries []*certEntry
	var warns []string
	for _, c := range s.crts {
		es, w, err := loadCrt(c, s.opts)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, es...)
		warns = append(warns, w...)
	}
	for _, l := range s.crtLists {
		es, w, err := loadCrtList(l, s.opts)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, es...)
		warns = append(warns, w...)
	}
	if len(entries) == 0 {
		return nil, nil, fmt.Errorf("no certificate configured")
	}
	for _, e := range entries {
		if e.opts != nil {
			if s.lineConfig == nil {
				return nil, nil, fmt.Errorf("%s: per-certificate ssl options need a bind configuration", e.source)
			}
			conf, w, err := s.lineConfig(e)
			if err != nil {
				return nil, nil, fmt.Errorf("crt-list entry %s: %w", e.source, err)
			}
			e.conf = conf
			warns = append(warns, w...)
		}
	}
	return index(entries), warns, nil
}

// index builds the name lookup of a snapshot.
func index(entries []*certEntry) *snapshot {
	snap := &snapshot{exact: map[string][]*certEntry{}, wild: map[string][]*certEntry{}}
	for _, e := range entries {
		for _, n := range e.names {
			if e.neg[n] {
				continue
			}
			if strings.HasPrefix(n, "*.") {
				snap.wild[n] = append(snap.wild[n], e)
			} else {
				snap.exact[n] = append(snap.exact[n], e)
			}
		}
	}
	snap.entries = entries
	return snap
}

// Files returns the certificate files the store serves, in load order,
// each once.
func (s *Store) Files() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range s.snap.Load().entries {
		if !seen[e.source] {
			seen[e.source] = true
			out = append(out, e.source)
		}
	}
	return out
}

// Certificate returns the certificate served from file, or nil.
func (s *Store) Certificate(file string) *tls.Certificate {
	for _, e := range s.snap.Load().entries {
		if e.source == file {
			return e.cert
		}
	}
	return nil
}

// Replace serves c wherever the certificate of file was served (the
// runtime API's "commit ssl cert"), with the names of c unless a crt-list
// line gave names. It swaps a new snapshot: handshakes under way and
// established connections keep the certificate they had. It reports
// whether the store served file.
func (s *Store) Replace(file string, c *tls.Certificate) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.snap.Load()
	found := false
	entries := make([]*certEntry, 0, len(old.entries))
	for _, e := range old.entries {
		if e.source != file {
			entries = append(entries, e)
			continue
		}
		ne := *e
		ne.cert = c
		if ne.fromCert {
			ne.names = certNames(c)
		}
		entries = append(entries, &ne)
		found = true
	}
	if found {
		s.snap.Store(index(entries))
	}
	return found
}

// ParseCertificate reads a PEM payload holding a certificate chain and its
// private key, as "set ssl cert" receives it. An RSA key signs through
// lib when it is not nil, as a key loaded from a file does; the warning
// says why it does not when the import fails.
func ParseCertificate(pem []byte, lib *libcrypto.Lib) (*tls.Certificate, string, error) {
	c, err := tls.X509KeyPair(pem, pem)
	if err != nil {
		return nil, "", err
	}
	return &c, useLibcrypto(&c, lib), nil
}

// pick returns the entry for a ClientHello, as HAProxy does: the
// certificates for the exact name and those of a wildcard covering only
// its first label (less the wildcard lines excluding that name) are the
// candidates, else the default (first) certificate unless strict-sni.
// Among the candidates, by key type, ECDSA then RSA then another the
// client supports wins, the first of its type in exact-then-wildcard
// order; when the client supports none, an ECDSA one, else the first
// RSA, else the first, so that the handshake fails as it does with
// HAProxy rather than falling back to the default certificate.
func (s *Store) pick(hello *tls.ClientHelloInfo) (*certEntry, error) {
	snap := s.snap.Load()
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name != "" {
		var wild []*certEntry
		if i := strings.IndexByte(name, '.'); i > 0 {
			wild = snap.wild["*"+name[i:]]
		}
		if e := choose(hello, snap.exact[name], wild, name); e != nil {
			return e, nil
		}
	}
	if s.strictSNI {
		return nil, ErrNoCertificate
	}
	return snap.entries[0], nil
}

func choose(hello *tls.ClientHelloInfo, exact, wild []*certEntry, name string) *certEntry {
	var byType [3]*certEntry // ECDSA, RSA, other
	for _, list := range [][]*certEntry{exact, wild} {
		for _, e := range list {
			if e.neg[name] {
				continue
			}
			k := 2
			switch KeyType(e.cert) {
			case "ECDSA":
				k = 0
			case "RSA":
				k = 1
			}
			if byType[k] == nil {
				byType[k] = e
			}
		}
	}
	// The crt-list names a certificate serves need not be in it, and
	// HAProxy selects on key type only: the name is left out of the test.
	anon := *hello
	anon.ServerName = ""
	for _, e := range byType {
		if e != nil && anon.SupportsCertificate(e.cert) == nil {
			return e
		}
	}
	for _, e := range byType {
		if e != nil {
			return e
		}
	}
	return nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	// GetConfigForClient, called first with the same hello, recorded
	// its choice on a connection that keeps it: the store is not
	// searched twice per handshake.
	if r, ok := hello.Conn.(interface{ LocalCert() *tls.Certificate }); ok {
		if c := r.LocalCert(); c != nil {
			return c, nil
		}
	}
	e, err := s.pick(hello)
	if err != nil {
		return nil, err
	}
	return e.cert, nil
}

// GetConfigForClient is for tls.Config.GetConfigForClient: it returns the
// configuration of a crt-list line with its own ssl options, or nil to keep
// the bind's configuration.
func (s *Store) GetConfigForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	e, err := s.pick(hello)
	if err != nil {
		return nil, err
	}
	// A line's own configuration carries its certificate: GetCertificate
	// is not called then, so the choice is recorded here too.
	if r, ok := hello.Conn.(interface{ SetLocalCert(*tls.Certificate) }); ok {
		r.SetLocalCert(e.cert)
	}
	return e.conf, nil
}

// Paths returns the files and directories the store reads: each crt file
// or directory, each crt-list and each certificate a crt-list names, with
// crt-base applied. A watcher reloads the store when one changes.
func (s *Store) Paths() []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, c := range s.crts {
		add(s.opts.crtPath(c))
	}
	for _, l := range s.crtLists {
		add(s.opts.crtPath(l))
	}
	if snap := s.snap.Load(); snap != nil {
		for _, e := range snap.entries {
			add(e.source)
		}
	}
	return out
}
