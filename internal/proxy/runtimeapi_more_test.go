package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"bulwark/internal/plan"
)

// consoleProxy is an HTTP frontend and a TCP frontend in front of a raw
// backend that answers every request, with an admin socket.
func cmdProxy(t *testing.T) (sock, httpAddr, tcpAddr string) {
	t.Helper()
	up := newRawBackend(t, func(in []byte, sent int) (string, bool) {
		if strings.Count(string(in), "\r\n\r\n") > sent {
			return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true
		}
		return "", false
	})
	sock = filepath.Join(t.TempDir(), "api.sock")
	px, httpAddr := startProxy(t, sub("global\n    stats socket SOCK level admin\n    maxconn 100\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
frontend tcpfe
    mode tcp
    bind 127.0.0.1:0
    default_backend tcpbe
backend be
    server s1 UP
backend tcpbe
    mode tcp
    server t1 UP
`, "SOCK", sock, "UP", up.addr))
	for _, f := range px.Current().frontends {
		if f.name == "tcpfe" {
			tcpAddr = f.listeners[0].Addr().String()
		}
	}
	return sock, httpAddr, tcpAddr
}

func getOK(t *testing.T, addr string) string {
	t.Helper()
	out := sendRaw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false)
	line, _, _ := strings.Cut(out, "\r\n")
	return line
}

// "disable frontend" leaves new connections in the kernel backlog (they
// are answered once enabled again), "shutdown frontend" closes the port.
func TestRuntimeAPIFrontendControl(t *testing.T) {
	sock, addr, _ := cmdProxy(t)
	if got := getOK(t, addr); got != "HTTP/1.1 200 OK" {
		t.Fatalf("before: %q", got)
	}
	for _, step := range []struct{ cmd, reply string }{
		{"disable frontend nope", "No such frontend.\n"},
		{"disable frontend", "A frontend name is expected.\n"},
		{"disable frontend fe", ""},
		{"disable frontend fe", "All sockets are already disabled.\n"},
	} {
		if out := apiCall(t, sock, step.cmd); out != step.reply+"\n" {
			t.Fatalf("%s: %q", step.cmd, out)
		}
	}
	if !strings.Contains(apiCall(t, sock, "show stat"), "\nfe,FRONTEND,") || !regexp.MustCompile(`(?m)^fe,FRONTEND,(?:[^,]*,){15}PAUSED,`).MatchString(apiCall(t, sock, "show stat")) {
		t.Fatalf("stat of a paused frontend: %q", apiCall(t, sock, "show stat"))
	}
	c := dial(t, addr)
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); err == nil || n > 0 {
		t.Fatal("a disabled frontend answered")
	}
	if out := apiCall(t, sock, "enable frontend fe"); out != "\n" {
		t.Fatalf("enable: %q", out)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "HTTP/1.1 200 OK") {
		t.Fatalf("the waiting connection after enable: %q", b)
	}
	if out := apiCall(t, sock, "enable frontend fe"); out != "All sockets are already enabled.\n\n" {
		t.Fatalf("enable twice: %q", out)
	}
	if out := apiCall(t, sock, "shutdown frontend fe"); out != "\n" {
		t.Fatalf("shutdown frontend: %q", out)
	}
	waitFor(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, "the port closed after shutdown frontend")
	if out := apiCall(t, sock, "enable frontend fe"); out != "Frontend was previously shut down, cannot enable it.\n\n" {
		t.Fatalf("enable after shutdown: %q", out)
	}
}

// The maxconn commands move the limits the stats show and refuse what
// HAProxy refuses.
func TestRuntimeAPISetMaxconn(t *testing.T) {
	sock, addr, _ := cmdProxy(t)
	for _, step := range []struct{ cmd, reply string }{
		{"set maxconn frontend fe 7", ""},
		{"set maxconn server be/s1 3", ""},
		{"set maxconn server be/s1", "Require <maxconn>.\n"},
		{"set maxconn server be/zz 3", "No such server.\n"},
		{"set maxconn global 50", ""},
		{"set maxconn global 5000", "Value out of range.\n"},
		{"set maxconn global", "Expects an integer value.\n"},
	} {
		if out := apiCall(t, sock, step.cmd); out != step.reply+"\n" {
			t.Fatalf("%s: %q", step.cmd, out)
		}
	}
	st := apiCall(t, sock, "show stat")
	if !regexp.MustCompile(`(?m)^fe,FRONTEND,[^,]*,[^,]*,[^,]*,[^,]*,7,`).MatchString(st) ||
		!regexp.MustCompile(`(?m)^be,s1,[^,]*,[^,]*,[^,]*,[^,]*,3,`).MatchString(st) {
		t.Fatalf("slim after set maxconn: %s", st)
	}
	if !strings.Contains(apiCall(t, sock, "show info"), "\nMaxconn: 50\n") {
		t.Fatalf("show info after set maxconn global: %s", apiCall(t, sock, "show info"))
	}
	// A frontend bound to 1 accepts one connection at a time: the second
	// waits until the first ends.
	apiCall(t, sock, "set maxconn frontend fe 1")
	first := dial(t, addr)
	io.WriteString(first, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _ := first.Read(make([]byte, 64)); n == 0 {
		t.Fatal("first connection not served")
	}
	second := dial(t, addr)
	defer second.Close()
	io.WriteString(second, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _ := second.Read(make([]byte, 1)); n > 0 {
		t.Fatal("second connection served past maxconn 1")
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, _ := io.ReadAll(second); !strings.HasPrefix(string(b), "HTTP/1.1 200") {
		t.Fatalf("second connection after the first ended: %q", b)
	}
}

// "show errors" shows the bytes of the last invalid request.
func TestRuntimeAPIShowErrors(t *testing.T) {
	sock, addr, _ := cmdProxy(t)
	if out := apiCall(t, sock, "show errors"); !regexp.MustCompile(`^Total events captured on \[\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] : 0\n\n$`).MatchString(out) {
		t.Fatalf("no errors yet: %q", out)
	}
	if out := sendRaw(t, addr, "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", false); !strings.HasPrefix(out, "HTTP/1.1 400") {
		t.Fatalf("bad request: %q", out)
	}
	out := apiCall(t, sock, "show errors")
	for _, want := range []string{"Total events captured on [", "] : 1\n", "] frontend fe (#", "): invalid request\n",
		"  backend <NONE> (#-1), server <NONE> (#-1), event #0, src 127.0.0.1:", "  00000  GET /\\x01 HTTP/1.1\\r\\n\n", "  00017  Host: x\\r\\n\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("show errors lacks %q:\n%s", want, out)
		}
	}
	if out := apiCall(t, sock, "show errors nope"); out != "No such proxy.\n\n" {
		t.Fatalf("show errors of an unknown proxy: %q", out)
	}
}

// "shutdown sessions server" ends the sessions on that server; "show
// sess" names the backend and server of a session.
func TestRuntimeAPIShutdownSessionsServer(t *testing.T) {
	sock, _, tcpAddr := cmdProxy(t)
	c := dial(t, tcpAddr)
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _ := c.Read(make([]byte, 64)); n == 0 {
		t.Fatal("tcp session not served")
	}
	waitFor(t, func() bool {
		return strings.Contains(apiCall(t, sock, "show sess"), "fe=tcpfe be=tcpbe srv=t1 ")
	}, "the session's server in show sess")
	if out := apiCall(t, sock, "shutdown sessions server tcpbe"); out != "Require 'backend/server'.\n\n" {
		t.Fatalf("without a server: %q", out)
	}
	if out := apiCall(t, sock, "shutdown sessions server tcpbe/t1"); out != "\n" {
		t.Fatalf("shutdown sessions server: %q", out)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("session not ended: %v", err)
	}
}

// The process commands answer in HAProxy's layout.
func TestRuntimeAPIProcessCommands(t *testing.T) {
	sock, _, _ := cmdProxy(t)
	if out := apiCall(t, sock, "show version"); out != Version+"\n\n" {
		t.Fatalf("show version: %q", out)
	}
	if out := apiCall(t, sock, "show pools"); !strings.HasPrefix(out, "Dumping pools usage. Use SIGQUIT to flush them.\n  - Pool ") ||
		!regexp.MustCompile(`\nTotal: \d+ pools, \d+ bytes allocated, \d+ used \(~0 by thread caches\)\.\n\n$`).MatchString(out) {
		t.Fatalf("show pools: %q", out)
	}
	if out := apiCall(t, sock, "show activity"); !regexp.MustCompile(`^thread_id: 0 \(1\.\.\d+\)\ndate_now: \d+\.\d{6}\n`).MatchString(out) {
		t.Fatalf("show activity: %q", out)
	}
	if out := apiCall(t, sock, "show startup-logs"); out != "\n" {
		t.Fatalf("show startup-logs without a log: %q", out)
	}
	if out := apiCall(t, sock, "set server be/s1 bogus"); !strings.HasPrefix(out, "usage: set server <backend>/<server> addr | agent |") {
		t.Fatalf("set server usage: %q", out)
	}
	help := apiCall(t, sock, "help")
	if !strings.Contains(help, "  show map [@ver] [map]                   : report available maps or dump a map's contents\n") ||
		!strings.HasSuffix(help, "  quit                                    : disconnect\n\n") {
		t.Fatalf("help: %s", help)
	}
	if out := apiCall(t, sock, "help show map"); out != "The following commands are valid at this level:\n"+
		"  show map [@ver] [map]                   : report available maps or dump a map's contents\n"+builtinHelp+"\n" {
		t.Fatalf("help show map: %q", out)
	}
	if out := apiCall(t, sock, "show foo"); !strings.HasPrefix(out, "Unknown command, but maybe one of the following ones is a better match:\n  show ") {
		t.Fatalf("unknown command: %q", out)
	}
}

// "disable health" stops the checks and the server counts as UP again;
// "enable health" lets the checks take it down again.
func TestRuntimeAPIEnableDisableHealth(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 DEAD check inter 100ms fall 1 rise 1
    server s2 DEAD
`, "SOCK", sock, "DEAD", deadAddr(t)))
	status := func() string { return csvRows(t, apiCall(t, sock, "show stat"))["be/s1"]["status"] }
	waitFor(t, func() bool { return status() == "DOWN" }, "s1 DOWN by its checks")
	if out := apiCall(t, sock, "disable health be/s1"); out != "\n" {
		t.Fatalf("disable health: %q", out)
	}
	// Unchecked and up: HAProxy's stats say "no check".
	if got := status(); got != "no check" {
		t.Fatalf("status with checks disabled: %q", got)
	}
	// A server without checks has nothing to disable; HAProxy says nothing.
	if out := apiCall(t, sock, "disable health be/s2"); out != "\n" {
		t.Fatalf("disable health of an unchecked server: %q", out)
	}
	if out := apiCall(t, sock, "disable health be/nope"); out != "No such server.\n\n" {
		t.Fatalf("disable health of an unknown server: %q", out)
	}
	// Still UP after several intervals: no check ran.
	time.Sleep(400 * time.Millisecond)
	if got := status(); got != "no check" {
		t.Fatalf("status a while after disable health: %q", got)
	}
	apiCall(t, sock, "enable health be/s1")
	waitFor(t, func() bool { return status() == "DOWN" }, "s1 DOWN again once checked")
}

// An agent holding its server down: "disable agent" releases it and its
// later answers are not applied; "set server … agent" sets the verdict.
func TestRuntimeAPIDisableAgent(t *testing.T) {
	addr, _ := agentPeer(t, nil, "down")
	host, port, _ := net.SplitHostPort(addr)
	sock := filepath.Join(t.TempDir(), "api.sock")
	px, _ := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 H:1 agent-check agent-port P agent-inter 20ms agent-send "hi\n"
    server s2 H:1
`, "SOCK", sock, "H", host, "P", port))
	st := px.Current().backends["be"].srvs()[0].state
	waitFor(t, func() bool { return st.Load().AgentDown }, "the agent's down")
	if out := apiCall(t, sock, "disable agent be/s1"); out != "\n" {
		t.Fatalf("disable agent: %q", out)
	}
	if cur := st.Load(); cur.AgentDown {
		t.Fatal("still held down by a disabled agent")
	}
	time.Sleep(200 * time.Millisecond) // several agent intervals
	if st.Load().AgentDown {
		t.Fatal("a disabled agent's answer was applied")
	}
	if out := apiCall(t, sock, "set server be/s1 agent down"); out != "\n" || !st.Load().AgentDown {
		t.Fatalf("set server agent down: %q %v", out, st.Load().AgentDown)
	}
	if out := apiCall(t, sock, "set server be/s2 agent up"); out != "agent checks are not enabled on this server.\n\n" {
		t.Fatalf("set server agent without an agent: %q", out)
	}
	apiCall(t, sock, "enable agent be/s1")
	waitFor(t, func() bool { return st.Load().AgentDown }, "the agent's down once enabled")
}

// "set rate-limit connections global" holds connections in the backlog
// while the process's rate is at the limit; 0 lifts it.
func TestRuntimeAPISetRateLimit(t *testing.T) {
	sock, addr, _ := cmdProxy(t)
	for _, step := range []struct{ cmd, reply string }{
		{"set rate-limit", rateLimitUsage},
		{"set rate-limit connections frontend 3", rateLimitUsage},
		{"set rate-limit connections global", "Expects an integer value.\n"},
		{"set rate-limit connections global -1", "Value out of range.\n"},
		{"set rate-limit connections global 2", ""},
	} {
		if out := apiCall(t, sock, step.cmd); out != step.reply+"\n" {
			t.Fatalf("%s: %q", step.cmd, out)
		}
	}
	if !strings.Contains(apiCall(t, sock, "show info"), "\nConnRateLimit: 2\n") {
		t.Fatal("show info lacks the limit")
	}
	const n = 6
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dial(t, addr)
		defer conns[i].Close()
		io.WriteString(conns[i], "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	}
	done := make([]bool, n)
	answered := func() int {
		k := 0
		for i, c := range conns {
			if !done[i] {
				c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
				var one [1]byte
				m, _ := c.Read(one[:])
				done[i] = m > 0
			}
			if done[i] {
				k++
			}
		}
		return k
	}
	// The first second lets about two through (one more may slip past
	// the period boundary); a slow machine answers fewer, never more.
	time.Sleep(500 * time.Millisecond)
	if k := answered(); k > 3 {
		t.Fatalf("%d of %d connections answered within half a second at 2/s", k, n)
	}
	apiCall(t, sock, "set rate-limit connections global 0")
	waitFor(t, func() bool { return answered() == n }, "every held connection served once the limit is lifted")
}

// A frontend shut down over the runtime API serves again after a reload:
// the next generation binds its address afresh instead of taking over the
// closed socket.
func TestRuntimeAPIShutdownFrontendThenReload(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	sock := filepath.Join(t.TempDir(), "api.sock")
	cfg := compileCfg(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind ADDR
    http-request return status 200 content-type text/plain string ok
`, "SOCK", sock, "ADDR", addr))
	px := New(Options{})
	rt, err := px.Build(mustPlan(t, cfg, plan.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	})
	if got := getOK(t, addr); got != "HTTP/1.1 200 OK" {
		t.Fatalf("before: %q", got)
	}
	apiCall(t, sock, "shutdown frontend fe")
	waitFor(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, "the port closed")
	rt2, err := px.Build(mustPlan(t, cfg, plan.Options{}))
	if err != nil {
		t.Fatalf("reload after shutdown frontend: %v", err)
	}
	px.Start(rt2)
	if got := getOK(t, addr); got != "HTTP/1.1 200 OK" {
		t.Fatalf("after the reload: %q", got)
	}
}

// 10,000 commands on one interactive connection ("prompt": without it the
// runtime closes once its input is drained, as HAProxy does), map changes
// among them, are all answered in order; the connection ends with the
// input.
func TestRuntimeAPIManyCommandsOneConnection(t *testing.T) {
	_, sock, addr, _, _ := mapsProxy(t)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	const n = 10000
	go func() {
		w := bufio.NewWriter(c)
		w.WriteString("prompt\n")
		for i := 0; i < n; i++ {
			if i%2 == 0 {
				fmt.Fprintf(w, "set map #2 a.example v%d\n", i)
			} else {
				fmt.Fprintf(w, "get map #2 a.example\n")
			}
		}
		w.Flush()
		c.(*net.UnixConn).CloseWrite()
	}()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if got := strings.Count(out, "> "); got < n {
		t.Fatalf("%d prompts for %d commands", got, n)
	}
	if got := strings.Count(out, "found=yes"); got != n/2 {
		t.Fatalf("%d answers to get map, want %d", got, n/2)
	}
	if !strings.Contains(out, fmt.Sprintf(`value="v%d"`, n-2)) {
		t.Fatal("the last value is not in the answers")
	}
	wantValue(t, addr, "a.example", fmt.Sprintf("v%d", n-2))
}
