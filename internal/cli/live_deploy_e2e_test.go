package cli

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

// The end-to-end tests of 'bulwark audit --live' start a real HAProxy and
// a real Bulwark, each hardened and deliberately weak, and require the
// opposite verdict of every live check on the two, from what the check
// observed (live evidence), not from the configuration alone.

// deployment is one running proxy under audit.
type deployment struct {
	product string // "haproxy" or "bulwark"
	bin     string
	dir     string
	cfg     string
	pid     int
}

// proxyBin returns the binary of product; bulwark is built once per test.
func proxyBin(product, bulwarkBin string) string {
	if product == "haproxy" {
		return haproxyBin
	}
	return bulwarkBin
}

// startDeployment writes cfg, starts the product on it (master/worker when
// mw), and returns once probe answers HTTP. env is added for Bulwark's
// opt-outs. The process is stopped by its PID when the test ends.
func startDeployment(t *testing.T, d *deployment, cfg string, mw bool, env []string, probe string) {
	t.Helper()
	d.cfg = filepath.Join(d.dir, d.product+".cfg")
	if err := os.WriteFile(d.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", d.cfg}
	if d.product == "haproxy" {
		args = append([]string{"-db"}, args...)
	}
	if mw {
		args = append([]string{"-W"}, args...)
	}
	d.pid = startCmd(t, exec.Command(d.bin, args...), env, func(int) bool { return answersHTTP(probe) })
}

// startCmd starts cmd with env added, waits (bounded) until ready says so
// and kills it by its PID at the end of the test.
func startCmd(t *testing.T, cmd *exec.Cmd, env []string, ready func(pid int) bool) int {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGKILL)
		cmd.Wait()
	})
	for i := 0; i < 100; i++ {
		if ready(pid) {
			return pid
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%v did not become ready:\n%s", cmd.Args, out.String())
	return 0
}

// answersHTTP sends one HTTP/1.0 request to addr and reports whether an
// HTTP response came back: the worker serves, not only the master binds.
func answersHTTP(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("GET /ready HTTP/1.0\r\n\r\n")); err != nil {
		return false
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.HasPrefix(line, "HTTP/")
}

// serviceCgroup moves pid into a new cgroup named name (a "NAME.service"
// path element in /proc/PID/cgroup is how the audit, like systemd, finds
// the unit), in the first cgroup hierarchy that accepts it. The process
// is moved back and the cgroup removed when the test ends. It reports
// false when no hierarchy is writable.
func serviceCgroup(t *testing.T, pid int, name string) bool {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	var roots []string
	for _, line := range strings.Split(string(mi), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		if (g[0] == "cgroup" && strings.Contains(g[2], "name=systemd")) || g[0] == "cgroup2" {
			roots = append(roots, f[4])
		}
	}
	for _, root := range roots {
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			os.Remove(dir)
			continue
		}
		t.Cleanup(func() {
			os.WriteFile(filepath.Join(root, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
			for i := 0; i < 50 && os.Remove(dir) != nil; i++ {
				time.Sleep(20 * time.Millisecond)
			}
		})
		return true
	}
	return false
}

// writeUnit writes the systemd unit of a deployment: the hardened one
// validates before start and reload, the weak one only signals.
func writeUnit(t *testing.T, dir, name string, d *deployment, weak bool) {
	t.Helper()
	check := d.bin + " -c -f " + d.cfg
	if d.product == "haproxy" {
		check = d.bin + " -f " + d.cfg + " -c -q"
	}
	unit := "[Unit]\nDescription=audit test\n\n[Service]\n"
	if weak {
		unit += "ExecStart=" + d.bin + " -Ws -f " + d.cfg + "\nExecReload=/bin/kill -USR2 $MAINPID\n"
	} else {
		unit += "ExecStartPre=" + check + "\nExecStart=" + d.bin + " -Ws -f " + d.cfg + "\nExecReload=" + check + "\nExecReload=/bin/kill -USR2 $MAINPID\n"
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freeLogPort finds a free TCP and UDP port below the kernel's ephemeral
// range for a log target that the audit binds only during its probe: an
// ephemeral port may meanwhile be taken as the source port of one of the
// many probe connections, and the audit would then (rightly) report the
// target as bound by another process.
func freeLogPort(t *testing.T) int {
	t.Helper()
	start := 20000 + os.Getpid()%5000
	for port := start; port < start+2000; port++ {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port for a log target")
	return 0
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// wantLive asserts the control's verdict and that live evidence of that
// verdict, containing sub, decided it.
func wantLive(t *testing.T, got map[string]jsonFinding, id, verdict, sub string) {
	t.Helper()
	f := got[id]
	if f.Verdict != verdict || !hasLive(f, verdict, sub) {
		var lines []string
		for _, e := range f.Evidence {
			lines = append(lines, e.Verdict+" "+e.Text)
		}
		t.Errorf("%s = %s (%s), want %s with live %s evidence containing %q:\n  %s", id, f.Verdict, f.Summary, verdict, verdict, sub, strings.Join(lines, "\n  "))
	}
}

// TestLiveDeployments runs each product twice: hardened (unprivileged
// master/worker in a chroot, TLS 1.2+ with AEAD suites, security headers,
// TRACE refused, stats with a password, an owner-only runtime socket,
// logs over TCP syslog, a checksum
// list that matches, a systemd unit that validates before reloading) and
// weak (one process as root, no chroot, TLS 1.0 and CBC suites, a
// wildcard bind, headers missing, TRACE served, stats without auth, a
// runtime socket every local user can open,
// requests not logged, an expired certificate with a world-readable key,
// a checksum that does not match, a unit that reloads unchecked). Every
// live check must see the difference.
func TestLiveDeployments(t *testing.T) {
	needHAProxy(t)
	requireToolCLI(t, "openssl")
	root := os.Geteuid() == 0
	bulwarkBin := buildBulwark(t)
	for _, product := range []string{"haproxy", "bulwark"} {
		for _, weak := range []bool{false, true} {
			name := product + "/hardened"
			if weak {
				name = product + "/weak"
			}
			t.Run(name, func(t *testing.T) {
				d := &deployment{product: product, bin: proxyBin(product, bulwarkBin), dir: t.TempDir()}
				os.Chmod(d.dir, 0o755)
				cert := filepath.Join(d.dir, "site.pem")
				global := ""
				tlsOpts := "ssl-min-ver TLSv1.2 ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
				rules := `    http-response set-header X-Frame-Options DENY
    http-response set-header X-Content-Type-Options nosniff
    http-response set-header Referrer-Policy strict-origin
    http-response set-header Content-Security-Policy "default-src 'self'"
    http-response set-header Strict-Transport-Security "max-age=31536000; includeSubDomains"
    http-request deny deny_status 405 if { method TRACE }
`
				stats := "    stats auth admin:a-long-random-secret-42\n"
				bindHTTP := "127.0.0.1"
				var env []string
				if weak {
					writeCertPEMAt(t, cert, time.Now().Add(-60*24*time.Hour), time.Now().Add(-24*time.Hour))
					os.Chmod(cert, 0o644)
					// @SECLEVEL=0: OpenSSL 3 refuses TLS 1.0 and SHA-1
					// suites otherwise, which would make the weak
					// configuration strong by accident (Bulwark ignores it).
					tlsOpts = "ssl-min-ver TLSv1.0 ciphers ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=0"
					rules = "    http-response set-header X-Frame-Options DENY\n    http-request set-log-level silent\n"
					stats = ""
					bindHTTP = ""
					env = []string{"BULWARK_ALLOW_ROOT=1", "BULWARK_ALLOW_INSECURE_KEY_PERMS=1"}
				} else {
					writeCertPEM(t, cert)
					if root {
						jail := filepath.Join(d.dir, "jail")
						if err := os.Mkdir(jail, 0o755); err != nil {
							t.Fatal(err)
						}
						global = "    user nobody\n    group nogroup\n    chroot " + jail + "\n"
					}
				}
				// The runtime API socket: owner-only for the hardened
				// deployment, open to every local user (and admin) for the
				// weak one.
				sock := filepath.Join(d.dir, "api.sock")
				sockOpts := "mode 600 level operator"
				if weak {
					sockOpts = "mode 666 level admin"
				}
				global += "    stats socket " + sock + " " + sockOpts + "\n"
				pHTTP, pTLS, pStats, pLog := freeTCPPort(t), freeTCPPort(t), freeTCPPort(t), freeLogPort(t)
				cfg := fmt.Sprintf(`global
%s    log tcp@127.0.0.1:%d local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout http-request 5s
frontend fe
    bind %s:%d
    bind 127.0.0.1:%d ssl crt %s %s
%s    default_backend be
backend be
    server s1 %s
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
%s`, global, pLog, bindHTTP, pHTTP, pTLS, cert, tlsOpts, rules, backendServer(t), pStats, stats)
				startDeployment(t, d, cfg, !weak, env, "127.0.0.1:"+strconv.Itoa(pHTTP))

				sums := filepath.Join(d.dir, "SHA256SUMS")
				digest := sha256File(t, d.bin)
				if weak {
					digest = strings.Repeat("0", 64)
				}
				os.WriteFile(sums, []byte(digest+"  "+d.bin+"\n"), 0o644)
				args := []string{"-f", d.cfg, "--target", product, "--pid", strconv.Itoa(d.pid), "--sha256sums", sums}
				unitDir := filepath.Join(d.dir, "units")
				os.Mkdir(unitDir, 0o755)
				unitName := fmt.Sprintf("bulwark-audit-test-%d.service", d.pid)
				haveUnit := root && serviceCgroup(t, d.pid, unitName)
				if root && !haveUnit && os.Getenv("BULWARK_REQUIRE_TOOLS") == "1" {
					t.Fatal("no writable cgroup hierarchy to place the proxy in a service cgroup")
				}
				if haveUnit {
					writeUnit(t, unitDir, unitName, d, weak)
					args = append(args, "--unit-dir", unitDir)
				}
				got := runLiveAudit(t, args...)

				if !weak {
					wantLive(t, got, "HAP-1.1", "PASS", "matches "+sums)
					if root {
						wantLive(t, got, "HAP-2.1", "PASS", "runs as uid")
						wantLive(t, got, "HAP-2.2", "PASS", "is chrooted to")
						// The certificate is outside the jail: loaded before
						// the chroot, out of the worker's reach.
						if !hasLive(got["HAP-4.3"], "PASS", "is not inside the chroot") {
							t.Errorf("HAP-4.3: no live PASS for the chrooted worker's view: %+v", got["HAP-4.3"].Evidence)
						}
					}
					wantLive(t, got, "HAP-3.1", "PASS", "listens on 127.0.0.1")
					wantLive(t, got, "HAP-4.1", "PASS", "refuses TLSv1.0")
					wantLive(t, got, "HAP-4.2", "PASS", "refuses all")
					if !hasLive(got["HAP-4.2"], "PASS", "refuses client-initiated renegotiation") {
						t.Errorf("HAP-4.2: no live renegotiation PASS: %+v", got["HAP-4.2"].Evidence)
					}
					if !hasLive(got["HAP-4.3"], "PASS", "serves "+cert) || hasLive(got["HAP-4.3"], "FAIL", "") {
						t.Errorf("HAP-4.3: want the served certificate recognised and no live FAIL: %+v", got["HAP-4.3"].Evidence)
					}
					wantLive(t, got, "HAP-5.1", "PASS", "carries the security headers")
					wantLive(t, got, "HAP-5.2", "PASS", "refused with 405")
					wantLive(t, got, "HAP-6.1", "PASS", "without credentials → 401")
					if !hasLive(got["HAP-6.2"], "PASS", "runtime socket "+sock+" mode 0600") {
						t.Errorf("HAP-6.2: no live PASS for the owner-only socket: %+v", got["HAP-6.2"].Evidence)
					}
					wantLive(t, got, "HAP-7.1", "PASS", "arrived at tcp@127.0.0.1:"+strconv.Itoa(pLog))
					if haveUnit {
						wantLive(t, got, "HAP-9.1", "PASS", "ExecReload validates first")
					}
					return
				}
				wantLive(t, got, "HAP-1.1", "FAIL", "but "+sums+" lists")
				if root {
					wantLive(t, got, "HAP-2.1", "FAIL", "runs with root IDs")
				}
				wantLive(t, got, "HAP-2.2", "FAIL", "is not chrooted")
				wantLive(t, got, "HAP-3.1", "FAIL", "listens on wildcard 0.0.0.0:"+strconv.Itoa(pHTTP))
				wantLive(t, got, "HAP-4.1", "FAIL", "accepts TLSv1.0")
				wantLive(t, got, "HAP-4.2", "FAIL", "accepts weak suites")
				wantLive(t, got, "HAP-4.3", "FAIL", "expired")
				if !hasLive(got["HAP-4.3"], "FAIL", "readable by others") {
					t.Errorf("HAP-4.3: no live FAIL for the world-readable key: %+v", got["HAP-4.3"].Evidence)
				}
				wantLive(t, got, "HAP-5.1", "FAIL", "lacks X-Content-Type-Options")
				wantLive(t, got, "HAP-5.2", "FAIL", "expected 403 or 405")
				wantLive(t, got, "HAP-6.1", "FAIL", "expected 401")
				wantLive(t, got, "HAP-6.2", "FAIL", "runtime socket "+sock+" mode 0666")
				wantLive(t, got, "HAP-7.1", "WARN", "arrived at tcp@127.0.0.1:"+strconv.Itoa(pLog)+" within")
				if haveUnit {
					// The weak configuration's warnings make the static
					// half WARN too: the unit is judged by its own evidence.
					if !hasLive(got["HAP-9.1"], "WARN", "does not run") {
						t.Errorf("HAP-9.1: no live WARN for the unchecked reload: %+v", got["HAP-9.1"].Evidence)
					}
				}
			})
		}
	}
}

// TestLiveLogTransports covers the other syslog transports of HAP-7.1 on
// both products: UDP and a unix datagram socket, and for HAProxy a ring
// section forwarding with octet counting (RFC 6587). Weak: the frontend
// silences its requests' logs ('http-request set-log-level silent').
func TestLiveLogTransports(t *testing.T) {
	needHAProxy(t)
	bulwarkBin := buildBulwark(t)
	for _, product := range []string{"haproxy", "bulwark"} {
		transports := []string{"udp", "unix"}
		if product == "haproxy" {
			transports = append(transports, "ring")
		}
		for _, transport := range transports {
			for _, weak := range []bool{false, true} {
				name := product + "/" + transport + "/hardened"
				if weak {
					name = product + "/" + transport + "/weak"
				}
				t.Run(name, func(t *testing.T) {
					d := &deployment{product: product, bin: proxyBin(product, bulwarkBin), dir: t.TempDir()}
					os.Chmod(d.dir, 0o755)
					target, ring, where := "", "", ""
					switch transport {
					case "udp":
						target = "127.0.0.1:" + strconv.Itoa(freeLogPort(t))
						where = target
					case "unix":
						// Not created: the audit listens there for the probe.
						target = filepath.Join(d.dir, "log.sock")
						where = target
					case "ring":
						port := freeLogPort(t)
						target = "ring@audit"
						ring = fmt.Sprintf("ring audit\n    format rfc3164\n    timeout connect 2s\n    timeout server 5s\n    server syslog 127.0.0.1:%d log-proto octet-count\n", port)
						where = "tcp@127.0.0.1:" + strconv.Itoa(port)
					}
					silent := ""
					if weak {
						silent = "    http-request set-log-level silent\n"
					}
					pHTTP := freeTCPPort(t)
					cfg := fmt.Sprintf(`global
    log %s local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
%s    http-request return status 200 content-type text/plain string ok
%s`, target, pHTTP, silent, ring)
					startDeployment(t, d, cfg, false, []string{"BULWARK_ALLOW_ROOT=1"}, "127.0.0.1:"+strconv.Itoa(pHTTP))
					got := runLiveAudit(t, "-f", d.cfg, "--target", product, "--pid", strconv.Itoa(d.pid), "--only", "HAP-7.1")
					if weak {
						wantLive(t, got, "HAP-7.1", "WARN", "arrived at "+where+" within")
					} else {
						wantLive(t, got, "HAP-7.1", "PASS", "arrived at "+where)
					}
					if transport == "unix" {
						if _, err := os.Lstat(target); err == nil {
							t.Errorf("the audit left its probe socket %s behind", target)
						}
					}
				})
			}
		}
	}
}

// TestLiveChrootCertCopies runs each product chrooted (master/worker,
// user nobody) with a copy of its certificate inside the jail at the
// configured path, which is what a reload from inside the jail would load:
// an identical 0600 copy passes, a stale world-readable one fails.
func TestLiveChrootCertCopies(t *testing.T) {
	needHAProxy(t)
	needRoot(t)
	bulwarkBin := buildBulwark(t)
	for _, product := range []string{"haproxy", "bulwark"} {
		for _, stale := range []bool{false, true} {
			name := product + "/identical"
			if stale {
				name = product + "/stale"
			}
			t.Run(name, func(t *testing.T) {
				d := &deployment{product: product, bin: proxyBin(product, bulwarkBin), dir: t.TempDir()}
				os.Chmod(d.dir, 0o755)
				jail := filepath.Join(d.dir, "jail")
				cert := filepath.Join(d.dir, "site.pem")
				writeCertPEM(t, cert)
				inJail := filepath.Join(jail, cert)
				if err := os.MkdirAll(filepath.Dir(inJail), 0o755); err != nil {
					t.Fatal(err)
				}
				if stale {
					writeCertPEM(t, inJail) // another key pair
					os.Chmod(inJail, 0o644)
				} else {
					b, _ := os.ReadFile(cert)
					os.WriteFile(inJail, b, 0o600)
				}
				os.Chmod(jail, 0o755)
				pTLS, pHTTP := freeTCPPort(t), freeTCPPort(t)
				cfg := fmt.Sprintf(`global
    user nobody
    group nogroup
    chroot %s
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.2
    http-request return status 200 content-type text/plain string ok
`, jail, pHTTP, pTLS, cert)
				startDeployment(t, d, cfg, true, nil, "127.0.0.1:"+strconv.Itoa(pHTTP))
				got := runLiveAudit(t, "-f", d.cfg, "--target", product, "--pid", strconv.Itoa(d.pid), "--only", "HAP-4.3")
				f := got["HAP-4.3"]
				if stale {
					wantLive(t, got, "HAP-4.3", "FAIL", "readable by others")
					if !hasLive(f, "WARN", "differs from the configured file") {
						t.Errorf("HAP-4.3: the stale copy is not reported as different: %+v", f.Evidence)
					}
				} else {
					wantLive(t, got, "HAP-4.3", "PASS", "inside the chroot "+jail+" is the configured file")
				}
			})
		}
	}
}

// netnsRun runs ip with args and fails the test on error.
func netnsRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// listensIn reports whether /proc/PID/net/tcp (the process's own network
// namespace) has a listening socket on ip:port.
func listensIn(pid int, ip net.IP, port int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		return false
	}
	v4 := ip.To4()
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", v4[3], v4[2], v4[1], v4[0], port)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == want && f[3] == "0A" {
			return true
		}
	}
	return false
}

// TestLiveRoutesNetns gives each product a network namespace of its own
// (created by the test, removed after it) with a client-facing interface
// front0 (10.231.1.1/24) and a server-facing back0 (10.231.2.1/24), each
// one end of a veth pair. With
// the server on back0's network the live HAP-3.2 check passes; with the
// server on front0's network it warns. The audit runs inside the
// namespace (ip netns exec), as an operator would with nsenter; run from
// outside it, it says the routes are not the proxy's.
func TestLiveRoutesNetns(t *testing.T) {
	needHAProxy(t)
	needRoot(t)
	requireToolCLI(t, "ip")
	bulwarkBin := buildBulwark(t)
	n := 0
	for _, product := range []string{"haproxy", "bulwark"} {
		for _, shared := range []bool{false, true} {
			n++
			name := product + "/separate"
			server := "10.231.2.10:80"
			if shared {
				name, server = product+"/shared", "10.231.1.10:80"
			}
			ns := fmt.Sprintf("bwaudit%d-%d", os.Getpid(), n)
			t.Run(name, func(t *testing.T) {
				netnsRun(t, "netns", "add", ns)
				t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
				netnsRun(t, "-n", ns, "link", "set", "lo", "up")
				// veth pairs with both ends inside the namespace: the
				// kernel of a container may lack the dummy link type.
				for i, ifc := range []string{"front", "back"} {
					netnsRun(t, "-n", ns, "link", "add", ifc+"0", "type", "veth", "peer", "name", ifc+"1")
					netnsRun(t, "-n", ns, "addr", "add", fmt.Sprintf("10.231.%d.1/24", i+1), "dev", ifc+"0")
					netnsRun(t, "-n", ns, "link", "set", ifc+"0", "up")
					netnsRun(t, "-n", ns, "link", "set", ifc+"1", "up")
				}
				d := &deployment{product: product, bin: proxyBin(product, bulwarkBin), dir: t.TempDir()}
				os.Chmod(d.dir, 0o755)
				d.cfg = filepath.Join(d.dir, product+".cfg")
				cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 10.231.1.1:8080
    default_backend be
backend be
    server s1 %s
`, server)
				os.WriteFile(d.cfg, []byte(cfg), 0o644)
				args := []string{"netns", "exec", ns, d.bin, "-f", d.cfg}
				if product == "haproxy" {
					args = append(args, "-db")
				}
				// 'ip netns exec' enters the namespace and execs the
				// proxy: the PID is the proxy's.
				pid := startCmd(t, exec.Command("ip", args...), []string{"BULWARK_ALLOW_ROOT=1"},
					func(pid int) bool { return listensIn(pid, net.IPv4(10, 231, 1, 1), 8080) })
				out, err := exec.Command("ip", "netns", "exec", ns, bulwarkBin, "audit", "--live", "--format", "json", "--no-git",
					"--only", "HAP-3.2", "--target", product, "--pid", strconv.Itoa(pid), "-f", d.cfg).Output()
				if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 || err != nil && !ok {
					t.Fatalf("audit in %s: %v\n%s", ns, err, out)
				}
				var rep struct {
					Findings []jsonFinding `json:"findings"`
				}
				if err := json.Unmarshal(out, &rep); err != nil || len(rep.Findings) != 1 {
					t.Fatalf("%v\n%s", err, out)
				}
				got := map[string]jsonFinding{"HAP-3.2": rep.Findings[0]}
				if shared {
					wantLive(t, got, "HAP-3.2", "WARN", "is reached through interface front0 (source 10.231.1.1), the interface of client-facing")
				} else {
					wantLive(t, got, "HAP-3.2", "PASS", "is reached through interface back0 (source 10.231.2.1), no client-facing bind there")
					// From the host's namespace the routes are not the
					// proxy's: the audit must say so rather than judge them.
					outside := runLiveAudit(t, "--only", "HAP-3.2", "--target", product, "--pid", strconv.Itoa(pid), "-f", d.cfg)
					wantLive(t, outside, "HAP-3.2", "MANUAL", "runs in network namespace")
				}
			})
		}
	}
}

// requireToolCLI skips when a tool is missing, or fails under
// BULWARK_REQUIRE_TOOLS=1 (CI), where a missing tool is a broken install.
func requireToolCLI(t *testing.T, name string) {
	t.Helper()
	testtool.Path(t, name)
}
