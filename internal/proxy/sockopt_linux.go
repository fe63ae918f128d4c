package proxy

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
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

// soOriginalDst is netfilter's SO_ORIGINAL_DST (and IP6T_SO_ORIGINAL_DST),
// from linux/netfilter_ipv4.h.
const soOriginalDst = 80

// originalDst is where the client meant to connect, for "option
// transparent": dst as the session has it, unless it is still the
// socket's own local address and netfilter redirected the connection
// (iptables REDIRECT/DNAT), whose original destination the kernel keeps.
// A destination that set-dst or a PROXY header changed is kept.
func originalDst(c net.Conn, dst netip.AddrPort) netip.AddrPort {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if pc := ppOf(c); pc != nil {
		c = pc.Conn
	}
	if addrPort(c.LocalAddr()) != dst {
		return dst
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return dst
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return dst
	}
	orig := dst
	rc.Control(func(fd uintptr) {
		if dst.Addr().Is4() || dst.Addr().Is4In6() {
			// A struct sockaddr_in fills the 16 bytes of an ipv6_mreq.
			m, err := unix.GetsockoptIPv6Mreq(int(fd), unix.SOL_IP, soOriginalDst)
			if err != nil {
				return
			}
			b := m.Multiaddr[:]
			if binary.LittleEndian.Uint16(b[0:2]) != unix.AF_INET {
				return
			}
			orig = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:4]))
			return
		}
		// A struct sockaddr_in6 fills the start of an ip6_mtuinfo.
		mi, err := unix.GetsockoptIPv6MTUInfo(int(fd), unix.SOL_IPV6, soOriginalDst)
		if err != nil || mi.Addr.Family != unix.AF_INET6 {
			return
		}
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&mi.Addr.Port))[:])
		orig = netip.AddrPortFrom(netip.AddrFrom16(mi.Addr.Addr), port)
	})
	return orig
}

// ipTransparent sets IP_TRANSPARENT (IPV6_TRANSPARENT) on a socket before
// it binds, so that it may use an address that is not local: the
// client's, for "usesrc" (needs CAP_NET_ADMIN; the connection fails
// without it, as HAProxy's does), or any destination on a "transparent"
// bind (TPROXY).
func ipTransparent(network, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		// "usesrc client" binds the client's port: a socket of the
		// client's own host may hold it (the 4-tuples still differ).
		unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if network == "tcp6" || network == "udp6" {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1)
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
