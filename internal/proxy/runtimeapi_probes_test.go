package proxy

import (
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

// recordingAgent answers every probe with reply and keeps the bytes of
// the last one (read once, without waiting for a line end: agent-send
// strings need not end with one).
func recordingAgent(t *testing.T, reply string) (string, func() string, *atomic.Int64) {
	t.Helper()
	var mu sync.Mutex
	var last string
	var n atomic.Int64
	s := testtool.ListenSerial(t, func(c *testtool.Conn) {
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		buf := make([]byte, 256)
		k, _ := c.Read(buf)
		mu.Lock()
		last = string(buf[:k])
		mu.Unlock()
		n.Add(1)
		c.Write([]byte(reply + "\n"))
	})
	return s.Addr, func() string { mu.Lock(); defer mu.Unlock(); return last }, &n
}

// "set server agent-addr/agent-port/agent-send" move the agent and change
// its string from the next probe; "check-port" moves the health check.
// HAProxy's refusals come word for word.
func TestRuntimeAPISetServerProbes(t *testing.T) {
	downAddr, _, _ := recordingAgent(t, "down")
	upAddr, lastSent, upProbes := recordingAgent(t, "up")
	_, downPort, _ := net.SplitHostPort(downAddr)
	_, upPort, _ := net.SplitHostPort(upAddr)
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	go func() {
		for {
			c, err := live.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, livePort, _ := net.SplitHostPort(live.Addr().String())
	sock := filepath.Join(t.TempDir(), "api.sock")
	px, _ := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.1:1 agent-check agent-port P agent-inter 20ms agent-send "hi\n"
    server s2 127.0.0.1:1 check inter 20ms fall 1 rise 1
    server s3 127.0.0.1:1
`, "SOCK", sock, "P", downPort))
	be := px.Current().backends["be"]
	s1, s2 := be.srvs()[0].state, be.srvs()[1].state
	waitFor(t, func() bool { return s1.Load().AgentDown }, "the first agent's down")
	waitFor(t, func() bool { c := s2.Load(); return !c.View().Usable }, "s2 DOWN on a dead port")

	for _, step := range []struct{ cmd, reply string }{
		{"set server be/s1 agent-port", "set server <b>/<s> agent-port requires a port.\n\n"},
		{"set server be/s1 agent-port x", "provided port is not an integer\n"},
		{"set server be/s1 agent-port 70000", "provided port is invalid\n"},
		{"set server be/s2 agent-port 1", "agent checks are not enabled on this server\n"},
		{"set server be/s2 agent-addr 127.0.0.1", "agent checks are not enabled on this server\n"},
		{"set server be/s2 agent-send x", "agent checks are not enabled on this server.\n\n"},
		{"set server be/s1 agent-addr", "set server <b>/<s> agent-addr requires an address and optionally a port.\n\n"},
		{"set server be/s1 agent-addr bad.invalid", "invalid addr 'bad.invalid'\n"},
		{"set server be/s1 agent-addr 127.0.0.1 port", "provided port is not an integer\n"},
		{"set server be/s1 check-port 5", "health checks are not enabled on this server\n"},
		{"set server be/s3 check-addr 127.0.0.1", "health checks are not enabled on this server\n"},
		{"set server be/s2 check-port", "set server <b>/<s> check-port requires a port.\n\n"},
		{"set server be/nope check-port 5", "No such server.\n\n"},
		{"set server be/s1 agent-send bye", "\n"},
		{"set server be/s1 agent-addr 127.0.0.1 port " + upPort, "\n"},
		{"set server be/s2 check-port " + livePort, "\n"},
	} {
		if out := apiCall(t, sock, step.cmd); out != step.reply {
			t.Fatalf("%s: %q, want %q", step.cmd, out, step.reply)
		}
	}
	waitFor(t, func() bool { return upProbes.Load() > 0 && !s1.Load().AgentDown }, "the moved agent's up")
	if got := lastSent(); got != "bye" {
		t.Fatalf("the moved agent received %q, want the new agent-send", got)
	}
	waitFor(t, func() bool { c := s2.Load(); return c.View().Usable }, "s2 UP once checked on the live port")
	st := apiCall(t, sock, "show servers state be")
	for _, want := range []string{" s1 127.0.0.1 ", " - 127.0.0.1 " + upPort + "\n", " " + livePort + " - - 0\n"} {
		if !strings.Contains(st, want) {
			t.Fatalf("show servers state lacks %q:\n%s", want, st)
		}
	}
}
