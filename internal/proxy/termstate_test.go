package proxy

import (
	"io"
	"net"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

// A transfer that stalls in the data phase ends at the timeout of the side
// that stalled, and the log names that side in lowercase with D (CM 8.5):
// cD for a client that stops sending its body or reading the response, sD
// for a server that stops sending its body; copied or spliced.
// internal/compat compares the same stalls with HAProxy's log.
func TestDataPhaseTimeoutTermState(t *testing.T) {
	be := testtool.StallServer(t)
	cases := []struct {
		name, raw, client, server string
		read                      bool
		term                      string
		status                    int
	}{
		{"request body", "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\nabc", "300ms", "5s", true, "cD", -1},
		{"response body", "GET /big HTTP/1.1\r\nHost: h\r\n\r\n", "300ms", "5s", false, "cD", 200},
		{"server body", "GET /stall HTTP/1.1\r\nHost: h\r\n\r\n", "5s", "300ms", true, "sD", 200},
		{"server body streamed", "GET /stall-large HTTP/1.1\r\nHost: h\r\n\r\n", "5s", "300ms", true, "sD", 200},
	}
	for _, splice := range []string{"", "option splice-auto"} {
		for _, tc := range cases {
			name := tc.name
			if splice != "" {
				name += " spliced"
			}
			t.Run(name, func(t *testing.T) {
				cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client " + tc.client + "\n    timeout server " + tc.server +
					"\nfrontend fe\n    bind 127.0.0.1:0\n    " + splice + "\n    default_backend be\nbackend be\n    server s1 " + be + "\n"
				logs := make(chan LogEntry, 4)
				_, addr := startProxyWith(t, cfg, Options{LogAll: true, Log: func(e *LogEntry) { logs <- *e }})
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if !tc.read {
					c.(*net.TCPConn).SetReadBuffer(4096)
				}
				io.WriteString(c, tc.raw)
				if tc.read {
					go io.Copy(io.Discard, c)
				}
				e := nextLog(t, logs, 5*time.Second)
				if e.Term != tc.term || e.Status != tc.status {
					t.Errorf("term %q status %d, want %q %d", e.Term, e.Status, tc.term, tc.status)
				}
			})
		}
	}
}
