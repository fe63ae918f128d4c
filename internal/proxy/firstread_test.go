package proxy

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFirstRequestTiming checks the first request of a connection however
// it arrives against waitFirst's window (parkAfter): at once, after the
// window (the buffer-less wait then takes it), and cut in two with the
// window passing in between (the request's own deadline must be back in
// place for the rest).
func TestFirstRequestTiming(t *testing.T) {
	be := newTestServer(t, "s", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	addr := proxyTo(t, be.addr)
	const req = "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	cases := []struct {
		name  string
		delay time.Duration // before the first part
		cut   int           // bytes sent before the pause (0: all at once)
		pause time.Duration
	}{
		{"at once", 0, 0, 0},
		{"after the window", parkAfter + 50*time.Millisecond, 0, 0},
		{"cut across the window", 0, 10, parkAfter + 50*time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			time.Sleep(tc.delay)
			if tc.cut > 0 {
				io.WriteString(c, req[:tc.cut])
				time.Sleep(tc.pause)
				io.WriteString(c, req[tc.cut:])
			} else {
				io.WriteString(c, req)
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
				t.Fatalf("status line %q, %v; want 200", line, err)
			}
		})
	}
}
