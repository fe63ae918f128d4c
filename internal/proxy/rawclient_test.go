package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawClient is a keep-alive HTTP/1.1 client that never retries: Go's
// http.Client silently resends idempotent requests that failed on a reused
// connection, which hides exactly the failures load tests look for. Every
// request is counted by the caller as it comes out of do.
type rawClient struct {
	c  net.Conn
	br *bufio.Reader
}

func newRawClient(t testing.TB, addr string) *rawClient {
	t.Helper()
	c := dial(t, addr)
	t.Cleanup(func() { c.Close() })
	return &rawClient{c: c, br: bufio.NewReader(c)}
}

// do sends one request head (with its body, if any) and reads one response
// with a Content-Length or no body; it returns the status and body.
func (rc *rawClient) do(raw string, timeout time.Duration) (int, string, error) {
	rc.c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(rc.c, raw); err != nil {
		return 0, "", err
	}
	line, err := rc.br.ReadString('\n')
	if err != nil {
		return 0, "", err
	}
	var status int
	if _, err := fmt.Sscanf(line, "HTTP/1.1 %d", &status); err != nil {
		return 0, "", fmt.Errorf("status line %q", line)
	}
	n := 0
	for {
		h, err := rc.br.ReadString('\n')
		if err != nil {
			return status, "", err
		}
		if h == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(k, "content-length") {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, n)
	_, err = io.ReadFull(rc.br, body)
	return status, string(body), err
}
