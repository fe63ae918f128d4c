package proxy

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"bulwark/internal/plan"
)

// mapsProxy serves the value of the Host header in hosts.map and denies
// the paths of deny.acl, from files in a temporary directory.
func mapsProxy(t *testing.T) (px *Proxy, sock, addr, dir string, reload func()) {
	t.Helper()
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "hosts.map"), []byte("# comment\na.example be1\nb.example be2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "deny.acl"), []byte("/blocked\n"), 0o644)
	sock = filepath.Join(dir, "api.sock")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := compileCfg(t, sub(`
global
    stats socket SOCK level admin
`+baseDefaults+`
frontend fe
    bind fd@1000
    acl denied path -f DIR/deny.acl
    http-request deny if denied
    http-request return status 200 content-type text/plain lf-string "%[req.hdr(host),map(DIR/hosts.map,none)]"
`, "SOCK", sock, "DIR", dir))
	px = New(Options{Inherited: map[int]net.Listener{1000: l}})
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
	reload = func() {
		rt2, err := px.Build(mustPlan(t, cfg, plan.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		px.Start(rt2)
	}
	return px, sock, l.Addr().String(), dir, reload
}

// hostValue asks the proxy for a Host over a raw connection and returns
// the status line's code and the body.
func hostValue(t *testing.T, addr, host, path string) (string, string) {
	t.Helper()
	out := sendRaw(t, addr, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n", false)
	head, body, _ := strings.Cut(out, "\r\n\r\n")
	f := strings.Fields(head)
	if len(f) < 2 {
		t.Fatalf("no response: %q", out)
	}
	return f[1], body
}

func wantValue(t *testing.T, addr, host, want string) {
	t.Helper()
	if code, body := hostValue(t, addr, host, "/"); code != "200" || body != want {
		t.Fatalf("Host %s: %s %q, want 200 %q", host, code, body, want)
	}
}

var entryID = regexp.MustCompile(`0x[0-9a-f]+`)

// Map changes over the runtime API take effect on the next request, in
// HAProxy's texts, and a reload forgets them (the files are read again).
func TestRuntimeAPIMapsLive(t *testing.T) {
	_, sock, addr, dir, reload := mapsProxy(t)
	hosts := filepath.Join(dir, "hosts.map")
	wantValue(t, addr, "a.example", "be1")

	list := apiCall(t, sock, "show map")
	want := "# id (file) description\n2 (" + hosts + ") pattern loaded from file '" + hosts + "' used by map at file 'test.cfg' line 15. curr_ver=0 next_ver=0 entry_cnt=2\n\n"
	if list != want {
		t.Fatalf("show map:\n%q\nwant\n%q", list, want)
	}
	if out := entryID.ReplaceAllString(apiCall(t, sock, "show map #2"), "ID"); out != "ID a.example be1\nID b.example be2\n\n" {
		t.Fatalf("show map #2: %q", out)
	}
	if out := apiCall(t, sock, "get map "+hosts+" b.example"); out != "type=str, case=sensitive, found=yes, idx=tree, key=\"b.example\", value=\"be2\", type=\"str\"\n\n" {
		t.Fatalf("get map: %q", out)
	}

	for _, step := range []struct{ cmd, reply, host, value string }{
		{"set map #2 a.example changed", "", "a.example", "changed"},
		{"add map #2 c.example be3", "", "c.example", "be3"},
		{"del map #2 a.example", "", "a.example", "none"},
		{"del map #2 a.example", "Key not found.\n", "", ""},
		{"set map #2 nokey v", "entry not found.\n", "", ""},
		{"add map #2 only-key", "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n", "", ""},
		{"show map #9", "Unknown map identifier. Please use #<id> or <file>.\n", "", ""},
		{"show map #0", "Unknown map identifier. Please use #<id> or <file>.\n", "", ""},
		{"add acl #2 x", "This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n", "", ""},
		{"add map @1 #2 k v", "Version number in the future, please use 'prepare map' before.\n", "", ""},
		{"commit map @1 #2", "Version number out of range.\n", "", ""},
		{"commit map #2", "Missing version number.\n", "", ""},
	} {
		if out := apiCall(t, sock, step.cmd); out != step.reply+"\n" {
			t.Fatalf("%s: %q, want %q", step.cmd, out, step.reply+"\n")
		}
		if step.host != "" {
			wantValue(t, addr, step.host, step.value)
		}
	}

	// An atomic replacement: entries of a prepared version stay invisible
	// until the commit, which drops the older version at once.
	if out := apiCall(t, sock, "prepare map #2"); out != "New version created: 1\n\n" {
		t.Fatalf("prepare: %q", out)
	}
	apiCall(t, sock, "add map @1 #2 z.example new")
	wantValue(t, addr, "z.example", "none")
	wantValue(t, addr, "b.example", "be2")
	if out := entryID.ReplaceAllString(apiCall(t, sock, "show map @1 #2"), "ID"); out != "ID z.example new\n\n" {
		t.Fatalf("show map @1: %q", out)
	}
	if out := apiCall(t, sock, "commit map @1 #2"); out != "\n" {
		t.Fatalf("commit: %q", out)
	}
	wantValue(t, addr, "z.example", "new")
	wantValue(t, addr, "b.example", "none")

	// A payload adds several entries; values keep their spaces. A map
	// entry is deleted by the id "show map" printed.
	if out := apiCall(t, sock, "add map #2 <<\nm.example with spaces\nn.example nv\n"); out != "\n" {
		t.Fatalf("add map payload: %q", out)
	}
	wantValue(t, addr, "m.example", "with spaces")
	id := regexp.MustCompile(`(0x[0-9a-f]+) n\.example`).FindStringSubmatch(apiCall(t, sock, "show map #2"))
	if id == nil {
		t.Fatal("n.example not in show map")
	}
	apiCall(t, sock, "del map #2 #"+id[1])
	wantValue(t, addr, "n.example", "none")
	apiCall(t, sock, "clear map #2")
	wantValue(t, addr, "m.example", "none")

	// A reload compiles the file again: the runtime changes are gone.
	reload()
	waitFor(t, func() bool {
		_, body := hostValue(t, addr, "a.example", "/")
		return body == "be1"
	}, "the file's value after a reload")
	wantValue(t, addr, "m.example", "none")
}

// ACL pattern files change the same way, for the requests that follow.
func TestRuntimeAPIACLsLive(t *testing.T) {
	_, sock, addr, dir, _ := mapsProxy(t)
	file := filepath.Join(dir, "deny.acl")
	if code, _ := hostValue(t, addr, "x", "/blocked"); code != "403" {
		t.Fatalf("/blocked: %s", code)
	}
	list := apiCall(t, sock, "show acl")
	if !strings.Contains(list, "0 ("+file+") pattern loaded from file '"+file+"' used by acl at file 'test.cfg' line 13. curr_ver=0 next_ver=0 entry_cnt=1\n") ||
		!strings.Contains(list, "1 () acl 'path' file 'test.cfg' line 13. curr_ver=0 next_ver=0 entry_cnt=0\n") {
		t.Fatalf("show acl: %q", list)
	}
	if out := apiCall(t, sock, "get acl #0 /blocked"); out != "type=str, case=sensitive, match=yes, idx=tree, pattern=\"/blocked\"\n\n" {
		t.Fatalf("get acl: %q", out)
	}
	if out := apiCall(t, sock, "get acl #0 /other"); out != "type=str, case=sensitive, match=no\n\n" {
		t.Fatalf("get acl miss: %q", out)
	}
	apiCall(t, sock, "del acl "+file+" /blocked")
	if code, _ := hostValue(t, addr, "x", "/blocked"); code != "200" {
		t.Fatalf("/blocked after del acl: %s", code)
	}
	apiCall(t, sock, "add acl #0 /new")
	if code, _ := hostValue(t, addr, "x", "/new"); code != "403" {
		t.Fatalf("/new after add acl: %s", code)
	}
	// The inline reference of the line changes the same ACL.
	apiCall(t, sock, "add acl #1 /inline")
	if code, _ := hostValue(t, addr, "x", "/inline"); code != "403" {
		t.Fatalf("/inline after add acl #1: %s", code)
	}
	if out := apiCall(t, sock, "show acl #2"); out != "Unknown ACL identifier. Please use #<id> or <file>.\n\n" {
		t.Fatalf("show acl of a map: %q", out)
	}
	apiCall(t, sock, "prepare acl #0")
	apiCall(t, sock, "commit acl @1 #0")
	if code, _ := hostValue(t, addr, "x", "/new"); code != "200" {
		t.Fatalf("/new after committing an empty version: %s", code)
	}
	// Changing patterns needs the operator level.
	if out := apiCall(t, sock, "user; add acl #0 /x"); out != "\nPermission denied\n\n" {
		t.Fatalf("user-level add acl: %q", out)
	}
}
