package sockxfer

import (
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// serveOnce answers one "_getsocks" on a unix socket with fds, as the old
// process does, or with nothing when fds is nil.
func serveOnce(t *testing.T, fds []int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
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
		buf := make([]byte, len(Command)+1)
		if _, err := readFull(c, buf); err != nil || string(buf) != Command+"\n" {
			return
		}
		if fds != nil {
			Send(c.(*net.UnixConn), fds, 5*time.Second)
		}
	}()
	return path
}

// More listeners than one message carries arrive whole, in order, each
// still listening on its address.
func TestRoundTripBatches(t *testing.T) {
	const n = MaxBatch + 10
	var ls []net.Listener
	var fds []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ls = append(ls, l)
		raw, _ := l.(*net.TCPListener).SyscallConn()
		raw.Control(func(fd uintptr) { fds = append(fds, int(fd)) })
	}
	got, infos, err := Fetch(serveOnce(t, fds), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || len(infos) != n {
		t.Fatalf("got %d listeners, %d infos, want %d", len(got), len(infos), n)
	}
	for i, l := range got {
		defer l.Close()
		if l.Addr().String() != ls[i].Addr().String() {
			t.Fatalf("listener %d listens on %s, want %s", i, l.Addr(), ls[i].Addr())
		}
	}
	// The received copy accepts what the original's queue holds.
	c, err := net.Dial("tcp", ls[n-1].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got[n-1].(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	a, err := got[n-1].Accept()
	if err != nil {
		t.Fatalf("accept on the received listener: %v", err)
	}
	a.Close()
}

// A socket without "expose-fd listeners" answers nothing: the receiver
// says so instead of waiting forever.
func TestNothingSent(t *testing.T) {
	_, _, err := Fetch(serveOnce(t, nil), 500*time.Millisecond)
	if err == nil {
		t.Fatal("no error when nothing was sent")
	}
	if _, _, err := Fetch(filepath.Join(t.TempDir(), "none"), time.Second); err == nil {
		t.Fatal("no error for a missing socket")
	}
}

// Datagram sockets are closed and skipped.
func TestDatagramSkipped(t *testing.T) {
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	var fd int
	raw, _ := u.(*net.UDPConn).SyscallConn()
	raw.Control(func(f uintptr) { fd = int(f) })
	got, _, err := Fetch(serveOnce(t, []int{fd}), 5*time.Second)
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want no listener", got, err)
	}
}

func TestParseInfo(t *testing.T) {
	rec := append([]byte{2, 'n', 's', 3, 'e', 't', 'h'}, 0, 0, 0, 0)
	rec = append(rec, 0, 0, 0, 0, 0, 0)
	infos, err := ParseInfo(rec, 2)
	if err != nil || len(infos) != 2 || infos[0] != (Info{"ns", "eth"}) || infos[1] != (Info{}) {
		t.Fatalf("%v %v", infos, err)
	}
	for _, bad := range [][]byte{{}, {5, 'a'}, {0, 0, 0}, {0, 9}} {
		if _, err := ParseInfo(bad, 1); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// FuzzParseInfo: any bytes give records or an error, never a panic.
func FuzzParseInfo(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0}, 1)
	f.Add([]byte{2, 'n', 's', 3, 'e', 't', 'h', 0, 0, 0, 0}, 1)
	f.Add([]byte{255}, 3)
	f.Fuzz(func(t *testing.T, data []byte, count int) {
		if count < 0 || count > 1000 {
			return
		}
		infos, err := ParseInfo(data, count)
		if err == nil && len(infos) != count {
			t.Fatalf("%d records for %d", len(infos), count)
		}
	})
}

// A sender that announces more sockets than it sends, or garbage records,
// gets an error, never a hang, and what did arrive is closed.
func TestLyingSender(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	raw, _ := l.(*net.TCPListener).SyscallConn()
	var fd int
	raw.Control(func(f uintptr) { fd = int(f) })
	for _, tc := range []struct {
		name string
		send func(c *net.UnixConn)
	}{
		{"fewer than announced", func(c *net.UnixConn) {
			c.Write([]byte{5, 0, 0, 0})
			c.WriteMsgUnix(make([]byte, 6), syscall.UnixRights(fd), nil)
		}},
		{"negative count", func(c *net.UnixConn) { c.Write([]byte{0xff, 0xff, 0xff, 0xff}) }},
		{"records cut short", func(c *net.UnixConn) {
			c.Write([]byte{1, 0, 0, 0})
			c.WriteMsgUnix([]byte{9}, syscall.UnixRights(fd), nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.sock")
			ul, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer ul.Close()
			go func() {
				c, err := ul.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, len(Command)+1)
				readFull(c, buf)
				tc.send(c.(*net.UnixConn))
			}()
			got, _, err := Fetch(path, 2*time.Second)
			if err == nil {
				t.Fatalf("no error; got %d listeners", len(got))
			}
		})
	}
}
