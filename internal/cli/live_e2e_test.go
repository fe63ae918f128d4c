package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const haproxyBin = "/usr/sbin/haproxy"

func needHAProxy(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(haproxyBin); err != nil {
		if os.Getenv("BULWARK_REQUIRE_TOOLS") == "1" {
			t.Fatalf("BULWARK_REQUIRE_TOOLS=1 but %s is missing: %v", haproxyBin, err)
		}
		t.Skipf("%s not installed", haproxyBin)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeCertPEM writes a self-signed certificate and its key into one PEM
// file, as HAProxy's 'crt' expects.
func writeCertPEM(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	pem.Encode(&b, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startProc runs a proxy in the foreground and stops it by its PID when
// the test ends; it returns once addr accepts connections.
func startProc(t *testing.T, addr string, name string, args ...string) int {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
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
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return pid
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on %s:\n%s", name, addr, out.String())
	return 0
}

type jsonFinding struct {
	ID       string `json:"id"`
	Verdict  string `json:"verdict"`
	Summary  string `json:"summary"`
	Evidence []struct {
		Verdict string `json:"verdict"`
		Text    string `json:"text"`
	} `json:"evidence"`
}

func runLiveAudit(t *testing.T, args ...string) map[string]jsonFinding {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"audit", "--live", "--format", "json", "--no-git"}, args...), &out, &errb)
	if code == 2 {
		t.Fatalf("audit exit 2: %s", errb.String())
	}
	var rep struct {
		Live     bool          `json:"live"`
		Findings []jsonFinding `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !rep.Live {
		t.Error("report not marked live")
	}
	m := map[string]jsonFinding{}
	for _, f := range rep.Findings {
		m[f.ID] = f
	}
	return m
}

// checkLive asserts a verdict and that live evidence contributed to it.
func checkLive(t *testing.T, who string, got map[string]jsonFinding, id, want string) {
	t.Helper()
	f := got[id]
	live := false
	var texts []string
	for _, e := range f.Evidence {
		texts = append(texts, e.Text)
		live = live || strings.HasPrefix(e.Text, "live: ")
	}
	if f.Verdict != want || !live {
		t.Errorf("%s %s = %s (%s), want %s with live evidence:\n  %s", who, id, f.Verdict, f.Summary, want, strings.Join(texts, "\n  "))
	}
}

func TestLiveAuditEndToEnd(t *testing.T) {
	needHAProxy(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	root := os.Geteuid() == 0
	global := "global\n"
	if root {
		jail := filepath.Join(dir, "jail")
		if err := os.Mkdir(jail, 0o755); err != nil {
			t.Fatal(err)
		}
		global += "    user nobody\n    group nogroup\n    chroot " + jail + "\n"
	}
	cert := filepath.Join(dir, "site.pem")
	writeCertPEM(t, cert)
	pHTTP, pTLS, pStats := freeTCPPort(t), freeTCPPort(t), freeTCPPort(t)
	headers := `    http-after-response set-header X-Frame-Options DENY
    http-after-response set-header X-Content-Type-Options nosniff
    http-after-response set-header Referrer-Policy strict-origin
    http-after-response set-header Content-Security-Policy "default-src 'self'"
    http-after-response set-header Strict-Transport-Security "max-age=31536000; includeSubDomains"
    http-request deny deny_status 405 if { method TRACE }
    http-request return status 200 content-type text/plain string ok
`
	cfg := global + fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout http-request 5s
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.2 ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384
%slisten stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
    stats auth admin:a-long-random-secret-42
    http-request deny deny_status 405 if { method TRACE }
`, pHTTP, pTLS, cert, headers, pStats)
	cf := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cf, []byte(cfg), 0o644)

	pid := startProc(t, "127.0.0.1:"+strconv.Itoa(pTLS), haproxyBin, "-db", "-f", cf)
	hap := runLiveAudit(t, "-f", cf, "--target", "haproxy", "--pid", strconv.Itoa(pid))
	if root {
		checkLive(t, "haproxy", hap, "HAP-2.1", "PASS")
		checkLive(t, "haproxy", hap, "HAP-2.2", "PASS")
	}
	for _, id := range []string{"HAP-3.1", "HAP-4.1", "HAP-5.1", "HAP-5.2", "HAP-6.1"} {
		checkLive(t, "haproxy", hap, id, "PASS")
	}
	checkLive(t, "haproxy", hap, "HAP-4.2", "PASS")

	// Bulwark on the same configuration minus what it does not run yet:
	// TLS, header and deny rules, the stats page.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	bin := filepath.Join(dir, "bulwark")
	if out, err := exec.Command("go", "build", "-o", bin, "bulwark/cmd/bulwark").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pB := freeTCPPort(t)
	bcfg := global + fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout http-request 5s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 %s
`, pB, strings.TrimPrefix(srv.URL, "http://"))
	bf := filepath.Join(dir, "bulwark.cfg")
	os.WriteFile(bf, []byte(bcfg), 0o644)
	bpid := startProc(t, "127.0.0.1:"+strconv.Itoa(pB), bin, "-f", bf)
	bw := runLiveAudit(t, "-f", bf, "--target", "bulwark", "--pid", strconv.Itoa(bpid))
	checkLive(t, "bulwark", bw, "HAP-3.1", hap["HAP-3.1"].Verdict)
	checkLive(t, "bulwark", bw, "HAP-5.1", "FAIL")
	checkLive(t, "bulwark", bw, "HAP-5.2", "FAIL")
	if f := bw["HAP-4.1"]; f.Verdict != "SKIP" {
		t.Errorf("bulwark HAP-4.1 = %s, want SKIP (no TLS bind)", f.Verdict)
	}
	for _, id := range []string{"HAP-2.1", "HAP-2.2"} {
		live := false
		for _, e := range bw[id].Evidence {
			live = live || strings.Contains(e.Text, "live: PID "+strconv.Itoa(bpid))
		}
		if !live {
			t.Errorf("bulwark %s has no evidence about PID %d: %+v", id, bpid, bw[id])
		}
	}
}

// TestLiveAuditWeakHAProxy runs a deliberately weak HAProxy (TLS 1.0
// allowed, CBC/SHA-1 suites, a stats page without credentials) and checks
// that the live audit fails HAP-4.1, HAP-4.2 and HAP-6.1 on what the
// probes saw: a live check that could only pass would go unnoticed by the
// hardened end-to-end test above.
func TestLiveAuditWeakHAProxy(t *testing.T) {
	needHAProxy(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	cert := filepath.Join(dir, "site.pem")
	writeCertPEM(t, cert)
	pTLS, pStats := freeTCPPort(t), freeTCPPort(t)
	// @SECLEVEL=0: OpenSSL 3 refuses TLS 1.0 and SHA-1 suites otherwise,
	// which would make the weak configuration strong by accident.
	cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.0 ciphers ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=0
    http-request return status 200 content-type text/plain string ok
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, pTLS, cert, pStats)
	cf := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cf, []byte(cfg), 0o644)
	pid := startProc(t, "127.0.0.1:"+strconv.Itoa(pTLS), haproxyBin, "-db", "-f", cf)
	hap := runLiveAudit(t, "-f", cf, "--target", "haproxy", "--pid", strconv.Itoa(pid))
	for _, id := range []string{"HAP-4.1", "HAP-4.2", "HAP-6.1"} {
		checkLive(t, "weak haproxy", hap, id, "FAIL")
		failLive := false
		for _, e := range hap[id].Evidence {
			failLive = failLive || strings.HasPrefix(e.Text, "live: ") && e.Verdict == "FAIL"
		}
		if !failLive {
			t.Errorf("%s: no live FAIL evidence (the probes missed the weakness): %+v", id, hap[id].Evidence)
		}
	}
}

// hasEvidence reports whether f has evidence with verdict v naming sub.
func hasEvidence(f jsonFinding, v, sub string) bool {
	for _, e := range f.Evidence {
		if e.Verdict == v && strings.Contains(e.Text, sub) {
			return true
		}
	}
	return false
}

// hasLive reports whether f has live evidence with verdict v whose text
// contains sub.
func hasLive(f jsonFinding, v, sub string) bool {
	for _, e := range f.Evidence {
		if strings.HasPrefix(e.Text, "live") && e.Verdict == v && strings.Contains(e.Text, sub) {
			return true
		}
	}
	return false
}

// TestLiveAuditHardenedAndWeak runs a real HAProxy twice per syslog
// transport (UDP and a unix datagram socket): hardened, and deliberately
// weak (certificate key readable by everyone, SHA256SUMS that does not
// match the binary, 'option dontlog-normal' so that a normal request
// leaves no log line). Each live check must reach the opposite verdict on
// the two, from what it observed: the served certificate and its files
// (HAP-4.3), the binary's checksum (HAP-1.1), the log line of a probe
// request (HAP-7.1), and the renegotiation probe (HAP-4.2, hardened only:
// HAProxy 2.6 cannot be configured to accept client renegotiation).
func TestLiveAuditHardenedAndWeak(t *testing.T) {
	needHAProxy(t)
	raw, err := os.ReadFile(haproxyBin)
	if err != nil {
		t.Skipf("cannot read %s to hash it: %v", haproxyBin, err)
	}
	sum := sha256.Sum256(raw)
	for _, logKind := range []string{"udp", "unix"} {
		for _, weak := range []bool{false, true} {
			name := logKind + "/hardened"
			if weak {
				name = logKind + "/weak"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				os.Chmod(dir, 0o755)
				cert := filepath.Join(dir, "site.pem")
				writeCertPEM(t, cert)
				sums := filepath.Join(dir, "SHA256SUMS")
				digest := hex.EncodeToString(sum[:])
				dontlog := ""
				if weak {
					os.Chmod(cert, 0o644)
					digest = strings.Repeat("0", 64)
					dontlog = "    option dontlog-normal\n"
				}
				os.WriteFile(sums, []byte(digest+"  "+haproxyBin+"\n"), 0o644)
				logTarget := "127.0.0.1:" + strconv.Itoa(freeUDPPortCLI(t))
				if logKind == "unix" {
					// Not created: the audit listens there for the probe.
					logTarget = filepath.Join(dir, "log.sock")
				}
				pTLS := freeTCPPort(t)
				cfg := fmt.Sprintf(`global
    log %s local0
defaults
    mode http
    log global
    option httplog
%s    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.2 ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384
    http-request return status 200 content-type text/plain string ok
`, logTarget, dontlog, pTLS, cert)
				cf := filepath.Join(dir, "haproxy.cfg")
				os.WriteFile(cf, []byte(cfg), 0o644)
				pid := startProc(t, "127.0.0.1:"+strconv.Itoa(pTLS), haproxyBin, "-db", "-f", cf)
				got := runLiveAudit(t, "-f", cf, "--target", "haproxy", "--pid", strconv.Itoa(pid), "--sha256sums", sums)

				want := map[bool]struct{ sums, cert, log string }{
					false: {"PASS", "PASS", "PASS"},
					true:  {"FAIL", "FAIL", "WARN"},
				}[weak]
				if !hasEvidence(got["HAP-1.1"], want.sums, sums) {
					t.Errorf("HAP-1.1 = %s, want %s live evidence from the checksum: %+v", got["HAP-1.1"].Verdict, want.sums, got["HAP-1.1"].Evidence)
				}
				if got["HAP-1.1"].Verdict != want.sums {
					t.Errorf("HAP-1.1 = %s, want %s", got["HAP-1.1"].Verdict, want.sums)
				}
				// The certificate served is the configured one either way;
				// the weak key file is what fails.
				if !hasLive(got["HAP-4.3"], "PASS", "") {
					t.Errorf("HAP-4.3: no live PASS for the served certificate: %+v", got["HAP-4.3"].Evidence)
				}
				if weak && !hasLive(got["HAP-4.3"], "FAIL", "") {
					t.Errorf("HAP-4.3: no live FAIL for the world-readable key: %+v", got["HAP-4.3"].Evidence)
				}
				if !weak && hasLive(got["HAP-4.3"], "FAIL", "") {
					t.Errorf("HAP-4.3: live FAIL on the hardened deployment: %+v", got["HAP-4.3"].Evidence)
				}
				if !hasLive(got["HAP-7.1"], want.log, "log line") || got["HAP-7.1"].Verdict != want.log {
					t.Errorf("HAP-7.1 = %s, want live %s about the probe's log line via %s: %+v", got["HAP-7.1"].Verdict, want.log, logKind, got["HAP-7.1"].Evidence)
				}
				if !weak && !hasLive(got["HAP-4.2"], "PASS", "refuses client-initiated renegotiation") {
					t.Errorf("HAP-4.2: no live renegotiation PASS: %+v", got["HAP-4.2"].Evidence)
				}
				if logKind == "unix" {
					if _, err := os.Lstat(logTarget); err == nil {
						t.Errorf("the audit left its probe socket %s behind", logTarget)
					}
				}
			})
		}
	}
}

func freeUDPPortCLI(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
