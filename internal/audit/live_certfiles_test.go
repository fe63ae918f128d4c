package audit

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/config"
)

func pemFile(t *testing.T, path string, mode os.FileMode, types ...string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	var b []byte
	for _, ty := range types {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: ty, Bytes: []byte("fake " + ty)})...)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, mode) // not subject to the umask
}

func TestLiveCertFiles(t *testing.T) {
	tests := []struct {
		name     string
		chrooted bool
		viaList  bool
		// setup writes the files; conf is the configured path, live the
		// path the worker sees.
		setup func(t *testing.T, conf, live string)
		want  Verdict
		text  string
	}{
		{"chroot copy identical", true, false, func(t *testing.T, conf, live string) {
			pemFile(t, conf, 0o600, "CERTIFICATE", "PRIVATE KEY")
			pemFile(t, live, 0o600, "CERTIFICATE", "PRIVATE KEY")
		}, Pass, "is the configured file"},
		{"chroot copy differs", true, false, func(t *testing.T, conf, live string) {
			pemFile(t, conf, 0o600, "CERTIFICATE", "PRIVATE KEY")
			pemFile(t, live, 0o600, "CERTIFICATE")
		}, Warn, "differs from the configured file"},
		{"chroot copy world-readable key", true, false, func(t *testing.T, conf, live string) {
			pemFile(t, conf, 0o600, "CERTIFICATE", "PRIVATE KEY")
			pemFile(t, live, 0o644, "CERTIFICATE", "PRIVATE KEY")
		}, Fail, "readable by others"},
		{"absent inside chroot", true, false, func(t *testing.T, conf, live string) {
			pemFile(t, conf, 0o644, "CERTIFICATE", "PRIVATE KEY")
		}, Pass, "out of the worker's reach"},
		{"no chroot, key readable by a foreign group", false, false, func(t *testing.T, conf, live string) {
			pemFile(t, conf, 0o640, "CERTIFICATE", "PRIVATE KEY")
		}, Fail, "readable by group"},
		{"no chroot, separate .key readable by others", false, false, func(t *testing.T, conf, live string) {
			pemFile(t, conf, 0o644, "CERTIFICATE")
			pemFile(t, conf+".key", 0o604, "PRIVATE KEY")
		}, Fail, ".key has mode 0604"},
		{"no chroot, crt-list entry missing", false, true, func(t *testing.T, conf, live string) {}, Fail, "the next reload cannot load it"},
		{"no chroot, crt-list entry fine", false, true, func(t *testing.T, conf, live string) {
			pemFile(t, conf, 0o600, "CERTIFICATE", "PRIVATE KEY")
		}, Pass, "private key " + "CONF mode 0600"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "etc", "site.pem")
			chroot := filepath.Join(dir, "chroot")
			os.MkdirAll(chroot, 0o755)
			live := conf
			root := "/"
			if tc.chrooted {
				live, root = filepath.Join(chroot, conf), chroot
			}
			tc.setup(t, conf, live)
			proc := writeFakeProc(t, []fakeProcess{
				{pid: 100, ppid: 1, uid: 0, exe: "/usr/sbin/haproxy", root: "/"},
				{pid: 101, ppid: 100, uid: 99, exe: "/usr/sbin/haproxy", root: root},
			}, fakeTCP)
			bind := "  bind 127.0.0.1:8443 ssl crt " + conf + "\n"
			if tc.viaList {
				list := filepath.Join(dir, "list.txt")
				os.WriteFile(list, []byte("# certs\n"+conf+" [alpn h2]\n"), 0o644)
				bind = "  bind 127.0.0.1:8443 ssl crt-list " + list + "\n"
			}
			tg := liveTarget(t, "frontend f\n"+bind)
			lf := &LiveFacts{Product: ProductHAProxy}
			findProcs(tg, LiveOptions{ProcRoot: proc}, lf)
			lf.CertFiles = gatherCertFiles(tg, proc, lf.Procs)
			r := liveServedCerts(tg, lf)
			want := strings.ReplaceAll(tc.text, "CONF", conf)
			found := false
			for _, e := range r.Evidence {
				found = found || (e.Verdict == tc.want && strings.Contains(e.Text, want))
			}
			if !found || r.Verdict != tc.want {
				t.Errorf("verdict %s, want %s with %q; evidence:", r.Verdict, tc.want, want)
				for _, e := range r.Evidence {
					t.Logf("  %s %s", e.Verdict, e.Text)
				}
			}
		})
	}
}

func TestLiveCertFileOwner(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("chown needs root")
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "site.pem")
	pemFile(t, f, 0o600, "CERTIFICATE", "PRIVATE KEY")
	tests := []struct {
		uid  int
		want Verdict
	}{{0, Pass}, {99, Pass}, {1234, Warn}}
	for _, tc := range tests {
		if err := os.Chown(f, tc.uid, 0); err != nil {
			t.Fatal(err)
		}
		p := Proc{PID: 101, UID: [4]int{99, 99, 99, 99}, GID: [4]int{99, 99, 99, 99}, Root: "/", Worker: true}
		r := summarize(certFileLive(config.Pos{}, p, f, f, false), "ok", "bad")
		if r.Verdict != tc.want {
			t.Errorf("owner %d: %s %+v", tc.uid, r.Verdict, r.Evidence)
		}
	}
}
