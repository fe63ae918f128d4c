package audit

import (
	"os"
	"path/filepath"
	"strings"
)

// acmeEvidence judges, for HAP-4.3, the binds whose certificates come
// from ACME ("bind ... bulwark-acme", docs/extensions.md): short-lived
// and renewed by Bulwark itself, which is what the control prefers. The
// storage holds the keys, so it must be the runtime user's only.
func acmeEvidence(t *Target) []Evidence {
	if t.Model == nil {
		return nil
	}
	var evs []Evidence
	a := t.Model.Global.Bulwark.ACME
	for _, p := range t.Model.Frontends() {
		for _, b := range p.Binds {
			if len(b.ACME) == 0 {
				continue
			}
			evs = append(evs, ev(b.Pos, Pass, "%s '%s': certificates for %s are ACME-managed (short-lived, renewed by Bulwark before expiry)",
				p.Kind, p.Name, strings.Join(b.ACME, ",")))
		}
	}
	if len(evs) == 0 || a.Storage == "" {
		return evs
	}
	st, err := os.Stat(a.Storage)
	if err != nil {
		// Not created yet (first start creates it 0700): nothing to judge.
		return evs
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		evs = append(evs, ev(a.Pos, Fail, "bulwark-acme-storage %s is mode %o: other users can reach the ACME keys; chmod 700", a.Storage, perm))
	}
	filepath.WalkDir(a.Storage, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.Mode().Perm()&0o077 != 0 {
			evs = append(evs, ev(a.Pos, Fail, "bulwark-acme-storage: %s is mode %o; chmod 600", p, fi.Mode().Perm()))
		}
		return nil
	})
	return evs
}
