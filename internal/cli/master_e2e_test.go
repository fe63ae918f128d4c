package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"bulwark/internal/lifecycle"
)

// loadClient is a keep-alive HTTP/1.1 client that never retries (the
// equivalent of internal/proxy's rawClient): Go's http.Client silently
// resends a request that failed on a reused connection, which hides exactly
// the failures a reload must not cause. A response with "Connection:
// close" ends the connection as HTTP says, and is no failure; anything
// else that does not end with a whole 200 response is one.
type loadClient struct {
	addr string
	// fresh asks for a new connection per request ("Connection: close"),
	// the other half of the traffic mix.
	fresh bool
	c     net.Conn
	br    *bufio.Reader
}

// do sends one request and reads its response; it returns the X-Gen
// header.
func (lc *loadClient) do() (string, error) {
	if lc.c == nil {
		c, err := net.DialTimeout("tcp", lc.addr, 5*time.Second)
		if err != nil {
			return "", fmt.Errorf("connect: %w", err)
		}
		lc.c, lc.br = c, bufio.NewReader(c)
	}
	req := "GET / HTTP/1.1\r\nHost: test\r\n\r\n"
	if lc.fresh {
		req = "GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
	}
	lc.c.SetDeadline(time.Now().Add(10 * time.Second))
	fail := func(what string, err error) (string, error) {
		lc.c.Close()
		lc.c = nil
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if _, err := io.WriteString(lc.c, req); err != nil {
		return fail("write", err)
	}
	line, err := lc.br.ReadString('\n')
	if err != nil {
		return fail("read status", err)
	}
	if !strings.HasPrefix(line, "HTTP/1.1 200 ") {
		return fail("status", fmt.Errorf("%q", line))
	}
	n, gen, closing := -1, "", lc.fresh
	for {
		h, err := lc.br.ReadString('\n')
		if err != nil {
			return fail("read header", err)
		}
		if h == "\r\n" {
			break
		}
		k, v, _ := strings.Cut(h, ":")
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "content-length":
			n, _ = strconv.Atoi(v)
		case "x-gen":
			gen = v
		case "connection":
			closing = closing || strings.EqualFold(v, "close")
		}
	}
	if n < 0 {
		return fail("response", fmt.Errorf("no Content-Length"))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(lc.br, body); err != nil {
		return fail("read body", err)
	}
	if string(body) != "backend-ok" {
		return fail("body", fmt.Errorf("%q", body))
	}
	if closing {
		lc.c.Close()
		lc.c = nil
	}
	return gen, nil
}

// loadResult counts what the load clients saw.
type loadResult struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	gens       map[string]int64
}

// runLoad runs clients load clients against addr until stop is closed,
// each for at most maxReqs requests and maxTime: the load is bounded
// whatever happens to the proxy.
func runLoad(r *loadResult, addr string, clients, maxReqs int, maxTime time.Duration, stop <-chan struct{}) {
	var wg sync.WaitGroup
	end := time.Now().Add(maxTime)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc := &loadClient{addr: addr, fresh: i%4 == 3}
			defer func() {
				if lc.c != nil {
					lc.c.Close()
				}
			}()
			for n := 0; n < maxReqs && time.Now().Before(end); n++ {
				select {
				case <-stop:
					return
				default:
				}
				gen, err := lc.do()
				r.mu.Lock()
				if err != nil {
					r.failed.Add(1)
					if len(r.errs) < 10 {
						r.errs = append(r.errs, err.Error())
					}
				} else {
					r.ok.Add(1)
					r.gens[gen]++
				}
				r.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// waitMore waits until r has counted n more answered requests (failed or
// not) than from, so that traffic spans what comes next; the loop bounds
// the wait, it asserts nothing about speed.
func (r *loadResult) waitMore(from int64, n int64) {
	for i := 0; i < 500 && r.ok.Load()+r.failed.Load() < from+n; i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// masterCmd sends one command line to the master CLI at path and returns
// the whole answer (the master closes after answering).
func masterCmd(t *testing.T, path, line string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		t.Fatalf("master CLI: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, line+"\n")
	c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("master CLI %q: %v", line, err)
	}
	return string(b)
}

// workerPIDs lists the current and old workers of "show proc".
func workerPIDs(t *testing.T, showProc string) (cur []int, old []int) {
	t.Helper()
	section := ""
	for _, l := range strings.Split(showProc, "\n") {
		if strings.HasPrefix(l, "#") {
			section = l
			continue
		}
		f := strings.Fields(l)
		if len(f) < 2 || f[1] != "worker" {
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		if section == "# workers" {
			cur = append(cur, pid)
		} else if section == "# old workers" {
			old = append(old, pid)
		}
	}
	return cur, old
}

// TestMasterWorkerEndToEnd runs real "bulwark -W" processes.
func TestMasterWorkerEndToEnd(t *testing.T) {
	bin := buildBulwark(t)
	sub := func(name string, f func(t *testing.T, bin, dir string)) {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			os.Chmod(filepath.Dir(d), 0o755)
			os.Chmod(d, 0o755)
			f(t, bin, d)
		})
	}
	sub("reload under load", testReloadUnderLoad)
	sub("master CLI and failed reloads", testMasterCLI)
	sub("systemd readiness", testSystemdNotify)
	sub("worker failure", testWorkerFailure)
	sub("hard-stop-after", testHardStopAfter)
	sub("stick tables carry over", testTablesCarryOver)
	sub("-sf and -st", testSoftStopFlags)
	sub("long-lived connections across a reload", testLongLivedAcrossReload)
	sub("SIGUSR2 storm", testReloadStorm)
	sub("socket given up and taken back", testSocketTakenBack)
	sub("hardened layout", testHardenedLayout)
}

// Reloads while a non-retrying client runs keep-alive and new-connection
// traffic: not one request may fail, and every old worker must exit.
func testReloadUnderLoad(t *testing.T, bin, dir string) {
	srv := backendServer(t)
	port, api := freeTCPPort(t), freeTCPPort(t)
	cfg := writeConfig(t, dir, genConfig(port, api, srv, "g0", ""))
	p := startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-W", "-f", cfg)
	const reloads = 20
	stop := make(chan struct{})
	done := make(chan *loadResult)
	r := &loadResult{gens: map[string]int64{}}
	go func() {
		runLoad(r, "127.0.0.1:"+strconv.Itoa(port), 8, 20000, 60*time.Second, stop)
		done <- r
	}()
	for i := 1; i <= reloads; i++ {
		// Each generation serves a few hundred requests before the next
		// reload: every reload happens under load.
		r.waitMore(r.ok.Load()+r.failed.Load(), 300)
		gen := "g" + strconv.Itoa(i)
		if err := os.WriteFile(cfg, []byte(genConfig(port, api, srv, gen, "")), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(p.pid, syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		if !waitOutput(p, "reloaded the configuration", i) {
			close(stop)
			<-done
			t.Fatalf("reload %d did not happen:\n%s", i, p.output())
		}
	}
	// A little more load on the last generation, then stop (the count
	// and time bounds hold anyway).
	if g, ok := genServed(port, "g"+strconv.Itoa(reloads)); !ok {
		t.Errorf("X-Gen %q after the reloads", g)
	}
	r.waitMore(r.ok.Load()+r.failed.Load(), 300)
	close(stop)
	<-done
	t.Logf("%d requests, %d failed, by generation %v", r.ok.Load(), r.failed.Load(), r.gens)
	if r.failed.Load() != 0 {
		t.Errorf("%d requests failed during %d reloads, first: %v\n%s", r.failed.Load(), reloads, r.errs, p.output())
	}
	if r.ok.Load() == 0 {
		t.Error("no request succeeded")
	}
	if !waitLonger(p, "former worker", reloads) {
		t.Errorf("old workers did not all exit:\n%s", p.output())
	}
	if strings.Contains(p.output(), "exited with code") && regexp.MustCompile(`former worker \d+ exited with code [^0]`).MatchString(p.output()) {
		t.Errorf("an old worker failed:\n%s", p.output())
	}
}

// The master CLI answers "show proc", forwards "@1" and "@!PID" to the
// worker's runtime API, and reports reloads; a reload that fails (in the
// master's validation, at bind time, or only in the new worker) keeps the
// previous worker serving, says why, and the next good one works.
func testMasterCLI(t *testing.T, bin, dir string) {
	srv := backendServer(t)
	port, api := freeTCPPort(t), freeTCPPort(t)
	sock := filepath.Join(dir, "master.sock")
	cfg := writeConfig(t, dir, genConfig(port, api, srv, "one", ""))
	p := startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-W", "-S", sock+",level,admin", "-f", cfg)
	proc := masterCmd(t, sock, "show proc")
	cur, old := workerPIDs(t, proc)
	if !strings.HasPrefix(proc, "#<PID>") || !strings.Contains(proc, strconv.Itoa(p.pid)+" ") ||
		!strings.Contains(proc, "0 [failed: 0]") || len(cur) != 1 || len(old) != 0 {
		t.Fatalf("show proc:\n%s", proc)
	}
	w1 := cur[0]
	if w1 == p.pid {
		t.Fatalf("the worker is the master:\n%s", proc)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("master CLI socket mode %v (%v), want 0600", fi.Mode(), err)
	}
	for _, ref := range []string{"@1", "@!" + strconv.Itoa(w1)} {
		info := masterCmd(t, sock, ref+" show info")
		if !strings.Contains(info, "Name: Bulwark") || !strings.Contains(info, "Pid: "+strconv.Itoa(w1)+"\n") {
			t.Errorf("%s show info:\n%s", ref, info)
		}
	}
	// "@1" alone sends the next commands to the worker, "@" comes back.
	if out := masterCmd(t, sock, "@1; show info; @; show proc"); !strings.Contains(out, "Pid: "+strconv.Itoa(w1)) || !strings.Contains(out, "# workers") {
		t.Errorf("@1; show info; @; show proc:\n%s", out)
	}
	if out := masterCmd(t, sock, "@!1 show info"); !strings.Contains(out, "Can't find the target PID") {
		t.Errorf("@!1: %s", out)
	}
	if out := masterCmd(t, sock, "help"); !strings.Contains(out, "show proc") || !strings.Contains(out, "reload") {
		t.Errorf("help:\n%s", out)
	}

	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	notASocket := filepath.Join(dir, "not-a-log-socket")
	if err := os.WriteFile(notASocket, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fails := []struct{ name, text, want string }{
		// Refused by the master's validation: no worker is started.
		{"invalid", genConfig(port, api, srv, "bad", "    balance hdr\n"), "bulwark.cfg:14] : backend 'be': 'balance' only supports|reload: the new configuration has errors"},
		{"port in use", genConfig(port, api, srv, "busy", "frontend late\n    bind "+busy.Addr().String()+"\n    default_backend be\n"), "cannot bind"},
		// Checks clean, and fails only when the worker opens its log: a
		// regular file where a unix log socket should be (a socket that
		// does not exist yet is not an error, as in HAProxy).
		{"fails in the worker", strings.Replace(genConfig(port, api, srv, "late", ""), "frontend fe\n", "frontend fe\n    log "+notASocket+" local0\n", 1),
			"before serving"},
	}
	for i, f := range fails {
		write(f.text)
		out := masterCmd(t, sock, "reload")
		for _, want := range append(strings.Split(f.want, "|"), "Success=0\n", "still running the previous configuration") {
			if !strings.Contains(out, want) {
				t.Errorf("%s: reload answered without %q:\n%s", f.name, want, out)
			}
		}
		if g, ok := genServed(port, "one"); !ok {
			t.Fatalf("%s: X-Gen %q after a failed reload:\n%s", f.name, g, p.output())
		}
		proc := masterCmd(t, sock, "show proc")
		if cur, _ := workerPIDs(t, proc); len(cur) != 1 || cur[0] != w1 || !strings.Contains(proc, fmt.Sprintf("0 [failed: %d]", i+1)) {
			t.Errorf("%s: show proc after a failed reload:\n%s", f.name, proc)
		}
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "prompt\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, _ := io.ReadAtLeast(c, buf, len("master[ReloadFailed]> "))
	c.Close()
	if got := string(buf[:n]); got != "master[ReloadFailed]> " {
		t.Errorf("prompt after a failed reload: %q", got)
	}

	write(genConfig(port, api, srv, "two", ""))
	if out := masterCmd(t, sock, "reload"); !strings.HasPrefix(out, "Success=1\n") {
		t.Fatalf("reload answered:\n%s\n%s", out, p.output())
	}
	if g, ok := genServed(port, "two"); !ok {
		t.Fatalf("X-Gen %q after the reload", g)
	}
	proc = masterCmd(t, sock, "show proc")
	if cur, _ := workerPIDs(t, proc); len(cur) != 1 || cur[0] == w1 || !strings.Contains(proc, "1 [failed: 3]") {
		t.Errorf("show proc after the reload:\n%s", proc)
	}
	// The stats socket passed from worker to worker.
	if info := apiCommand(t, api, "show info"); !strings.Contains(info, "Name: Bulwark") {
		t.Errorf("stats socket after the reload: %q", info)
	}
}

// apiCommand sends one runtime API command to a TCP stats socket.
func apiCommand(t *testing.T, port int, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, cmd+"\n")
	b, _ := io.ReadAll(c)
	return string(b)
}

// Started by systemd (NOTIFY_SOCKET) Bulwark runs as master and worker
// without being asked, and tells systemd READY=1 with its MAINPID, then
// RELOADING=1 with MONOTONIC_USEC and READY=1 again around each reload,
// with a STATUS= that says whether the reload failed.
func testSystemdNotify(t *testing.T, bin, dir string) {
	path := filepath.Join(dir, "notify")
	nc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := make(chan string, 32)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := nc.ReadFromUnix(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	next := func(want string) string {
		t.Helper()
		select {
		case m, ok := <-msgs:
			if !ok || !strings.Contains(m, want) {
				t.Fatalf("notification %q, want one with %q", m, want)
			}
			return m
		case <-time.After(30 * time.Second):
			t.Fatalf("no notification with %q", want)
		}
		return ""
	}
	srv := backendServer(t)
	port, api := freeTCPPort(t), freeTCPPort(t)
	cfg := writeConfig(t, dir, genConfig(port, api, srv, "one", ""))
	p := startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1", "NOTIFY_SOCKET=" + path}, nil, "-f", cfg)
	ready := next("READY=1")
	if !strings.Contains(ready, "MAINPID="+strconv.Itoa(p.pid)) || !strings.Contains(ready, "STATUS=Ready") {
		t.Errorf("readiness %q", ready)
	}
	if !strings.Contains(p.output(), "master-worker mode") {
		t.Errorf("not master-worker under systemd:\n%s", p.output())
	}
	os.WriteFile(cfg, []byte(genConfig(port, api, srv, "two", "")), 0o644)
	syscall.Kill(p.pid, syscall.SIGUSR2)
	if m := next("RELOADING=1"); !regexp.MustCompile(`MONOTONIC_USEC=\d+`).MatchString(m) {
		t.Errorf("reloading %q without MONOTONIC_USEC", m)
	}
	next("READY=1")
	os.WriteFile(cfg, []byte(genConfig(port, api, srv, "bad", "    balance hdr\n")), 0o644)
	syscall.Kill(p.pid, syscall.SIGUSR2)
	next("RELOADING=1")
	next("STATUS=Reload failed")
	if g, ok := genServed(port, "two"); !ok {
		t.Errorf("X-Gen %q", g)
	}
}

// procState is the state letter of /proc/PID/stat ("Z" once exited and
// not yet reaped).
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return f[0]
}

// A worker that dies makes the master stop everything and exit, as
// HAProxy 2.6's does; with "master-worker no-exit-on-failure" the master
// stays and a reload starts a worker again.
func testWorkerFailure(t *testing.T, bin, dir string) {
	srv := backendServer(t)
	port, api := freeTCPPort(t), freeTCPPort(t)
	sock := filepath.Join(dir, "master.sock")
	cfg := writeConfig(t, dir, genConfig(port, api, srv, "one", ""))
	p := startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-W", "-S", sock, "-f", cfg)
	cur, _ := workerPIDs(t, masterCmd(t, sock, "show proc"))
	if len(cur) != 1 {
		t.Fatal("no worker")
	}
	syscall.Kill(cur[0], syscall.SIGKILL)
	for i := 0; i < 250 && procState(p.pid) != "Z"; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if procState(p.pid) != "Z" {
		t.Errorf("the master outlived its failed worker:\n%s", p.output())
	}
	if out := p.output(); !strings.Contains(out, fmt.Sprintf("current worker %d exited with code 137", cur[0])) || !strings.Contains(out, "exit-on-failure") {
		t.Errorf("the failure was not reported:\n%s", out)
	}

	text := genConfig(port, api, srv, "one", "")
	cfg2 := filepath.Join(dir, "stay.cfg")
	os.WriteFile(cfg2, []byte(strings.Replace(text, "global\n", "global\n    master-worker no-exit-on-failure\n", 1)), 0o644)
	sock2 := filepath.Join(dir, "master2.sock")
	p2 := startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-S", sock2, "-f", cfg2)
	cur, _ = workerPIDs(t, masterCmd(t, sock2, "show proc"))
	if len(cur) != 1 {
		t.Fatal("no worker")
	}
	syscall.Kill(cur[0], syscall.SIGKILL)
	if !waitOutput(p2, "no worker serves", 1) {
		t.Fatalf("no report of the failed worker:\n%s", p2.output())
	}
	if out := masterCmd(t, sock2, "reload"); !strings.HasPrefix(out, "Success=1") {
		t.Fatalf("reload: %s", out)
	}
	if !proxies(port) {
		t.Errorf("no worker after the reload:\n%s", p2.output())
	}

	// A worker whose master is gone stops: nothing could reload or stop
	// it through the master any more.
	cur, _ = workerPIDs(t, masterCmd(t, sock2, "show proc"))
	if len(cur) != 1 {
		t.Fatal("no worker")
	}
	syscall.Kill(p2.pid, syscall.SIGKILL)
	for i := 0; i < 250 && procState(cur[0]) != "" && procState(cur[0]) != "Z"; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if st := procState(cur[0]); st != "" && st != "Z" {
		syscall.Kill(cur[0], syscall.SIGKILL)
		t.Errorf("worker %d outlived its master (state %s)", cur[0], st)
	}
}

// An old worker still busy with a request that never ends is stopped at
// hard-stop-after, and the new worker serves meanwhile.
func testHardStopAfter(t *testing.T, bin, dir string) {
	hang := make(chan struct{})
	defer close(hang)
	slow, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	go func() {
		for {
			c, err := slow.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				<-hang
			}()
		}
	}()
	srv := backendServer(t)
	port, api := freeTCPPort(t), freeTCPPort(t)
	extra := "backend slow\n    timeout server 5m\n    server s " + slow.Addr().String() + "\n"
	text := strings.Replace(genConfig(port, api, srv, "one", extra), "global\n", "global\n    hard-stop-after 1s\n", 1)
	text = strings.Replace(text, "    default_backend be\n", "    use_backend slow if { path /slow }\n    default_backend be\n", 1)
	cfg := writeConfig(t, dir, text)
	p := startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-W", "-f", cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	// The request reached the slow server before the reload.
	for i := 0; i < 250 && !strings.Contains(apiCommand(t, api, "show stat"), "slow,s,0,0,1,"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	os.WriteFile(cfg, []byte(strings.Replace(text, "X-Gen one", "X-Gen two", 1)), 0o644)
	syscall.Kill(p.pid, syscall.SIGUSR2)
	if g, ok := genServed(port, "two"); !ok {
		t.Fatalf("X-Gen %q after the reload:\n%s", g, p.output())
	}
	if !waitOutput(p, "former worker", 1) {
		// Goroutine dumps of the workers (ours, by PID) say where the old
		// one is stuck.
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p.pid, p.pid))
		for _, w := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(w)
			syscall.Kill(n, syscall.SIGQUIT)
		}
		time.Sleep(2 * time.Second)
		t.Fatalf("the old worker is still running past hard-stop-after:\n%s", p.output())
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("the stuck connection was not closed: %v", err)
	}
}

// freeLowPort finds a free port below 1024 on loopback.
func freeLowPort(t *testing.T) int {
	t.Helper()
	for port := 1000; port > 900; port-- {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Skip("no free port below 1024")
	return 0
}

// The hardened layout: the configuration in a root-only directory outside
// the jail, "chroot" and "user nobody". Workers are jailed and
// unprivileged (with no_new_privs), the master stays root outside, and a
// reload re-reads the configuration and binds a new port below 1024.
func testHardenedLayout(t *testing.T, bin, dir string) {
	if os.Geteuid() != 0 {
		if os.Getenv("BULWARK_REQUIRE_TOOLS") == "1" {
			t.Fatal("needs root (chroot, privilege drop, ports below 1024), and BULWARK_REQUIRE_TOOLS=1 is set")
		}
		t.Skip("needs root: chroot, privilege drop, ports below 1024")
	}
	etc := filepath.Join(dir, "etc")
	jail := filepath.Join(dir, "jail")
	if err := os.Mkdir(etc, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(jail, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := backendServer(t)
	port, api, low := freeTCPPort(t), freeTCPPort(t), freeLowPort(t)
	global := "global\n    user nobody\n    group nogroup\n    chroot " + jail + "\n"
	text := strings.Replace(genConfig(port, api, srv, "one", ""), "global\n", global, 1)
	cfg := writeConfig(t, etc, text)
	sock := filepath.Join(etc, "master.sock")
	p := startBulwark(t, bin, port, nil, nil, "-W", "-S", sock, "-f", cfg)
	check := func(pid int, what string) {
		t.Helper()
		for _, key := range []string{"Uid", "Gid"} {
			for _, id := range statusIDs(t, pid, key) {
				if id == "0" {
					t.Errorf("%s %d: %s still holds 0", what, pid, key)
				}
			}
		}
		if nnp := statusIDs(t, pid, "NoNewPrivs"); len(nnp) != 1 || nnp[0] != "1" {
			t.Errorf("%s %d: NoNewPrivs %v", what, pid, nnp)
		}
		if root, err := os.Readlink(fmt.Sprintf("/proc/%d/root", pid)); err != nil || root != jail {
			t.Errorf("%s %d: /proc/PID/root = %q (%v), want %s", what, pid, root, err, jail)
		}
	}
	cur, _ := workerPIDs(t, masterCmd(t, sock, "show proc"))
	if len(cur) != 1 {
		t.Fatal("no worker")
	}
	check(cur[0], "worker")
	if ids := statusIDs(t, p.pid, "Uid"); ids[1] != "0" {
		t.Errorf("master euid %s, want 0", ids[1])
	}
	if root, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", p.pid)); root != "/" {
		t.Errorf("master root %q, want /", root)
	}

	text2 := strings.Replace(text, "X-Gen one", "X-Gen two", 1) +
		fmt.Sprintf("frontend low\n    bind 127.0.0.1:%d\n    default_backend be\n", low)
	os.WriteFile(cfg, []byte(text2), 0o644)
	syscall.Kill(p.pid, syscall.SIGUSR2)
	if !waitOutput(p, "reloaded the configuration", 1) {
		t.Fatalf("no reload:\n%s", p.output())
	}
	if g, ok := genServed(port, "two"); !ok {
		t.Fatalf("X-Gen %q after the reload:\n%s", g, p.output())
	}
	if !proxies(low) {
		t.Fatalf("the new port %d below 1024 does not serve:\n%s", low, p.output())
	}
	cur2, _ := workerPIDs(t, masterCmd(t, sock, "show proc"))
	if len(cur2) != 1 || cur2[0] == cur[0] {
		t.Fatalf("worker after the reload: %v (was %d)", cur2, cur[0])
	}
	check(cur2[0], "new worker")
}

// The stick tables of the running worker carry over to the next one, as
// they do across an in-process reload: counters go on from where they were;
// so do the server states set through the runtime API.
func testTablesCarryOver(t *testing.T, bin, dir string) {
	srv := backendServer(t)
	port, api := freeTCPPort(t), freeTCPPort(t)
	sock := filepath.Join(dir, "master.sock")
	text := func(gen string) string {
		return strings.Replace(genConfig(port, api, srv, gen, ""), "frontend fe\n",
			"frontend fe\n    stick-table type ip size 100 expire 10m store http_req_cnt\n    http-request track-sc0 src\n", 1)
	}
	cfg := writeConfig(t, dir, text("one"))
	startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-W", "-S", sock, "-f", cfg)
	count := func() int {
		t.Helper()
		out := masterCmd(t, sock, "@1 show table fe")
		m := regexp.MustCompile(`key=127\.0\.0\.1 .*http_req_cnt=(\d+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("show table fe:\n%s", out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	lc := &loadClient{addr: "127.0.0.1:" + strconv.Itoa(port)}
	for i := 0; i < 5; i++ {
		if _, err := lc.do(); err != nil {
			t.Fatal(err)
		}
	}
	before := count()
	// The operator's changes through the runtime API carry over too.
	for _, cmd := range []string{"@1 set weight be/s1 50", "@1 disable server be/s1"} {
		if out := masterCmd(t, sock, cmd); strings.TrimSpace(out) != "" {
			t.Fatalf("%s: %q", cmd, out)
		}
	}
	os.WriteFile(cfg, []byte(text("two")), 0o644)
	if out := masterCmd(t, sock, "reload"); !strings.HasPrefix(out, "Success=1") {
		t.Fatalf("reload: %s", out)
	}
	if got := count(); got < before {
		t.Errorf("http_req_cnt %d after the reload, was %d: the table did not carry over", got, before)
	}
	if out := masterCmd(t, sock, "@1 get weight be/s1"); !strings.HasPrefix(out, "50 (initial 1)") {
		t.Errorf("weight after the reload: %q", out)
	}
	if out := masterCmd(t, sock, "@1 show stat"); !regexp.MustCompile(`(?m)^be,s1,.*,MAINT,`).MatchString(out) {
		t.Errorf("server state after the reload:\n%s", out)
	}
}

// "-sf PID" and "-st PID" tell the old processes to drain and to stop
// once the new one serves.
func testSoftStopFlags(t *testing.T, bin, dir string) {
	srv := backendServer(t)
	env := []string{lifecycle.AllowRootEnv + "=1"}
	var old []proc
	for _, name := range []string{"a", "b"} {
		port := freeTCPPort(t)
		cfg := filepath.Join(dir, name+".cfg")
		os.WriteFile(cfg, []byte(proxyConfig("", port, srv)), 0o644)
		old = append(old, startBulwark(t, bin, port, env, nil, "-db", "-f", cfg))
	}
	port := freeTCPPort(t)
	cfg := filepath.Join(dir, "new.cfg")
	os.WriteFile(cfg, []byte(proxyConfig("", port, srv)), 0o644)
	startBulwark(t, bin, port, env, nil, "-db", "-f", cfg, "-sf", strconv.Itoa(old[0].pid), "-st", strconv.Itoa(old[1].pid))
	for _, p := range old {
		for i := 0; i < 250 && procState(p.pid) != "Z"; i++ {
			time.Sleep(20 * time.Millisecond)
		}
		if procState(p.pid) != "Z" {
			t.Errorf("process %d still runs after -sf/-st:\n%s", p.pid, p.output())
		}
	}
}

// A 50 MB upload and a WebSocket that span a reload complete on the old
// worker: a soft stop never cuts what is in flight.
func testLongLivedAcrossReload(t *testing.T, bin, dir string) {
	// The server counts an upload's bytes, and echoes on an upgraded
	// connection.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				line, _ := br.ReadString('\n')
				n := int64(-1)
				upgrade := false
				for {
					h, err := br.ReadString('\n')
					if err != nil || h == "\r\n" {
						break
					}
					k, v, _ := strings.Cut(h, ":")
					switch strings.ToLower(k) {
					case "content-length":
						n, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
					case "upgrade":
						upgrade = true
					}
				}
				if upgrade {
					io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
					io.Copy(c, br)
					return
				}
				got, _ := io.CopyN(io.Discard, br, max(n, 0))
				body := fmt.Sprintf("%s got %d", strings.Fields(line)[1], got)
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
			}()
		}
	}()
	port, api := freeTCPPort(t), freeTCPPort(t)
	text := func(gen string) string {
		return strings.Replace(genConfig(port, api, ln.Addr().String(), gen, ""), "    timeout server 5s\n", "    timeout server 5s\n    timeout tunnel 1m\n", 1)
	}
	cfg := writeConfig(t, dir, text("one"))
	sock := filepath.Join(dir, "master.sock")
	p := startBulwarkWait(t, bin, []string{lifecycle.AllowRootEnv + "=1"}, sock, "-W", "-S", sock, "-f", cfg)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var echo func(string)

	ws, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(ws, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	wsr := bufio.NewReader(ws)
	if l, _ := wsr.ReadString('\n'); !strings.HasPrefix(l, "HTTP/1.1 101") {
		t.Fatalf("upgrade answered %q", l)
	}
	for {
		if h, err := wsr.ReadString('\n'); err != nil || h == "\r\n" {
			break
		}
	}
	echo = func(msg string) {
		t.Helper()
		io.WriteString(ws, msg)
		b := make([]byte, len(msg))
		if _, err := io.ReadFull(wsr, b); err != nil || string(b) != msg {
			t.Fatalf("echo %q: %q %v\n%s", msg, b, err, p.output())
		}
	}
	echo("before")

	const size = 50 << 20
	up, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	up.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(up, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
	chunk := make([]byte, 1<<20)
	for i := 0; i < size/len(chunk)/2; i++ {
		if _, err := up.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(cfg, []byte(text("two")), 0o644)
	if out := masterCmd(t, sock, "reload"); !strings.HasPrefix(out, "Success=1") {
		t.Fatalf("reload: %s", out)
	}
	for i := size / len(chunk) / 2; i < size/len(chunk); i++ {
		if _, err := up.Write(chunk); err != nil {
			t.Fatalf("upload cut after the reload: %v", err)
		}
	}
	resp, _ := io.ReadAll(up)
	if !strings.HasSuffix(string(resp), fmt.Sprintf("/upload got %d", size)) {
		t.Errorf("upload answered %q", resp)
	}
	echo("after the reload")
	if _, old := workerPIDs(t, masterCmd(t, sock, "show proc")); len(old) != 1 {
		t.Errorf("the old worker should still serve the WebSocket")
	}
	ws.Close()
	if !waitLonger(p, "former worker", 1) {
		t.Errorf("the old worker did not exit once the WebSocket closed:\n%s", p.output())
	}
}

// startBulwarkWait starts bin and waits until its master CLI answers.
func startBulwarkWait(t *testing.T, bin string, env []string, sock string, args ...string) proc {
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
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := proc{pid: cmd.Process.Pid, out: outPath}
	t.Cleanup(func() {
		syscall.Kill(p.pid, syscall.SIGKILL)
		cmd.Wait()
	})
	for i := 0; i < 250; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no master CLI on %s:\n%s", sock, p.output())
	return p
}

// Ten SIGUSR2 in a burst: the master reloads (signals coalesce), ends
// with one worker on the last configuration, and no two generations are
// left fighting over the sockets.
func testReloadStorm(t *testing.T, bin, dir string) {
	srv := backendServer(t)
	port, api := freeTCPPort(t), freeTCPPort(t)
	sock := filepath.Join(dir, "master.sock")
	cfg := writeConfig(t, dir, genConfig(port, api, srv, "g0", ""))
	p := startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-W", "-S", sock, "-f", cfg)
	for i := 1; i <= 10; i++ {
		// Written whole (rename), so that no reload reads half a file.
		tmp := cfg + ".tmp"
		os.WriteFile(tmp, []byte(genConfig(port, api, srv, "g"+strconv.Itoa(i), "")), 0o644)
		os.Rename(tmp, cfg)
		syscall.Kill(p.pid, syscall.SIGUSR2)
	}
	if g, ok := genServed(port, "g10"); !ok {
		t.Fatalf("X-Gen %q after the storm:\n%s", g, p.output())
	}
	// Old workers keep idle keep-alive connections (the start-up probe's)
	// until their timeout client (5s), hence the longer bound.
	for i := 0; i < 1000; i++ {
		cur, old := workerPIDs(t, masterCmd(t, sock, "show proc"))
		if len(cur) == 1 && len(old) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("workers left after the storm:\n%s\n%s", masterCmd(t, sock, "show proc"), p.output())
}

// waitLonger is waitOutput for what an old worker's idle keep-alive
// connections may delay by up to their timeout (5s in these files).
func waitLonger(p proc, s string, n int) bool {
	for i := 0; i < 1000; i++ {
		if strings.Count(p.output(), s) >= n {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// A reload that drops a socket, then one that wants it back while the
// worker of the first generation still serves on it (an idle keep-alive
// client keeps it): the master kept the socket, so the second reload
// reuses it instead of failing to bind.
func testSocketTakenBack(t *testing.T, bin, dir string) {
	srv := backendServer(t)
	port, api := freeTCPPort(t), freeTCPPort(t)
	sock := filepath.Join(dir, "master.sock")
	cfg := writeConfig(t, dir, genConfig(port, api, srv, "one", ""))
	startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-W", "-S", sock, "-f", cfg)
	lc := &loadClient{addr: "127.0.0.1:" + strconv.Itoa(port)}
	if _, err := lc.do(); err != nil {
		t.Fatal(err)
	}
	defer lc.c.Close()
	without := strings.Replace(genConfig(port, api, srv, "two", ""), "    stats socket 127.0.0.1:"+strconv.Itoa(api)+" level admin\n", "", 1)
	os.WriteFile(cfg, []byte(without), 0o644)
	if out := masterCmd(t, sock, "reload"); !strings.HasPrefix(out, "Success=1") {
		t.Fatalf("reload without the stats socket: %s", out)
	}
	os.WriteFile(cfg, []byte(genConfig(port, api, srv, "three", "")), 0o644)
	if out := masterCmd(t, sock, "reload"); !strings.HasPrefix(out, "Success=1") {
		t.Fatalf("reload with the stats socket again: %s", out)
	}
	if info := apiCommand(t, api, "show info"); !strings.Contains(info, "Name: Bulwark") {
		t.Errorf("stats socket: %q", info)
	}
}
