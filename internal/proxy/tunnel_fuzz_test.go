package proxy

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// tunnelMarker is what the client sends after the response head. It is not
// an HTTP request, so the only way it can reach the server is a tunnel.
const tunnelMarker = "\x01TUNNEL-BYTES\x01"

// FuzzUpgradeTunnel drives the real proxy over loopback with random request
// heads (method, version, Upgrade, Connection, body) and random response
// heads (status, Upgrade, Connection, framing), and checks one invariant:
// the client's bytes after the response head reach the server if and only
// if the request offered an upgrade that was forwarded and the server's 101
// switched to a protocol offered.
func FuzzUpgradeTunnel(f *testing.F) {
	f.Add(uint8(0), false, "websocket", true, false, uint16(101), "websocket", uint8(0), uint8(0))
	f.Add(uint8(0), false, "", false, false, uint16(101), "websocket", uint8(0), uint8(0))
	f.Add(uint8(1), false, "websocket", true, true, uint16(101), "websocket", uint8(0), uint8(1))
	f.Add(uint8(0), false, "websocket, h2c", true, false, uint16(101), "h2c", uint8(1), uint8(0))
	f.Add(uint8(0), true, "websocket", true, false, uint16(101), "websocket", uint8(0), uint8(0))
	f.Add(uint8(0), false, "websocket", true, false, uint16(200), "websocket", uint8(0), uint8(2))
	f.Add(uint8(0), false, "websocket", false, false, uint16(101), "WebSocket", uint8(2), uint8(3))

	var mu sync.Mutex
	var resp string
	b := newRawBackend(f, func(in []byte, sent int) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		return resp, sent == 0 && strings.Contains(string(in), "\r\n\r\n")
	})
	_, addr := startProxy(f, sub(`
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 300ms
    timeout tunnel 1s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B
`, "B", b.addr))

	f.Fuzz(func(t *testing.T, method uint8, http10 bool, offer string, connUpgrade, body bool,
		status uint16, granted string, respConn, framing uint8) {
		offer, granted = headerList(offer), headerList(granted)
		if status < 100 || status > 599 {
			status = 100 + status%500
		}
		m := [...]string{"GET", "POST", "PUT", "OPTIONS"}[method%4]
		var req strings.Builder
		fmt.Fprintf(&req, "%s /f HTTP/1.%d\r\nHost: fz\r\n", m, map[bool]int{true: 0, false: 1}[http10])
		if offer != "" {
			fmt.Fprintf(&req, "Upgrade: %s\r\n", offer)
		}
		if connUpgrade {
			req.WriteString("Connection: upgrade\r\n")
		}
		if body {
			req.WriteString("Content-Length: 3\r\n\r\nabc")
		} else {
			req.WriteString("\r\n")
		}
		var rs strings.Builder
		fmt.Fprintf(&rs, "HTTP/1.1 %d X\r\n", status)
		if granted != "" {
			fmt.Fprintf(&rs, "Upgrade: %s\r\n", granted)
		}
		rs.WriteString([...]string{"Connection: upgrade\r\n", "", "Connection: close\r\n", "Connection: keep-alive, upgrade\r\n"}[respConn%4])
		rs.WriteString([...]string{"\r\n", "Content-Length: 2\r\n\r\nok", "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", "Content-Length: 0\r\n\r\n"}[framing%4])
		mu.Lock()
		resp = rs.String()
		mu.Unlock()

		before := strings.Count(b.received(), tunnelMarker)
		c := dial(t, addr)
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(c, req.String())
		br := bufio.NewReader(c)
		// Read one final head (interim ones are relayed first), then send
		// the marker; then read until the proxy closes.
		final := false
		for !final {
			line, err := br.ReadString('\n')
			if err != nil {
				break
			}
			var code int
			if fmt.Sscanf(line, "HTTP/1.1 %d", &code); code >= 200 || code == 101 {
				final = true
			}
			for line != "\r\n" && err == nil {
				line, err = br.ReadString('\n')
			}
		}
		io.WriteString(c, tunnelMarker)
		if tc, ok := c.(interface{ CloseWrite() error }); ok {
			tc.CloseWrite()
		}
		io.Copy(io.Discard, br)

		want := !http10 && connUpgrade && offer != "" && !body && status == 101 &&
			granted != "" && subsetFold(granted, offer)
		got := strings.Count(b.received(), tunnelMarker) > before
		if got != want {
			t.Fatalf("tunnel bytes reached the server: %v, want %v\nrequest %q\nresponse %q", got, want, req.String(), resp)
		}
	})
}

// headerList keeps the token characters, commas and spaces of s, so that
// the fuzzer's strings make valid header values.
func headerList(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c == ',' || c == ' ' || c == '/' || c == '.' || c == '-' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
			b.WriteRune(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// subsetFold reports whether every non-empty element of the list a is in
// the list b, ignoring case: a second, plain implementation of the rule.
func subsetFold(a, b string) bool {
	n := 0
	for _, x := range strings.Split(a, ",") {
		x = strings.TrimSpace(x)
		if x == "" {
			continue
		}
		n++
		found := false
		for _, y := range strings.Split(b, ",") {
			if strings.EqualFold(x, strings.TrimSpace(y)) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return n > 0
}
