package compat

import (
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/testtool"
)

// Dynamic cookies must be HAProxy's own values: load balancers of both
// kinds sharing a "dynamic-cookie-key" send a client to the same server.
// HAProxy derives them from the key, the server's address and its port,
// and derives them again when "set server addr" moves the server.
const cookieConfig = `global
    stats socket SOCK level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:PORT
    default_backend ck
backend ck
    cookie SRV insert dynamic
    dynamic-cookie-key mysecret
    server s1 127.0.0.1:18931
    server s2 127.0.0.2:8080
    server s3 [::1]:443
    server s4 10.1.2.3:1 cookie fixed
`

var cookieCommands = []string{
	"",
	"set server ck/s2 addr 127.0.0.2 port 9090", // the port alone
	"set server ck/s2 addr 127.0.0.3",           // the address alone
	"set server ck/s3 addr 127.0.0.9 port 443",  // IPv6 to IPv4
	"set server ck/s4 addr 10.1.2.4",            // a cookie of its own stays
	"set dynamic-cookie-key backend ck otherkey",
	"disable dynamic-cookie backend ck",
	"enable dynamic-cookie backend ck",
}

// cookies is the "svname=cookie" list of the servers in "show stat".
func cookies(t *testing.T, d diffSide) string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(d.run(t, "show stat"), "# "))).ReadAll()
	if err != nil {
		t.Fatalf("%s: show stat: %v", d.name, err)
	}
	col := -1
	for i, h := range rows[0] {
		if h == "cookie" {
			col = i
		}
	}
	var out []string
	for _, r := range rows[1:] {
		if len(r) > col && col >= 0 && r[0] == "ck" && r[1] != "BACKEND" {
			out = append(out, r[1]+"="+r[col])
		}
	}
	return strings.Join(out, " ")
}

func TestDynamicCookiesAgainstHAProxy(t *testing.T) {
	hap := haproxyPath(t)
	testtool.Path(t, "socat")
	bin := filepath.Join(t.TempDir(), "bulwark")
	if out, err := exec.Command("go", "build", "-o", bin, "bulwark/cmd/bulwark").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var sides []diffSide
	for _, name := range []string{"haproxy", "bulwark"} {
		dir := t.TempDir()
		d := diffSide{name: name, sock: filepath.Join(dir, "api.sock"), cfg: filepath.Join(dir, "test.cfg"), port: freePort(t)}
		os.WriteFile(d.cfg, []byte(strings.NewReplacer("SOCK", d.sock, "PORT", d.port).Replace(cookieConfig)), 0o644)
		cmd := exec.Command(hap, "-db", "-f", d.cfg)
		if name == "bulwark" {
			cmd = exec.Command(bin, "-f", d.cfg)
			cmd.Env = append(os.Environ(), "BULWARK_ALLOW_ROOT=1")
		}
		start(t, cmd, d.port)
		sides = append(sides, d)
	}
	hs, bs := sides[0], sides[1]
	for _, cmd := range cookieCommands {
		if cmd != "" {
			if h, b := hs.run(t, cmd), bs.run(t, cmd); h != b {
				t.Errorf("%q: haproxy %q, bulwark %q", cmd, h, b)
			}
		}
		h, b := cookies(t, hs), cookies(t, bs)
		if h != b {
			t.Errorf("after %q:\n  haproxy: %s\n  bulwark: %s", cmd, h, b)
		}
		if h == "" {
			t.Fatalf("after %q: no server rows in HAProxy's show stat", cmd)
		}
	}
}
