package lifecycle

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// nobody returns the IDs of the unprivileged accounts the tests use.
func nobody(t *testing.T) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no 'nobody' user")
	}
	g, err := user.LookupGroup("nogroup")
	if err != nil {
		t.Skip("no 'nogroup' group")
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(g.Gid)
	return uid, gid
}

func unset() Settings { return Settings{UID: -1, GID: -1} }

func TestPrepareIdentity(t *testing.T) {
	nuid, ngid := nobody(t)
	u, _ := user.Lookup("nobody")
	primary, _ := strconv.Atoi(u.Gid)
	with := func(f func(*Settings)) Settings {
		s := unset()
		f(&s)
		return s
	}
	tests := []struct {
		name      string
		s         Settings
		euid      int
		allowRoot bool
		wantErr   []string // all must appear; nil = no error
		wantDrop  bool
		uid, gid  int
		wantWarn  string
	}{
		{"root without user refused", unset(), 0, false, []string{"HAP-2.1", "started as root", "'user <name>'", AllowRootEnv + "=1"}, false, 0, 0, ""},
		{"root without user, opted out", unset(), 0, true, nil, false, -1, -1, "running as root"},
		{"root with 'user root' refused", with(func(s *Settings) { s.User = "root" }), 0, false, []string{"HAP-2.1", "'user root' (uid 0)"}, false, 0, 0, ""},
		{"root with uid 0 refused", with(func(s *Settings) { s.UID = 0; s.GID = ngid }), 0, false, []string{"HAP-2.1"}, false, 0, 0, ""},
		{"user and group", with(func(s *Settings) { s.User, s.Group = "nobody", "nogroup" }), 0, false, nil, true, nuid, ngid, ""},
		{"user takes its primary group", with(func(s *Settings) { s.User = "nobody" }), 0, false, nil, true, nuid, primary, ""},
		{"numeric uid and gid", with(func(s *Settings) { s.UID, s.GID = 4242, 4343 }), 0, false, nil, true, 4242, 4343, ""},
		{"numeric uid without a group refused", with(func(s *Settings) { s.UID = 4242 }), 0, false, []string{"no group", "HAP-2.1"}, false, 0, 0, ""},
		{"root group refused", with(func(s *Settings) { s.User, s.Group = "nobody", "root" }), 0, false, []string{"root group", "HAP-2.1"}, false, 0, 0, ""},
		{"unknown user", with(func(s *Settings) { s.User = "no-such-user-bulwark" }), 0, false, []string{"'user no-such-user-bulwark'"}, false, 0, 0, ""},
		{"unknown group", with(func(s *Settings) { s.User, s.Group = "nobody", "no-such-group-bulwark" }), 0, false, []string{"'group no-such-group-bulwark'"}, false, 0, 0, ""},
		{"user and uid disagree", with(func(s *Settings) { s.User, s.UID, s.GID = "nobody", nuid+1, ngid }), 0, false, []string{"keep one"}, false, 0, 0, ""},
		{"group and gid disagree", with(func(s *Settings) { s.User, s.Group, s.GID = "nobody", "nogroup", ngid+1 }), 0, false, []string{"keep one"}, false, 0, 0, ""},
		{"not root: user ignored with a warning", with(func(s *Settings) { s.User, s.Group = "nobody", "nogroup" }), 12345, false, nil, false, nuid, ngid, "cannot be applied: not started as root"},
		{"not root: chroot ignored with a warning", with(func(s *Settings) { s.Chroot = "/nonexistent" }), 12345, false, nil, false, -1, -1, "'chroot /nonexistent' cannot be applied"},
		{"not root: nothing set, nothing said", unset(), 12345, false, nil, false, -1, -1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Prepare(tc.s, Options{Euid: tc.euid, AllowRoot: tc.allowRoot})
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, plan %+v", p)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Drop != tc.wantDrop || p.UID != tc.uid || p.GID != tc.gid {
				t.Errorf("plan drop=%v uid=%d gid=%d, want %v %d %d", p.Drop, p.UID, p.GID, tc.wantDrop, tc.uid, tc.gid)
			}
			joined := strings.Join(p.Warnings, "\n")
			if tc.wantWarn == "" && joined != "" {
				t.Errorf("unexpected warnings: %s", joined)
			}
			if !strings.Contains(joined, tc.wantWarn) {
				t.Errorf("warnings %q lack %q", joined, tc.wantWarn)
			}
			if tc.euid != 0 && p.Changes() {
				t.Error("a non-root plan must change nothing")
			}
		})
	}
}

// TestPrepareJail needs root: only root can make the root-owned
// directories a valid jail is made of.
func TestPrepareJail(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create root-owned and foreign-owned directories")
	}
	nuid, ngid := nobody(t)
	base := t.TempDir()
	mk := func(name string, mode os.FileMode, owner int) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, owner, 0); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := mk("good", 0o755, 0)
	link := filepath.Join(base, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o644)
	groupW := mk("groupw", 0o775, 0)
	os.Chown(groupW, 0, ngid)
	tests := []struct {
		name, dir string
		want      string // error fragment; "" = accepted
		resolved  string
	}{
		{"root-owned 0755", good, "", good},
		{"root-owned 0711", mk("x711", 0o711, 0), "", filepath.Join(base, "x711")},
		{"symlink resolved", link, "", good},
		{"missing", filepath.Join(base, "missing"), "does not exist", ""},
		{"a file", file, "not a directory", ""},
		{"world-writable", mk("w777", 0o777, 0), "writable by group or other", ""},
		{"sticky like /tmp", mk("sticky", 0o1777, 0), "writable by group or other", ""},
		{"writable by the runtime group", groupW, "runtime group", ""},
		{"owned by the runtime user", mk("mine", 0o755, nuid), "owned by the runtime user", ""},
		{"owned by someone else", mk("other", 0o755, nuid+1), "not root", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Settings{User: "nobody", Group: "nogroup", UID: -1, GID: -1, Chroot: tc.dir}
			p, err := Prepare(s, Options{Euid: 0})
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "HAP-2.2") {
					t.Fatalf("err = %v, want one with %q and HAP-2.2", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Chroot != tc.resolved || !p.Drop {
				t.Errorf("plan chroot=%q drop=%v, want %q true", p.Chroot, p.Drop, tc.resolved)
			}
		})
	}
}

// VerifyDropped must fail in a process that still holds root (or any ID
// other than the expected ones) without trying anything.
func TestVerifyDroppedRejectsUndropped(t *testing.T) {
	err := VerifyDropped(os.Getuid()+1, os.Getgid()+1)
	if err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("err = %v, want an incomplete drop", err)
	}
}

func TestZeroPlanChangesNothing(t *testing.T) {
	p := &Plan{}
	if p.Changes() {
		t.Fatal("zero plan reports changes")
	}
	if err := p.Apply(); err != nil {
		t.Fatal(err)
	}
}
