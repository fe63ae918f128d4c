package cli

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark/internal/lifecycle"
)

// listenInodes returns the inodes of the TCP sockets listening on port
// (/proc/net/tcp): one socket handed over stays one inode; a process that
// bound its own would show a second, or another.
func listenInodes(t *testing.T, port int) []string {
	t.Helper()
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 9 && strings.HasSuffix(fs[1], want) && fs[3] == "0A" {
			out = append(out, fs[9])
		}
	}
	return out
}

// holdsSocket reports whether process pid has the socket of inode open.
func holdsSocket(pid int, inode string) bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && l == "socket:["+inode+"]" {
			return true
		}
	}
	return false
}

// xferConfig serves through srv, names its generation in X-Gen and gives
// its sockets on the unix stats socket sock. "option
// idle-close-on-response" makes an old HAProxy answer idle keep-alive
// clients once more instead of closing under them, which Bulwark does
// unasked.
func xferConfig(port int, srv, sock, gen string) string {
	return fmt.Sprintf(`global
    stats socket %s mode 600 level admin expose-fd listeners
defaults
    mode http
    option idle-close-on-response
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    http-response set-header X-Gen %s
    server s1 %s
`, sock, port, gen, srv)
}

// TestSocketHandover runs "-x": the new process takes the old one's
// listening sockets over its stats socket ("_getsocks", "expose-fd
// listeners"), then tells it to finish (-sf). Under a client that never
// retries nothing may fail; the listening socket must be the very one the
// old process had (one inode, now held by the new process), and the unix
// stats socket must still answer once the old process is gone. Bulwark
// hands over to Bulwark, HAProxy 2.6 to Bulwark and Bulwark to HAProxy 2.6,
// and a master-worker Bulwark takes a single HAProxy's sockets.
func TestSocketHandover(t *testing.T) {
	bin := buildBulwark(t)
	cases := []struct {
		name             string
		old, new         string
		oldArgs, newArgs []string
	}{
		{"bulwark to bulwark", bin, bin, nil, nil},
		{"haproxy to bulwark", haproxyBin, bin, nil, nil},
		{"bulwark to haproxy", bin, haproxyBin, nil, nil},
		{"haproxy to bulwark master-worker", haproxyBin, bin, nil, []string{"-W"}},
		// The old master's worker answers on the stats socket; -sf tells
		// the old master, which drains its worker and exits.
		{"bulwark master-worker to bulwark master-worker", bin, bin, []string{"-W"}, []string{"-W"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.old == haproxyBin || tc.new == haproxyBin {
				needHAProxy(t)
			}
			testHandover(t, tc.old, tc.new, tc.oldArgs, tc.newArgs)
		})
	}
}

func testHandover(t *testing.T, oldBin, newBin string, oldArgs, newArgs []string) {
	dir := t.TempDir()
	srv := backendServer(t)
	port := freeTCPPort(t)
	sock := filepath.Join(dir, "stats.sock")
	env := []string{lifecycle.AllowRootEnv + "=1"}
	oldCfg := filepath.Join(dir, "old.cfg")
	os.WriteFile(oldCfg, []byte(xferConfig(port, srv, sock, "old")), 0o644)
	old := startBulwark(t, oldBin, port, env, nil, append(append([]string{}, oldArgs...), "-db", "-f", oldCfg)...)
	before := listenInodes(t, port)
	if len(before) != 1 {
		t.Fatalf("listening sockets on %d before: %v", port, before)
	}
	r := &loadResult{gens: map[string]int64{}}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		runLoad(r, "127.0.0.1:"+strconv.Itoa(port), 8, 1<<20, 60*time.Second, stop)
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()
	r.waitMore(0, 200)
	newCfg := filepath.Join(dir, "new.cfg")
	os.WriteFile(newCfg, []byte(xferConfig(port, srv, sock, "new")), 0o644)
	args := append(append([]string{}, newArgs...), "-db", "-f", newCfg, "-x", sock, "-sf", strconv.Itoa(old.pid))
	nw := startBulwark(t, newBin, port, env, nil, args...)
	// The old process exits once its clients have had their last answer.
	for i := 0; i < 1000 && procState(old.pid) != "Z"; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if procState(old.pid) != "Z" {
		t.Fatalf("the old process (%d) still runs after -sf:\n%s", old.pid, old.output())
	}
	n := r.ok.Load() + r.failed.Load()
	r.waitMore(n, 200)
	close(stop)
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Logf("requests: %d answered, %d failed, by generation %v", r.ok.Load(), r.failed.Load(), r.gens)
	if r.failed.Load() != 0 {
		t.Errorf("%d requests failed across the hand-over: %v\nold:\n%s\nnew:\n%s", r.failed.Load(), r.errs, old.output(), nw.output())
	}
	if r.gens["new"] == 0 || r.gens["old"] == 0 {
		t.Errorf("both generations must have served: %v", r.gens)
	}
	after := listenInodes(t, port)
	if len(after) != 1 || after[0] != before[0] {
		t.Fatalf("listening sockets on %d: before %v, after %v: the socket was not handed over\nnew:\n%s", port, before, after, nw.output())
	}
	// In master-worker mode the master holds it and its worker serves on
	// it; either way the new side has it.
	if !holdsSocket(nw.pid, after[0]) {
		t.Errorf("process %d does not hold the listening socket %s", nw.pid, after[0])
	}
	// The unix stats socket was handed over too, and its path outlived
	// the old process.
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		t.Fatalf("stats socket after the old process exited: %v\nnew:\n%s", err, nw.output())
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "show info\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "Name: ") {
		t.Errorf("show info on the handed-over stats socket: %q", line)
	}
	if !holdsSocketPath(t, nw.pid, sock) {
		t.Errorf("the stats socket %s is not the one the new process serves on", sock)
	}
}

// holdsSocketPath reports whether pid (or a worker of it) listens on the
// unix socket path, from /proc/net/unix.
func holdsSocketPath(t *testing.T, pid int, path string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		fs := strings.Fields(l)
		if len(fs) == 8 && fs[7] == path && fs[5] == "01" {
			if holdsSocket(pid, fs[6]) {
				return true
			}
			for _, c := range childPIDs(pid) {
				if holdsSocket(c, fs[6]) {
					return true
				}
			}
		}
	}
	return false
}

// childPIDs are the children of pid, forked by any of its threads
// (/proc/PID/task/*/children).
func childPIDs(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, tf := range tasks {
		b, _ := os.ReadFile(tf)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// Without "expose-fd listeners" the old process gives nothing: a single
// process started with -x says so and exits 1, as HAProxy's does, and the
// old one keeps serving.
func TestSocketHandoverRefused(t *testing.T) {
	bin := buildBulwark(t)
	dir := t.TempDir()
	srv := backendServer(t)
	port := freeTCPPort(t)
	sock := filepath.Join(dir, "stats.sock")
	env := []string{lifecycle.AllowRootEnv + "=1"}
	cfg := strings.Replace(xferConfig(port, srv, sock, "old"), " expose-fd listeners", "", 1)
	oldCfg := filepath.Join(dir, "old.cfg")
	os.WriteFile(oldCfg, []byte(cfg), 0o644)
	old := startBulwark(t, bin, port, env, nil, "-db", "-f", oldCfg)
	code, out := runToExit(t, bin, env, "-db", "-f", oldCfg, "-x", sock, "-sf", strconv.Itoa(old.pid))
	if code != 1 || !strings.Contains(out, "Failed to get the sockets from the old process") ||
		!strings.Contains(out, "expose-fd listeners") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if procState(old.pid) == "Z" || !proxies(port) {
		t.Errorf("the old process must keep serving:\n%s", old.output())
	}
}
