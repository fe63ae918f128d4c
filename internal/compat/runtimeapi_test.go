package compat

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

// The runtime API differential test: Debian's HAProxy 2.6 and Bulwark run
// the same configuration (maps, ACL files, a stick table), receive the
// same commands over socat and the same requests, and their answers are
// compared line by line once the values that must differ (entry ids,
// dates, configuration paths, ports) are masked.

const diffConfig = `global
    stats socket SOCK level admin
    maxconn 1000
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:PORT
    acl bad src -f DIR/nets.acl
    acl local src 127.0.0.1
    http-request deny if bad
    http-request return status 200 content-type text/plain lf-string "%[req.hdr(host),lower,map(DIR/hosts.map,none)] %[path,map_beg(DIR/paths.map,0)]"
    default_backend be1
frontend tls
    bind 127.0.0.1:TLSPORT ssl crt DIR/a.pem
    http-request return status 200
backend be1
    stick-table type ip size 100 store gpc0,conn_cnt
    server s1 127.0.0.1:DEAD weight 10
    server s2 127.0.0.1:DEAD weight 20 maxconn 30
backend be2
    server s3 127.0.0.1:DEAD
backend dyn
    balance roundrobin
backend static
    balance static-rr
    server st1 127.0.0.1:DEAD weight 4
`

// diffCommands are run in order on both; each line is one socat call.
var diffCommands = []string{
	"show map", "show acl", "show map #3", "show acl #0", "show acl #2",
	"get map #3 a.example.com", "get map #4 /api/x", "get map #4 /nothing", "get acl #0 10.1.2.3", "get acl #0 8.8.8.8",
	"get acl #2 127.0.0.1", "get map #4", "get map #99 a",
	"add map #3 c.example.com be3", "show map #3", "add map #3 d.example.com", "add map /nope k v",
	"add acl /DIR/hosts.map foo", "add acl #0 1.2.3.0/24", "add acl #0 notanip", "show acl #0",
	"del map #3 c.example.com", "del map #3 zzz", "del map #3", "set map #3 a.example.com newval", "set map #3 nokey v",
	"show map #0", "del map #0 1.1.1.1", "clear map #0", "show acl #3", "prepare acl #3",
	"prepare map #3", "prepare map #3", "show map", "add map @1 #3 x.example.com bex", "add map @5 #3 y v",
	"show map @1 #3", "commit map @9 #3", "commit map @1 #3", "commit map #3", "commit map @2", "show map #3", "show map",
	"add map #4 <<\n/x 9\n/y spaced value\n", "show map #4", "del acl #0", "set map #4", "show map foo",
	"clear map #3", "show map #3", "prepare acl #0", "add acl @1 #0 9.9.9.9", "show acl @1 #0", "commit acl @1 #0", "show acl #0",
	"help show map", "set maxconn global 5000", "set maxconn global", "set maxconn server be1/s2",
	"set maxconn server be1/zz 5", "disable frontend nope", "disable frontend", "set maxconn frontend",
	"shutdown sessions server be1", "set server be1/s1 weight", "get weight be1/s2", "show errors",
	"disable frontend fe", "disable frontend fe", "enable frontend fe", "enable frontend fe",
	"show table", "set table be1 key 1.2.3.4 data.gpc0 5", "set table be1 key 1.2.3.5 data.gpc0 1", "show table be1",
	"show table be1 data.gpc0 gt 1", "show table be1 key 1.2.3.5", "show table nope", "set table be1 key 1.2.3.4 data.nope 1",
	"set table be1 key 1.2.3.4 data.http_req_rate 1", "show table be1 data.gpc0 zz 1", "clear table be1 key 1.2.3.4", "show table be1",
	"clear table be1", "show table be1", "set table nope key 1", "clear table nope", "set table", "clear table",
	"show table be1 key", "set table be1 key", "set table be1", "set table be1 key 1.2.3.4 data.gpc0", "set table be1 key 1.2.3.4 data.gpc0 x",
	"show table be1 data.gpc0", "show table be1 data.nope eq 1", "show table be1 data.gpc0 eq x", "clear table be1 data.gpc0 gt 3",
	"show ssl cert", "show ssl cert /DIR/a.pem", "show ssl cert /nope", "commit ssl cert /DIR/a.pem", "abort ssl cert /DIR/a.pem",
	"set ssl cert /nope <<\nPEM_B", "set ssl cert /DIR/a.pem <<\ngarbage\n", "set ssl cert /DIR/a.pem <<\nPEM_B",
	"show ssl cert", "show ssl cert */DIR/a.pem", "set ssl cert /DIR/a.pem <<\nPEM_B", "abort ssl cert /DIR/a.pem",
	"set ssl cert /DIR/a.pem <<\nPEM_B", "commit ssl cert /DIR/a.pem", "show ssl cert /DIR/a.pem", "set ssl cert", "commit ssl cert",
	"set rate-limit", "set rate-limit connections", "set rate-limit connections global", "set rate-limit connections global -1",
	"set rate-limit connections frontend 3", "set rate-limit sessions global 1000", "set rate-limit sessions global 0",
	"disable health be1/s1", "enable health be1/s1", "disable agent be1/s1", "enable agent be1/s1", "set server be1/s1 agent up",
	"set server be1/s1 foo", "set server be1/nope state ready", "show servers conn nope",
	"add server foo/s1 127.0.0.1:DEAD", "add server dyn/s1", "add server static/s1 127.0.0.1:DEAD",
	"add server dyn/s1 127.0.0.1:DEAD weight 7", "add server dyn/s1 127.0.0.1:DEAD", "get weight dyn/s1",
	"del server foo/s1", "del server dyn/other", "del server dyn/s1", "enable server dyn/s1", "del server dyn/s1",
	"disable server dyn/s1", "del server dyn/s1", "del server dyn/s1", "add server dyn/s1 127.0.0.1:DEAD",
	"show backend", "show cli level", "operator;show cli level", "show env NOPE_NOT_SET", "show stat nope 1 1",
	"get weight be1/nope", "get weight nope/s1", "get weight be1",
	"set weight be1/s1 300", "set weight be1/s1 50%", "get weight be1/s1", "set weight be1/s1", "set weight be1/s1 x", "set weight be1/s1 5x", "set weight be1/s1 -5%",
	"set weight be1/s1 200%", "get weight be1/s1", "set weight static/st1 5", "set weight static/st1 0", "get weight static/st1", "set weight static/st1 100%", "set server be1/s1 state bogus",
	"set server be1 state ready", "set server nope/s1 state ready", "set server be1/s1 weight 300", "set server be1/s1 health bogus",
	"shutdown session", "shutdown session 0xdeadbeef", "clear counters", "clear counters all", "show servers conn nope",
	"show table nope key 1", "enable server be1", "disable server nope/x",
	"enable dynamic-cookie backend nope", "enable dynamic-cookie backend", "disable dynamic-cookie backend be1",
	"enable dynamic-cookie backend be1", "set dynamic-cookie-key backend be1", "set dynamic-cookie-key backend nope k",
	"set dynamic-cookie-key backend be1 k2",
}

// diffMasks replace what must differ between the two processes.
var diffMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`0x[0-9a-f]+`), "0xID"},
	{regexp.MustCompile(`\[\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]`), "[DATE]"},
}

type diffSide struct {
	name, sock, cfg, port string
}

func (d diffSide) run(t *testing.T, cmd string) string {
	t.Helper()
	in := cmd + "\n"
	if strings.Contains(cmd, "<<\n") {
		in = cmd + "\n"
	}
	c := exec.Command("socat", "-t", "2", "-", "UNIX-CONNECT:"+d.sock)
	c.Stdin = strings.NewReader(in)
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%s: socat %q: %v", d.name, cmd, err)
	}
	s := strings.ReplaceAll(string(out), d.cfg, "CFG")
	for _, m := range diffMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// get sends a request with a Host header and returns the body.
func (d diffSide) get(t *testing.T, host, path string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+d.port, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host)
	b, _ := io.ReadAll(c)
	_, body, _ := strings.Cut(string(b), "\r\n\r\n")
	return body
}

// HAProxy's own pattern references Bulwark has no use for: the
// httpclient's internal ACLs, listed by "show acl".
var haproxyOnly = regexp.MustCompile(`(?m)^\d+ \(\) acl 'var' file 'httpclient' line 0\..*\n`)

func TestRuntimeAPIAgainstHAProxy(t *testing.T) {
	data := t.TempDir()
	os.WriteFile(filepath.Join(data, "hosts.map"), []byte("a.example.com be1\nb.example.com be2\n"), 0o644)
	os.WriteFile(filepath.Join(data, "nets.acl"), []byte("10.0.0.0/8\n192.168.0.0/16\n"), 0o644)
	os.WriteFile(filepath.Join(data, "paths.map"), []byte("/api 1\n/static 2\n"), 0o644)
	pemA, pemB := selfSigned(t, "a.example.test", 1), selfSigned(t, "b.example.test", 2)
	os.WriteFile(filepath.Join(data, "a.pem"), pemA, 0o600)
	dead := freePort(t)
	hs, bs := startPair(t, func(d diffSide) string {
		return strings.NewReplacer("SOCK", d.sock, "TLSPORT", freePort(t), "PORT", d.port, "DIR", data, "DEAD", dead).Replace(diffConfig)
	}, "BULWARK_ALLOW_INSECURE_KEY_PERMS=1")
	var diffs []string
	for _, cmd := range diffCommands {
		cmd = strings.ReplaceAll(cmd, "/DIR", data)
		cmd = strings.ReplaceAll(cmd, "PEM_B", string(pemB))
		cmd = strings.ReplaceAll(cmd, ":DEAD", ":"+dead)
		h, b := hs.run(t, cmd), bs.run(t, cmd)
		h = haproxyOnly.ReplaceAllString(h, "")
		if h != b {
			diffs = append(diffs, fmt.Sprintf("%q:\n  haproxy: %q\n  bulwark: %q", cmd, h, b))
		}
	}
	// The same requests see the same map values.
	for _, rq := range [][2]string{{"a.example.com", "/api/x"}, {"x.example.com", "/x/1"}, {"b.example.com", "/y"}} {
		if h, b := hs.get(t, rq[0], rq[1]), bs.get(t, rq[0], rq[1]); h != b {
			diffs = append(diffs, fmt.Sprintf("GET %s%s: haproxy %q, bulwark %q", rq[0], rq[1], h, b))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("%d of %d answers differ:\n%s", len(diffs), len(diffCommands)+3, strings.Join(diffs, "\n"))
	}
}

// startPair runs Debian's HAProxy and Bulwark, in that order, on the same
// configuration; cfg writes it for each side, with that side's own stats
// socket and port. Bulwark runs with the opt-outs in env besides
// BULWARK_ALLOW_ROOT.
func startPair(t *testing.T, cfg func(d diffSide) string, env ...string) (hs, bs diffSide) {
	t.Helper()
	hap := haproxyPath(t)
	testtool.Path(t, "socat")
	bin := filepath.Join(t.TempDir(), "bulwark")
	if out, err := exec.Command("go", "build", "-o", bin, "bulwark/cmd/bulwark").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var sides [2]diffSide
	for i, name := range []string{"haproxy", "bulwark"} {
		dir := t.TempDir()
		d := diffSide{name: name, sock: filepath.Join(dir, "api.sock"), cfg: filepath.Join(dir, "test.cfg"), port: freePort(t)}
		if err := os.WriteFile(d.cfg, []byte(cfg(d)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(hap, "-db", "-f", d.cfg)
		if name == "bulwark" {
			cmd = exec.Command(bin, "-f", d.cfg)
			cmd.Env = append(append(os.Environ(), "BULWARK_ALLOW_ROOT=1"), env...)
		}
		start(t, cmd, d.port)
		sides[i] = d
	}
	return sides[0], sides[1]
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// start runs a proxy until the test ends (stopped by its PID) and waits
// for its port.
func start(t *testing.T, cmd *exec.Cmd, port string) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
		cmd.Wait()
	})
	for i := 0; i < 100; i++ {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		t.Log(sc.Text())
	}
	t.Fatalf("%s did not listen on %s", cmd.Path, port)
}

// selfSigned is a certificate and its key in one PEM block sequence, as
// "crt" files and "set ssl cert" payloads hold them.
func selfSigned(t *testing.T, name string, serial int64) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{Organization: []string{"Bulwark test"}, CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
}
