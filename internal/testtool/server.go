package testtool

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// ConnDeadline bounds each connection of a Server: a test peer never
// outlives its test by much, whatever the code under test does.
const ConnDeadline = 10 * time.Second

// Server is a peer on loopback for tests that look at the wire: it
// records the raw bytes each connection brought and runs a serve
// function per connection. It stops with its test: the listener and the
// open connections are closed and every serve function has returned
// before the test's earlier cleanups run.
type Server struct {
	Addr string

	mu    sync.Mutex
	conns [][]byte // bytes received, per connection in accept order
	open  map[net.Conn]struct{}
}

// Listen starts a Server on a new loopback port.
func Listen(t testing.TB, serve func(c *Conn)) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ListenOn(t, l, serve)
}

// ListenOn starts a Server on a listener the test opened (one of TLS, an
// inherited one...).
func ListenOn(t testing.TB, l net.Listener, serve func(c *Conn)) *Server {
	return listen(t, l, serve, false)
}

// ListenSerial is Listen for a peer that serves one connection at a time,
// in accept order, the next waiting in the listen queue: one whose n-th
// connection gets the n-th answer, or that a test holds in the middle of
// an answer.
func ListenSerial(t testing.TB, serve func(c *Conn)) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return listen(t, l, serve, true)
}

func listen(t testing.TB, l net.Listener, serve func(c *Conn), serial bool) *Server {
	s := &Server{Addr: l.Addr().String(), open: map[net.Conn]struct{}{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		s.mu.Lock()
		for c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	run := func(c net.Conn, rc *Conn) {
		defer func() {
			s.mu.Lock()
			delete(s.open, c)
			s.mu.Unlock()
			c.Close()
		}()
		c.SetDeadline(time.Now().Add(ConnDeadline))
		serve(rc)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			rc := &Conn{Conn: c, s: s, i: len(s.conns)}
			s.conns = append(s.conns, nil)
			s.open[c] = struct{}{}
			s.mu.Unlock()
			if serial {
				run(c, rc)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				run(c, rc)
			}()
		}
	}()
	return s
}

// Conns returns the bytes each connection brought so far, in accept
// order.
func (s *Server) Conns() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(s.conns))
	for i, b := range s.conns {
		out[i] = bytes.Clone(b)
	}
	return out
}

// Accepted is the number of connections accepted so far.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Received returns everything the server got, all connections joined.
func (s *Server) Received() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(bytes.Join(s.conns, nil))
}

// Last returns what the last connection accepted brought so far.
func (s *Server) Last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) == 0 {
		return ""
	}
	return string(s.conns[len(s.conns)-1])
}

// Conn is one connection of a Server: what is read from it is recorded.
type Conn struct {
	net.Conn
	s *Server
	i int
}

func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.s.mu.Lock()
		c.s.conns[c.i] = append(c.s.conns[c.i], p[:n]...)
		c.s.mu.Unlock()
	}
	return n, err
}

// Received returns what this connection brought so far.
func (c *Conn) Received() []byte {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return bytes.Clone(c.s.conns[c.i])
}

// ReadUntil reads until what the connection brought holds marker, and
// returns all of it; ok is false when the connection ended (or 64 KiB
// came) before.
func (c *Conn) ReadUntil(marker string) (in []byte, ok bool) {
	buf := make([]byte, 4096)
	for {
		in = c.Received()
		if bytes.Contains(in, []byte(marker)) {
			return in, true
		}
		if len(in) >= 64<<10 {
			return in, false
		}
		if _, err := c.Read(buf); err != nil {
			return c.Received(), false
		}
	}
}

// Reply is a serve function that answers: after each read it calls
// answer with everything the connection brought so far and the number of
// answers already sent on it, and writes the answers it gives until it
// says none is due yet. A nil answer only records.
func Reply(answer func(in []byte, sent int) (string, bool)) func(*Conn) {
	return func(c *Conn) {
		buf := make([]byte, 4096)
		sent := 0
		for {
			n, err := c.Read(buf)
			if n > 0 && answer != nil {
				in := c.Received()
				for {
					out, ok := answer(in, sent)
					if !ok {
						break
					}
					sent++
					if _, err := c.Write([]byte(out)); err != nil {
						return
					}
				}
			}
			if err != nil {
				return
			}
		}
	}
}
