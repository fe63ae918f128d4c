package proxy

import (
	"crypto/tls"
	"net"
	"syscall"
)

// setSockOpt applies set-mark (SO_MARK) or set-tos (IP_TOS, or the IPv6
// traffic class) to the client connection. Failures (no CAP_NET_ADMIN
// for a mark) leave the connection as it was, as in HAProxy.
func setSockOpt(c net.Conn, mark bool, v int) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if pc := ppOf(c); pc != nil {
		c = pc.Conn
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	v6 := false
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok && a.IP.To4() == nil {
		v6 = true
	}
	rc.Control(func(fd uintptr) {
		switch {
		case mark:
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_MARK, v)
		case v6:
			syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_TCLASS, v)
		default:
			syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TOS, v)
		}
	})
}
