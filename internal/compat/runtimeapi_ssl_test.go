package compat

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The runtime API's TLS and probe commands against HAProxy 2.6: CA files
// and their transactions, certificates created and deleted at run time,
// crt-lists, and the check and agent targets of "set server". The same
// configuration runs on both, and the same commands get the same bytes.
const sslDiffConfig = `global
    stats socket SOCK level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend tls
    bind 127.0.0.1:PORT ssl crt-list DIR/list.txt ca-file DIR/ca.pem verify optional
    http-request return status 200
backend be1
    server s1 127.0.0.1:DEAD check agent-check agent-port DEAD agent-inter 100s inter 100s
    server s2 127.0.0.1:DEAD check inter 100s
    server s3 127.0.0.1:DEAD
`

var sslDiffCommands = []string{
	"show ssl crt-list", "show ssl crt-list DIR/list.txt", "show ssl crt-list -n DIR/list.txt", "show ssl crt-list /nope", "show ssl crt-list -n",
	"show ssl cert", "show ssl cert DIR/b.pem",
	"new ssl cert DIR/n2.pem", "add ssl crt-list DIR/list.txt DIR/n2.pem", "set ssl cert DIR/n2.pem <<\nPEM_B", "commit ssl cert DIR/n2.pem",
	"add ssl crt-list DIR/list.txt DIR/n2.pem", "add ssl crt-list DIR/list.txt <<\nDIR/n2.pem [alpn h2] n2.test\n",
	"add ssl crt-list /nope DIR/a.pem", "add ssl crt-list DIR/list.txt DIR/zz.pem", "add ssl crt-list", "add ssl crt-list DIR/list.txt",
	"show ssl crt-list -n DIR/list.txt", "show ssl cert DIR/n2.pem", "del ssl cert DIR/n2.pem", "del ssl crt-list DIR/list.txt DIR/n2.pem",
	"del ssl crt-list DIR/list.txt DIR/n2.pem:9", "del ssl crt-list DIR/list.txt DIR/n2.pem:3", "del ssl crt-list DIR/list.txt DIR/a.pem",
	"del ssl crt-list /nope DIR/a.pem", "del ssl crt-list", "del ssl crt-list DIR/list.txt", "show ssl crt-list -n DIR/list.txt",
	"del ssl crt-list DIR/list.txt DIR/n2.pem", "del ssl crt-list DIR/list.txt DIR/n2.pem", "show ssl cert DIR/n2.pem", "del ssl cert DIR/n2.pem",
	"new ssl cert DIR/n.pem", "new ssl cert DIR/n.pem", "new ssl cert DIR/a.pem", "new ssl cert", "show ssl cert", "show ssl cert DIR/n.pem",
	"set ssl cert DIR/n.pem <<\nPEM_B", "del ssl cert DIR/n.pem", "commit ssl cert DIR/n.pem", "show ssl cert DIR/n.pem",
	"del ssl cert DIR/n.pem", "del ssl cert DIR/n.pem", "del ssl cert DIR/a.pem", "del ssl cert",
	"show ssl ca-file", "show ssl ca-file DIR/ca.pem", "show ssl ca-file DIR/ca.pem:1", "show ssl ca-file DIR/ca.pem:0",
	"show ssl ca-file DIR/ca.pem:2", "show ssl ca-file DIR/ca.pem:x", "show ssl ca-file /nope",
	"set ssl ca-file", "commit ssl ca-file", "abort ssl ca-file", "set ssl ca-file DIR/ca.pem",
	"set ssl ca-file /nope <<\nCA2", "set ssl ca-file DIR/ca.pem <<\ngarbage\n",
	"set ssl ca-file DIR/ca.pem <<\nCA2", "set ssl ca-file DIR/ca.pem <<\nCA2", "show ssl ca-file", "show ssl ca-file *DIR/ca.pem",
	"set ssl ca-file /nope <<\nCA2", "commit ssl ca-file /nope", "abort ssl ca-file /nope", "abort ssl ca-file DIR/ca.pem",
	"abort ssl ca-file DIR/ca.pem", "commit ssl ca-file DIR/ca.pem", "set ssl ca-file DIR/ca.pem <<\nCA2",
	"commit ssl ca-file DIR/ca.pem", "show ssl ca-file", "show ssl ca-file DIR/ca.pem:2",
	"new ssl ca-file DIR/new.pem", "new ssl ca-file DIR/new.pem", "new ssl ca-file DIR/ca.pem", "new ssl ca-file",
	"show ssl ca-file", "show ssl ca-file DIR/new.pem", "set ssl ca-file DIR/new.pem <<\nCA2", "commit ssl ca-file DIR/new.pem",
	"show ssl ca-file", "show ssl ca-file DIR/new.pem", "del ssl ca-file DIR/new.pem", "del ssl ca-file DIR/new.pem",
	"del ssl ca-file DIR/ca.pem", "del ssl ca-file",
	"set server be1/s1 check-port 1234", "set server be1/s1 check-port", "set server be1/s1 check-port x",
	"set server be1/s1 check-port 70000", "set server be1/s3 check-port 1234", "set server be1/s1 agent-port 1235",
	"set server be1/s2 agent-port 1235", "set server be1/s1 agent-port", "set server be1/s1 agent-port x",
	"set server be1/s1 agent-addr 127.0.0.2", "set server be1/s1 agent-addr 127.0.0.2 port 1236", "set server be1/s1 agent-addr",
	"set server be1/s1 agent-addr 127.0.0.2 port", "set server be1/s1 agent-addr 127.0.0.2 port x",
	"set server be1/s2 agent-addr 127.0.0.2", "set server be1/s1 agent-send hello", "set server be1/s1 agent-send",
	"set server be1/s2 agent-send hello", "set server be1/s2 check-addr 127.0.0.3", "set server be1/s2 check-addr 127.0.0.3 port 99",
	"set server be1/s3 check-addr 127.0.0.3", "set server be1/s1 check-addr", "set server be1/nope check-port 1",
	"show servers state be1", "show stat",
}

// stateProbes keeps the identity and probe fields of "show servers
// state" lines (the states and times depend on the checks' timing).
func stateProbes(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		if len(f) == 25 && f[0] != "#" {
			l = strings.Join(append(f[:4:4], f[21:]...), " ")
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// HAProxy's httpclient loads the system's CAs, which it lists too.
var systemCA = regexp.MustCompile(`(?m)^@system-ca - \d+ certificate\(s\)\n`)

func TestRuntimeAPISSLAgainstHAProxy(t *testing.T) {
	hap := haproxyPath(t)
	if _, err := exec.LookPath("socat"); err != nil {
		if os.Getenv("BULWARK_REQUIRE_TOOLS") == "1" {
			t.Fatal("socat not found and BULWARK_REQUIRE_TOOLS=1")
		}
		t.Skip("socat not found")
	}
	data := t.TempDir()
	pemA, pemB, pemC := selfSigned(t, "a.example.test", 1), selfSigned(t, "b.example.test", 2), selfSigned(t, "c.example.test", 3)
	certOnly := func(p []byte) string { s := string(p); return s[:strings.Index(s, "-----END CERTIFICATE-----")+26] }
	os.WriteFile(filepath.Join(data, "a.pem"), pemA, 0o600)
	os.WriteFile(filepath.Join(data, "b.pem"), pemB, 0o600)
	os.WriteFile(filepath.Join(data, "ca.pem"), []byte(certOnly(pemC)), 0o644)
	ca2 := certOnly(pemC) + certOnly(pemB)
	os.WriteFile(filepath.Join(data, "list.txt"), []byte(data+"/a.pem [alpn h2] a.example.test\n"+data+"/b.pem\n"), 0o644)
	bin := filepath.Join(t.TempDir(), "bulwark")
	if out, err := exec.Command("go", "build", "-o", bin, "bulwark/cmd/bulwark").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dead := freePort(t)
	var sides []diffSide
	for _, name := range []string{"haproxy", "bulwark"} {
		dir := t.TempDir()
		d := diffSide{name: name, sock: filepath.Join(dir, "api.sock"), cfg: filepath.Join(dir, "test.cfg"), port: freePort(t)}
		cfg := strings.NewReplacer("SOCK", d.sock, "PORT", d.port, "DIR", data, "DEAD", dead).Replace(sslDiffConfig)
		os.WriteFile(d.cfg, []byte(cfg), 0o644)
		cmd := exec.Command(hap, "-db", "-f", d.cfg)
		if name == "bulwark" {
			cmd = exec.Command(bin, "-f", d.cfg)
			cmd.Env = append(os.Environ(), "BULWARK_ALLOW_ROOT=1", "BULWARK_ALLOW_INSECURE_KEY_PERMS=1")
		}
		start(t, cmd, d.port)
		sides = append(sides, d)
	}
	hs, bs := sides[0], sides[1]
	var diffs []string
	for _, cmd := range sslDiffCommands {
		cmd = strings.NewReplacer("DIR", data, "PEM_B", string(pemB), "CA2", ca2).Replace(cmd)
		h, b := systemCA.ReplaceAllString(hs.run(t, cmd), ""), bs.run(t, cmd)
		// HAProxy 2.6 writes the last byte of its wire-format ALPN list
		// (a NUL) where the space after an option goes; Bulwark writes
		// the space.
		h = strings.ReplaceAll(h, "\x00]", " ]")
		if strings.HasPrefix(cmd, "show servers state") {
			h, b = stateProbes(h), stateProbes(b)
		}
		if cmd == "show stat" {
			// The columns, modules' included: the header line.
			h, b = strings.SplitN(h, "\n", 2)[0], strings.SplitN(b, "\n", 2)[0]
		}
		if h != b {
			diffs = append(diffs, strings.ReplaceAll(cmd, "\n", `\n`)[:min(len(cmd), 80)]+":\n  haproxy: "+quote(h)+"\n  bulwark: "+quote(b))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("%d of %d answers differ:\n%s", len(diffs), len(sslDiffCommands), strings.Join(diffs, "\n"))
	}
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
