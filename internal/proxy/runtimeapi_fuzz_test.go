package proxy

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzRuntimeAPI sends arbitrary bytes to an admin stats socket: whatever
// the command lines, payloads and separators, the runtime answers and
// closes, never panics or hangs. Commands that change the running
// configuration are in the corpus on purpose.
func FuzzRuntimeAPI(f *testing.F) {
	dir := f.TempDir()
	os.WriteFile(filepath.Join(dir, "m.map"), []byte("a 1\nb 2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p.acl"), []byte("/x\n/y\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ip.map"), []byte("10.0.0.0/8 ten\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "n.acl"), []byte("10.0.0.0/8\n"), 0o644)
	sock := filepath.Join(dir, "api.sock")
	startProxy(f, sub("global\n    stats socket SOCK level admin\n    stats timeout 2s\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    acl p path -f DIR/p.acl
    acl ip src -f DIR/n.acl
    stick-table type ip size 10 store gpc0,http_req_rate(10s)
    http-request deny if p
    http-request return status 200 content-type text/plain lf-string "%[path,map_beg(DIR/m.map,none)] %[src,map_ip(DIR/ip.map,x)]"
backend be
    server s1 DEAD check
`, "SOCK", sock, "DIR", dir, "DEAD", deadAddr(f)))
	for _, seed := range []string{
		"help\n", "show map\nshow acl\n", "add map #4 <<\nk v\nk2 v 2\n\nshow map #4\n",
		"prepare map #4;add map @1 #4 z z;commit map @1 #4;show map @1 #4\n",
		"add acl #0 1.2.3.4/33\n", "get map #4 abc\nget acl #1 10.1.1.1\n",
		"del map #4 #0x1\nset map #4 a x\nclear map @7 #4\n", "prompt\nshow info\nquit\n",
		"set server be/s1 state drain\nset server be/s1 agent up\nset maxconn server be/s1 x\n",
		"disable frontend fe\nenable frontend fe\nset maxconn frontend fe 3\n",
		"show table fe data.gpc0 gt 0\nset table fe key 1.2.3.4 data.gpc0 5\n",
		"show errors\nshow pools\nshow activity\nhelp show\nfoo bar baz\n", "<<\n\n", ";;;\n", "\x00\xff<<\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(in)
		c.(*net.UnixConn).CloseWrite()
		// The runtime may close on a line too long before reading all of
		// it (the client then sees a reset): any end will do, a hang not.
		if _, err := io.ReadAll(c); err != nil && os.IsTimeout(err) {
			t.Fatalf("no end to the answer of %q: %v", in, err)
		}
	})
}
