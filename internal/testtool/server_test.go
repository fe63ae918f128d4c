package testtool

import (
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A Server keeps each connection's bytes apart, in accept order, and
// Reply writes each answer once its input is there.
func TestServerRecordsAndReplies(t *testing.T) {
	s := Listen(t, Reply(func(in []byte, sent int) (string, bool) {
		return "ok" + string(rune('0'+sent)) + "\n", strings.Count(string(in), "\n") > sent
	}))
	for i, msg := range []string{"a\n", "b\nc\n"} {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte(msg))
		want := "ok0\n"
		if i == 1 {
			want = "ok0\nok1\n"
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
			t.Fatalf("conn %d: %q %v, want %q", i, got, err, want)
		}
		c.Close()
	}
	if n := s.Accepted(); n != 2 {
		t.Fatalf("%d connections accepted", n)
	}
	if c := s.Conns(); string(c[0]) != "a\n" || string(c[1]) != "b\nc\n" {
		t.Fatalf("conns %q", c)
	}
	if s.Received() != "a\nb\nc\n" || s.Last() != "b\nc\n" {
		t.Fatalf("received %q, last %q", s.Received(), s.Last())
	}
}

// The end of its test closes a connection its serve function still
// holds open, and waits for that function.
func TestServerStopsWithItsTest(t *testing.T) {
	var c net.Conn
	ended := make(chan bool, 1)
	t.Run("server", func(t *testing.T) {
		s := Listen(t, func(c *Conn) {
			_, ok := c.ReadUntil("never")
			ended <- ok
		})
		var err error
		if c, err = net.Dial("tcp", s.Addr); err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("x"))
		for i := 0; s.Last() != "x"; i++ {
			if i == 5000 {
				t.Fatal("the byte sent did not arrive")
			}
			time.Sleep(time.Millisecond)
		}
	})
	defer c.Close()
	select {
	case ok := <-ended:
		if ok {
			t.Fatal("ReadUntil found a marker that never came")
		}
	default:
		t.Fatal("the serve function outlived its test")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection after the test: %v, want EOF", err)
	}
}

// ListenSerial serves the next connection only once the one before is
// done: the n-th connection gets the n-th answer.
func TestListenSerialTakesTurns(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	var turn atomic.Int32
	s := ListenSerial(t, func(c *Conn) {
		n := turn.Add(1)
		if n == 1 {
			<-release
		}
		c.Write([]byte{byte('0' + n)})
	})
	// Runs before the server's cleanup, which waits for the first turn.
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	var conns [2]net.Conn
	for i := range conns {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		conns[i] = c
	}
	conns[1].SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := conns[1].Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatal("the second connection was served while the first was")
	}
	once.Do(func() { close(release) })
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err != nil || b[0] != byte('1'+i) {
			t.Fatalf("conn %d: %q %v", i, b, err)
		}
	}
}
