package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"bulwark/internal/plan"
)

func apiCall(t *testing.T, sock, cmd string) string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(c, cmd+"\n")
	b, _ := io.ReadAll(c)
	return string(b)
}

// The runtime API: information, statistics, and taking a server out of
// rotation; admin commands need "level admin".
func TestRuntimeAPI(t *testing.T) {
	a := newTestServer(t, "a", nil)
	b := newTestServer(t, "b", nil)
	dir := t.TempDir()
	admin := filepath.Join(dir, "admin.sock")
	user := filepath.Join(dir, "user.sock")
	_, addr := startProxy(t, sub(`
global
    stats socket ADMIN mode 600 level admin
    stats socket USER level user
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server a A
    server b B
`, "ADMIN", admin, "USER", user, "A", a.addr, "B", b.addr))
	if out := apiCall(t, admin, "show info"); !strings.Contains(out, "Name: Bulwark") {
		t.Fatalf("show info: %q", out)
	}
	if out := apiCall(t, user, "show stat"); !strings.HasPrefix(out, "# pxname,svname,") {
		t.Fatalf("show stat: %q", out)
	}
	if out := apiCall(t, user, "disable server be/a"); !strings.Contains(out, "Permission denied") {
		t.Fatalf("user-level disable: %q", out)
	}
	if out := apiCall(t, admin, "disable server be/a"); strings.TrimSpace(out) != "" {
		t.Fatalf("disable: %q", out)
	}
	before := a.hits.Load()
	for i := 0; i < 6; i++ {
		_, body := httpGet(t, &http.Client{}, "http://"+addr+"/")
		if body != "b" {
			t.Fatalf("request %d went to %q with a in maintenance", i, body)
		}
	}
	if a.hits.Load() != before {
		t.Fatal("a disabled server got traffic")
	}
	if st := serversState(t, admin)["be/a"]; st["srv_admin_state"] != "1" || st["srv_op_state"] != "0" {
		t.Fatalf("servers state of be/a in maintenance: %v", st)
	}
	apiCall(t, admin, "enable server be/a")
	seen := map[string]bool{}
	for i := 0; i < 6; i++ {
		_, body := httpGet(t, &http.Client{}, "http://"+addr+"/")
		seen[body] = true
	}
	if !seen["a"] {
		t.Fatal("re-enabled server gets no traffic")
	}
	if out := apiCall(t, admin, "get weight be/b"); !strings.HasPrefix(out, "1 (initial 1)") {
		t.Fatalf("get weight: %q", out)
	}
	if out := apiCall(t, admin, "bogus"); !strings.Contains(out, "Unknown command") {
		t.Fatalf("unknown command: %q", out)
	}
}

func TestRuntimeAPIShowTable(t *testing.T) {
	b := newTestServer(t, "b", nil)
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub(`
global
    stats socket SOCK level operator
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    stick-table type ip size 1k expire 1m store http_req_cnt
    http-request track-sc0 src
    default_backend be
backend be
    server s B
`, "SOCK", sock, "B", b.addr))
	httpGet(t, &http.Client{}, "http://"+addr+"/")
	if out := apiCall(t, sock, "show table"); !strings.Contains(out, "# table: fe, type: ip, size:1024, used:1") {
		t.Fatalf("show table: %q", out)
	}
	if out := apiCall(t, sock, "show table fe"); !strings.Contains(out, "key=127.0.0.1") || !strings.Contains(out, "http_req_cnt=1") {
		t.Fatalf("show table fe: %q", out)
	}
}

// apiProxy starts a proxy whose global section holds globals (with SOCK1,
// SOCK2 replaced by socket paths in a temporary directory) and returns
// those paths.
func apiProxy(t *testing.T, globals string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	s1, s2 := filepath.Join(dir, "1.sock"), filepath.Join(dir, "2.sock")
	startProxy(t, sub("global\n"+globals+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server a A
    server b B
`, "SOCK1", s1, "SOCK2", s2, "A", deadAddr(t), "B", deadAddr(t)))
	return s1, s2
}

// Without "prompt", every command line the client sent is answered before
// the connection closes, as HAProxy does with pipelined commands.
func TestRuntimeAPIPipelinedCommands(t *testing.T) {
	sock, _ := apiProxy(t, "    stats socket SOCK1 level user\n")
	out := apiCall(t, sock, "get weight be/a\nget weight be/b;show info\nget weight be/nope")
	want := []string{"1 (initial 1)\n\n1 (initial 1)\n\nName: Bulwark\n", "No such server.\n\n"}
	if !strings.HasPrefix(out, want[0]) || !strings.HasSuffix(out, want[1]) {
		t.Fatalf("pipelined commands answered %q", out)
	}
}

// A command line of tune.bufsize-1 bytes, LF included, runs; one byte more
// gets an error and the connection is closed (HAProxy 2.6.12 cuts at the
// same length, silently).
func TestRuntimeAPILineBound(t *testing.T) {
	sock, _ := apiProxy(t, "    tune.bufsize 1024\n    stats socket SOCK1 level user\n")
	cmd := "get weight be/a "
	fits := cmd + strings.Repeat("x", 1023-len(cmd)-1)
	if out := apiCall(t, sock, fits); !strings.Contains(out, "Require 'backend/server'") {
		t.Fatalf("line of 1023 bytes: %q", out)
	}
	if out := apiCall(t, sock, fits+"x"); out != "Command line too long (more than 1023 bytes).\n\n" {
		t.Fatalf("line of 1024 bytes: %q", out)
	}
}

// Clients streaming megabytes without a newline at level user are cut off
// at the line bound with an error, and the proxy's memory does not grow
// with what they send. The measure is the Go heap's cumulative allocation
// (runtime.MemStats.TotalAlloc): it counts every copy made, so no peak can
// fall between two samples, and it needs no timing.
func TestRuntimeAPIEndlessLineBoundedMemory(t *testing.T) {
	sock, _ := apiProxy(t, "    stats socket SOCK1 level user\n")
	const clients, perClient = 4, 16 << 20
	chunk := bytes.Repeat([]byte("a"), 64<<10)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	type result struct {
		sent int
		out  []byte
	}
	results := make(chan result, clients)
	for i := 0; i < clients; i++ {
		go func() {
			c, err := net.Dial("unix", sock)
			if err != nil {
				results <- result{}
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			sent := 0
			for sent < perClient {
				n, err := c.Write(chunk)
				sent += n
				if err != nil {
					break
				}
			}
			// Were the bound gone, the proxy would now run the whole line.
			c.(*net.UnixConn).CloseWrite()
			out, _ := io.ReadAll(io.LimitReader(c, 4096))
			results <- result{sent, out}
		}()
	}
	for i := 0; i < clients; i++ {
		r := <-results
		if !bytes.HasPrefix(r.out, []byte("Command line too long")) {
			t.Errorf("client %d: sent %d bytes, got %.100q, want the line error", i, r.sent, r.out)
		}
		if r.sent >= perClient {
			t.Errorf("client %d: all %d bytes accepted, the connection was not closed", i, r.sent)
		}
	}
	runtime.ReadMemStats(&after)
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d clients streamed, heap allocations grew by %d KiB", clients, grew>>10)
	if grew > 4<<20 {
		t.Fatalf("heap allocations grew by %d KiB while clients streamed; the line is not bounded", grew>>10)
	}
}

// promptSession opens an interactive session and returns once the proxy
// serves it (its first prompt arrived), so it holds a connection slot.
func promptSession(t *testing.T, sock string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "prompt\n")
	p := make([]byte, 2)
	if _, err := io.ReadFull(c, p); err != nil || string(p) != "> " {
		t.Fatalf("no prompt: %q %v", p, err)
	}
	return c
}

// waiting sends a command on a new connection and checks that it is not
// answered while the slots are held; the caller frees one, then finish
// reads the answer.
func waiting(t *testing.T, sock string) (finish func() string) {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, "get weight be/a\n")
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if b, err := c.Read(make([]byte, 64)); err == nil {
		t.Fatalf("served beyond the connection bound (%d bytes)", b)
	}
	return func() string {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		return string(b)
	}
}

// Runtime API connections are bounded as in HAProxy: "stats maxconn"
// (default 10) over all stats sockets, and a socket's own "maxconn".
// Beyond a bound the proxy stops accepting; the client waits in the
// kernel's backlog and is served when a slot frees.
func TestRuntimeAPIMaxconn(t *testing.T) {
	t.Run("default 10", func(t *testing.T) {
		sock, _ := apiProxy(t, "    stats socket SOCK1 level user\n")
		var held []net.Conn
		for i := 0; i < 10; i++ {
			held = append(held, promptSession(t, sock))
		}
		finish := waiting(t, sock)
		held[3].Close()
		if out := finish(); out != "1 (initial 1)\n\n" {
			t.Fatalf("after a slot freed: %q", out)
		}
	})
	t.Run("stats maxconn and bind maxconn", func(t *testing.T) {
		one, other := apiProxy(t, "    stats maxconn 3\n    stats socket SOCK1 level user maxconn 1\n    stats socket SOCK2 level user\n")
		a := promptSession(t, one)
		finishA := waiting(t, one) // the socket's maxconn 1
		b1, _ := promptSession(t, other), promptSession(t, other)
		finishB := waiting(t, other) // 3 over both sockets
		b1.Close()
		if out := finishB(); out != "1 (initial 1)\n\n" {
			t.Fatalf("second socket after a slot freed: %q", out)
		}
		a.Close()
		if out := finishA(); out != "1 (initial 1)\n\n" {
			t.Fatalf("first socket after its slot freed: %q", out)
		}
	})
}

// A reload is not held up by a runtime API at its connection bound: the
// old generation's accept loop, waiting for a slot, notices the stop, the
// generation finishes and closes its interactive sessions, and the new one
// serves the socket it took over.
func TestRuntimeAPIReloadAtConnectionBound(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	cfg := compileCfg(t, sub(`
global
    stats socket SOCK level user maxconn 1
    stats timeout 1m
`+baseDefaults+`
backend be
    server a A
`, "SOCK", sock, "A", deadAddr(t)))
	px := New(Options{})
	rt1, err := px.Build(mustPlan(t, cfg, plan.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt1)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	}()
	old := promptSession(t, sock)
	rt2, err := px.Build(mustPlan(t, cfg, plan.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt2)
	old.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := old.Read(make([]byte, 64)); err != io.EOF {
		t.Fatalf("the old generation's session is still open (%d bytes, %v)", n, err)
	}
	if out := apiCall(t, sock, "get weight be/a"); out != "1 (initial 1)\n\n" {
		t.Fatalf("new generation: %q", out)
	}
}

// A line cut short by the client's close is not run: it may be a command
// missing its end.
func TestRuntimeAPIUnterminatedLineNotRun(t *testing.T) {
	sock, _ := apiProxy(t, "    stats socket SOCK1 level admin\n")
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(c, "get weight be/a\nset weight be/a 0")
	c.(*net.UnixConn).CloseWrite()
	if out, _ := io.ReadAll(c); string(out) != "1 (initial 1)\n\n" {
		t.Fatalf("got %q, want the first command's answer only", out)
	}
	if out := apiCall(t, sock, "get weight be/a"); out != "1 (initial 1)\n\n" {
		t.Fatalf("the unterminated command ran: %q", out)
	}
}
