package audit

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark/internal/plan"
)

func TestParseProcAddr(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0100007F:1F90", "127.0.0.1:8080", true},
		{"00000000:0050", "0.0.0.0:80", true},
		{"00000000000000000000000000000000:01BB", "[::]:443", true},
		{"00000000000000000000000001000000:0016", "[::1]:22", true},
		{"zz:0050", "", false},
		{"0100007F", "", false},
	}
	for _, tc := range tests {
		got, ok := parseProcAddr(tc.in)
		if ok != tc.ok || (ok && got.String() != tc.want) {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// fakeProc lays out the parts of /proc that the live audit reads.
type fakeProcess struct {
	pid, ppid int
	uid       int
	exe, root string
	inodes    []string
}

func writeFakeProc(t *testing.T, procs []fakeProcess, tcp string) string {
	t.Helper()
	root := t.TempDir()
	for _, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(p.pid))
		os.MkdirAll(filepath.Join(dir, "fd"), 0o755)
		os.MkdirAll(filepath.Join(dir, "net"), 0o755)
		u := strconv.Itoa(p.uid)
		status := "Name:\t" + filepath.Base(p.exe) + "\nPPid:\t" + strconv.Itoa(p.ppid) +
			"\nUid:\t" + u + "\t" + u + "\t" + u + "\t" + u + "\nGid:\t" + u + "\t" + u + "\t" + u + "\t" + u + "\n"
		os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644)
		os.Symlink(p.exe, filepath.Join(dir, "exe"))
		os.Symlink(p.root, filepath.Join(dir, "root"))
		for i, ino := range p.inodes {
			os.Symlink("socket:["+ino+"]", filepath.Join(dir, "fd", strconv.Itoa(i+3)))
		}
		os.WriteFile(filepath.Join(dir, "net", "tcp"), []byte(tcp), 0o644)
	}
	return root
}

const fakeTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000    99        0 111 1 0 100 0 0 10 0
   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000    99        0 222 1 0 100 0 0 10 0
   2: 0100007F:1F91 0100007F:9999 01 00000000:00000000 00:00000000 00000000    99        0 333 1 0 100 0 0 10 0
`

func liveTarget(t *testing.T, cfg string) *Target {
	t.Helper()
	f := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(f, []byte(cfg), 0o644)
	tg, err := Load([]string{f}, ProductHAProxy, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestLiveProcessChecks(t *testing.T) {
	tests := []struct {
		name       string
		workerUID  int
		workerRoot string
		want21     Verdict
		want22     Verdict
	}{
		{"root master, unprivileged chrooted worker", 99, "/var/lib/haproxy", Pass, Pass},
		{"root worker", 0, "/var/lib/haproxy", Fail, Pass},
		{"worker not chrooted", 99, "/", Pass, Fail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proc := writeFakeProc(t, []fakeProcess{
				{pid: 100, ppid: 1, uid: 0, exe: "/usr/sbin/haproxy", root: "/"},
				{pid: 101, ppid: 100, uid: tc.workerUID, exe: "/usr/sbin/haproxy", root: tc.workerRoot, inodes: []string{"111", "222", "333"}},
				{pid: 200, ppid: 1, uid: 0, exe: "/usr/bin/sleep", root: "/"},
			}, fakeTCP)
			tg := liveTarget(t, "global\n  chroot /var/lib/haproxy\n  user haproxy\nfrontend f\n  bind 127.0.0.1:8080\n")
			lf := &LiveFacts{Product: ProductHAProxy}
			findProcs(tg, LiveOptions{ProcRoot: proc}, lf)
			if lf.ProcProblem != "" || len(lf.Procs) != 2 {
				t.Fatalf("procs %+v problem %q", lf.Procs, lf.ProcProblem)
			}
			if lf.Procs[0].Worker || !lf.Procs[1].Worker {
				t.Errorf("roles: %+v", lf.Procs)
			}
			if r := liveNonRoot(tg, lf); r.Verdict != tc.want21 {
				t.Errorf("HAP-2.1 %s: %s %+v", r.Verdict, r.Summary, r.Evidence)
			}
			if r := liveChroot(tg, lf); r.Verdict != tc.want22 {
				t.Errorf("HAP-2.2 %s: %s %+v", r.Verdict, r.Summary, r.Evidence)
			}
			lf.Listeners, lf.SocketsErr = listeners(proc, lf.Procs)
			if len(lf.Listeners) != 2 {
				t.Fatalf("listeners %v (%s)", lf.Listeners, lf.SocketsErr)
			}
			r := liveListeners(tg, lf)
			if r.Verdict != Fail || !strings.Contains(r.Summary, "wildcard") {
				t.Errorf("HAP-3.1 %s: %s", r.Verdict, r.Summary)
			}
			// No socket held: a finding only when the configuration
			// binds something (Debian's stock file binds nothing).
			lf.Listeners, lf.SocketsErr = nil, ""
			if r := liveListeners(tg, lf); r.Verdict != Warn {
				t.Errorf("HAP-3.1, binds configured, none held: %s %s", r.Verdict, r.Summary)
			}
			noBind := liveTarget(t, "global\n  user haproxy\ndefaults\n  mode http\n")
			if r := liveListeners(noBind, lf); r.Verdict != Skip {
				t.Errorf("HAP-3.1, nothing configured, none held: %s %s", r.Verdict, r.Summary)
			}
		})
	}
}

func TestLiveWrongPID(t *testing.T) {
	tg := liveTarget(t, "global\n  user haproxy\n  group haproxy\nfrontend f\n  bind 127.0.0.1:8080\n")
	tests := []struct {
		name string
		o    LiveOptions
		want string
	}{
		{"not a proxy", LiveOptions{PID: os.Getpid()}, "not a haproxy process"},
		{"not running", LiveOptions{PID: 1 << 30}, "is not running"},
		{"bad pidfile", LiveOptions{PIDFile: filepath.Join(t.TempDir(), "none.pid")}, "cannot read pidfile"},
		{"pidfile of a dead process", LiveOptions{PIDFile: pidFile(t, 1<<30)}, "is not running"},
		{"pidfile of a foreign process", LiveOptions{PIDFile: pidFile(t, os.Getpid())}, "not a haproxy process"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg.Live = GatherLive(tg, tc.o)
			if !strings.Contains(tg.Live.ProcProblem, tc.want) {
				t.Fatalf("problem %q, want %q", tg.Live.ProcProblem, tc.want)
			}
			rep := Run(tg, Selection{Only: []string{"HAP-2.1"}})
			if f := rep.Findings[0]; f.Verdict != Warn || !strings.Contains(f.Summary, tc.want) {
				t.Errorf("HAP-2.1 %s %q", f.Verdict, f.Summary)
			}
		})
	}
}

func pidFile(t *testing.T, pid int) string {
	f := filepath.Join(t.TempDir(), "proxy.pid")
	if err := os.WriteFile(f, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestLiveProbesTLSPortThatNeverAnswers: a TLS bind whose port accepts
// connections and then says nothing is one clear finding per control,
// reached within a bounded time, not a hang.
func TestLiveProbesTLSPortThatNeverAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn // kept open and silent until the test ends
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	tg := liveTarget(t, "defaults\n  mode http\nfrontend f\n  bind "+l.Addr().String()+" ssl crt /nonexistent.pem\n")
	start := time.Now()
	lf := &LiveFacts{}
	probeAll(tg, LiveOptions{Timeout: time.Second}, lf)
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("probes of a silent TLS port took %v", d) // a hang, not a speed assertion
	}
	tg.Live = lf
	rep := Run(tg, Selection{Only: []string{"HAP-4.1", "HAP-4.2", "HAP-4.3"}})
	for _, f := range rep.Findings {
		if f.Control.Extra {
			continue
		}
		found := false
		for _, e := range f.Evidence {
			found = found || e.Verdict == Warn && strings.Contains(e.Text, l.Addr().String()+" accepts connections but completed no TLS handshake")
		}
		if !found {
			t.Errorf("%s %s: no live WARN about the silent bind: %+v", f.Control.ID, f.Verdict, f.Evidence)
		}
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestLiveProbesSilentBindsAndRemote(t *testing.T) {
	p1, p2 := freePort(t), freePort(t)
	cfg := "defaults\n  mode http\nfrontend f\n  bind 127.0.0.1:" + strconv.Itoa(p1) + " ssl crt /nonexistent.pem\n" +
		"  bind 127.0.0.1:" + strconv.Itoa(p2) + "\n  bind 198.51.100.7:80\n"
	tg := liveTarget(t, cfg)
	start := time.Now()
	lf := &LiveFacts{}
	probeAll(tg, LiveOptions{Timeout: time.Second}, lf)
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("probes of closed ports took %v", d) // a hang, not a speed assertion
	}
	tg.Live = lf
	rep := Run(tg, Selection{Only: []string{"HAP-4.1", "HAP-5.1", "HAP-5.2"}})
	for _, f := range rep.Findings {
		if f.Control.Extra {
			continue
		}
		text := ""
		for _, e := range f.Evidence {
			text += e.Text + "\n"
		}
		if !strings.Contains(text, "does not answer") {
			t.Errorf("%s: no 'does not answer' evidence:\n%s", f.Control.ID, text)
		}
		if f.Control.ID != "HAP-4.1" && !strings.Contains(text, "198.51.100.7:80 is not an address of this host") {
			t.Errorf("%s: remote bind not reported as unprobed:\n%s", f.Control.ID, text)
		}
	}
}

func TestLiveProbeTargetsWildcard(t *testing.T) {
	tg := liveTarget(t, "defaults\n  mode http\nfrontend f\n  bind :8080\n  bind [::]:8081\n")
	got := probeTargets(LiveOptions{}, &LiveFacts{}, appFrontends(tg.Model))
	want := []string{"127.0.0.1:8080", "[::1]:8081"}
	if len(got) != 2 || got[0].addr != want[0] || got[1].addr != want[1] {
		t.Errorf("targets %+v, want %v", got, want)
	}
	_ = netip.Addr{}
}

func TestLiveProbeTargetsHostNames(t *testing.T) {
	tg := liveTarget(t, "defaults\n  mode http\nfrontend f\n  bind proxy.example:8080\n  bind gone.example:8081\n  bind ipv6@proxy.example:8082\n")
	lookups := 0
	o := LiveOptions{lookupHost: func(ctx context.Context, h string) ([]netip.Addr, error) {
		lookups++
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > bindResolveTimeout {
			t.Errorf("lookup of %s without a %v deadline", h, bindResolveTimeout)
		}
		if h == "proxy.example" {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("198.51.100.9"), netip.MustParseAddr("::1")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: h, IsNotFound: true}
	}}
	lf := &LiveFacts{}
	got := probeTargets(o, lf, appFrontends(tg.Model), "headers")
	var addrs []string
	for _, pt := range got {
		addrs = append(addrs, pt.addr)
	}
	if want := "127.0.0.1:8080 [::1]:8080 [::1]:8082"; strings.Join(addrs, " ") != want {
		t.Errorf("targets %v, want %s", addrs, want)
	}
	var notes []string
	for _, n := range lf.ProbeNotes {
		notes = append(notes, n.Text)
	}
	text := strings.Join(notes, "\n")
	for _, want := range []string{"proxy.example:8080 resolves to 198.51.100.9, not an address of this host", "gone.example:8081: host name does not resolve (no such host)"} {
		if !strings.Contains(text, want) {
			t.Errorf("notes lack %q:\n%s", want, text)
		}
	}
	if lookups != 2 {
		t.Errorf("%d lookups, want 2 (one per name)", lookups)
	}
	o.ProbeRemote = true
	if got := probeTargets(o, &LiveFacts{}, appFrontends(tg.Model)); len(got) != 4 {
		t.Errorf("--probe-remote: %d targets, want 4", len(got))
	}
}
