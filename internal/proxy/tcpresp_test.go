package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// chunk is a piece a scripted server sends after a pause.
type chunk struct {
	after time.Duration
	data  string
}

// scriptedServer sends its chunks on every connection, then keeps the
// connection open for hold (or closes at once when hold is 0). It records
// what each connection received and whether the proxy closed it before
// the script ended.
type scriptedServer struct {
	addr   string
	mu     sync.Mutex
	got    [][]byte
	closed []bool // the peer closed the connection while it was held
}

func newScriptedServer(t *testing.T, chunks []chunk, hold time.Duration) *scriptedServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedServer{addr: l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 16; i++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			idx := len(s.got)
			s.got, s.closed = append(s.got, nil), append(s.closed, false)
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				done := make(chan struct{})
				go func() {
					// Record the client's bytes; EOF or an error here
					// while the script still runs means the proxy
					// closed the server connection.
					defer close(done)
					buf := make([]byte, 4096)
					c.SetReadDeadline(time.Now().Add(10 * time.Second))
					for {
						n, err := c.Read(buf)
						s.mu.Lock()
						s.got[idx] = append(s.got[idx], buf[:n]...)
						if err != nil {
							s.closed[idx] = !errors.Is(err, net.ErrClosed) && !isTimeout(err)
						}
						s.mu.Unlock()
						if err != nil {
							return
						}
					}
				}()
				for _, ch := range chunks {
					select {
					case <-time.After(ch.after):
					case <-done:
					}
					if _, err := io.WriteString(c, ch.data); err != nil {
						return
					}
				}
				select {
				case <-time.After(hold):
				case <-done:
				}
			}()
		}
	}()
	return s
}

func (s *scriptedServer) conn(i int) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.got) {
		return nil, false
	}
	return append([]byte(nil), s.got[i]...), s.closed[i]
}

// tcpRespProxy starts a TCP listen section in front of srv with the given
// tcp-response lines and returns its address and the log entries.
func tcpRespProxy(t *testing.T, srv string, lines ...string) (string, func() []*LogEntry) {
	t.Helper()
	var mu sync.Mutex
	var logs []*LogEntry
	cfg := `
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen l4
    bind 127.0.0.1:0
`
	for _, l := range lines {
		cfg += "    " + l + "\n"
	}
	cfg += "    server s " + srv + "\n"
	_, addr := startProxyWith(t, cfg, Options{LogAll: true, Log: func(e *LogEntry) {
		mu.Lock()
		logs = append(logs, e)
		mu.Unlock()
	}})
	return addr, func() []*LogEntry {
		mu.Lock()
		defer mu.Unlock()
		return append([]*LogEntry(nil), logs...)
	}
}

// readAll reads what the proxy sends until it closes; err is a timeout
// when it did not close within d.
func readAll(c net.Conn, d time.Duration) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(d))
	var out []byte
	buf := make([]byte, 4096)
	for range 1000 {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	return out, errors.New("too many reads")
}

func waitLog(t *testing.T, logs func() []*LogEntry) *LogEntry {
	t.Helper()
	for range 200 {
		if l := logs(); len(l) > 0 {
			return l[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no log entry")
	return nil
}

// A response pattern that a reject rule matches closes the client
// without any of the server's bytes, even those that came before the
// pattern; the client's bytes still reach the server meanwhile.
func TestTCPResponseRejectPattern(t *testing.T) {
	srv := newScriptedServer(t, []chunk{{50 * time.Millisecond, "hello-"}, {100 * time.Millisecond, "EVIL-secret"}}, 3*time.Second)
	addr, logs := tcpRespProxy(t, srv.addr,
		"tcp-response inspect-delay 2s",
		"tcp-response content reject if { res.payload(0,0) -m sub EVIL }")
	c := dial(t, addr)
	defer c.Close()
	io.WriteString(c, "client-request")
	got, err := readAll(c, 2500*time.Millisecond)
	if err != nil || len(got) != 0 {
		t.Fatalf("client got %q, %v; want nothing then a close", got, err)
	}
	if in, _ := srv.conn(0); string(in) != "client-request" {
		t.Errorf("server received %q", in)
	}
	if e := waitLog(t, logs); e.Term != "PD" || e.BytesOut != 0 {
		t.Errorf("log: term %q, bytes out %d; want PD, 0", e.Term, e.BytesOut)
	}
}

// Without a matching reject, the inspected bytes and everything after
// them reach the client: a rule that could still match waits for the
// server's close, and an accept stops the inspection at once.
func TestTCPResponseAcceptForwardsAll(t *testing.T) {
	chunks := []chunk{{50 * time.Millisecond, "part1-"}, {100 * time.Millisecond, "GOOD-"}, {100 * time.Millisecond, strings.Repeat("z", 40000)}}
	for _, tc := range []struct {
		name  string
		rules []string
	}{
		{"reject-not-matching", []string{"tcp-response inspect-delay 2s",
			"tcp-response content reject if { res.payload(0,0) -m sub EVIL }"}},
		{"accept", []string{"tcp-response inspect-delay 2s",
			"tcp-response content accept if { res.payload(0,4) -m str part }",
			"tcp-response content reject"}},
		{"no-rule-matches", []string{"tcp-response content reject if { res.len gt 100000 }"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScriptedServer(t, chunks, 0)
			addr, logs := tcpRespProxy(t, srv.addr, tc.rules...)
			c := dial(t, addr)
			defer c.Close()
			io.WriteString(c, "req")
			got, err := readAll(c, 4*time.Second)
			want := "part1-GOOD-" + strings.Repeat("z", 40000)
			if err != nil || string(got) != want {
				t.Fatalf("client got %d bytes (%q...), %v; want %d", len(got), got[:min(len(got), 20)], err, len(want))
			}
			c.Close()
			if e := waitLog(t, logs); e.Term != "--" || e.BytesOut != int64(len(want)) {
				t.Errorf("log: term %q, bytes out %d", e.Term, e.BytesOut)
			}
		})
	}
}

// The inspect-delay bounds the wait: a rule that cannot decide is decided
// on what arrived once it ends, although the server neither sends more
// nor closes.
func TestTCPResponseInspectDelayBounded(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		srv := newScriptedServer(t, []chunk{{0, "abc"}}, 4*time.Second)
		addr, _ := tcpRespProxy(t, srv.addr,
			"tcp-response inspect-delay 300ms",
			"tcp-response content reject unless { res.payload(0,0) -m sub END }")
		c := dial(t, addr)
		defer c.Close()
		got, err := readAll(c, 3*time.Second)
		if err != nil || len(got) != 0 {
			t.Fatalf("client got %q, %v; want a close after the inspect-delay", got, err)
		}
	})
	t.Run("forward", func(t *testing.T) {
		srv := newScriptedServer(t, []chunk{{0, "abc"}, {3 * time.Second, "late"}}, 0)
		addr, _ := tcpRespProxy(t, srv.addr,
			"tcp-response inspect-delay 300ms",
			"tcp-response content reject if { res.payload(0,0) -m sub EVIL }")
		c := dial(t, addr)
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 16)
		n, err := io.ReadAtLeast(c, buf, 3)
		if err != nil || string(buf[:n]) != "abc" {
			t.Fatalf("client got %q, %v; want abc before the server's next chunk", buf[:n], err)
		}
	})
}

// Without an inspect-delay the rules decide at once, on the connection
// to the server, before any of its data: as in HAProxy, a rule waiting
// for a pattern then sees an empty buffer.
func TestTCPResponseNoDelayDecidesAtOnce(t *testing.T) {
	srv := newScriptedServer(t, []chunk{{100 * time.Millisecond, "X-data"}}, 2*time.Second)
	addr, _ := tcpRespProxy(t, srv.addr,
		"tcp-response content reject unless { res.payload(0,0) -m sub X }")
	c := dial(t, addr)
	defer c.Close()
	got, err := readAll(c, 1500*time.Millisecond)
	if err != nil || len(got) != 0 {
		t.Fatalf("client got %q, %v; want a close", got, err)
	}
}

// "close" forwards what was received, then ends both connections
// without waiting for the server's next bytes.
func TestTCPResponseClose(t *testing.T) {
	srv := newScriptedServer(t, []chunk{{50 * time.Millisecond, "BYE"}, {3 * time.Second, "more"}}, 0)
	addr, _ := tcpRespProxy(t, srv.addr,
		"tcp-response inspect-delay 2s",
		"tcp-response content close if { res.payload(0,0) -m sub BYE }")
	c := dial(t, addr)
	defer c.Close()
	got, err := readAll(c, 2500*time.Millisecond)
	if err != nil || string(got) != "BYE" {
		t.Fatalf("client got %q, %v; want BYE then a close", got, err)
	}
	for range 100 {
		if _, closed := srv.conn(0); closed {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the server connection stayed open")
}

// Variables set by tcp-response rules from the payload are seen by the
// later rules, as converter/fix.vtc and mqtt.vtc use them.
func TestTCPResponseSetVar(t *testing.T) {
	srv := newScriptedServer(t, []chunk{{0, "\x05hello world"}}, 0)
	for _, tc := range []struct {
		want string
		ok   bool
	}{{"hello", true}, {"howdy", false}} {
		addr, _ := tcpRespProxy(t, srv.addr,
			"tcp-response inspect-delay 1s",
			"tcp-response content reject unless { res.payload_lv(0,1) -m found }",
			"tcp-response content set-var(res.word) res.payload_lv(0,1)",
			"tcp-response content reject unless { var(res.word) -m str "+tc.want+" }")
		c := dial(t, addr)
		got, err := readAll(c, 3*time.Second)
		c.Close()
		if err != nil || bytes.Equal(got, []byte("\x05hello world")) != tc.ok {
			t.Errorf("want %s: client got %q, %v", tc.want, got, err)
		}
	}
}

// Rules and the inspect-delay of a named defaults section apply to the
// backends built from it, the defaults' rules first on every evaluation
// (CM 4.2; HAProxy 2.6.12 itself moves on to the backend's own rules
// after one undecided pass, which the manual does not describe).
func TestTCPResponseFromDefaults(t *testing.T) {
	srv := newScriptedServer(t, []chunk{{50 * time.Millisecond, "HELLO"}, {100 * time.Millisecond, "WORLD"}}, 3*time.Second)
	_, addr := startProxy(t, `
defaults plain
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
defaults inspect from plain
    tcp-response inspect-delay 2s
    tcp-response content reject if { res.payload(0,0) -m sub WORLD }
frontend f from plain
    bind 127.0.0.1:0
    default_backend b
backend b from inspect
    tcp-response content accept if { res.len gt 100 }
    server s `+srv.addr+`
`)
	c := dial(t, addr)
	defer c.Close()
	got, err := readAll(c, 2500*time.Millisecond)
	if err != nil || len(got) != 0 {
		t.Fatalf("client got %q, %v; want the defaults' reject", got, err)
	}
}
