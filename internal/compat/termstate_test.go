package compat

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

const termConfig = `
defaults
    mode http
    timeout connect 2s
    timeout client CLIENTTO
    timeout server SERVERTO
frontend fe
    bind FEADDR name lst
    log LOGADDR local0
    log-format "%ts %tsc %ST %b %s"
    default_backend be
backend be
    server app BEADDR
`

// termCases are the stalls that end in a timeout: want is HAProxy
// 2.6.12's line, bulwark Bulwark's where it differs on purpose. The side
// that does not stall has the longer timeout, so that only the one meant
// can expire.
var termCases = []struct {
	name, client, server string
	raw                  string
	read                 bool // the client reads what comes
	want, bulwark        string
}{
	// The request is not complete when "timeout client" (no "timeout
	// http-request") expires.
	{"request head", "300ms", "1s", "GET / HTTP/1.1\r\nHost: h\r\n", true, "cR cR-- 408 fe <NOSRV>", ""},
	// The head went to the server, which waits for the body the client
	// stops sending. HAProxy cancels the client's timeout while the
	// server has not answered (stream.c, "Trick") and ends at "timeout
	// server"; Bulwark keeps "timeout client" on the body (see
	// docs/compatibility.md), no response came.
	{"request body", "300ms", "1s", "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\nabc", true, "sH sH-- 504 be app", "cD cD-- -1 be app"},
	// The server answered before the body: HAProxy relays the answer
	// while the body comes, Bulwark reads it after the body.
	{"request body answered", "300ms", "1s", "POST /early HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\nabc", true, "cD cD-- 200 be app", "cD cD-- -1 be app"},
	// The client stops reading a response larger than the socket buffers.
	{"response body", "300ms", "1s", "GET /big HTTP/1.1\r\nHost: h\r\n\r\n", false, "cD cD-- 200 be app", ""},
	// The server stops sending its body.
	{"server body", "1s", "300ms", "GET /stall HTTP/1.1\r\nHost: h\r\n\r\n", true, "sD sD-- 200 be app", ""},
}

// TestTermStateAgainstHAProxy stalls one side of a transaction with the
// real HAProxy and with Bulwark and compares the termination states they
// log (%ts, %tsc), which section 8.5 defines: a lowercase first letter is
// a timeout on that side, the second the phase it came in.
func TestTermStateAgainstHAProxy(t *testing.T) {
	testtool.Path(t, haproxyBin)
	be := testtool.StallServer(t)
	for _, tc := range termCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := strings.NewReplacer("BEADDR", be, "CLIENTTO", tc.client, "SERVERTO", tc.server)
			hpc := syslogReceiver(t)
			hfe := freeAddr(t)
			startHAProxy(t, cfg.Replace(strings.NewReplacer("FEADDR", hfe, "LOGADDR", hpc.LocalAddr().String()).Replace(termConfig)), hfe)
			bpc := syslogReceiver(t)
			bfe := startBulwark(t, cfg.Replace(strings.NewReplacer("LOGADDR", bpc.LocalAddr().String()).Replace(termConfig)))
			// waitListen's probe may log a line of its own ("cR" here):
			// drain it before the stall.
			time.Sleep(200 * time.Millisecond)
			drain(hpc)
			got := map[string]string{}
			for side, addr := range map[string]string{"haproxy": hfe, "bulwark": bfe} {
				pc := hpc
				if side == "bulwark" {
					pc = bpc
				}
				c, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if !tc.read {
					// A small receive buffer: the response fills it soon.
					c.(*net.TCPConn).SetReadBuffer(4096)
				}
				io.WriteString(c, tc.raw)
				if tc.read {
					go io.Copy(io.Discard, c)
				}
				lines := messages(t, pc, 1)
				c.Close()
				if len(lines) != 1 {
					t.Fatalf("%s logged nothing", side)
				}
				got[side] = lines[0]
			}
			if got["haproxy"] != tc.want {
				t.Errorf("haproxy logged %q, want %q (the case no longer shows what it stands for)", got["haproxy"], tc.want)
			}
			want := tc.want
			if tc.bulwark != "" {
				want = tc.bulwark
			}
			if got["bulwark"] != want {
				t.Errorf("bulwark logged %q, want %q (haproxy %q)", got["bulwark"], want, got["haproxy"])
			}
		})
	}
}

// drain discards the log lines already received.
func drain(pc net.PacketConn) {
	buf := make([]byte, 8192)
	for {
		pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, err := pc.ReadFrom(buf); err != nil {
			return
		}
	}
}
