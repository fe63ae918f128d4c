package proxy

import (
	"net"
	"syscall"
)

// connFD returns the descriptor of a plain TCP connection.
func connFD(c net.Conn) (int, bool) {
	// After its PROXY header a connection is the socket again, once the
	// bytes read past the header are consumed.
	if pc, ok := c.(*ppConn); ok && len(pc.rest) == 0 {
		c = pc.Conn
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0, false
	}
	return rawFD(tc)
}

// rawFD is the descriptor of a socket, false once it is closed.
func rawFD(c syscall.Conn) (int, bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if rc.Control(func(f uintptr) { fd = int(f) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}
