package health

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"bulwark/internal/srvstate"
)

// Every kind of check against peers that misbehave: garbage, silence, a
// 10 MB banner, an immediate close, a reset. Each run ends within its
// timeout with a failed status of HAProxy's and a printable description;
// none panics, none is stuck.
func TestChecksAgainstBadPeers(t *testing.T) {
	scripts := map[string]*Script{
		"http":      HTTPScript("GET", "/", "HTTP/1.0"),
		"redis":     Redis(),
		"mysql":     MySQL("haproxy", false),
		"pgsql":     PgSQL("haproxy"),
		"smtp":      SMTP(""),
		"ldap":      LDAP(),
		"ssl-hello": SSLHello(),
		"tcp-check": tcpScript(Rule{Action: Send, Data: []byte("PING\r\n")},
			Rule{Action: Expect, Exp: &ExpectRule{Match: MatchString, Data: []byte("+PONG"), Text: "+PONG"}}),
	}
	flood := func(c net.Conn) {
		chunk := []byte(strings.Repeat("\xff\x00A", 32<<10))
		for sent := 0; sent < 10<<20; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}
	peers := map[string]func(c net.Conn){
		"garbage": func(c net.Conn) { c.Write([]byte("\x00\x13\x7fjunk\xfe\r\n\r\nmore junk\n")); readN(c, 1) },
		"silent":  func(c net.Conn) { readN(c, 1<<20) },
		"10MB":    flood,
		"close":   func(c net.Conn) {},
		"reset": func(c net.Conn) {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
		},
	}
	for pn, talk := range peers {
		p := newPeer(t, talk)
		for sn, s := range scripts {
			t.Run(sn+"/"+pn, func(t *testing.T) {
				done := make(chan srvstate.Check, 1)
				go func() {
					done <- Run(context.Background(), s, Target{Addr: p.addr, ConnectTimeout: time.Second, Timeout: 300 * time.Millisecond})
				}()
				var r srvstate.Check
				select {
				case r = <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("the check is stuck")
				}
				if r.Status.Result() != srvstate.ResultFailed {
					t.Fatalf("status %s (%q): a misbehaving peer passed", r.Status, r.Info)
				}
				for _, c := range r.Info {
					if c < 0x20 || c == 0x7f {
						t.Fatalf("description %q carries control characters", r.Info)
					}
				}
				if r.Duration > 5*time.Second {
					t.Fatalf("took %v", r.Duration)
				}
			})
		}
	}
}
