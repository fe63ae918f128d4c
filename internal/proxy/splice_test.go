package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

const spliceBodyLen = 1 << 20

// spliceBody is a recognisable body: a spliced or copied byte out of
// place shows.
func spliceTestBody() []byte {
	b := make([]byte, spliceBodyLen)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b
}

// With option splice-request/splice-response, a 1 MB Content-Length
// request body and a 1 MB response body, one with Content-Length and one
// delimited by the server's close, arrive intact, and the
// h1_spliced_bytes counters of the frontend and backend count them
// (http-messaging/http_splicing.vtc).
func TestSpliceBodies(t *testing.T) {
	body := spliceTestBody()
	// Each request is a head and a 1 MB body. The server records every
	// byte but looks only at counts: testtool.Reply's answer sees a copy of
	// all the connection brought at each 4 KiB read, quadratic in 2 MB, and
	// under -race on a loaded machine that took the server longer than
	// "timeout server" to finish reading the second request (a 504).
	answer := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", spliceBodyLen, body)
	bs := testtool.Listen(t, func(c *testtool.Conn) {
		buf := make([]byte, 64<<10)
		per, total, sent := 0, 0, 0
		for range 1 << 16 {
			n, err := c.Read(buf)
			total += n
			if per == 0 {
				if in := c.Received(); bytes.Contains(in, []byte("\r\n\r\n")) {
					per = bytes.Index(in, []byte("\r\n\r\n")) + 4 + spliceBodyLen
				}
			}
			for per > 0 && total >= (sent+1)*per {
				sent++
				if _, err := io.WriteString(c, answer); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	b := &rawBackend{Server: bs, addr: bs.Addr}
	// The close-delimited response comes from a server that closes.
	closer := testtool.Listen(t, func(c *testtool.Conn) {
		c.ReadUntil("\r\n\r\n")
		c.Write(append([]byte("HTTP/1.1 200 OK\r\n\r\n"), body...))
	})
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    option splice-request
    option splice-response
    use_backend close if { path /close }
    default_backend be
backend be
    server s B
backend close
    server s C
`, "B", b.addr, "C", closer.Addr))
	rc := newRawClient(t, addr)
	st, got, err := rc.do(fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", spliceBodyLen, body), 10*time.Second)
	if st != 200 || err != nil || got != string(body) {
		t.Fatalf("POST: %d %v, body intact %v (%d bytes)", st, err, got == string(body), len(got))
	}
	// The bodies ended where they should: the client connection and the
	// server connection both carry a second request.
	if st, got, err := rc.do(fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", spliceBodyLen, body), 10*time.Second); st != 200 || err != nil || got != string(body) {
		t.Fatalf("second POST: %d %v", st, err)
	}
	conns := b.Conns()
	in, nconns := conns[0], len(conns)
	if nconns != 1 {
		t.Fatalf("%d server connections for two requests", nconns)
	}
	in = in[:bytes.Index(in[4:], []byte("POST"))+4]
	if i := bytes.Index(in, []byte("\r\n\r\n")); i < 0 || !bytes.Equal(in[i+4:], body) {
		t.Fatalf("the server got a request body of %d bytes, not the one sent", len(in)-i-4)
	}
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := io.ReadAll(c)
	if i := bytes.Index(resp, []byte("\r\n\r\n")); err != nil || i < 0 || !bytes.Equal(resp[i+4:], body) {
		t.Fatalf("close-delimited response: %v, %d bytes", err, len(resp))
	}
	rt := px.Current()
	fe, be, bc := rt.frontends[0], rt.backends["be"], rt.backends["close"]
	fin, fout := fe.stats.h1.splicedIn.Load(), fe.stats.h1.splicedOut.Load()
	bin, bout := be.stats.h1.splicedIn.Load()+bc.stats.h1.splicedIn.Load(), be.stats.h1.splicedOut.Load()
	t.Logf("spliced: frontend in %d out %d, backend in %d out %d", fin, fout, bin, bout)
	// Some of each body may come through the readers' buffers with its
	// head; most of it is spliced.
	if fin < spliceBodyLen/2 || bout != fin || fout < spliceBodyLen || bin != fout {
		t.Fatalf("spliced counters: frontend in %d out %d, backend in %d out %d", fin, fout, bin, bout)
	}
}

// Without the options nothing is spliced.
func TestNoSpliceByDefault(t *testing.T) {
	body := strings.Repeat("x", spliceBodyLen)
	b := newRawBackend(t, answerEachHead(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)))
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B
`, "B", b.addr))
	rc := newRawClient(t, addr)
	if st, got, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 || err != nil || got != body {
		t.Fatalf("%d %v", st, err)
	}
	if n := px.Current().frontends[0].stats.h1.splicedOut.Load(); n != 0 {
		t.Fatalf("%d bytes spliced without the option", n)
	}
}

// BenchmarkLargeBody sends 8 MB responses through the proxy, copied and
// spliced, and reports the process CPU time per request (user+system,
// the proxy, the backend and the client together: the backend and the
// client are the same in both cases).
func BenchmarkLargeBody(b *testing.B) {
	const size = 8 << 20
	resp := append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", size)), make([]byte, size)...)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	for _, mode := range []string{"copy", "splice"} {
		b.Run(mode, func(b *testing.B) {
			opt := ""
			if mode == "splice" {
				opt = "option splice-response"
			}
			_, addr := startProxy(b, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    OPT
    default_backend be
backend be
    server s B
`, "B", l.Addr().String(), "OPT", opt))
			c := dial(b, addr)
			defer c.Close()
			br := bufio.NewReaderSize(c, 64<<10)
			sink := make([]byte, 64<<10)
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				n := -1
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						b.Fatal(err)
					}
					if line == "\r\n" {
						break
					}
					if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
						fmt.Sscanf(v, "%d", &n)
					}
				}
				if _, err := io.CopyBuffer(io.Discard, io.LimitReader(br, int64(n)), sink); err != nil || n != size {
					b.Fatalf("body: %v (%d)", err, n)
				}
			}
			b.StopTimer()
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) / time.Duration(b.N)
			b.ReportMetric(float64(cpu.Microseconds()), "cpu-µs/op")
		})
	}
}

// A tunnel after a 101 is spliced both ways with splice-auto: an echo
// server returns what the client sent, intact, and the counters grow on
// both sides.
func TestSpliceTunnel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n")
		io.Copy(c, br) // echo until the client's half-close
	}()
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    option splice-auto
    default_backend be
backend be
    server s B
`, "B", l.Addr().String()))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n")
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	body := spliceTestBody()
	go func() {
		c.Write(body)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(br)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("echo: %v, %d bytes, intact %v", err, len(got), bytes.Equal(got, body))
	}
	fe := px.Current().frontends[0]
	if in, out := fe.stats.h1.splicedIn.Load(), fe.stats.h1.splicedOut.Load(); in < spliceBodyLen/2 || out < spliceBodyLen/2 {
		t.Fatalf("spliced in %d out %d", in, out)
	}
}
