package logging

import (
	"net"
	"strings"
	"testing"
	"time"

	"bulwark/internal/logfmt"
	"bulwark/internal/proxy"
)

func entry() *proxy.LogEntry {
	return &proxy.LogEntry{
		Start:    time.Date(2009, 2, 6, 12, 14, 14, 655e6, time.UTC),
		Client:   &net.TCPAddr{IP: net.IPv4(10, 0, 1, 2), Port: 33317},
		Frontend: "http-in", Backend: "static", Server: "srv1",
		TR: 10 * time.Millisecond, Tw: 0, Tc: 30 * time.Millisecond, Tr: 69 * time.Millisecond, Ta: 109 * time.Millisecond,
		Status: 200, BytesOut: 2750, Term: "--", Request: "GET /index.html HTTP/1.1", HTTP: true,
	}
}

// The manual's httplog example line (CM 8.2.3), minus the captures and
// connection counters Bulwark does not fill yet.
func TestHTTPLogLine(t *testing.T) {
	got := string(AppendHTTPLog(nil, entry()))
	want := `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 0/0/0/0/0 0/0 "GET /index.html HTTP/1.1"`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	e := entry()
	e.Tc, e.Tr, e.Server, e.Status = -1, -1, "<NOSRV>", 403
	got = string(AppendHTTPLog(nil, e))
	if !strings.Contains(got, "static/<NOSRV> 10/0/-1/-1/109 403") {
		t.Fatalf("unset timers must print -1: %s", got)
	}
}

func TestTCPLogLine(t *testing.T) {
	e := entry()
	e.HTTP = false
	got := string(AppendTCPLog(nil, e))
	want := `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 0/30/109 2750 -- 0/0/0/0/0 0/0`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// A syslog line reaches a UDP receiver on loopback with the priority of
// its facility and level.
func TestSyslogUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, tc := range []struct{ format, prefix string }{
		{"local", "<134>"}, // local0 (16) * 8 + info (6)
		{"rfc5424", "<134>1 "},
		{"raw", "hello"},
	} {
		s, err := Open(Target{Addr: pc.LocalAddr().String(), Facility: "local0", Format: tc.format})
		if err != nil {
			t.Fatal(err)
		}
		s.Send("info", []byte("hello"), time.Now())
		s.Send("debug", []byte("filtered?"), time.Now())
		buf := make([]byte, 2048)
		pc.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		line := string(buf[:n])
		if !strings.HasPrefix(line, tc.prefix) || !strings.HasSuffix(line, "hello") {
			t.Fatalf("%s: got %q", tc.format, line)
		}
		s.Close()
		// Drain the debug line (no level filter set: it is sent).
		pc.ReadFrom(buf)
	}
	s, _ := Open(Target{Addr: pc.LocalAddr().String(), Facility: "local0", Level: "notice"})
	defer s.Close()
	s.Send("info", []byte("too verbose"), time.Now())
	s.Send("notice", []byte("kept"), time.Now())
	buf := make([]byte, 2048)
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil || !strings.HasSuffix(string(buf[:n]), "kept") {
		t.Fatalf("level filter: got %q, %v", buf[:n], err)
	}
}

// BenchmarkRenderHTTPLog renders an httplog line through the compiled
// format, as the Logger does for every request: no allocation.
func BenchmarkRenderHTTPLog(b *testing.B) {
	f := logfmt.MustParse(logfmt.HTTPLog, logfmt.Options{HTTP: true, MergeSpaces: true})
	e := entry()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = Render(buf[:0], f, e)
	}
}

// A custom log-format renders each variable with its flags; the
// separators collapse around empty captures as HAProxy's do.
func TestRenderCustom(t *testing.T) {
	e := entry()
	for _, tc := range []struct{ format, want string }{
		{"%{+Q}o %ci %b %{-Q}s %ST", `"10.0.1.2" "static" srv1 200`},
		{"%{+X}ci:%{+X}cp", "0A000102:8225"},
		{"%HM %HU %HP %HQ %HV", "GET /index.html /index.html  HTTP/1.1"}, // an empty %HQ prints nothing (HAProxy 2.6, internal/compat)
		{"%hr %hs %{+Q}r", `"GET /index.html HTTP/1.1"`},
		{"%T", "06/Feb/2009:12:14:14 +0000"},
		{"%Ts.%ms", "1233922454.655"},
		{"%{+E}r", "GET /index.html HTTP/1.1"},
		{"%CC %tsc", "- ----"},
	} {
		f, _, err := logfmt.Parse(tc.format, logfmt.Options{HTTP: true, MergeSpaces: true})
		if err != nil {
			t.Fatalf("%s: %s", tc.format, err.Msg)
		}
		if got := string(Render(nil, f, e)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.format, got, tc.want)
		}
	}
}
