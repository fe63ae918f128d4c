//go:build linux

package proxy

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestDialRaw checks that connections from dialRaw behave as net.Dialer's
// for what the proxy relies on: data both ways, half-close, the addresses,
// and errors (refused, timeouts, use after close) that the same checks
// recognise.
func TestDialRaw(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c) // up to the half-close
		c.Write([]byte("pong"))
		got <- b
	}()
	ap := netip.MustParseAddrPort(l.Addr().String())
	c, err := dialRaw(ap, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c.RemoteAddr().String() != ap.String() {
		t.Errorf("RemoteAddr %v, want %v", c.RemoteAddr(), ap)
	}
	if la, ok := c.LocalAddr().(*net.TCPAddr); !ok || la.Port == 0 || !la.IP.IsLoopback() {
		t.Errorf("LocalAddr %v", c.LocalAddr())
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if !idleUsable(c) {
		t.Error("idleUsable: false for an open connection")
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "pong" {
		t.Fatalf("read %q, %v; want pong", b, err)
	}
	if s := <-got; string(s) != "ping" {
		t.Fatalf("server read %q, want ping", s)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read after EOF: %v", err)
	}
	c.Close()
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after close: %v, want net.ErrClosed", err)
	}

	// A read deadline is a timeout to isTimeout.
	go func() {
		if c, err := l.Accept(); err == nil {
			defer c.Close()
			time.Sleep(time.Second)
		}
	}()
	c2, err := dialRaw(ap, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c2.Read(make([]byte, 1)); !isTimeout(err) {
		t.Errorf("read past its deadline: %v, want a timeout", err)
	}

	// Refused, as net.Dialer words it for the retry logic.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fap := netip.MustParseAddrPort(free.Addr().String())
	free.Close()
	if _, err := dialRaw(fap, time.Second); !errIsRefused(err) {
		t.Errorf("dial to a closed port: %v, want connection refused", err)
	}
}
