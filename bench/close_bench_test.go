package bench

import (
	"io"
	"net"
	"testing"
	"time"
)

const closeRequest = "GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nConnection: close\r\n\r\n"

// closeRoundTrip opens a connection to addr, sends one request asking for
// the connection to close, reads the response to the end of the stream and
// closes: what run.sh's l7_close case does, one client at a time.
// The raw backend ignores "Connection: close": halfClose shuts the write
// side after the request so that it sees the end and closes.
func closeRoundTrip(addr string, buf []byte, halfClose bool) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, closeRequest); err != nil {
		return err
	}
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
	}
	n := 0
	for {
		m, err := c.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n == len(buf) {
			n = 0
		}
	}
	if n < 12 || string(buf[9:12]) != "200" {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func benchClose(b *testing.B, addr string, halfClose bool) {
	buf := make([]byte, 4096)
	if err := closeRoundTrip(addr, buf, halfClose); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := closeRoundTrip(addr, buf, halfClose); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDirectClose is the baseline of BenchmarkProxyHTTPClose: the
// client's and the backend's own cost and allocations for a connection per
// request, without the proxy.
func BenchmarkDirectClose(b *testing.B) {
	be := startBackend(b)
	benchClose(b, be.l.Addr().String(), true)
}

// BenchmarkProxyHTTPClose measures a new client connection per request
// (the l7_close case of run.sh): accept, request, a new server connection
// (the first request of a session does not reuse one under http-reuse
// safe), response, close. Its allocations minus BenchmarkDirectClose's are
// the proxy's per connection.
func BenchmarkProxyHTTPClose(b *testing.B) {
	be := startBackend(b)
	benchClose(b, startProxy(b, "http", be.l.Addr().String()), false)
}
