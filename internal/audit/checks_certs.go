package audit

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

// certRef is one certificate or CA file the configuration names.
type certRef struct {
	pos  config.Pos
	path string
	key  bool // may hold a private key (crt), as opposed to a CA bundle
	who  string
}

const (
	certWarnBefore  = 30 * 24 * time.Hour
	certMaxLifetime = 398 * 24 * time.Hour
)

// resolve applies crt-base / ca-base to a relative path. A relative path
// that does not exist is also tried next to the first configuration file,
// so that a repository of configs can be audited from anywhere.
func (t *Target) resolve(base, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if base != "" {
		return filepath.Join(base, p)
	}
	if _, err := os.Stat(p); err != nil && len(t.Files) > 0 {
		alt := filepath.Join(filepath.Dir(t.Files[0]), p)
		if _, err := os.Stat(alt); err == nil {
			return alt
		}
	}
	return p
}

func lastGlobal(m *model.Model, name string) string {
	ds := globalDirectives(m, name)
	if len(ds) == 0 {
		return ""
	}
	return ds[len(ds)-1].Arg(0)
}

func certRefs(t *Target) []certRef {
	crtBase, caBase := lastGlobal(t.Model, "crt-base"), lastGlobal(t.Model, "ca-base")
	var refs []certRef
	for _, p := range frontends(t.Model) {
		for _, b := range p.Binds {
			who := fmt.Sprintf("%s '%s' bind %s", p.Kind, p.Name, addrList(b))
			for _, c := range b.Certs {
				refs = append(refs, certRef{b.Pos, t.resolve(crtBase, c), true, who})
			}
			for _, l := range b.CrtList {
				refs = append(refs, crtListRefs(t, b.Pos, t.resolve(crtBase, l), crtBase, who)...)
			}
			if ca, ok := b.Opts["ca-file"]; ok {
				refs = append(refs, certRef{b.Pos, t.resolve(caBase, ca), false, who})
			}
		}
	}
	for _, p := range t.Model.Backends() {
		for _, sv := range p.Servers {
			who := fmt.Sprintf("%s '%s' server '%s'", p.Kind, p.Name, sv.Name)
			if c, ok := sv.Opts["crt"]; ok {
				refs = append(refs, certRef{sv.Pos, t.resolve(crtBase, c), true, who})
			}
			if ca, ok := sv.Opts["ca-file"]; ok && !strings.HasPrefix(ca, "@system") {
				refs = append(refs, certRef{sv.Pos, t.resolve(caBase, ca), false, who})
			}
		}
	}
	return refs
}

// crtListRefs reads a crt-list: the first word of each non-comment line is
// a certificate path.
func crtListRefs(t *Target, pos config.Pos, list, crtBase, who string) []certRef {
	f, err := os.Open(list)
	if err != nil {
		return []certRef{{pos, list, true, who + " crt-list"}}
	}
	defer f.Close()
	var refs []certRef
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		refs = append(refs, certRef{pos, t.resolve(crtBase, fields[0]), true, who + " (crt-list " + list + ")"})
	}
	return refs
}

// expandCertDir lists the certificate files HAProxy loads from a crt
// directory.
func expandCertDir(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		switch filepath.Ext(n) {
		case ".key", ".issuer", ".ocsp", ".sctl":
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	sort.Strings(out)
	return out
}

func checkCertificates(t *Target) Result {
	refs := certRefs(t)
	evs := acmeEvidence(t)
	if len(refs) == 0 && len(evs) == 0 {
		return skip("no certificate or CA file configured")
	}
	seen := map[string]bool{}
	for _, r := range refs {
		files := []string{r.path}
		if st, err := os.Stat(r.path); err == nil && st.IsDir() {
			files = expandCertDir(r.path)
		}
		for _, f := range files {
			k := f + fmt.Sprint(r.key)
			if seen[k] {
				continue
			}
			seen[k] = true
			evs = append(evs, certFileEvidence(t, r, f)...)
		}
	}
	r := summarize(evs, "certificate files are protected, strong and current", "certificate storage or quality problems")
	if r.Verdict == Pass && len(refs) == 0 {
		r.Summary = "certificates are ACME-managed by Bulwark (bulwark-acme) and their storage is private"
	} else if r.Verdict == Pass {
		// Who may read the key on the real host, and how renewal works,
		// remain a person's check.
		r.Verdict, r.Summary = Manual, "files look right; confirm renewal (ACME) and that only the proxy user can read keys on the host"
	}
	return r
}

func certFileEvidence(t *Target, r certRef, path string) []Evidence {
	var evs []Evidence
	st, err := os.Stat(path)
	if err != nil {
		return []Evidence{ev(r.pos, Fail, "%s: %s: %s", r.who, path, errText(err))}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return []Evidence{ev(r.pos, Fail, "%s: %s: %s", r.who, path, errText(err))}
	}
	var certs []*x509.Certificate
	hasKey := false
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch {
		case blk.Type == "CERTIFICATE":
			if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
				certs = append(certs, c)
			}
		case strings.HasSuffix(blk.Type, "PRIVATE KEY"):
			hasKey = true
		}
	}
	perm := st.Mode().Perm()
	owner := uint32(0)
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		owner = sys.Uid
	}
	keyPath := path
	if r.key && !hasKey {
		if kst, err := os.Stat(path + ".key"); err == nil {
			keyPath, perm, hasKey = path+".key", kst.Mode().Perm(), true
			if sys, ok := kst.Sys().(*syscall.Stat_t); ok {
				owner = sys.Uid
			}
		}
	}
	switch {
	case hasKey && perm&0o007 != 0:
		evs = append(evs, ev(r.pos, Fail, "%s: private key %s has mode %04o: readable by others", r.who, keyPath, perm))
	case perm&0o022 != 0:
		evs = append(evs, ev(r.pos, Fail, "%s: %s has mode %04o: writable by group or others", r.who, keyPath, perm))
	case hasKey && owner != 0 && !ownerIsProxyUser(t, owner):
		evs = append(evs, ev(r.pos, Warn, "%s: private key %s is owned by uid %d (expected root or the proxy user)", r.who, keyPath, owner))
	}
	if len(certs) == 0 {
		if r.key {
			evs = append(evs, ev(r.pos, Fail, "%s: %s holds no PEM certificate", r.who, path))
		}
		return evs
	}
	if !r.key {
		for _, c := range certs {
			if t.Now.After(c.NotAfter) {
				evs = append(evs, ev(r.pos, Warn, "%s: CA file %s contains an expired certificate (%s)", r.who, path, c.Subject.CommonName))
				break
			}
		}
		if len(evs) == 0 {
			evs = append(evs, ev(r.pos, Pass, "%s: CA file %s (%d certificates)", r.who, path, len(certs)))
		}
		return evs
	}
	leaf := certs[0]
	name := leaf.Subject.CommonName
	if name == "" && len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	if kv, msg := keyStrength(leaf); kv != Pass {
		evs = append(evs, ev(r.pos, kv, "%s: %s (%s): %s", r.who, path, name, msg))
	}
	left := leaf.NotAfter.Sub(t.Now)
	switch {
	case left < 0:
		evs = append(evs, ev(r.pos, Fail, "%s: %s (%s) expired on %s", r.who, path, name, leaf.NotAfter.UTC().Format("2006-01-02")))
	case left < certWarnBefore:
		evs = append(evs, ev(r.pos, Warn, "%s: %s (%s) expires in %d days (%s)", r.who, path, name, int(left.Hours()/24), leaf.NotAfter.UTC().Format("2006-01-02")))
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life > certMaxLifetime {
		evs = append(evs, ev(r.pos, Warn, "%s: %s (%s) has a %d-day lifetime (over 398 days)", r.who, path, name, int(life.Hours()/24)))
	}
	if len(evs) == 0 {
		_, msg := keyStrength(leaf)
		evs = append(evs, ev(r.pos, Pass, "%s: %s (%s), %s, expires %s", r.who, path, name, msg, leaf.NotAfter.UTC().Format("2006-01-02")))
	}
	return evs
}

func keyStrength(c *x509.Certificate) (Verdict, string) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		if bits < 2048 {
			return Fail, fmt.Sprintf("RSA %d-bit key is below 2048", bits)
		}
		return Pass, fmt.Sprintf("RSA %d", bits)
	case *ecdsa.PublicKey:
		bits := k.Curve.Params().BitSize
		if bits < 256 {
			return Fail, fmt.Sprintf("EC %d-bit key is below P-256", bits)
		}
		return Pass, "EC " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return Pass, "Ed25519"
	}
	return Warn, "unrecognised key type"
}

// ownerIsProxyUser reports whether uid is the configured proxy user, by
// number or by name through /etc/passwd.
func ownerIsProxyUser(t *Target, uid uint32) bool {
	g := &t.Model.Global
	if g.UID >= 0 && uint32(g.UID) == uid {
		return true
	}
	if g.User == "" {
		return false
	}
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 2 && f[0] == g.User && f[2] == fmt.Sprint(uid) {
			return true
		}
	}
	return false
}
