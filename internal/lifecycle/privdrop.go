// Package lifecycle holds what a proxy process does to itself around
// serving: giving up root (HAP-2.1), locking itself into a chroot jail
// (HAP-2.2) and detaching as a daemon.
//
// Order matters and is the caller's: Prepare before anything is opened
// (so every refusal happens before a socket is bound), then bind listeners
// and read certificates and files, then Plan.Apply, then serve.
package lifecycle

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"bulwark/internal/model"
)

// AllowRootEnv is the environment variable that, set to "1", lets a
// process started as root keep running as root (HAP-2.1's explicit
// opt-out).
const AllowRootEnv = "BULWARK_ALLOW_ROOT"

// Settings are the global directives that decide the process identity.
type Settings struct {
	User, Group string
	UID, GID    int // -1 when unset
	Chroot      string
}

// SettingsOf extracts the identity directives of a global section.
func SettingsOf(g *model.Global) Settings {
	return Settings{User: g.User, Group: g.Group, UID: g.UID, GID: g.GID, Chroot: g.Chroot}
}

// Options says who the process is and what the operator allows.
type Options struct {
	// Euid is the effective user ID the process started with
	// (os.Geteuid()); tests pass another to see both sides.
	Euid int
	// AllowRoot keeps serving as root when no user is configured.
	AllowRoot bool
}

// Plan is what Apply will do. A zero Plan does nothing.
type Plan struct {
	// Chroot is the resolved jail directory; "" for none.
	Chroot string
	// Drop is set when Apply switches to UID and GID.
	Drop     bool
	UID, GID int
	// Who names the target identity for messages.
	Who string
	// Warnings are settings that cannot be applied, or opt-outs in use:
	// the process continues, the operator should know.
	Warnings []string
}

// Changes reports whether Apply changes the root directory or identity,
// after which paths and permissions seen before no longer hold.
func (p *Plan) Changes() bool { return p.Chroot != "" || p.Drop }

// Prepare resolves user and group names (the password and group files are
// not reachable from inside a jail), checks the chroot directory and
// decides what Apply does. It changes nothing. Errors are for the
// operator: each names the control and the fix.
func Prepare(s Settings, o Options) (*Plan, error) {
	uid, gid, who, err := resolve(s)
	if err != nil {
		return nil, err
	}
	p := &Plan{UID: uid, GID: gid, Who: who}
	if o.Euid != 0 {
		if (uid >= 0 && uid != os.Getuid()) || (gid >= 0 && gid != os.Getgid()) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s cannot be applied: not started as root (uid %d); continuing as uid %d", who, o.Euid, os.Getuid()))
		}
		if s.Chroot != "" {
			p.Warnings = append(p.Warnings, fmt.Sprintf("'chroot %s' cannot be applied: not started as root (uid %d); continuing without a jail", s.Chroot, o.Euid))
		}
		return p, nil
	}
	switch {
	case uid < 0 || uid == 0:
		what := "without 'user' or 'uid' in the global section"
		if uid == 0 {
			what = "with " + who
		}
		if !o.AllowRoot {
			return nil, fmt.Errorf("started as root %s: the proxy would serve as root (HAP-2.1); "+
				"add 'user <name>' and 'group <name>' (for example 'user haproxy' and 'group haproxy') to the global section, "+
				"or set %s=1 to run as root anyway", what, AllowRootEnv)
		}
		p.Warnings = append(p.Warnings, "running as root: HAP-2.1 is not met (allowed by "+AllowRootEnv+"=1, or by the demo, which listens on loopback only)")
		if uid < 0 && gid >= 0 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s is ignored: without a user the process stays root", who))
		}
	case gid < 0:
		return nil, fmt.Errorf("%s has no group: the process would keep the root group (gid 0) (HAP-2.1); add 'group <name>' or 'gid <number>' to the global section", who)
	case gid == 0 && !o.AllowRoot:
		return nil, fmt.Errorf("%s keeps the root group (gid 0) (HAP-2.1); use an unprivileged 'group', or set %s=1", who, AllowRootEnv)
	default:
		p.Drop = true
	}
	if s.Chroot != "" {
		dir, err := checkJail(s.Chroot, uid, gid)
		if err != nil {
			return nil, err
		}
		if !p.Drop {
			p.Warnings = append(p.Warnings, fmt.Sprintf("'chroot %s' is applied but a root process can leave a chroot (HAP-2.2 needs 'user' too)", s.Chroot))
		}
		p.Chroot = dir
	}
	return p, nil
}

// resolve turns user/group/uid/gid into numbers; -1 stays unset. A 'user'
// without a group takes the user's primary group, so that a dropped
// process never keeps gid 0 by omission (HAProxy would).
func resolve(s Settings) (uid, gid int, who string, err error) {
	uid, gid = s.UID, s.GID
	primary := -1
	if s.User != "" {
		u, err := user.Lookup(s.User)
		if err != nil {
			return 0, 0, "", fmt.Errorf("'user %s': %v", s.User, err)
		}
		n, _ := strconv.Atoi(u.Uid)
		if uid >= 0 && uid != n {
			return 0, 0, "", fmt.Errorf("'user %s' is uid %d but 'uid %d' is also set: keep one", s.User, n, uid)
		}
		uid = n
		primary, _ = strconv.Atoi(u.Gid)
	}
	if s.Group != "" {
		g, err := user.LookupGroup(s.Group)
		if err != nil {
			return 0, 0, "", fmt.Errorf("'group %s': %v", s.Group, err)
		}
		n, _ := strconv.Atoi(g.Gid)
		if gid >= 0 && gid != n {
			return 0, 0, "", fmt.Errorf("'group %s' is gid %d but 'gid %d' is also set: keep one", s.Group, n, gid)
		}
		gid = n
	}
	if gid < 0 {
		gid = primary
	}
	switch {
	case s.User != "":
		who = fmt.Sprintf("'user %s' (uid %d)", s.User, uid)
	case uid >= 0:
		who = fmt.Sprintf("'uid %d'", uid)
	default:
		who = "no user"
	}
	switch {
	case s.Group != "":
		who += fmt.Sprintf(", 'group %s' (gid %d)", s.Group, gid)
	case gid >= 0:
		who += fmt.Sprintf(", gid %d", gid)
	}
	return uid, gid, who, nil
}

// checkJail refuses a jail the runtime identity could change: missing,
// not a directory, not owned by root, or writable by group or other (the
// runtime group is one of those). It returns the resolved absolute path.
func checkJail(path string, uid, gid int) (string, error) {
	fail := func(why string) (string, error) {
		return "", fmt.Errorf("'chroot %s': %s (HAP-2.2); use a root-owned directory with mode 0755 or stricter, for example /var/empty", path, why)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fail(err.Error())
	}
	dir, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fail("the directory does not exist")
		}
		return fail(err.Error())
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fail(err.Error())
	}
	if !fi.IsDir() {
		return fail("not a directory")
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fail("cannot read its owner")
	}
	mode := fi.Mode().Perm()
	switch {
	case int(st.Uid) == uid && uid != 0:
		return fail(fmt.Sprintf("owned by the runtime user (uid %d), who could change it", uid))
	case st.Uid != 0:
		return fail(fmt.Sprintf("owned by uid %d, not root", st.Uid))
	case mode&0o020 != 0 && int(st.Gid) == gid:
		return fail(fmt.Sprintf("writable by the runtime group (gid %d, mode %04o)", gid, mode))
	case mode&0o022 != 0:
		return fail(fmt.Sprintf("writable by group or other (mode %04o)", mode))
	}
	return dir, nil
}

// Apply enters the jail and drops to the planned identity, then checks
// that root cannot be regained. The caller must exit when it fails: the
// process may be half-changed.
func (p *Plan) Apply() error {
	if !p.Changes() {
		return nil
	}
	// Caches that Go fills lazily from files outside the jail: load them
	// now, while those files are reachable.
	_ = time.Now().Local().String()
	_, _ = x509.SystemCertPool()
	if p.Chroot != "" {
		if err := syscall.Chroot(p.Chroot); err != nil {
			return fmt.Errorf("chroot %s: %w", p.Chroot, err)
		}
		if err := syscall.Chdir("/"); err != nil {
			return fmt.Errorf("chdir / in the chroot: %w", err)
		}
	}
	if !p.Drop {
		return nil
	}
	// Supplementary groups go first, while we may still change them; the
	// process keeps none (not even the user's), the least it can hold.
	if err := syscall.Setgroups([]int{}); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(p.GID); err != nil {
		return fmt.Errorf("setgid %d: %w", p.GID, err)
	}
	// Go applies Setuid to every thread of the process (since Go 1.16).
	if err := syscall.Setuid(p.UID); err != nil {
		return fmt.Errorf("setuid %d: %w", p.UID, err)
	}
	return VerifyDropped(p.UID, p.GID)
}

// VerifyDropped checks the process is uid/gid in all of its real,
// effective and saved IDs, holds no supplementary group, and that
// setuid(0) and setgid(0) fail.
func VerifyDropped(uid, gid int) error {
	ru, eu, su, err := getresuid()
	if err != nil {
		return err
	}
	rg, eg, sg, err := getresgid()
	if err != nil {
		return err
	}
	if ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid {
		return fmt.Errorf("privilege drop incomplete: uids %d/%d/%d gids %d/%d/%d, want %d and %d", ru, eu, su, rg, eg, sg, uid, gid)
	}
	if gs, err := syscall.Getgroups(); err != nil || len(gs) != 0 {
		return fmt.Errorf("supplementary groups remain: %v %v", gs, err)
	}
	if syscall.Setuid(0) == nil {
		return errors.New("privilege drop failed: setuid(0) succeeded")
	}
	if syscall.Setgid(0) == nil {
		return errors.New("privilege drop failed: setgid(0) succeeded")
	}
	return nil
}
