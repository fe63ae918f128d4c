package cli

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
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
