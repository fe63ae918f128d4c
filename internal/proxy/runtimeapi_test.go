package proxy

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	if out := apiCall(t, admin, "show servers state"); !strings.Contains(out, "be a ") || !strings.Contains(out, "maint") {
		t.Fatalf("servers state: %q", out)
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
