package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackupCommands(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "site.pem")
	writeCertPEM(t, cert)
	cf := filepath.Join(dir, "h.cfg")
	os.WriteFile(cf, []byte("frontend f\n    bind 127.0.0.1:443 ssl crt "+cert+"\n"), 0o644)
	out := t.TempDir()
	run := func(args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := Main(args, &o, &e)
		return code, o.String(), e.String()
	}
	code, so, se := run("backup", "-f", cf, "-o", out)
	if code != 0 {
		t.Fatalf("backup exit %d: %s %s", code, so, se)
	}
	if !strings.Contains(se, "[2/2]") {
		t.Errorf("no progress lines: %q", se)
	}
	archives, _ := filepath.Glob(filepath.Join(out, "bulwark-backup-*.tar.gz"))
	if len(archives) != 1 {
		t.Fatalf("archives %v", archives)
	}
	if code, so, _ := run("backup", "--verify", archives[0], "-q"); code != 0 || !strings.Contains(so, "every file matches") {
		t.Errorf("verify exit %d: %s", code, so)
	}
	dest := t.TempDir()
	if code, _, se := run("restore", archives[0], "--to", dest, "-q"); code != 0 {
		t.Fatalf("restore exit %d: %s", code, se)
	}
	if _, err := os.Stat(filepath.Join(dest, cert)); err != nil {
		t.Errorf("certificate not restored: %v", err)
	}
	if code, _, _ := run("restore", archives[0], "--to", dest, "-q"); code != 1 {
		t.Errorf("restore over existing files exit %d, want 1", code)
	}
	// Tamper: flip a byte of the compressed stream.
	data, _ := os.ReadFile(archives[0])
	data[len(data)/2] ^= 0xff
	bad := filepath.Join(out, "tampered.tar.gz")
	os.WriteFile(bad, data, 0o600)
	if code, _, _ := run("backup", "--verify", bad, "-q"); code == 0 {
		t.Errorf("tampered archive verified")
	}
	for _, args := range [][]string{{"backup"}, {"backup", "-f", cf, "extra"}, {"restore", "--to", dest}, {"restore", archives[0]}} {
		if code, _, _ := run(args...); code != 2 {
			t.Errorf("%v exit %d, want 2", args, code)
		}
	}
	missing := filepath.Join(dir, "m.cfg")
	os.WriteFile(missing, []byte("frontend f\n    bind 127.0.0.1:443 ssl crt "+dir+"/gone.pem\n"), 0o644)
	if code, _, se := run("backup", "-f", missing, "-o", t.TempDir(), "-q"); code != 1 || !strings.Contains(se, "gone.pem") {
		t.Errorf("missing reference exit %d: %s", code, se)
	}
}

func TestPlaybookCommand(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(cf, []byte("backend b\n    server s1 10.0.0.1:80\n"), 0o644)
	of := filepath.Join(t.TempDir(), "pb.md")
	var o, e bytes.Buffer
	if code := Main([]string{"playbook", "-f", cf, "-o", of}, &o, &e); code != 0 {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	b, _ := os.ReadFile(of)
	if !strings.Contains(string(b), "set server b/s1 state drain") {
		t.Errorf("playbook:\n%s", b)
	}
	if code := Main([]string{"playbook"}, &o, &e); code != 2 {
		t.Errorf("no -f exit %d", code)
	}
}

func TestAuditLiveFlags(t *testing.T) {
	var o, e bytes.Buffer
	for _, args := range [][]string{{"audit", "-f", "x.cfg", "--pid", "1"}, {"audit", "-f", "x.cfg", "--live", "--pid", "-3"}, {"audit", "-f", "x.cfg", "--unit-dir", "/etc/systemd/system"}} {
		if code := Main(args, &o, &e); code != 2 {
			t.Errorf("%v exit %d, want 2", args, code)
		}
	}
}
