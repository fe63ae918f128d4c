package audit

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeLoggingProxy answers HTTP on loopback and, like HAProxy with
// 'option httplog', sends one syslog message per request to logAddr
// (empty: it does not log): a datagram for "udp", over a new TCP
// connection for "tcp" (one line) and "octet" (RFC 6587 octet counting).
func fakeLoggingProxy(t *testing.T, network, logAddr string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		if logAddr == "" {
			return
		}
		msg := "<134>haproxy[1]: 127.0.0.1:1 f b/s 0/0/0/1/1 404 0 - - ---- 1/1/0/0/0 0/0 \"" + r.Method + " " + r.URL.Path + " HTTP/1.1\""
		dial := "udp"
		switch network {
		case "tcp":
			dial, msg = "tcp", msg+"\n"
		case "octet":
			dial, msg = "tcp", strconv.Itoa(len(msg))+" "+msg
		}
		if c, err := net.Dial(dial, logAddr); err == nil {
			c.Write([]byte(msg))
			c.Close()
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func freeUDPPort(t *testing.T) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func TestLiveLogLine(t *testing.T) {
	tests := []struct {
		name    string
		logs    bool   // the fake proxy sends its log line
		occupy  bool   // another process holds the log port
		network string // how the fake proxy sends: udp (default), tcp, octet
		target  string // overrides the target; PORT is the free port
		ring    string // a ring section, appended to the configuration
		want    Verdict
		text    string
	}{
		{"line arrives", true, false, "", "", "", Pass, "a log line for GET"},
		{"no line", false, false, "", "", "", Warn, "no log line arrived"},
		{"port held by syslog", true, true, "", "", "", Manual, "already bound by another process"},
		{"unix socket held by syslog", true, false, "", "@HELD@", "", Manual, "exists (a syslog daemon?)"},
		{"tcp line arrives", true, false, "tcp", "tcp@127.0.0.1:PORT", "", Pass, "arrived at tcp@127.0.0.1:"},
		{"tcp no line", false, false, "tcp", "tcp@127.0.0.1:PORT", "", Warn, "no log line arrived at tcp@"},
		{"ring octet-count", true, false, "octet", "ring@r", "ring r\n  server s 127.0.0.1:PORT log-proto octet-count\n", Pass, "a log line for GET"},
		{"ring without server", true, false, "octet", "ring@r", "ring r\n  size 32764\n", Manual, "has no server"},
		{"fd target", true, false, "", "fd@1", "", Manual, "neither a UDP or TCP address nor a unix socket"},
		{"remote target", true, false, "", "192.0.2.1:514", "", Manual, "on another host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lport := freeUDPPort(t)
			if tc.network != "" {
				lport = freePort(t)
			}
			logAddr := "127.0.0.1:" + strconv.Itoa(lport)
			if tc.occupy {
				c, err := net.ListenPacket("udp", logAddr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			send := ""
			if tc.logs {
				send = logAddr
			}
			hport := fakeLoggingProxy(t, tc.network, send)
			target := logAddr
			if tc.target != "" {
				target = strings.ReplaceAll(tc.target, "PORT", strconv.Itoa(lport))
			}
			if target == "@HELD@" {
				// An existing socket path stands for a syslog daemon's.
				target = t.TempDir() + "/log.sock"
				if err := os.WriteFile(target, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			tg := liveTarget(t, "global\n  log "+target+" local0\ndefaults\n  mode http\n  log global\n  option httplog\n"+
				"frontend f\n  bind 127.0.0.1:"+strconv.Itoa(hport)+"\n"+strings.ReplaceAll(tc.ring, "PORT", strconv.Itoa(lport)))
			o := LiveOptions{Timeout: 500 * time.Millisecond}
			lf := &LiveFacts{}
			lf.LogProbe = probeLogLine(tg, o, lf)
			r := liveLogLine(tg, lf)
			text := r.Summary
			for _, e := range r.Evidence {
				text += "\n" + e.Text
			}
			if r.Verdict != tc.want || !strings.Contains(text, tc.text) {
				t.Errorf("HAP-7.1 live %s, want %s with %q:\n%s", r.Verdict, tc.want, tc.text, text)
			}
		})
	}
}

func TestReadSyslogFrames(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"<134>a\n<134>b\n", []string{"<134>a", "<134>b"}},
		{"6 <134>a5 <1>bc", []string{"<134>a", "<1>bc"}},
		{"<134>a\r\n7 <134>bc<134>d", []string{"<134>a", "<134>bc", "<134>d"}},
		{"3x<1>", nil},       // not a length: the stream is not syslog
		{"9999999 <1>", nil}, // too many digits
		{"10 <1>short", nil}, // truncated frame
		{"<134>no newline", []string{"<134>no newline"}},
	}
	for _, tc := range tests {
		var got []string
		readSyslogFrames(strings.NewReader(tc.in), func(m string) { got = append(got, m) })
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("readSyslogFrames(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzReadSyslogFrames(f *testing.F) {
	for _, s := range []string{"<134>a\n", "6 <134>a", "65536 x", "0 ", "1 x2 yy", strings.Repeat("a", 5000) + "\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		readSyslogFrames(bytes.NewReader(b), func(m string) {
			if len(m) > maxSyslogFrame+1 {
				t.Fatalf("frame of %d bytes", len(m))
			}
			total += len(m)
		})
		if total > len(b) {
			t.Fatalf("%d bytes emitted from %d read", total, len(b))
		}
	})
}
