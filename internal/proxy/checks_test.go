package proxy

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"bulwark/internal/srvstate"

	"bulwark/internal/testtool"
)

// agentPeer answers the n-th agent connection (from 1) with replies[n-1],
// the last reply past the end, and counts connections. With gate set, it
// answers a connection only once the test sends on gate, so the test sees
// every state the agent causes.
func agentPeer(t *testing.T, gate chan struct{}, replies ...string) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	s := testtool.ListenSerial(t, func(c *testtool.Conn) {
		c.ReadUntil("\n") // agent-send "hi\n"
		if gate != nil {
			<-gate
		}
		i := int(n.Add(1))
		c.Write([]byte(replies[min(i, len(replies))-1] + "\n"))
	})
	return s.Addr, &n
}

// An agent that says "drain" then "down 30%": the server drains (weight
// kept), then goes DOWN with 30% of its weight, whatever its own state;
// "up 100%" brings it back. The changes reach the backend's logs.
func TestAgentDrainThenDown(t *testing.T) {
	gate := make(chan struct{})
	addr, _ := agentPeer(t, gate, "drain", "down 30%", "up ready 100%")
	// Runs before the peer's cleanup: frees a connection waiting for
	// its turn.
	t.Cleanup(func() { close(gate) })
	host, port, _ := net.SplitHostPort(addr)
	var mu sync.Mutex
	var logs []string
	px, _ := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    timeout check 10s
    server s1 H:1 weight 10 agent-check agent-port P agent-inter 2ms agent-send "hi\n"
`, "H", host, "P", port), Options{ProxyLog: func(proxy, level, msg string) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, proxy+"|"+level+"|"+msg)
	}})
	st := px.Current().backends["be"].srvs()[0].state
	state := func() string {
		cur := st.Load()
		return cur.Admin.String() + "/" + map[srvstate.Op]string{srvstate.Stopped: "DOWN", srvstate.Running: "UP"}[cur.Op] +
			"/" + strconv.Itoa(cur.Weight)
	}
	for _, want := range []string{"drain/UP/10", "drain/DOWN/3", "ready/UP/10"} {
		gate <- struct{}{}
		waitFor(t, func() bool { return state() == want }, "state "+want)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"be|notice|Server be/s1 enters drain state.", "be|alert|Server be/s1 is DOWN"}
	for _, w := range want {
		found := false
		for _, l := range logs {
			found = found || strings.HasPrefix(l, w)
		}
		if !found {
			t.Fatalf("no log %q in %q", w, logs)
		}
	}
}

// Weight from the agent is a share of the configured weight.
func TestAgentWeight(t *testing.T) {
	addr, conns := agentPeer(t, nil, "30%")
	host, port, _ := net.SplitHostPort(addr)
	px, _ := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    timeout check 10s
    server s1 H:1 weight 10 agent-check agent-port P agent-inter 2ms agent-send "hi\n"
`, "H", host, "P", port), Options{})
	st := px.Current().backends["be"].srvs()[0].state
	waitFor(t, func() bool { return conns.Load() >= 2 }, "two agent answers")
	if cur := st.Load(); cur.Weight != 3 || cur.InitialWeight != 10 || cur.Op != srvstate.Running {
		t.Fatalf("after 30%%: weight %d of %d, op %v", cur.Weight, cur.InitialWeight, cur.Op)
	}
}

// "option log-health-checks" logs each result that changed the status or
// the health, in HAProxy's words, to the backend's log targets.
func TestLogHealthChecks(t *testing.T) {
	a := newTestServer(t, "a", nil)
	cs := scriptedChecks(t, "xo")
	var mu sync.Mutex
	var logs []string
	startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    timeout check 5s
    option httpchk GET /health
    option log-health-checks
    server s1 A check port P inter 2ms rise 1 fall 1
`, "A", a.addr, "P", cs.port()), Options{ProxyLog: func(proxy, level, msg string) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, level+"|"+msg)
	}})
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(logs) >= 4
	}, "four messages")
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		`notice|Health check for server be/s1 failed, reason: Layer7 wrong status, code: 503, info: "Service Unavailable", check duration: `,
		`alert|Server be/s1 is DOWN, reason: Layer7 wrong status`,
		`emerg|backend be has no server available!`,
		`notice|Health check for server be/s1 succeeded, reason: Layer7 check passed, code: 200, check duration: `,
	}
	for i, w := range want {
		if !strings.HasPrefix(logs[i], w) {
			t.Fatalf("log %d %q, want %q...", i, logs[i], w)
		}
	}
	if !strings.HasSuffix(logs[0], "ms, status: 0/1 DOWN.") || !strings.HasSuffix(logs[3], "ms, status: 1/1 UP.") {
		t.Fatalf("counters in %q and %q", logs[0], logs[3])
	}
}

// "observe layer7": consecutive 5xx answers of real traffic take the
// server DOWN at error-limit with on-error mark-down, while its own
// check (at a long inter) passes; 501 is not an error. With rise 2 one
// passing check cannot bring it back during the test.
func TestObserveLayer7MarksDown(t *testing.T) {
	var code atomic.Int64
	code.Store(501)
	a := newTestServer(t, "a", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(int(code.Load())) })
	px, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 A check inter 1h observe layer7 error-limit 3 on-error mark-down
`, "A", a.addr), Options{})
	st := px.Current().backends["be"].srvs()[0].state
	client := &http.Client{}
	for i := 0; i < 4; i++ {
		httpGet(t, client, "http://"+addr+"/")
	}
	if cur := st.Load(); cur.Op != srvstate.Running || cur.ConsecutiveErrors != 0 {
		t.Fatalf("after 501s: %+v", cur)
	}
	code.Store(503)
	for i := 1; i <= 3; i++ {
		httpGet(t, client, "http://"+addr+"/")
		cur := st.Load()
		if down := cur.Op == srvstate.Stopped; down != (i == 3) {
			t.Fatalf("after %d errors: op %v", i, cur.Op)
		}
	}
	// The first active check may come at any moment and overwrite the
	// last check (HANA, see srvstate's tests); the failure stays counted.
	if cur := st.Load(); cur.FailedChecks < 1 {
		t.Fatalf("failed checks %d, want the analysis counted", cur.FailedChecks)
	}
}
