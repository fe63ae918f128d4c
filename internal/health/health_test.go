package health

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bulwark/internal/srvstate"

	"bulwark/internal/testtool"
)

func TestProbeTCPAndHTTP(t *testing.T) {
	var status atomic.Int64
	status.Store(200)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		io.WriteString(w, "x")
	})}
	go srv.Serve(l)
	defer srv.Close()
	addr := l.Addr().String()
	ctx := context.Background()
	if r := Probe(ctx, Spec{Addr: addr, Inter: time.Second}); r.Status != srvstate.CheckL4OK {
		t.Fatalf("tcp check: %+v", r)
	}
	hc := &HTTPCheck{Method: "OPTIONS", URI: "/", Version: "HTTP/1.0"}
	if r := Probe(ctx, Spec{Addr: addr, Inter: time.Second, HTTP: hc}); r.Status != srvstate.CheckL7OK || r.Code != 200 || r.Info != "" {
		t.Fatalf("http check: %+v", r)
	}
	status.Store(503)
	r := Probe(ctx, Spec{Addr: addr, Inter: time.Second, HTTP: hc})
	if r.Status != srvstate.CheckL7STS || r.Code != 503 || r.Info != "Service Unavailable" {
		t.Fatalf("http check on 503: %+v", r)
	}
	if got := r.Desc(); got != `Layer7 wrong status, code: 503, info: "Service Unavailable"` {
		t.Fatalf("description %q", got)
	}
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l2.Addr().String()
	l2.Close()
	if r := Probe(ctx, Spec{Addr: dead, Inter: time.Second}); r.Status != srvstate.CheckL4CON || r.Info != "Connection refused" {
		t.Fatalf("dead server: %+v", r)
	}
}

// scriptServer answers the n-th HTTP check (from 1) with 200 when
// script[n-1] is 'o' and 503 when it is 'x'; past the script it keeps the
// last answer. It counts the checks it received.
type scriptServer struct {
	addr   string
	checks atomic.Int64
}

func newScriptServer(t *testing.T, script string) *scriptServer {
	t.Helper()
	s := &scriptServer{}
	s.addr = testtool.ListenSerial(t, func(c *testtool.Conn) {
		n := int(s.checks.Add(1))
		step := script[min(n, len(script))-1]
		c.ReadUntil("\r\n\r\n")
		if step == 'o' {
			io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\n")
		} else {
			io.WriteString(c, "HTTP/1.0 503 Service Unavailable\r\n\r\n")
		}
	}).Addr
	return s
}

// run checks one server through its script with the checker's waits
// replaced: it records the interval asked for after each check and the
// state then, and stops after len(script) checks. Nothing sleeps.
type run struct {
	waits  []time.Duration // waits[0] is the initial offset
	sent   []int64         // checks the server had received at each wait
	states []srvstate.Snapshot
	moves  []string // "DOWN@3": a transition and the check that caused it
}

func runScript(t *testing.T, script string, cfg srvstate.Config, spec Spec, hook func(call int, st *srvstate.Server)) run {
	t.Helper()
	srv := newScriptServer(t, script)
	st := srvstate.New(cfg)
	c := New()
	var (
		mu  sync.Mutex
		out run
	)
	done := make(chan struct{})
	calls := 0
	c.wait = func(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
		mu.Lock()
		defer mu.Unlock()
		calls++
		out.waits = append(out.waits, d)
		out.sent = append(out.sent, srv.checks.Load())
		if calls > 1 {
			out.states = append(out.states, st.Load())
		}
		if hook != nil {
			hook(calls, st)
		}
		if srv.checks.Load() >= int64(len(script)) || calls > 4*len(script)+8 {
			close(done)
			return false
		}
		return true
	}
	spec.Addr = srv.addr
	spec.HTTP = &HTTPCheck{Method: "GET", URI: "/", Version: "HTTP/1.0"}
	c.Watch(spec, 7*time.Millisecond, st, func(before, after srvstate.Snapshot) {
		mu.Lock()
		defer mu.Unlock()
		word := map[srvstate.Op]string{srvstate.Stopped: "DOWN", srvstate.Running: "UP", srvstate.Stopping: "NOLB"}[after.Op]
		// The checker is sequential: the check just reported is the last
		// one the server received.
		out.moves = append(out.moves, fmt.Sprintf("%s@%d", word, srv.checks.Load()))
	})
	<-done
	c.Stop()
	if n := srv.checks.Load(); n != int64(len(script)) {
		t.Fatalf("%d checks sent, want %d", n, len(script))
	}
	return out
}

// The rise/fall counter of HAProxy 2.6, counted in checks: a server
// starting UP goes DOWN at the first failed check; from full health it
// takes exactly fall failures; from DOWN exactly rise successes.
func TestRiseFallCountsChecks(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rise, fall int
		script     string
		want       string
	}{
		{"down at the first failure from the initial state", 2, 3, "x", "DOWN@1"},
		{"initial success gives full health", 2, 3, "oxx", ""},
		{"full health falls after exactly fall failures", 2, 3, "oxxx", "DOWN@4"},
		{"fall 1", 3, 1, "ox", "DOWN@2"},
		{"down comes back after exactly rise successes", 3, 2, "xooo", "DOWN@1 UP@4"},
		{"rise 1", 1, 5, "xo", "DOWN@1 UP@2"},
		{"a success while going down restores full health", 2, 3, "oxxoxxx", "DOWN@7"},
		{"a failure while going up starts over", 3, 2, "xooxooo", "DOWN@1 UP@7"},
		{"flapping", 2, 2, "xooxxoo", "DOWN@1 UP@3 DOWN@5 UP@7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runScript(t, tc.script, srvstate.Config{Weight: 1, Checked: true, Rise: tc.rise, Fall: tc.fall},
				Spec{Inter: time.Second}, nil)
			if got := strings.Join(r.moves, " "); got != tc.want {
				t.Fatalf("rise %d fall %d, checks %q: transitions %q, want %q", tc.rise, tc.fall, tc.script, got, tc.want)
			}
		})
	}
}

// inter at full health, fastinter while going up or down, downinter when
// fully down; the stats status shows the counter while changing state.
func TestIntervalsAndStatus(t *testing.T) {
	spec := Spec{Inter: 1000 * time.Millisecond, FastInter: 100 * time.Millisecond, DownInter: 10 * time.Second}
	r := runScript(t, "oxxoo", srvstate.Config{Weight: 1, Checked: true, Rise: 2, Fall: 2}, spec, nil)
	wantWaits := []time.Duration{7 * time.Millisecond, time.Second, 100 * time.Millisecond, 10 * time.Second,
		100 * time.Millisecond, time.Second}
	if fmt.Sprint(r.waits) != fmt.Sprint(wantWaits) {
		t.Fatalf("waits %v, want %v", r.waits, wantWaits)
	}
	var status []string
	for _, s := range r.states {
		status = append(status, s.Status())
	}
	if got, want := strings.Join(status, ","), "UP,UP 1/2,DOWN,DOWN 1/2,UP"; got != want {
		t.Fatalf("status after each check %q, want %q", got, want)
	}
	if last := r.states[len(r.states)-1]; last.Check.Status != srvstate.CheckL7OK || last.FailedChecks != 2 || last.DownTransitions != 1 {
		t.Fatalf("last state %+v", last)
	}
	// Without fastinter and downinter, inter everywhere.
	r = runScript(t, "oxxo", srvstate.Config{Weight: 1, Checked: true, Rise: 2, Fall: 2}, Spec{Inter: time.Second}, nil)
	for i, d := range r.waits[1:] {
		if d != time.Second {
			t.Fatalf("wait %d = %v, want inter", i+1, d)
		}
	}
}

// No check is sent while the server is in maintenance; leaving it brings
// the server UP with a health of rise, so one failure takes it DOWN.
func TestNoChecksInMaintenance(t *testing.T) {
	r := runScript(t, "x", srvstate.Config{Weight: 1, Checked: true, Rise: 2, Fall: 3, Disabled: true},
		Spec{Inter: time.Second}, func(call int, st *srvstate.Server) {
			if call == 5 {
				st.SetAdmin(srvstate.Ready)
			}
		})
	if fmt.Sprint(r.sent) != "[0 0 0 0 0 1]" {
		t.Fatalf("checks received at each wait %v: checks ran in maintenance", r.sent)
	}
	for i, st := range r.states[:4] {
		if st.Status() != "MAINT" || st.Check.Status != srvstate.CheckIni {
			t.Fatalf("state %d in maintenance: %q %v", i, st.Status(), st.Check.Status)
		}
	}
	if got := strings.Join(r.moves, " "); got != "DOWN@1" {
		t.Fatalf("transitions %q, want DOWN@1 (the first failure after maintenance)", got)
	}
}

// The scheduler, with real timers: every server is checked, a server in
// maintenance with an interval of an hour is checked at once when it
// leaves maintenance (the wake reaches the one scheduler goroutine), and
// no check starts after Stop.
func TestSchedulerWakesAndStops(t *testing.T) {
	var srvs []*scriptServer
	c := New()
	for i := 0; i < 3; i++ {
		srv := newScriptServer(t, "o")
		srvs = append(srvs, srv)
		st := srvstate.New(srvstate.Config{Weight: 1, Checked: true})
		c.Watch(Spec{Addr: srv.addr, Inter: 20 * time.Millisecond, HTTP: &HTTPCheck{Method: "GET", URI: "/"}},
			time.Duration(i)*5*time.Millisecond, st, nil)
	}
	sleeper := newScriptServer(t, "o")
	st := srvstate.New(srvstate.Config{Weight: 1, Checked: true, Disabled: true})
	c.Watch(Spec{Addr: sleeper.addr, Inter: time.Hour, HTTP: &HTTPCheck{Method: "GET", URI: "/"}}, 0, st, nil)
	deadline := time.Now().Add(5 * time.Second)
	for _, srv := range srvs {
		for srv.checks.Load() < 3 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := srv.checks.Load(); n < 3 {
			t.Fatalf("server %s got %d checks in 5 s at inter 20ms", srv.addr, n)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if n := sleeper.checks.Load(); n != 0 {
		t.Fatalf("%d checks sent to a server in maintenance", n)
	}
	st.SetAdmin(srvstate.Ready)
	for sleeper.checks.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if sleeper.checks.Load() != 1 {
		t.Fatalf("leaving maintenance: %d checks, want 1 at once (inter is an hour)", sleeper.checks.Load())
	}
	c.Stop()
	var after []int64
	for _, srv := range srvs {
		after = append(after, srv.checks.Load())
	}
	time.Sleep(100 * time.Millisecond)
	for i, srv := range srvs {
		if n := srv.checks.Load(); n != after[i] {
			t.Fatalf("server %d: %d checks after Stop (had %d)", i, n, after[i])
		}
	}
}
