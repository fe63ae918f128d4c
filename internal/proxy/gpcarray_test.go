package proxy

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sc-inc-gpc counts every request of a source in element 1 of its gpc
// array; an ACL on sc_get_gpc denies from the fourth request on, before
// the counter moves again; sc-set-gpt writes a tag; show table prints
// the arrays element by element.
func TestGPCArrayThroughProxy(t *testing.T) {
	b := newRecorder(t, recOK)
	sock := filepath.Join(t.TempDir(), "a.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    stick-table type ip size 10 expire 1m store gpc(2),gpc_rate(2,10s),gpt(2)
    http-request track-sc0 src
    http-request deny if { sc_get_gpc(1,0) ge 3 }
    http-request sc-inc-gpc(1,0)
    http-request sc-set-gpt(1,0) int(42)
    http-request return status 200 content-type text/plain lf-string "gpc1=%[sc_get_gpc(1,0)] rate=%[sc_gpc_rate(1,0)] gpt1=%[sc_get_gpt(1,0)] src=%[src_get_gpc(1,fe)] conv=%[src,table_gpc(1,fe)]" if { path /get }
    default_backend be
backend be
    server s B
`, "SOCK", sock, "B", b.addr))
	for i := 1; i <= 2; i++ {
		if out := rget(t, addr, "/"); statusOf(out) != 200 {
			t.Fatalf("request %d: %q", i, out)
		}
	}
	if out := rget(t, addr, "/get"); !strings.HasSuffix(out, "gpc1=3 rate=3 gpt1=42 src=3 conv=3") {
		t.Fatalf("third request: %q", out)
	}
	for i := 4; i <= 6; i++ {
		if out := rget(t, addr, "/"); statusOf(out) != 403 {
			t.Fatalf("request %d after 3 counted: %q", i, out)
		}
	}
	if n := b.count(); n != 2 {
		t.Errorf("%d requests reached the server, want 2", n)
	}
	// The denied requests stopped before sc-inc-gpc: still 3.
	re := regexp.MustCompile(`^0x[0-9a-f]+: key=127\.0\.0\.1 use=\d exp=\d+ gpt0=0 gpt1=42 gpc0=0 gpc1=3 gpc0_rate\(10000\)=0 gpc1_rate\(10000\)=3$`)
	var out string
	waitFor(t, func() bool {
		out = apiCall(t, sock, "show table fe")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return len(lines) == 2 && re.MatchString(lines[1])
	}, "show table with the arrays")
	if !strings.HasPrefix(out, "# table: fe, type: ip, size:10, used:1\n") {
		t.Fatalf("show table header: %q", out)
	}
	// set table data.gpc writes element 0; data.gpc0 is not a type of
	// this table; filters compare element 0.
	if r := apiCall(t, sock, "set table fe key 127.0.0.1 data.gpc 7"); strings.TrimSpace(r) != "" {
		t.Fatalf("set table data.gpc: %q", r)
	}
	if r := apiCall(t, sock, "set table fe key 127.0.0.1 data.gpc0 7"); !strings.Contains(r, "Data type not stored in this table") {
		t.Fatalf("set table data.gpc0: %q", r)
	}
	if r := apiCall(t, sock, "show table fe data.gpc gt 6"); !strings.Contains(r, " gpc0=7 gpc1=3 ") {
		t.Fatalf("show table data.gpc gt 6: %q", r)
	}
	if r := apiCall(t, sock, "show table fe data.gpc gt 7"); strings.Contains(r, "key=") {
		t.Fatalf("show table data.gpc gt 7: %q", r)
	}
}

// Stick rules fill server_key with the server's name, which show table
// prints and stick match follows.
func TestServerKeyThroughProxy(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\ns1"))
	s2 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\ns2"))
	sock := filepath.Join(t.TempDir(), "a.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance roundrobin
    stick-table type string len 32 size 100 expire 1m
    stick on req.hdr(x-user)
    server a S1
    server b S2
backend be2
    stick-table type string size 10 srvkey addr store server_key
    server c S1
`, "SOCK", sock, "S1", s1.addr, "S2", s2.addr))
	who := func(u string) string {
		out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-User: "+u+"\r\n\r\n", 5*time.Second)
		return out[len(out)-2:]
	}
	first := who("alice")
	name := map[string]string{"s1": "a", "s2": "b"}[first]
	var out string
	waitFor(t, func() bool {
		out = apiCall(t, sock, "show table be")
		return strings.Contains(out, " key=alice ")
	}, "the entry stored")
	if !regexp.MustCompile(` key=alice use=0 exp=\d+ server_id=\d server_key=` + name + `\n`).MatchString(out) {
		t.Fatalf("show table be: %q", out)
	}
	for range 3 {
		if got := who("alice"); got != first {
			t.Fatalf("alice went to %s, first to %s", got, first)
		}
	}
	// server_id naming the other server (ids 1 and 2), server_key this
	// one: the key wins.
	other := map[string]string{"a": "2", "b": "1"}[name]
	apiCall(t, sock, "set table be key alice data.server_id "+other)
	if !strings.Contains(apiCall(t, sock, "show table be key alice"), " server_id="+other+" ") {
		t.Fatal("set table data.server_id did not apply")
	}
	if got := who("alice"); got != first {
		t.Fatalf("with server_id %s alice went to %s, want %s by server_key", other, got, first)
	}
}
