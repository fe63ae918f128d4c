package proxy

import (
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

// checkServer answers HTTP health checks with the status in status and
// counts them. With hold set, each check waits for its status on answer
// after announcing itself on held, so a test can keep one in flight.
type checkServer struct {
	addr   string
	checks atomic.Int64
	status atomic.Int64
	hold   atomic.Bool
	held   chan struct{}
	answer chan int
}

func newCheckServer(t *testing.T, status int) *checkServer {
	t.Helper()
	cs := &checkServer{held: make(chan struct{}, 1), answer: make(chan int)}
	cs.status.Store(int64(status))
	cs.addr = testtool.ListenSerial(t, func(c *testtool.Conn) {
		cs.checks.Add(1)
		c.ReadUntil("\r\n\r\n")
		code := int(cs.status.Load())
		if cs.hold.Load() {
			cs.held <- struct{}{}
			code = <-cs.answer
		}
		fmt.Fprintf(c, "HTTP/1.0 %d %s\r\n\r\n", code, http.StatusText(code))
	}).Addr
	return cs
}

func (cs *checkServer) port() string {
	_, p, _ := net.SplitHostPort(cs.addr)
	return p
}

// waitChecks waits until cs has received n more checks than now.
func waitChecks(t *testing.T, cs *checkServer, n int64) {
	t.Helper()
	from := cs.checks.Load()
	waitFor(t, func() bool { return cs.checks.Load() >= from+n }, fmt.Sprintf("%d more checks", n))
}

// serversState parses "show servers state": "be/srv" -> column -> value.
func serversState(t *testing.T, sock string) map[string]map[string]string {
	t.Helper()
	out := apiCall(t, sock, "show servers state")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || lines[0] != "1" || !strings.HasPrefix(lines[1], "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight") {
		t.Fatalf("show servers state: %q", out)
	}
	cols := strings.Fields(strings.TrimPrefix(lines[1], "# "))
	res := map[string]map[string]string{}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != len(cols) {
			t.Fatalf("%d fields, want %d: %q", len(f), len(cols), l)
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = f[i]
		}
		res[row["be_name"]+"/"+row["srv_name"]] = row
	}
	return res
}

// statFields parses HAProxy's CSV: "proxy/svname" -> column -> value.
func statFields(t *testing.T, text string) map[string]map[string]string {
	t.Helper()
	if !strings.HasPrefix(text, "# ") {
		t.Fatalf("not a stats CSV: %q", text)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(text, "# ")))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, text)
	}
	res := map[string]map[string]string{}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, c := range recs[0] {
			row[c] = rec[i]
		}
		res[row["pxname"]+"/"+row["svname"]] = row
	}
	return res
}

func body(t *testing.T, url string) string {
	t.Helper()
	_, b := httpGet(t, &http.Client{}, url)
	return b
}

// maint survives a DOWN/UP flap of the check: "disable server", a check
// in flight when it came answering UP (rise 1), then the check server
// failing and recovering. The server stays out of rotation and in
// maintenance, and no check is sent while it is there (HAProxy pauses
// them); "enable server" brings it back at once.
func TestMaintSurvivesCheckFlap(t *testing.T) {
	a := newTestServer(t, "a", nil)
	b := newTestServer(t, "b", nil)
	ca, cb := newCheckServer(t, 200), newCheckServer(t, 200)
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub(`
global
    stats socket SOCK level admin
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    option httpchk GET /health
    timeout check 5s
    server s1 A check port PA inter 5ms rise 1 fall 1
    server s2 B check port PB inter 5ms rise 1 fall 1
`, "SOCK", sock, "A", a.addr, "B", b.addr, "PA", ca.port(), "PB", cb.port()))
	waitChecks(t, ca, 2)
	waitChecks(t, cb, 2)

	ca.hold.Store(true)
	<-ca.held // a check of s1 is in flight
	if out := apiCall(t, sock, "disable server be/s1"); strings.TrimSpace(out) != "" {
		t.Fatalf("disable: %q", out)
	}
	ca.hold.Store(false)
	ca.answer <- 200
	sent := ca.checks.Load()
	// s2 is checked at the same interval: while it gets 10 checks, s1
	// would get as many if its checks ran.
	ca.status.Store(503)
	waitChecks(t, cb, 5)
	ca.status.Store(200)
	waitChecks(t, cb, 5)
	if n := ca.checks.Load() - sent; n != 0 {
		t.Errorf("%d checks sent to a server in maintenance", n)
	}
	before := a.hits.Load()
	for i := 0; i < 6; i++ {
		if got := body(t, "http://"+addr+"/"); got != "b" {
			t.Fatalf("request %d went to %q with s1 in maintenance", i, got)
		}
	}
	if a.hits.Load() != before {
		t.Fatal("s1 in maintenance got traffic")
	}
	st := serversState(t, sock)["be/s1"]
	if st["srv_op_state"] != "0" || st["srv_admin_state"] != "1" || st["srv_check_state"] != "14" {
		t.Fatalf("s1 after the flap: op %s admin %s check state %s, want 0 1 14 (DOWN, forced maintenance, checks paused)",
			st["srv_op_state"], st["srv_admin_state"], st["srv_check_state"])
	}
	if row := statFields(t, apiCall(t, sock, "show stat"))["be/s1"]; row["status"] != "MAINT" || row["check_status"] != "" {
		t.Fatalf("show stat s1: status %q check_status %q", row["status"], row["check_status"])
	}

	apiCall(t, sock, "enable server be/s1")
	st = serversState(t, sock)["be/s1"]
	if st["srv_op_state"] != "2" || st["srv_admin_state"] != "0" {
		t.Fatalf("s1 after enable: op %s admin %s", st["srv_op_state"], st["srv_admin_state"])
	}
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		seen[body(t, "http://"+addr+"/")] = true
	}
	if !seen["a"] {
		t.Fatal("s1 gets no traffic after enable server")
	}
	waitChecks(t, ca, 1) // checks resumed
}

// After "disable server" and "set server ... state drain" the stats page,
// its CSV and "show stat" agree with HAProxy: MAINT and DRAIN, weight 0
// while draining, a backend with no server left DOWN; check_status comes
// from the last check.
func TestStatsShowMaintAndDrain(t *testing.T) {
	a := newTestServer(t, "a", nil)
	b := newTestServer(t, "b", nil)
	c := newTestServer(t, "c", nil)
	ok, bad := newCheckServer(t, 200), newCheckServer(t, 503)
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub(`
global
    stats socket SOCK level admin
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    stats enable
    stats uri /stats
    use_backend solo if { path_beg /solo }
    default_backend be
backend be
    option httpchk GET /health
    timeout check 5s
    server s1 A check port POK inter 5ms
    server s2 B check port PBAD inter 5ms
backend solo
    timeout check 5s
    server s3 C check inter 5ms weight 4
`, "SOCK", sock, "A", a.addr, "B", b.addr, "C", c.addr, "POK", ok.port(), "PBAD", bad.port()))
	waitFor(t, func() bool {
		st := serversState(t, sock)
		return st["be/s2"]["srv_op_state"] == "0" && st["solo/s3"]["srv_check_status"] == "6"
	}, "s2 DOWN and s3 checked")
	waitChecks(t, ok, 1)
	stats := func() []map[string]map[string]string {
		page := body(t, "http://"+addr+"/stats;csv")
		return []map[string]map[string]string{statFields(t, page), statFields(t, apiCall(t, sock, "show stat"))}
	}
	for i, s := range stats() {
		for key, want := range map[string][2]string{
			"be/s1": {"UP", "L7OK"}, "be/s2": {"DOWN", "L7STS"}, "solo/s3": {"UP", "L4OK"},
		} {
			if s[key]["status"] != want[0] || s[key]["check_status"] != want[1] {
				t.Fatalf("view %d %s: status %q check %q, want %q", i, key, s[key]["status"], s[key]["check_status"], want)
			}
		}
		if s2 := s["be/s2"]; s2["check_code"] != "503" || s2["check_desc"] != "Layer7 wrong status" ||
			s2["last_chk"] != "Service Unavailable" || s2["check_health"] != "0" || s2["chkdown"] != "1" {
			t.Fatalf("view %d be/s2 check fields: %v", i, s2)
		}
		if be := s["be/BACKEND"]; be["status"] != "UP" || be["act"] != "1" || be["weight"] != "1" {
			t.Fatalf("view %d be/BACKEND: %v", i, be)
		}
	}

	apiCall(t, sock, "disable server be/s1")
	apiCall(t, sock, "set server solo/s3 state drain")
	for i, s := range stats() {
		if s1 := s["be/s1"]; s1["status"] != "MAINT" || s1["check_status"] != "" || s1["weight"] != "1" {
			t.Fatalf("view %d be/s1 in maintenance: %v", i, s1)
		}
		if s3 := s["solo/s3"]; s3["status"] != "DRAIN" || s3["weight"] != "0" || s3["uweight"] != "4" || s3["check_status"] != "L4OK" {
			t.Fatalf("view %d solo/s3 draining: %v", i, s3)
		}
		for _, key := range []string{"be/BACKEND", "solo/BACKEND"} {
			if be := s[key]; be["status"] != "DOWN" || be["act"] != "0" || be["weight"] != "0" {
				t.Fatalf("view %d %s with no server left: %v", i, key, be)
			}
		}
	}
	page := body(t, "http://"+addr+"/stats")
	for _, want := range []string{`<tr class="maintain"><td class="n">s1</td>`, `<tr class="active_draining"><td class="n">s3</td>`, " DRAIN</td>", "<td>0/4</td>", "L7STS/503 in "} {
		if !strings.Contains(page, want) {
			t.Errorf("stats page lacks %q", want)
		}
	}
	if got := apiCall(t, sock, "get weight solo/s3"); !strings.HasPrefix(got, "4 (initial 4)") {
		t.Fatalf("get weight of a draining server: %q", got)
	}
	resp, _ := httpGet(t, &http.Client{}, "http://"+addr+"/solo")
	if resp.StatusCode != 503 {
		t.Fatalf("request to a backend whose only server drains: %d", resp.StatusCode)
	}
	apiCall(t, sock, "set server solo/s3 state ready")
	if s3 := stats()[1]["solo/s3"]; s3["status"] != "UP" || s3["weight"] != "4" {
		t.Fatalf("solo/s3 ready again: %v", s3)
	}
	if got := body(t, "http://"+addr+"/solo"); got != "c" {
		t.Fatalf("solo after ready: %q", got)
	}
}

// Runtime API connections change a server's state concurrently while its
// checks run; under -race this is the data race of issue 8. The balancer
// ends with the view of the last write.
func TestConcurrentAdminWrites(t *testing.T) {
	a := newTestServer(t, "a", nil)
	sock := filepath.Join(t.TempDir(), "api.sock")
	px, addr := startProxy(t, sub(`
global
    stats socket SOCK level admin
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    timeout check 5s
    server s1 A check inter 1ms
`, "SOCK", sock, "A", a.addr))
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				cmd := []string{"disable server be/s1", "set server be/s1 state drain", "enable server be/s1",
					"set weight be/s1 3", "show stat", "show servers state"}[(g+i)%6]
				c, err := net.Dial("unix", sock)
				if err != nil {
					t.Error(err)
					return
				}
				c.SetDeadline(time.Now().Add(3 * time.Second))
				io.WriteString(c, cmd+"\n")
				io.ReadAll(c)
				c.Close()
			}
		}(g)
	}
	wg.Wait()
	apiCall(t, sock, "set server be/s1 state ready")
	s := px.cur.Load().backends["be"].srvs()[0]
	cur := s.state.Load()
	if v := cur.View(); !v.Usable || s.lb.Usable() != v.Usable || s.lb.Weight() != v.Weight {
		t.Fatalf("balancer has usable %v weight %d, state says %+v", s.lb.Usable(), s.lb.Weight(), v)
	}
	if got := body(t, "http://"+addr+"/"); got != "a" {
		t.Fatalf("after ready: %q", got)
	}
}

// scriptedChecks answers the n-th check (from 1) with 200 when script[n-1]
// is 'o', 503 when 'x', and the last answer past the end.
func scriptedChecks(t *testing.T, script string) *checkServer {
	t.Helper()
	cs := &checkServer{}
	cs.addr = testtool.ListenSerial(t, func(c *testtool.Conn) {
		n := int(cs.checks.Add(1))
		c.ReadUntil("\r\n\r\n")
		if script[min(n, len(script))-1] == 'o' {
			io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\n")
		} else {
			io.WriteString(c, "HTTP/1.0 503 Service Unavailable\r\n\r\n")
		}
	}).Addr
	return cs
}

// The configured rise and fall reach the checks, counted in checks: with
// rise 3 and fall 2, a server at full health goes DOWN at the 2nd failure
// and comes back at the 3rd success. The events are HAProxy's messages.
func TestRiseFallFromConfig(t *testing.T) {
	a := newTestServer(t, "a", nil)
	cs := scriptedChecks(t, "oxxooo")
	var mu sync.Mutex
	var moves, msgs, others []string
	startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    option httpchk GET /health
    timeout check 5s
    server s1 A check port P inter 2ms fastinter 2ms downinter 2ms rise 3 fall 2
`, "A", a.addr, "P", cs.port()), Options{Event: func(msg string) {
		// Events come from the checker between two checks: the count is
		// the number of the check that caused this one.
		n := cs.checks.Load()
		mu.Lock()
		defer mu.Unlock()
		if !strings.HasPrefix(msg, "Server ") {
			others = append(others, msg)
			return
		}
		word := "UP"
		if strings.Contains(msg, " is DOWN") {
			word = "DOWN"
		}
		moves = append(moves, fmt.Sprintf("%s@%d", word, n))
		msgs = append(msgs, msg)
	}})
	// Past twice the script, a missing transition will not come.
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(moves) >= 2 || cs.checks.Load() >= 12
	}, "two transitions")
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(moves, " "); got != "DOWN@3 UP@6" {
		t.Fatalf("transitions %q, want DOWN@3 UP@6 (rise 3, fall 2)", got)
	}
	if want := `Server be/s1 is DOWN, reason: Layer7 wrong status, code: 503, info: "Service Unavailable", check duration: `; !strings.HasPrefix(msgs[0], want) ||
		!strings.HasSuffix(msgs[0], "0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.") {
		t.Fatalf("DOWN message %q", msgs[0])
	}
	if len(others) != 1 || others[0] != "backend be has no server available!" {
		t.Fatalf("other messages %q, want the backend's one alert", others)
	}
	if want := `Server be/s1 is UP, reason: Layer7 check passed, code: 200, check duration: `; !strings.HasPrefix(msgs[1], want) {
		t.Fatalf("UP message %q", msgs[1])
	}
}
