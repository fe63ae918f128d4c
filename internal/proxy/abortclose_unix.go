//go:build unix

package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"syscall"
)

// watchClose starts watching c (the client connection) under parent.
// It returns nil when c's socket cannot be watched: an HTTP/2 stream
// (whose resets abort it anyway) or a connection that is not a socket.
func watchClose(parent context.Context, c net.Conn) *closeWatch {
	raw := watchable(c)
	if raw == nil {
		return nil
	}
	sc, ok := raw.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &closeWatch{conn: raw, done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancel(parent)
	w.phase.Store('Q')
	go w.run(rc)
	return w
}

// watchable returns the socket under c, nil when there is none to peek
// at.
func watchable(c net.Conn) net.Conn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if pc, ok := c.(*ppConn); ok {
		if len(pc.rest) > 0 {
			// Bytes after the PROXY header wait in user space: what the
			// socket holds comes after them.
			return nil
		}
		c = pc.Conn
	}
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
		return c
	}
	return nil
}

func (w *closeWatch) run(rc syscall.RawConn) {
	defer close(w.done)
	// Read returns when the function reports true, or with an error once
	// stop moves the read deadline to the past.
	rc.Read(func(fd uintptr) bool {
		var b [1]byte
		for {
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				return false
			case err != nil || n == 0:
				// End of stream or reset: the client is gone.
				w.closed.Store(true)
				w.cancel()
			}
			return true
		}
	})
}
