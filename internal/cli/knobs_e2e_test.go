package cli

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bulwark/internal/lifecycle"
)

// SO_REUSEPORT is set as HAProxy sets it: a second process binds the
// port beside the first (two listening sockets); "noreuseport" and -dR
// take it away, and the second process then fails to bind.
func TestReusePort(t *testing.T) {
	bin := buildBulwark(t)
	srv := backendServer(t)
	env := []string{lifecycle.AllowRootEnv + "=1"}
	for _, tc := range []struct {
		name   string
		global string
		flags  []string
		shared bool
	}{
		{"default", "", nil, true},
		{"noreuseport", "    noreuseport\n", nil, false},
		{"-dR", "", []string{"-dR"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			port := freeTCPPort(t)
			cfg := writeConfig(t, dir, proxyConfig(tc.global, port, srv))
			startBulwark(t, bin, port, env, nil, append([]string{"-db", "-f", cfg}, tc.flags...)...)
			if !tc.shared {
				code, out := runToExit(t, bin, env, append([]string{"-db", "-f", cfg}, tc.flags...)...)
				if code == 0 || !strings.Contains(out, "address already in use") {
					t.Errorf("second process: exit %d\n%s", code, out)
				}
				return
			}
			startBulwark(t, bin, port, env, nil, "-db", "-f", cfg)
			// The first process already answers: wait for the second's
			// socket.
			n := 0
			for i := 0; i < 250 && n != 2; i++ {
				if n = len(listenInodes(t, port)); n != 2 {
					time.Sleep(20 * time.Millisecond)
				}
			}
			if n != 2 {
				t.Errorf("%d sockets listen on the port, want 2 (SO_REUSEPORT)", n)
			}
		})
	}
}

// "nbthread" sets how many threads run goroutines at once; "show info"
// says so.
func TestNbThread(t *testing.T) {
	bin := buildBulwark(t)
	srv := backendServer(t)
	port, api := freeTCPPort(t), freeTCPPort(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, genConfig(port, api, srv, "g", "")+"global\n    nbthread 1\n")
	startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-db", "-f", cfg)
	if info := apiCommand(t, api, "show info"); !strings.Contains(info, "\nNbthread: 1\n") {
		t.Errorf("show info with nbthread 1:\n%s", info)
	}
}

// "mworker-max-reloads 1": an old worker kept alive by a TCP session
// survives its first reload and gets SIGTERM at its second.
func TestMWorkerMaxReloads(t *testing.T) {
	bin := buildBulwark(t)
	srv := backendServer(t)
	port, tport := freeTCPPort(t), freeTCPPort(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "master.sock")
	text := proxyConfig("    mworker-max-reloads 1\n", port, srv) + fmt.Sprintf(`listen tunnel
    mode tcp
    timeout client 1m
    timeout server 1m
    bind 127.0.0.1:%d
    server s %s
`, tport, srv)
	cfg := writeConfig(t, dir, text)
	p := startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-W", "-S", sock, "-f", cfg)
	cur, _ := workerPIDs(t, masterCmd(t, sock, "show proc"))
	if len(cur) != 1 {
		t.Fatalf("show proc: %v", cur)
	}
	first := cur[0]
	// An open TCP session on the first worker: it keeps that worker
	// through a soft stop.
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(tport), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 1)
	if _, err := c.Read(buf); err != nil {
		t.Fatalf("tunnel: %v", err)
	}
	if out := masterCmd(t, sock, "reload"); !strings.Contains(out, "Success=1") {
		t.Fatalf("reload: %q", out)
	}
	time.Sleep(300 * time.Millisecond) // let a wrongly stopped worker show
	if procState(first) == "" || procState(first) == "Z" {
		t.Fatalf("worker %d stopped after one reload:\n%s", first, p.output())
	}
	if out := masterCmd(t, sock, "reload"); !strings.Contains(out, "Success=1") {
		t.Fatalf("reload: %q", out)
	}
	for i := 0; i < 250 && procState(first) != "" && procState(first) != "Z"; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if s := procState(first); s != "" && s != "Z" {
		t.Errorf("worker %d still runs after its second reload:\n%s", first, p.output())
	}
	if !strings.Contains(p.output(), "mworker-max-reloads 1") {
		t.Errorf("no notice of the stop:\n%s", p.output())
	}
}

// A certificate readable by root only (0600 root:root, in a 0700
// directory), with "user nobody" and a chroot: the master reads it, the
// worker loads it before it drops root and enters the jail, so the worker
// serves TLS as nobody, and so does the worker of a reload. The key never
// needs to be readable by the unprivileged user.
func TestRootOnlyCertificate(t *testing.T) {
	needRoot(t)
	bin := buildBulwark(t)
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	etc := filepath.Join(dir, "etc")
	jail := filepath.Join(dir, "jail")
	os.Mkdir(etc, 0o700)
	os.Mkdir(jail, 0o755)
	cert := filepath.Join(etc, "site.pem")
	writeCertPEM(t, cert)
	srv := backendServer(t)
	port, tport := freeTCPPort(t), freeTCPPort(t)
	sock := filepath.Join(etc, "master.sock")
	text := proxyConfig("    user nobody\n    group nogroup\n    chroot "+jail+"\n", port, srv) +
		fmt.Sprintf("frontend tls\n    bind 127.0.0.1:%d ssl crt %s\n    default_backend be\n", tport, cert)
	cfg := writeConfig(t, etc, text)
	p := startBulwark(t, bin, port, nil, nil, "-W", "-S", sock, "-f", cfg)
	get := func() error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", "127.0.0.1:"+strconv.Itoa(tport),
			&tls.Config{InsecureSkipVerify: true})
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(c)
		if !strings.HasSuffix(string(b), "backend-ok") {
			return fmt.Errorf("answered %q", b)
		}
		return nil
	}
	for round := 0; round < 2; round++ {
		if err := get(); err != nil {
			t.Fatalf("round %d: TLS with a root-only key: %v\n%s", round, err, p.output())
		}
		cur, _ := workerPIDs(t, masterCmd(t, sock, "show proc"))
		if len(cur) != 1 {
			t.Fatalf("workers %v", cur)
		}
		if ids := statusIDs(t, cur[0], "Uid"); ids[1] != "65534" {
			t.Errorf("round %d: worker euid %v, want nobody", round, ids)
		}
		if round == 0 {
			if out := masterCmd(t, sock, "reload"); !strings.Contains(out, "Success=1") {
				t.Fatalf("reload: %q\n%s", out, p.output())
			}
		}
	}
}

// "bulwark reload SOCKET" (the unit's ExecReload) exits 0 when the new
// worker serves and 1 with the master's reasons when the reload failed, so
// that "systemctl reload" reports a failure.
func TestReloadCommand(t *testing.T) {
	bin := buildBulwark(t)
	srv := backendServer(t)
	port, api := freeTCPPort(t), freeTCPPort(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "master.sock")
	cfg := writeConfig(t, dir, genConfig(port, api, srv, "one", ""))
	env := []string{lifecycle.AllowRootEnv + "=1"}
	p := startBulwark(t, bin, port, env, nil, "-W", "-S", sock, "-f", cfg)
	writeConfig(t, dir, genConfig(port, api, srv, "two", ""))
	if code, out := runToExit(t, bin, env, "reload", sock); code != 0 {
		t.Fatalf("good reload: exit %d\n%s", code, out)
	}
	if g, ok := genServed(port, "two"); !ok {
		t.Fatalf("X-Gen %q after the reload", g)
	}
	writeConfig(t, dir, genConfig(port, api, srv, "bad", "    balance hdr\n"))
	code, out := runToExit(t, bin, env, "reload", sock)
	if code != 1 || !strings.Contains(out, "the reload failed") || !strings.Contains(out, "balance") {
		t.Errorf("bad reload: exit %d\n%s", code, out)
	}
	if g, ok := genServed(port, "two"); !ok {
		t.Errorf("X-Gen %q after a failed reload", g)
	}
	// The worker started ahead of the failed reload is gone: the master
	// has one child, the worker that serves.
	var kids []int
	for i := 0; i < 250; i++ {
		if kids = childPIDs(p.pid); len(kids) == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if cur, _ := workerPIDs(t, masterCmd(t, sock, "show proc")); len(kids) != 1 || len(cur) != 1 || kids[0] != cur[0] {
		t.Errorf("children of the master after a failed reload: %v, serving worker %v", kids, cur)
	}
	if code, _ := runToExit(t, bin, env, "reload", filepath.Join(dir, "none.sock")); code != 1 {
		t.Errorf("no master: exit %d", code)
	}
}

// A bind respelled across reloads ("127.0.0.1:P", then "localhost:P",
// then back) names the same address: the socket is kept, not bound a
// second time beside the first (which SO_REUSEPORT would allow, splitting
// connections with a socket about to close). Under a client that never
// retries nothing fails, and one socket listens throughout; in
// master-worker mode and in a single process.
func TestRespelledBindKeepsSocket(t *testing.T) {
	bin := buildBulwark(t)
	for _, mode := range []string{"master-worker", "single"} {
		t.Run(mode, func(t *testing.T) {
			srv := backendServer(t)
			port, api := freeTCPPort(t), freeTCPPort(t)
			dir := t.TempDir()
			sock := filepath.Join(dir, "master.sock")
			spell := func(gen, addr string) string {
				return strings.Replace(genConfig(port, api, srv, gen, ""), "bind 127.0.0.1:", "bind "+addr, 1)
			}
			cfg := writeConfig(t, dir, spell("g0", "127.0.0.1:"))
			args := []string{"-db", "-f", cfg}
			if mode == "master-worker" {
				args = append([]string{"-W", "-S", sock}, args...)
			}
			p := startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, args...)
			before := listenInodes(t, port)
			r := &loadResult{gens: map[string]int64{}}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				runLoad(r, "127.0.0.1:"+strconv.Itoa(port), 6, 1<<20, 60*time.Second, stop)
			}()
			r.waitMore(0, 100)
			for i, addr := range []string{"localhost:", "127.0.0.1:", "localhost:"} {
				gen := "g" + strconv.Itoa(i+1)
				writeConfig(t, dir, spell(gen, addr))
				syscall.Kill(p.pid, syscall.SIGUSR2)
				if g, ok := genServed(port, gen); !ok {
					t.Fatalf("X-Gen %q after respelling the bind %s:\n%s", g, addr, p.output())
				}
				if now := listenInodes(t, port); len(now) != 1 || now[0] != before[0] {
					t.Errorf("after %s: listening sockets %v, before %v", addr, now, before)
				}
				n := r.ok.Load() + r.failed.Load()
				r.waitMore(n, 100)
			}
			close(stop)
			<-done
			if r.failed.Load() != 0 {
				t.Errorf("%d requests failed: %v", r.failed.Load(), r.errs)
			}
		})
	}
}

// The workers of "-W -L NAME" read the files with the master's local peer
// name, not their host name.
func TestLocalPeerInWorker(t *testing.T) {
	bin := buildBulwark(t)
	srv := backendServer(t)
	port := freeTCPPort(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, proxyConfig("", port, srv)+"    http-response set-header X-Peer \"${HAPROXY_LOCALPEER}\"\n")
	startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-W", "-L", "peer-one", "-f", cfg)
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(c)
	if !strings.Contains(string(b), "X-Peer: peer-one\r\n") && !strings.Contains(string(b), "x-peer: peer-one\r\n") {
		t.Errorf("response:\n%s", b)
	}
}
