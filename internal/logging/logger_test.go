package logging

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
)

// newLogger compiles cfg (ADDR replaced by a UDP receiver on loopback)
// into a Logger and returns it with the receiver.
func newLogger(t *testing.T, cfg string) (*Logger, net.PacketConn) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	cfg = strings.ReplaceAll(cfg, "ADDR", pc.LocalAddr().String())
	ast, ds := config.Parse("test.cfg", []byte(cfg), config.LexOptions{})
	m, mds := model.Compile(ast, model.Options{})
	if ds = append(ds, mds...); ds.HasAlerts() {
		t.Fatal(ds)
	}
	pl, pds := plan.Compile(m, plan.Options{})
	if pds.HasAlerts() {
		t.Fatal(pds)
	}
	l, err := New(pl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l, pc
}

// received reads datagrams until none comes for a while (bounded).
func received(pc net.PacketConn, max int) []string {
	var out []string
	buf := make([]byte, 4096)
	for len(out) < max {
		pc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			break
		}
		out = append(out, string(buf[:n]))
	}
	return out
}

// "log ... sample 1,3:5" takes lines 1 and 3 of every 5 (reg-tests
// log/load_balancing.vtc: c6 and c8 of c6..c10).
func TestLogSample(t *testing.T) {
	l, pc := newLogger(t, `
defaults
    mode http
    timeout client 1s
    timeout server 1s
    timeout connect 1s
frontend fe
    bind 127.0.0.1:8080
    log ADDR sample 1,3:5 local0
    option httplog
    default_backend be
backend be
    server s 127.0.0.1:1
`)
	for i := 1; i <= 10; i++ {
		e := entry()
		e.Frontend = "fe"
		e.Request = "GET /c" + string(rune('0'+i%10)) + " HTTP/1.1"
		l.Log(e)
	}
	got := received(pc, 10)
	var paths []string
	for _, g := range got {
		i := strings.Index(g, "GET /c")
		paths = append(paths, g[i+5:i+7])
	}
	if strings.Join(paths, ",") != "c1,c3,c6,c8" {
		t.Fatalf("sampled lines %v", paths)
	}
}

func TestLogSampleErrors(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"1,3", "expects '<ranges>:<sample_size>'"},
		{"0:5", "the limits cannot be null"},
		{"1-6:5", "smaller than the range '1-6'"},
		{"1:x", "invalid sample size 'x'"},
	} {
		ast, _ := config.Parse("t.cfg", []byte("global\n log 127.0.0.1:514 sample "+tc.arg+" local0\n"), config.LexOptions{})
		_, ds := model.Compile(ast, model.Options{})
		if !ds.HasAlerts() || !strings.Contains(fmt.Sprint(ds), tc.want) {
			t.Errorf("sample %s: %v, want %q", tc.arg, ds, tc.want)
		}
	}
}

// "option log-separate-errors" sends 5xx and failed sessions at "err"
// (priority local0.err = 131), the rest at "info" (134).
func TestLogSeparateErrors(t *testing.T) {
	l, pc := newLogger(t, `
defaults
    mode http
    timeout client 1s
    timeout server 1s
    timeout connect 1s
frontend fe
    bind 127.0.0.1:8080
    log ADDR local0
    option log-separate-errors
    default_backend be
backend be
    server s 127.0.0.1:1
`)
	ok, bad, term := entry(), entry(), entry()
	ok.Frontend, bad.Frontend, term.Frontend = "fe", "fe", "fe"
	bad.Status = 503
	term.Term = "CD"
	l.Log(ok)
	l.Log(bad)
	l.Log(term)
	got := received(pc, 3)
	if len(got) != 3 || !strings.HasPrefix(got[0], "<134>") || !strings.HasPrefix(got[1], "<131>") || !strings.HasPrefix(got[2], "<131>") {
		t.Fatalf("lines %q", got)
	}
}

// "option logasap": the early line has "+" before the total time and the
// bytes.
func TestLogASAPRender(t *testing.T) {
	e := entry()
	e.ASAP = true
	got := string(AppendHTTPLog(nil, e))
	if !strings.Contains(got, " 10/0/30/69/+109 200 +2750 ") {
		t.Fatalf("got %s", got)
	}
}

// error-log-format renders the entries of failed connections; the
// others keep the proxy's format.
func TestErrorLogFormatSelected(t *testing.T) {
	l, pc := newLogger(t, `
defaults
    mode http
    timeout client 1s
    timeout server 1s
    timeout connect 1s
frontend fe
    bind 127.0.0.1:8080
    log ADDR local0
    log-format "REQ %ci"
    error-log-format "ERR %ci %ft"
    default_backend be
backend be
    server s 127.0.0.1:1
`)
	e, bad := entry(), entry()
	e.Frontend, bad.Frontend = "fe", "fe"
	bad.ConnError = true
	l.Log(e)
	l.Log(bad)
	got := received(pc, 2)
	if len(got) != 2 || !strings.HasSuffix(got[0], "REQ 10.0.1.2") || !strings.HasSuffix(got[1], "ERR 10.0.1.2 fe") {
		t.Fatalf("lines %q", got)
	}
}
