package audit

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

// bindCertPaths lists the certificate files a bind names: crt files, the
// files of crt directories and crt-list entries, as the audit sees them.
func bindCertPaths(t *Target, b *model.Bind) []string {
	if b == nil {
		return nil
	}
	crtBase := lastGlobal(t.Model, "crt-base")
	var paths []string
	add := func(p string) {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			paths = append(paths, expandCertDir(p)...)
			return
		}
		paths = append(paths, p)
	}
	for _, c := range b.Certs {
		add(t.resolve(crtBase, c))
	}
	for _, l := range b.CrtList {
		for _, r := range crtListRefs(t, b.Pos, t.resolve(crtBase, l), crtBase, "") {
			add(r.path)
		}
	}
	return paths
}

// certFileProc is the process whose view of the file system counts: a
// worker, since it is the one a compromise of the traffic path reaches.
func certFileProc(procs []Proc) (Proc, bool) {
	for _, p := range procs {
		if p.Worker {
			return p, true
		}
	}
	if len(procs) > 0 {
		return procs[0], true
	}
	return Proc{}, false
}

// gatherCertFiles judges, for HAP-4.3, the certificate and key files of the
// TLS binds at the path the running worker sees them: inside its chroot
// (/proc/PID/root/PATH) when it is chrooted, else the path itself.
func gatherCertFiles(t *Target, procRoot string, procs []Proc) []Evidence {
	p, ok := certFileProc(procs)
	if !ok {
		return nil
	}
	chrooted := p.Root != "" && filepath.Clean(p.Root) != "/"
	type ref struct {
		pos  config.Pos
		path string
	}
	var refs []ref
	seen := map[string]bool{}
	for _, fe := range frontends(t.Model) {
		for _, b := range fe.Binds {
			for _, path := range bindCertPaths(t, b) {
				if !seen[path] {
					seen[path] = true
					refs = append(refs, ref{b.Pos, path})
				}
			}
		}
	}
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].path < refs[j].path })
	var evs []Evidence
	for _, r := range refs {
		live := r.path
		if chrooted {
			live = filepath.Join(procRoot, strconv.Itoa(p.PID), "root", r.path)
		}
		evs = append(evs, certFileLive(r.pos, p, r.path, live, chrooted)...)
	}
	return evs
}

// certFileLive judges one configured certificate file at its live path.
func certFileLive(pos config.Pos, p Proc, path, live string, chrooted bool) []Evidence {
	who := fmt.Sprintf("live: PID %d", p.PID)
	data, err := os.ReadFile(live)
	if err != nil {
		if chrooted && os.IsNotExist(err) {
			// The proxy loads certificates before it enters the chroot,
			// so a file absent inside it is out of a worker's reach.
			return []Evidence{ev(pos, Pass, "%s: %s is not inside the chroot %s: loaded before chroot, out of the worker's reach", who, path, p.Root)}
		}
		return []Evidence{ev(pos, Fail, "%s: %s: %s (the next reload cannot load it)", who, live, shortErr(err))}
	}
	evs := []Evidence{}
	files := []string{live}
	if !pemHasKey(data) {
		if _, err := os.Stat(live + ".key"); err == nil {
			files = append(files, live+".key")
		}
	}
	for i, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			evs = append(evs, ev(pos, Fail, "%s: %s: %s", who, f, shortErr(err)))
			continue
		}
		isKey := i > 0 || pemHasKey(data)
		evs = append(evs, certFileMode(pos, who, p, f, st, isKey)...)
	}
	if chrooted {
		conf, err := os.ReadFile(path)
		switch {
		case err != nil:
			evs = append(evs, ev(pos, Warn, "%s: %s exists inside the chroot but the configured %s is unreadable here (%s)", who, live, path, shortErr(err)))
		case !bytes.Equal(conf, data):
			evs = append(evs, ev(pos, Warn, "%s: the copy of %s inside the chroot (%s) differs from the configured file (SHA-256 %s vs %s)", who, path, p.Root, shortSum(data), shortSum(conf)))
		default:
			evs = append(evs, ev(pos, Pass, "%s: %s inside the chroot %s is the configured file (SHA-256 %s)", who, path, p.Root, shortSum(data)))
		}
	}
	return evs
}

// certFileMode judges one file's mode and owner. A key may be readable by
// the group when that group is the process's own (root:haproxy 0640), the
// arrangement the remediation recommends; any other group or other read
// bit exposes it.
func certFileMode(pos config.Pos, who string, p Proc, f string, st os.FileInfo, isKey bool) []Evidence {
	perm := st.Mode().Perm()
	uid, gid := -1, -1
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		uid, gid = int(sys.Uid), int(sys.Gid)
	}
	kind := "certificate"
	if isKey {
		kind = "private key"
	}
	var evs []Evidence
	switch {
	case isKey && perm&0o004 != 0:
		evs = append(evs, ev(pos, Fail, "%s: %s %s has mode %04o: readable by others", who, kind, f, perm))
	case isKey && perm&0o040 != 0 && gid != p.GID[1]:
		evs = append(evs, ev(pos, Fail, "%s: %s %s has mode %04o: readable by group %d, not the process's group %d", who, kind, f, perm, gid, p.GID[1]))
	case perm&0o022 != 0:
		evs = append(evs, ev(pos, Fail, "%s: %s %s has mode %04o: writable by group or others", who, kind, f, perm))
	default:
		evs = append(evs, ev(pos, Pass, "%s: %s %s mode %04o owner %d:%d", who, kind, f, perm, uid, gid))
	}
	if uid > 0 && uid != p.UID[1] {
		evs = append(evs, ev(pos, Warn, "%s: %s %s is owned by UID %d, neither root nor the process's user %d", who, kind, f, uid, p.UID[1]))
	}
	return evs
}

func pemHasKey(data []byte) bool {
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return false
		}
		if strings.HasSuffix(blk.Type, "PRIVATE KEY") {
			return true
		}
	}
}

func shortSum(data []byte) string {
	h := sha256Hex(data)
	return h[:16]
}
