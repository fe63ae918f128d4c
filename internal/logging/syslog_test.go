package logging

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// events collects a sink's operational messages.
type events struct {
	mu   sync.Mutex
	msgs []string
}

func (e *events) add(m string) { e.mu.Lock(); e.msgs = append(e.msgs, m); e.mu.Unlock() }

func (e *events) has(sub string) bool { return e.count(sub) > 0 }

func (e *events) count(sub string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, m := range e.msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

func readUDP(t *testing.T, pc net.PacketConn) string {
	t.Helper()
	buf := make([]byte, 70000)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

// Every format of CM 4.2 "log", sent over UDP, is parsed by the grammar
// of its RFC (or its documented shape for the short forms).
func TestSyslogFormats(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pid := os.Getpid()
	iso := `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}:\d{2}`
	// local0 (16) * 8 + notice (5) = 133.
	for _, tc := range []struct {
		format string
		sd     string
		check  func(line string) error
	}{
		{"local", "", func(l string) error {
			m, err := parse3164(l, false)
			if err == nil && (m.Pri != 133 || m.Tag != "bulwark" || m.PID != pid || m.Msg != "hello world") {
				err = fmt.Errorf("fields %+v", m)
			}
			return err
		}},
		{"rfc3164", "", func(l string) error {
			m, err := parse3164(l, true)
			if err == nil && (m.Pri != 133 || m.Host != "h1" || m.Tag != "bulwark" || m.Msg != "hello world") {
				err = fmt.Errorf("fields %+v", m)
			}
			return err
		}},
		{"rfc5424", "", func(l string) error {
			m, err := parse5424(l)
			if err == nil && (m.Pri != 133 || m.Host != "h1" || m.App != "bulwark" || m.ProcID != strconv.Itoa(pid) ||
				m.MsgID != "-" || m.SD != nil || m.Msg != "hello world" || time.Since(m.Time) > time.Minute) {
				err = fmt.Errorf("fields %+v", m)
			}
			return err
		}},
		{"rfc5424", `[req@32473 status="404" path="/a\]b\"c\\d"][other@1]`, func(l string) error {
			m, err := parse5424(l)
			if err != nil {
				return err
			}
			if len(m.SD) != 2 || m.SD[0].ID != "req@32473" || len(m.SD[0].Params) != 2 ||
				m.SD[0].Params[1] != [2]string{"path", `/a]b"c\d`} || m.SD[1].ID != "other@1" || m.Msg != "hello world" {
				return fmt.Errorf("SD %+v msg %q", m.SD, m.Msg)
			}
			return nil
		}},
		{"priority", "", matches(`^<133>hello world$`)},
		{"short", "", matches(`^<5>hello world$`)},
		{"timed", "", matches(`^<5>` + iso + ` hello world$`)},
		{"iso", "", matches(`^` + iso + ` hello world$`)},
		{"raw", "", matches(`^hello world$`)},
	} {
		s, err := Open(Target{Addr: pc.LocalAddr().String(), Facility: "local0", Format: tc.format, Hostname: "h1", SendHostname: true})
		if err != nil {
			t.Fatal(err)
		}
		s.SendSD("notice", []byte(tc.sd), []byte("hello world"), time.Now())
		line := readUDP(t, pc)
		if err := tc.check(line); err != nil {
			t.Errorf("%s: %v: %q", tc.format, err, line)
		}
		s.Close()
	}
}

func matches(re string) func(string) error {
	r := regexp.MustCompile(re)
	return func(l string) error {
		if !r.MatchString(l) {
			return fmt.Errorf("does not match %s", re)
		}
		return nil
	}
}

// The level filter drops less severe lines, the minimum level caps more
// severe ones, and the length truncates (CM 4.2 "log").
func TestSyslogLevelsAndLength(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := Open(Target{Addr: pc.LocalAddr().String(), Facility: "local0", Format: "priority", Level: "notice", MinLevel: "err", Len: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Send("info", []byte("too verbose"), time.Now())
	s.Send("emerg", []byte("capped"), time.Now())
	s.Send("notice", []byte(strings.Repeat("x", 200)), time.Now())
	if got := readUDP(t, pc); got != "<131>capped" { // local0*8 + err (3)
		t.Fatalf("got %q, want the emerg line capped to err", got)
	}
	if got := readUDP(t, pc); len(got) != 80 || !strings.HasPrefix(got, "<133>xxx") {
		t.Fatalf("got %d bytes %q, want 80", len(got), got)
	}
}

// receiver is a TCP syslog server reading octet-counted frames; it can be
// stopped (closing its connections) and started again on the same port.
type receiver struct {
	t      *testing.T
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	frames chan string
	read   bool // false: accept and never read (a stalled receiver)
}

func newReceiver(t *testing.T, addr string, read bool) *receiver {
	r := &receiver{t: t, addr: addr, frames: make(chan string, 10000), read: read}
	r.start()
	return r
}

func (r *receiver) start() {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.ln, r.addr = ln, ln.Addr().String()
	r.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.mu.Unlock()
			if !r.read {
				continue
			}
			go func() {
				br := bufio.NewReader(c)
				for {
					f, err := readFrame(br)
					if err != nil {
						if !strings.Contains(err.Error(), "closed") && err.Error() != "EOF" {
							r.frames <- "FRAMING ERROR: " + err.Error()
						}
						return
					}
					r.frames <- f
				}
			}()
		}
	}()
}

func (r *receiver) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ln.Close()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

func (r *receiver) next(t *testing.T) string {
	t.Helper()
	select {
	case f := <-r.frames:
		return f
	case <-time.After(15 * time.Second):
		t.Fatal("no frame within 15s")
		return ""
	}
}

// Octet-counted TCP syslog ("bulwark-log-framing octet-count") survives a
// receiver restart: the lines sent
// while it is down wait in the queue and arrive, in order, once it is back;
// nothing is lost or duplicated, and the outage is logged once.
func TestSyslogTCPReceiverRestarts(t *testing.T) {
	r := newReceiver(t, "127.0.0.1:0", true)
	defer r.stop()
	var ev events
	s, err := Open(Target{Addr: "tcp@" + r.addr, Facility: "local0", Format: "rfc5424", Hostname: "h1", OctetCount: true, Event: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 10; i++ {
		s.Send("info", []byte("a"+strconv.Itoa(i)+" with spaces"), time.Now())
	}
	for i := 0; i < 10; i++ {
		f := r.next(t)
		m, err := parse5424(f)
		if err != nil || m.Msg != "a"+strconv.Itoa(i)+" with spaces" {
			t.Fatalf("frame %d: %q: %v", i, f, err)
		}
	}
	r.stop()
	for i := 0; i < 20; i++ {
		s.Send("info", []byte("b"+strconv.Itoa(i)), time.Now())
	}
	r.start()
	for i := 0; i < 20; i++ {
		f := r.next(t)
		m, err := parse5424(f)
		if err != nil || m.Msg != "b"+strconv.Itoa(i) {
			t.Fatalf("after the restart, frame %d: %q: %v", i, f, err)
		}
	}
	select {
	case f := <-r.frames:
		t.Fatalf("extra frame %q", f)
	case <-time.After(200 * time.Millisecond):
	}
	if c := s.Counters(); c.Sent.Load() != 30 || c.Dropped.Load() != 0 {
		t.Fatalf("sent %d dropped %d, want 30 and 0", c.Sent.Load(), c.Dropped.Load())
	}
	// The outage is logged once with its reason, and its end once.
	if ev.count("closed the connection") != 1 || ev.count("connected again") != 1 || ev.has("lines dropped") || ev.has("log lines are dropped") {
		t.Fatalf("events %q", ev.msgs)
	}
}

// A receiver that accepts and stops reading never blocks Send: the queue
// fills, the rest is dropped and counted, the loss is logged, and Close
// returns.
func TestSyslogTCPStalledReceiver(t *testing.T) {
	r := newReceiver(t, "127.0.0.1:0", false)
	defer r.stop()
	var ev events
	s, err := Open(Target{Addr: "tcp@" + r.addr, Facility: "local0", Format: "raw", Len: 65535, Event: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	big := []byte(strings.Repeat("y", 60000))
	const n = 3000 // 180 MB: far more than the socket buffers and the queue
	done := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			s.Send("info", big, time.Now())
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Send blocked on a receiver that does not read")
	}
	c := s.Counters()
	if c.Dropped.Load() == 0 || c.Dropped.Load()+c.Sent.Load() > n {
		t.Fatalf("dropped %d sent %d of %d", c.Dropped.Load(), c.Sent.Load(), n)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close hangs on a stalled receiver")
	}
	// Logged by episode, not per line: the episode once, its count once
	// the queue drained or the sink closed.
	if ev.count("log lines are dropped") != 1 || ev.count("log lines dropped (") < 1 || len(ev.msgs) > 6 {
		t.Fatalf("the loss was not logged once: %q", ev.msgs)
	}
}

// A unix datagram receiver that stops reading does not block Send either.
func TestSyslogUnixStalledReceiver(t *testing.T) {
	path := t.TempDir() + "/log.sock"
	pc, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := Open(Target{Addr: path, Facility: "local0", Format: "raw", Event: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for i := 0; i < 20000; i++ {
			s.Send("info", []byte("line that nobody reads"), time.Now())
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Send blocked on a unix socket nobody reads")
	}
	if s.Counters().Dropped.Load() == 0 {
		t.Fatal("nothing dropped")
	}
	s.Close()
}

// The totals of a target go on across a reload (Switch.Swap) and reach
// the stats (Switch.Stats).
func TestSyslogCountersSurviveSwap(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	open := func() *Logger {
		s, err := Open(Target{Addr: pc.LocalAddr().String(), Format: "raw"})
		if err != nil {
			t.Fatal(err)
		}
		return &Logger{sinks: []*Sink{s}}
	}
	sw := NewSwitch(open())
	defer sw.Close()
	for i := 0; i < 3; i++ {
		sw.cur.Load().sinks[0].Send("info", []byte("x"), time.Now())
		readUDP(t, pc)
	}
	next := open()
	next.sinks[0].Send("info", []byte("y"), time.Now())
	readUDP(t, pc)
	sw.Swap(next)
	next.sinks[0].Send("info", []byte("z"), time.Now())
	readUDP(t, pc)
	// The writer counts after the datagram left: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for sw.Stats()[0].Sent != 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := sw.Stats(); len(st) != 1 || st[0].Sent != 5 || st[0].Target != pc.LocalAddr().String() {
		t.Fatalf("stats %+v, want 5 lines sent to one target", st)
	}
}

// BenchmarkSinkSend is the data path's share of logging one line to UDP:
// formatting and queueing, no allocation once the buffers circulate.
func BenchmarkSinkSend(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	s, err := Open(Target{Addr: pc.LocalAddr().String(), Format: "rfc5424", Hostname: "h1", Event: func(string) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	msg := []byte(`10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 0/0/0/0/0 0/0 "GET /index.html HTTP/1.1"`)
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.Send("info", msg, now)
	}
}

// Without log-send-hostname an rfc5424 line has no host name ("-"), and
// its time has a numeric offset, as HAProxy 2.6 writes them.
func TestSyslog5424LikeHAProxy(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := Open(Target{Addr: pc.LocalAddr().String(), Facility: "local0", Format: "rfc5424", Hostname: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Send("info", []byte("x"), time.Date(2026, 12, 2, 2, 26, 24, 249032000, time.UTC))
	if got, want := readUDP(t, pc), fmt.Sprintf("<134>1 2026-12-02T02:26:24.249032+00:00 - bulwark %d - - x", os.Getpid()); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// The default stream framing is HAProxy 2.6's legacy one, a line per
// message; a line feed inside a message cannot split it.
func TestSyslogTCPLineFeedFraming(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := Open(Target{Addr: "tcp@" + ln.Addr().String(), Format: "rfc5424", Event: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Send("info", []byte("first"), time.Now())
	s.Send("info", []byte("forged\n<134>1 - - - - - - second"), time.Now())
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for _, want := range []string{"first", "forged#0A<134>1 - - - - - - second"} {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		m, err := parse5424(strings.TrimSuffix(line, "\n"))
		if err != nil || m.Msg != want {
			t.Fatalf("line %q: %v, want MSG %q", line, err, want)
		}
	}
}

// A line the old logger's writer counts after the swap still counts, and
// a stopped writer's counters fold into the next ones without changing
// the totals (reloads make no chain).
func TestCountersAfterSwap(t *testing.T) {
	old, cur := &Counters{}, &Counters{}
	old.Sent.Add(3)
	cur.Sent.Add(1)
	cur.base.Store(old)
	old.Sent.Add(1) // the old writer's last queued line
	if s, _ := cur.Totals(); s != 5 {
		t.Fatalf("sent %d, want 5", s)
	}
	old.final.Store(true)
	if s, _ := cur.Totals(); s != 5 || cur.base.Load() != nil {
		t.Fatalf("after the fold: sent %d, base %v", s, cur.base.Load())
	}
	if s, _ := cur.Totals(); s != 5 {
		t.Fatalf("second read: sent %d", s)
	}
}
