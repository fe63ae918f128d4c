package proxy

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// The trimmer trims once per quiet period after activity, only when the
// heap held grew by more than trimGrowth (and a quarter) since the last
// trim, and never twice within trimGap.
func TestTrimmerDecisions(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	const mb = 1 << 20
	tr := trimmer{base: 10 * mb, lastAct: 5}
	steps := []struct {
		at   float64
		act  uint64
		held uint64
		want bool
	}{
		{1, 5, 40 * mb, false},   // no activity yet: nothing to trim after
		{2, 9, 40 * mb, false},   // busy
		{2.5, 9, 40 * mb, false}, // quiet for less than trimQuiet
		{3, 9, 40 * mb, true},    // quiet for trimQuiet after activity, heap grew
		{4, 9, 40 * mb, false},   // one decision per quiet period
		{5, 12, 40 * mb, false},  // busy again
		{6, 12, 40 * mb, false},  // quiet, but within trimGap of the last trim
		{20, 15, 20 * mb, false},
		{21, 15, 20 * mb, false}, // quiet, heap near the base: not worth it
		{30, 16, 80 * mb, false},
		{31, 16, 80 * mb, true},
	}
	for _, st := range steps {
		got := tr.due(st.act, st.held, at(st.at))
		if got != st.want {
			t.Fatalf("at %gs (activity %d, held %d MB): due %v, want %v", st.at, st.act, st.held/mb, got, st.want)
		}
		if got {
			tr.trimmed(15*mb, at(st.at))
		}
	}
}

// A running proxy trims once it is quiet after a burst that grew the heap,
// unless "no-memory-trimming" says not to.
func TestTrimWhenQuiet(t *testing.T) {
	for _, tc := range []struct {
		global string
		want   int64
	}{{"", 1}, {"global\n    no-memory-trimming\n", 0}} {
		t.Run(map[int64]string{1: "trim", 0: "no-memory-trimming"}[tc.want], func(t *testing.T) {
			backend := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			// The trimmer's base is the heap held at Start. The tests run
			// before this one leave free pages the runtime holds: the
			// burst below would reuse them and not grow the heap held, and
			// with a base that large a quarter of it is more than the
			// burst (0 trims in some whole-package runs, 1 alone).
			debug.FreeOSMemory()
			px, addr := startProxy(t, tc.global+sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B
`, "B", backend))
			// A burst's worth of heap, held while the proxy is busy.
			junk := make([][]byte, 64)
			for i := range junk {
				junk[i] = make([]byte, 1<<20)
			}
			if out := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second); statusOf(out) != 200 {
				t.Fatalf("request: %q", out)
			}
			runtime.KeepAlive(junk)
			junk = nil
			rt := px.Current()
			deadline := time.Now().Add(trimQuiet + 3*trimTick)
			for rt.trims.Load() < tc.want && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if tc.want == 0 {
				time.Sleep(trimQuiet + 2*trimTick)
			}
			if got := rt.trims.Load(); got != tc.want {
				t.Errorf("%d trims, want %d", got, tc.want)
			}
		})
	}
}
