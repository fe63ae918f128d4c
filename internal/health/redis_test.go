package health

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark/internal/srvstate"
	"bulwark/internal/testtool"
)

// startRedis runs a real redis-server (Debian package, installed by
// scripts/install-deps.sh) on a unix socket in a temporary directory; it
// is stopped by PID when the test ends. The test is skipped without it.
func startRedis(t *testing.T, args ...string) string {
	t.Helper()
	bin := testtool.Path(t, "redis-server")
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, append([]string{"--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no",
		"--dir", dir}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// The socket file appears at bind, before the server listens: wait
	// until a connection is accepted.
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock
		}
		if i > 500 {
			t.Fatal("redis-server did not open its socket")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRedisCheckAgainstRealServer(t *testing.T) {
	sock := startRedis(t)
	tg := Target{Addr: sock, Unix: true, ConnectTimeout: 2 * time.Second, Timeout: 2 * time.Second}
	if r := Run(context.Background(), Redis(), tg); r.Status != srvstate.CheckL7OK || r.Info != "Redis server is ok" {
		t.Fatalf("option redis-check: %+v", r)
	}
	// A tcp-check script of the kind deployments write: INFO, and the
	// role must be master.
	s := tcpScript(
		Rule{Action: Send, Data: []byte("*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n")},
		Rule{Action: Expect, Exp: &ExpectRule{Match: MatchString, Data: []byte("role:master"), Text: "role:master"}},
		Rule{Action: Send, Data: []byte("*1\r\n$4\r\nQUIT\r\n")},
		Rule{Action: Expect, Exp: &ExpectRule{Match: MatchString, Data: []byte("+OK"), Text: "+OK"}},
	)
	if r := Run(context.Background(), s, tg); r.Status != srvstate.CheckL7OK {
		t.Fatalf("tcp-check INFO replication: %+v", r)
	}
	// Without min-recv a mismatch waits for more data (redis keeps the
	// connection open): min-recv makes the first reply conclusive.
	s.Rules[2].Exp.Data, s.Rules[2].Exp.Text, s.Rules[2].Exp.MinRecv = []byte("role:slave"), "role:slave", 32
	if r := Run(context.Background(), s, tg); r.Status != srvstate.CheckL7RSP || !strings.Contains(r.Info, "'role:slave' at step 2") {
		t.Fatalf("tcp-check wrong role: %+v", r)
	}

	// A server that wants a password answers -NOAUTH and keeps the
	// connection: like HAProxy's, the check waits for +PONG until its
	// timeout.
	locked := startRedis(t, "--requirepass", "secret")
	tg.Addr, tg.Timeout = locked, 50*time.Millisecond
	if r := Run(context.Background(), Redis(), tg); r.Status != srvstate.CheckL7TOUT {
		t.Fatalf("redis with a password: %+v", r)
	}
}
