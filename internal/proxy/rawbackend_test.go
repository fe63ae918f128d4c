package proxy

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawBackend is a server that records every byte it receives, on every
// connection, and answers from a script. Unlike a net/http backend it
// rejects nothing itself, so a test can tell "the proxy refused it" from
// "the server refused it": what the proxy forwarded is exactly in the
// record.
type rawBackend struct {
	addr  string
	mu    sync.Mutex
	conns [][]byte // bytes received, per connection in accept order
	// answer is called with the bytes a connection received so far and
	// the number of answers already sent on it; it returns the next answer
	// once the input holds what that answer needs.
	answer func(in []byte, sent int) (string, bool)
}

func newRawBackend(t testing.TB, answer func(in []byte, sent int) (string, bool)) *rawBackend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return rawBackendOn(t, l, answer)
}

// rawBackendOn is newRawBackend on a listener the test opened.
func rawBackendOn(t testing.TB, l net.Listener, answer func(in []byte, sent int) (string, bool)) *rawBackend {
	t.Helper()
	b := &rawBackend{addr: l.Addr().String(), answer: answer}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			i := len(b.conns)
			b.conns = append(b.conns, nil)
			b.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.serve(c, i)
			}()
		}
	}()
	return b
}

func (b *rawBackend) serve(c net.Conn, i int) {
	defer c.Close()
	// Bounded: a test backend never outlives its test by much.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	sent := 0
	for {
		n, err := c.Read(buf)
		if n > 0 {
			b.mu.Lock()
			b.conns[i] = append(b.conns[i], buf[:n]...)
			in := append([]byte(nil), b.conns[i]...)
			b.mu.Unlock()
			for b.answer != nil {
				out, ok := b.answer(in, sent)
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

// received returns everything the backend got, all connections joined.
func (b *rawBackend) received() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(bytes.Join(b.conns, nil))
}

// answerEachHead answers resp once per request head received (bodies are
// not awaited).
func answerEachHead(resp string) func([]byte, int) (string, bool) {
	return func(in []byte, sent int) (string, bool) {
		return resp, bytes.Count(in, []byte("\r\n\r\n")) > sent
	}
}

// answerAfter answers resp once, when the input contains marker.
func answerAfter(marker, resp string) func([]byte, int) (string, bool) {
	return func(in []byte, sent int) (string, bool) {
		return resp, sent == 0 && strings.Contains(string(in), marker)
	}
}
