package proxy

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// "add server" creates a server in maintenance that "enable server" puts
// into rotation; its line takes the configuration's keywords and errors.
func TestRuntimeAPIAddServer(t *testing.T) {
	up := newTestServer(t, "dyn", nil)
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend test
backend test
    balance roundrobin
backend static
    balance static-rr
`, "SOCK", sock))
	status := func() string {
		return strings.Fields(getOK(t, addr))[1]
	}
	if got := status(); got != "503" {
		t.Fatalf("before: %s", got)
	}
	for _, step := range []struct{ cmd, reply string }{
		{"add server foo/s1 " + up.addr, "No such backend.\n|"},
		{"add server test/s1", "'server' expects <name> and <addr>[:<port>] as arguments.\n"},
		{"add server static/s1 " + up.addr, "Backend must use a dynamic load balancing to support dynamic servers.\n|"},
		{"add server test/s1 " + up.addr + " bogus", "'server s1' unknown keyword 'bogus'\n"},
		{"add server test/s1 " + up.addr + " weight 5", "New server registered.\n"},
		{"add server test/s1 " + up.addr, "Already exists a server with the same name in backend.\n"},
		{"add server test/s2 " + deadAddr(t) + " check inter 100ms fall 1", "New server registered.\n"},
	} {
		// HAProxy ends some answers of these commands without the
		// empty line: those are written with a trailing "|" here.
		want := step.reply + "\n"
		if bare, ok := strings.CutSuffix(step.reply, "|"); ok {
			want = bare
		}
		if out := apiCall(t, sock, step.cmd); out != want {
			t.Fatalf("%s: %q, want %q", step.cmd, out, want)
		}
	}
	// In maintenance until enabled.
	if got := status(); got != "503" {
		t.Fatalf("a new server is in maintenance: %s", got)
	}
	rows := csvRows(t, apiCall(t, sock, "show stat"))
	if rows["test/s1"]["status"] != "MAINT" || rows["test/s1"]["weight"] != "5" {
		t.Fatalf("stats of the new server: %v", rows["test/s1"])
	}
	apiCall(t, sock, "enable server test/s1")
	for i := 0; i < 3; i++ {
		if got := status(); got != "200" {
			t.Fatalf("after enable server: %s", got)
		}
	}
	if up.hits.Load() != 3 {
		t.Fatalf("the new server got %d requests", up.hits.Load())
	}
	// The check of a new server is off until "enable health".
	apiCall(t, sock, "enable server test/s2")
	if st := csvRows(t, apiCall(t, sock, "show stat"))["test/s2"]["status"]; st != "no check" {
		t.Fatalf("s2 with its check disabled: %q", st)
	}
	apiCall(t, sock, "enable health test/s2")
	waitFor(t, func() bool { return csvRows(t, apiCall(t, sock, "show stat"))["test/s2"]["status"] == "DOWN" }, "s2 DOWN by its check")
	if st := apiCall(t, sock, "show servers state test"); !strings.Contains(st, " test 2 s2 127.0.0.1 ") {
		t.Fatalf("show servers state lacks s2: %s", st)
	}
}

// A server added at run time takes part in cookie persistence with its own
// cookie.
func TestRuntimeAPIAddServerCookie(t *testing.T) {
	a := newTestServer(t, "a", nil)
	b := newTestServer(t, "b", nil)
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    cookie SRV insert indirect nocache
    server a A cookie ca
`, "SOCK", sock, "A", a.addr))
	if out := apiCall(t, sock, "add server be/b "+b.addr+" cookie cb"); out != "New server registered.\n\n" {
		t.Fatalf("add server: %q", out)
	}
	apiCall(t, sock, "enable server be/b")
	for i := 0; i < 3; i++ {
		out := sendRaw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nCookie: SRV=cb\r\nConnection: close\r\n\r\n", false)
		if _, body, _ := strings.Cut(out, "\r\n\r\n"); body != "b" {
			t.Fatalf("request with the new server's cookie: %q", out)
		}
	}
}

// "del server" removes a server in maintenance: it leaves the stats and
// the rotation, its name can be added again, and the others serve on.
func TestRuntimeAPIDelServer(t *testing.T) {
	a := newTestServer(t, "a", nil)
	b := newTestServer(t, "b", nil)
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server a A
    server b B
`, "SOCK", sock, "A", a.addr, "B", b.addr))
	for _, step := range []struct{ cmd, reply string }{
		{"del server foo/a", "No such backend.\n|"},
		{"del server be/other", "No such server.\n|"},
		{"del server be/a", "Only servers in maintenance mode can be deleted.\n"},
		{"disable server be/a", ""},
		{"del server be/a", "Server deleted.\n|"},
		{"del server be/a", "No such server.\n|"},
		{"enable server be/a", "No such server.\n"},
	} {
		// HAProxy ends some answers of these commands without the
		// empty line: those are written with a trailing "|" here.
		want := step.reply + "\n"
		if bare, ok := strings.CutSuffix(step.reply, "|"); ok {
			want = bare
		}
		if out := apiCall(t, sock, step.cmd); out != want {
			t.Fatalf("%s: %q, want %q", step.cmd, out, want)
		}
	}
	if _, ok := csvRows(t, apiCall(t, sock, "show stat"))["be/a"]; ok {
		t.Fatal("a deleted server in the stats")
	}
	for i := 0; i < 4; i++ {
		out := sendRaw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false)
		if _, body, _ := strings.Cut(out, "\r\n\r\n"); body != "b" {
			t.Fatalf("request %d after del server: %q", i, out)
		}
	}
	if out := apiCall(t, sock, "add server be/a "+a.addr); out != "New server registered.\n\n" {
		t.Fatalf("adding the deleted name again: %q", out)
	}
	apiCall(t, sock, "enable server be/a")
	seen := map[string]bool{}
	for i := 0; i < 6; i++ {
		out := sendRaw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false)
		_, body, _ := strings.Cut(out, "\r\n\r\n")
		seen[body] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("after adding a back: %v", seen)
	}
}

// Dynamic cookies: the runtime API changes the key or turns them off; a
// server with its own cookie keeps it.
func TestRuntimeAPIDynamicCookie(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    cookie SRV insert dynamic
    dynamic-cookie-key mykey
    server s1 127.0.0.1:18098
    server s2 127.0.0.1:18099 cookie fixed
`, "SOCK", sock))
	cookies := func() (string, string, string) {
		r := csvRows(t, apiCall(t, sock, "show stat"))
		return r["be/s1"]["cookie"], r["be/s2"]["cookie"], r["be/BACKEND"]["cookie"]
	}
	first, c2, cb := cookies()
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(first) || c2 != "fixed" || cb != "SRV" {
		t.Fatalf("cookies: %q %q %q", first, c2, cb)
	}
	for _, step := range []struct{ cmd, reply string }{
		{"disable dynamic-cookie backend nope", "No such backend.\n"},
		{"disable dynamic-cookie backend", "A backend name is expected.\n"},
		{"set dynamic-cookie-key backend be", "String value expected.\n"},
		{"disable dynamic-cookie backend be", ""},
	} {
		if out := apiCall(t, sock, step.cmd); out != step.reply+"\n" {
			t.Fatalf("%s: %q", step.cmd, out)
		}
	}
	if c1, c2, _ := cookies(); c1 != "" || c2 != "fixed" {
		t.Fatalf("cookies with dynamic cookies off: %q %q", c1, c2)
	}
	apiCall(t, sock, "enable dynamic-cookie backend be")
	apiCall(t, sock, "set dynamic-cookie-key backend be otherkey")
	if c1, _, _ := cookies(); c1 == "" || c1 == first {
		t.Fatalf("cookie after a new key: %q (was %q)", c1, first)
	}
}
