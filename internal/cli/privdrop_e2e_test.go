package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBulwark builds the command into a directory every user can read,
// so that it can also run as 'nobody'.
func buildBulwark(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "bulwark")
	if out, err := exec.Command("go", "build", "-o", bin, "bulwark/cmd/bulwark").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: privilege drop and chroot")
	}
}

// backendServer answers every request with "backend-ok". Its address is
// an IP literal: nothing needs name resolution inside a jail.
func backendServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "backend-ok")
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func proxyConfig(global string, port int, server string) string {
	return "global\n" + global + fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 %s
`, port, server)
}

func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "bulwark.cfg")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// proc is a started proxy whose output goes to a file, readable while it
// runs.
type proc struct {
	pid int
	out string
}

func (p proc) output() string {
	b, _ := os.ReadFile(p.out)
	return string(b)
}

// startBulwark runs bin in the foreground, waits until it proxies on port
// and stops it by its PID when the test ends.
func startBulwark(t *testing.T, bin string, port int, env []string, cred *syscall.Credential, args ...string) proc {
	t.Helper()
	outPath := filepath.Join(t.TempDir(), "out")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := proc{pid: cmd.Process.Pid, out: outPath}
	t.Cleanup(func() {
		syscall.Kill(p.pid, syscall.SIGKILL)
		cmd.Wait()
	})
	if !proxies(port) {
		t.Fatalf("bulwark does not proxy on port %d:\n%s", port, p.output())
	}
	return p
}

// proxies polls the proxy until a request comes back from the backend;
// the loop bounds the wait, it asserts nothing about speed.
func proxies(port int) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	for i := 0; i < 100; i++ {
		resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) == "backend-ok" {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// statusIDs returns the four IDs (real, effective, saved, fs) of a
// "Uid:" or "Gid:" line of /proc/PID/status.
func statusIDs(t *testing.T, pid int, key string) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key+":") {
			return strings.Fields(strings.TrimPrefix(l, key+":"))
		}
	}
	t.Fatalf("no %s line in /proc/%d/status", key, pid)
	return nil
}

// runToExit runs bin and returns its exit code and output; the context
// only guards against a proxy that wrongly starts serving.
func runToExit(t *testing.T, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("bulwark %v kept running (it should have exited):\n%s", args, out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// TestLifecycleEndToEnd builds the command once and runs it as a real
// process: privilege drop and chroot (HAP-2.1, HAP-2.2), their
// refusals, the root opt-out, an unprivileged start, and daemon mode.
func TestLifecycleEndToEnd(t *testing.T) {
	bin := buildBulwark(t)
	sub := func(name string, f func(t *testing.T, bin, dir string)) {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			os.Chmod(filepath.Dir(d), 0o755)
			os.Chmod(d, 0o755)
			f(t, bin, d)
		})
	}
	sub("drop and chroot", testPrivilegeDropAndChroot)
	sub("root refusals", testRootRefusals)
	sub("allow root opt-out", testAllowRootOptOut)
	sub("not root warns and serves", testNotRootWarnsAndServes)
	sub("daemon", testDaemonMode)
}

func testPrivilegeDropAndChroot(t *testing.T, bin, dir string) {
	needRoot(t)
	jail := filepath.Join(dir, "jail")
	if err := os.Mkdir(jail, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freeTCPPort(t)
	cf := writeConfig(t, dir, proxyConfig("    user nobody\n    group nogroup\n    chroot "+jail+"\n", port, backendServer(t)))
	p := startBulwark(t, bin, port, nil, nil, "-f", cf)

	for _, key := range []string{"Uid", "Gid"} {
		ids := statusIDs(t, p.pid, key)
		if len(ids) != 4 {
			t.Fatalf("%s: %v", key, ids)
		}
		for _, id := range ids {
			if id == "0" {
				t.Errorf("%s line %v still holds 0", key, ids)
			}
		}
	}
	if groups := statusIDs(t, p.pid, "Groups"); len(groups) != 0 {
		t.Errorf("supplementary groups kept: %v", groups)
	}
	if root, err := os.Readlink(fmt.Sprintf("/proc/%d/root", p.pid)); err != nil || root != jail {
		t.Errorf("/proc/PID/root = %q (%v), want %s", root, err, jail)
	}
	if !strings.Contains(p.output(), "serving as 'user nobody'") {
		t.Errorf("no notice of the drop:\n%s", p.output())
	}

	// A reload re-reads the configuration, which is outside the jail: it
	// must fail cleanly and keep the running configuration.
	if err := syscall.Kill(p.pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && !strings.Contains(p.output(), "still running the previous one"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if out := p.output(); !strings.Contains(out, "inside the jail") {
		t.Errorf("reload after chroot did not explain its failure:\n%s", out)
	}
	if !proxies(port) {
		t.Errorf("stopped proxying after a failed reload:\n%s", p.output())
	}
}

func testRootRefusals(t *testing.T, bin, dir string) {
	needRoot(t)
	server := backendServer(t)
	mkjail := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		os.Mkdir(p, 0o700)
		os.Chmod(p, mode)
		return p
	}
	tests := []struct {
		name   string
		global string
		env    []string
		want   []string
	}{
		{"root without user", "", nil, []string{"HAP-2.1", "started as root without 'user'", "BULWARK_ALLOW_ROOT=1"}},
		{"user root", "    user root\n    group nogroup\n", nil, []string{"HAP-2.1"}},
		{"opt-out set to something else than 1", "", []string{"BULWARK_ALLOW_ROOT=yes"}, []string{"HAP-2.1"}},
		{"jail writable by others", "    user nobody\n    group nogroup\n    chroot " + mkjail("w777", 0o777) + "\n", nil, []string{"HAP-2.2", "writable by group or other"}},
		{"jail writable by group", "    user nobody\n    group nogroup\n    chroot " + mkjail("w775", 0o775) + "\n", nil, []string{"HAP-2.2", "writable"}},
		{"missing jail", "    user nobody\n    group nogroup\n    chroot " + filepath.Join(dir, "none") + "\n", nil, []string{"HAP-2.2", "does not exist"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port := freeTCPPort(t)
			cdir := t.TempDir()
			cf := writeConfig(t, cdir, proxyConfig(tc.global, port, server))
			code, out := runToExit(t, bin, tc.env, "-f", cf)
			if code != 1 {
				t.Errorf("exit %d, want 1:\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func testAllowRootOptOut(t *testing.T, bin, dir string) {
	needRoot(t)
	port := freeTCPPort(t)
	cf := writeConfig(t, dir, proxyConfig("", port, backendServer(t)))
	p := startBulwark(t, bin, port, []string{"BULWARK_ALLOW_ROOT=1"}, nil, "-f", cf)
	if ids := statusIDs(t, p.pid, "Uid"); ids[1] != "0" {
		t.Errorf("euid = %s, want 0 with the opt-out", ids[1])
	}
	if out := p.output(); !strings.Contains(out, "running as root: HAP-2.1 is not met (allowed by BULWARK_ALLOW_ROOT=1") {
		t.Errorf("no warning about the opt-out:\n%s", out)
	}
}

// Started as an unprivileged user, the identity and jail directives
// cannot be applied: HAProxy warns and goes on, so does Bulwark.
func testNotRootWarnsAndServes(t *testing.T, bin, dir string) {
	needRoot(t) // to start the binary as nobody
	port := freeTCPPort(t)
	cf := writeConfig(t, dir, proxyConfig("    user daemon\n    group daemon\n    chroot /var/empty-bulwark\n", port, backendServer(t)))
	p := startBulwark(t, bin, port, nil, &syscall.Credential{Uid: 65534, Gid: 65534}, "-f", cf)
	out := p.output()
	for _, w := range []string{"cannot be applied: not started as root", "'chroot /var/empty-bulwark' cannot be applied"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if ids := statusIDs(t, p.pid, "Uid"); ids[0] != "65534" {
		t.Errorf("uid = %v", ids)
	}
}

func testDaemonMode(t *testing.T, bin, dir string) {
	global := ""
	if os.Geteuid() == 0 {
		global = "    user nobody\n    group nogroup\n"
	}
	port := freeTCPPort(t)
	cf := writeConfig(t, dir, proxyConfig(global, port, backendServer(t)))
	pidfile := filepath.Join(dir, "bulwark.pid")
	code, out := runToExit(t, bin, nil, "-D", "-p", pidfile, "-f", cf)
	if code != 0 {
		t.Fatalf("daemon start: exit %d\n%s", code, out)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("pidfile %q", b)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if !proxies(port) {
		t.Fatal("the daemon does not proxy")
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name: state, ppid, pgrp, session.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if f[3] != strconv.Itoa(pid) {
		t.Errorf("daemon session = %s, want its own (%d): not detached", f[3], pid)
	}
	for fd := 0; fd <= 2; fd++ {
		if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd)); l != os.DevNull {
			t.Errorf("daemon fd %d -> %q, want /dev/null", fd, l)
		}
	}

	// A second daemon on the same port fails, and says so on the
	// terminal before the parent exits ("noreuseport": with SO_REUSEPORT
	// it would bind beside the first, as HAProxy does).
	cf2 := filepath.Join(dir, "second.cfg")
	os.WriteFile(cf2, []byte(proxyConfig(global+"    noreuseport\n", port, "127.0.0.1:1")), 0o644)
	code, out = runToExit(t, bin, nil, "-D", "-f", cf2)
	if code == 0 || !strings.Contains(out, "cannot bind") {
		t.Errorf("second daemon: exit %d, want an error about the bind:\n%s", code, out)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}
