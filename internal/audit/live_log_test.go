package audit

import (
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeLoggingProxy answers HTTP on loopback and, like HAProxy with
// 'option httplog', sends one syslog datagram per request to logAddr
// (empty: it does not log).
func fakeLoggingProxy(t *testing.T, logAddr string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		if logAddr != "" {
			if c, err := net.Dial("udp", logAddr); err == nil {
				c.Write([]byte("<134>haproxy[1]: 127.0.0.1:1 f b/s 0/0/0/1/1 404 0 - - ---- 1/1/0/0/0 0/0 \"" + r.Method + " " + r.URL.Path + " HTTP/1.1\""))
				c.Close()
			}
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
		name   string
		logs   bool   // the fake proxy sends its log line
		occupy bool   // another process holds the log port
		target string // overrides the UDP target
		want   Verdict
		text   string
	}{
		{"line arrives", true, false, "", Pass, "a log line for GET"},
		{"no line", false, false, "", Warn, "no log line arrived"},
		{"port held by syslog", true, true, "", Manual, "already bound by another process"},
		{"unix socket held by syslog", true, false, "@HELD@", Manual, "exists (a syslog daemon?)"},
		{"tcp target", true, false, "tcp@127.0.0.1:6514", Manual, "neither a UDP address nor a unix socket"},
		{"remote target", true, false, "192.0.2.1:514", Manual, "on another host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lport := freeUDPPort(t)
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
			hport := fakeLoggingProxy(t, send)
			target := logAddr
			if tc.target != "" {
				target = tc.target
			}
			if target == "@HELD@" {
				// An existing socket path stands for a syslog daemon's.
				target = t.TempDir() + "/log.sock"
				if err := os.WriteFile(target, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			tg := liveTarget(t, "global\n  log "+target+" local0\ndefaults\n  mode http\n  log global\n  option httplog\n"+
				"frontend f\n  bind 127.0.0.1:"+strconv.Itoa(hport)+"\n")
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
