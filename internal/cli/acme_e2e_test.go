package cli

import (
	"crypto/tls"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"bulwark/internal/acme/acmetest"
)

// bulwark-acme in the real binary, in master/worker mode, dropped to
// nobody inside a chroot: the worker obtains the certificate from pebble
// through its own HTTP bind, keeps it in storage inside the jail (0600,
// owned by the runtime user), and a reloaded worker serves it from there.
func TestACMEMasterWorkerChroot(t *testing.T) {
	needRoot(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	bin := buildBulwark(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	jail := filepath.Join(dir, "jail")
	// The worker creates its storage inside the jail as nobody.
	if err := os.MkdirAll(filepath.Join(jail, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(jail, "var"), uid, -1)
	httpPort, tlsPort := freeTCPPort(t), freeTCPPort(t)
	pebDir := t.TempDir()
	peb := acmetest.Start(t, pebDir, httpPort, tlsPort, 3600)
	cfg := writeConfig(t, dir, fmt.Sprintf(`global
    user nobody
    group nogroup
    chroot %s
.if feature(BULWARK)
    bulwark-acme-directory %s
    bulwark-acme-email ops@bulwark.test
    bulwark-acme-storage /var/acme
    bulwark-acme-ca-file %s
.endif
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
.if feature(BULWARK)
    bind 127.0.0.1:%d ssl bulwark-acme www.bulwark.test
.endif
    default_backend be
backend be
    server s1 %s
`, jail, peb.Dir, peb.CA, httpPort, tlsPort, backendServer(t)))
	p := startBulwark(t, bin, httpPort, nil, nil, "-W", "-f", cfg)
	roots := peb.Roots(t)
	served := func() bool {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			c, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(tlsPort), &tls.Config{ServerName: "www.bulwark.test", RootCAs: roots})
			if err == nil {
				c.Close()
				return true
			}
			time.Sleep(100 * time.Millisecond)
		}
		return false
	}
	if !served() {
		t.Fatalf("no ACME certificate served:\n%s", p.output())
	}
	storage := filepath.Join(jail, "var", "acme")
	n := 0
	filepath.WalkDir(storage, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, _ := d.Info()
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o600 || int(st.Uid) != uid {
			t.Errorf("%s: mode %o owner %d, want 600 owned by nobody", path, fi.Mode().Perm(), st.Uid)
		}
		n++
		return nil
	})
	if n == 0 {
		t.Fatalf("nothing in %s:\n%s", storage, p.output())
	}
	if err := syscall.Kill(p.pid, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if !waitOutput(p, "reloaded the configuration", 1) {
		t.Fatalf("no reload:\n%s", p.output())
	}
	// The CA is gone: the new worker can only serve from storage.
	peb.Stop()
	if !served() {
		t.Fatalf("the reloaded worker does not serve the stored certificate:\n%s", p.output())
	}
}
