package testtool

import (
	"bufio"
	"io"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
)

// StallServer starts an HTTP/1.1 server that stalls on purpose, for the
// tests of what a timeout in the data phase does, answering by path:
//
//   - /upload reads the whole body first (Content-Length or chunked), so a
//     client that stops sending leaves it waiting, then answers 200;
//   - /early answers 200 at once, without reading the body;
//   - /big sends a 64 MiB body, more than the socket buffers hold: a
//     client that does not read fills them;
//   - /stall and /stall-large promise 1000 bytes and 1 MiB of body and send
//     three (within and beyond the size a proxy sends with the head).
//
// Each waits for the peer to close afterwards; it returns the address.
func StallServer(t testing.TB) string {
	t.Helper()
	return Listen(t, stallServe).Addr
}

func stallServe(c *Conn) {
	tp := textproto.NewReader(bufio.NewReader(c))
	line, err := tp.ReadLine()
	if err != nil {
		return
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return
	}
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	switch path := strings.Fields(line + " x")[1]; path {
	case "/upload":
		if h.Get("Transfer-Encoding") != "" {
			if _, err := io.Copy(io.Discard, httputil.NewChunkedReader(tp.R)); err != nil {
				return
			}
		} else {
			n, _ := strconv.Atoi(h.Get("Content-Length"))
			if _, err := io.CopyN(io.Discard, tp.R, int64(n)); err != nil {
				return
			}
		}
		io.WriteString(c, ok)
	case "/early":
		io.WriteString(c, ok)
		io.Copy(io.Discard, c)
	case "/big":
		const size = 64 << 20
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
		buf := make([]byte, 64<<10)
		for sent := 0; sent < size; sent += len(buf) {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	case "/stall", "/stall-large":
		n := 1000
		if path == "/stall-large" {
			n = 1 << 20
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(n)+"\r\n\r\nabc")
		io.Copy(io.Discard, c)
	}
}
