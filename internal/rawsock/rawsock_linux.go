// Package rawsock holds the socket calls that the health checker and the
// server dial make before a socket needs Go's poller. None of them can
// block (the socket is non-blocking), so they are raw system calls: a
// thousand connects a second then do not hand their thread's P back to
// the scheduler several times each, which woke other threads to take it.
package rawsock

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// Kernel TCP states (include/net/tcp_states.h) as TCP_INFO reports them.
const (
	TCPEstablished = 1
	TCPSynSent     = 2
	TCPSynRecv     = 3
	TCPClose       = 7
)

// Socket opens a non-blocking, close-on-exec TCP socket of ap's family.
func Socket(ap netip.AddrPort) (int, syscall.Errno) {
	family := syscall.AF_INET
	if !ap.Addr().Unmap().Is4() {
		family = syscall.AF_INET6
	}
	fd, _, e := syscall.RawSyscall(syscall.SYS_SOCKET, uintptr(family), syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	return int(fd), e
}

// Connect starts a connect to ap (EINPROGRESS on a non-blocking socket
// whose handshake is under way).
func Connect(fd int, ap netip.AddrPort) syscall.Errno {
	var (
		ptr  unsafe.Pointer
		size uintptr
		sa4  syscall.RawSockaddrInet4
		sa6  syscall.RawSockaddrInet6
	)
	port := ap.Port()
	if ip := ap.Addr().Unmap(); ip.Is4() {
		sa4.Family = syscall.AF_INET
		sa4.Addr = ip.As4()
		p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		ptr, size = unsafe.Pointer(&sa4), unsafe.Sizeof(sa4)
	} else {
		sa6.Family = syscall.AF_INET6
		sa6.Addr = ap.Addr().As16()
		p := (*[2]byte)(unsafe.Pointer(&sa6.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		ptr, size = unsafe.Pointer(&sa6), unsafe.Sizeof(sa6)
	}
	_, _, e := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(ptr), size)
	return e
}

// SetsockoptInt sets an integer option, best effort.
func SetsockoptInt(fd, level, opt, v int) syscall.Errno {
	n := int32(v)
	_, _, e := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&n)), 4, 0)
	return e
}

// NoLinger sets SO_LINGER with a zero timeout: close sends a reset and
// leaves no TIME_WAIT socket, best effort.
func NoLinger(fd int) syscall.Errno {
	l := syscall.Linger{Onoff: 1}
	_, _, e := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, uintptr(unsafe.Pointer(&l)), unsafe.Sizeof(l), 0)
	return e
}

// SoError is the socket's pending error (SO_ERROR), 0 for none.
func SoError(fd int) syscall.Errno {
	var n int32
	l := uint32(4)
	if _, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.SOL_SOCKET, syscall.SO_ERROR, uintptr(unsafe.Pointer(&n)), uintptr(unsafe.Pointer(&l)), 0); e != 0 {
		return e
	}
	return syscall.Errno(n)
}

// Close closes fd.
func Close(fd int) syscall.Errno {
	_, _, e := syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
	return e
}

// TCPState is the socket's TCP state, 0 when it cannot be read: one
// TCP_INFO read tells an established connection from one in progress.
func TCPState(fd int) uint8 {
	var info syscall.TCPInfo
	n := uint32(unsafe.Sizeof(info))
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.IPPROTO_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 || n < 1 {
		return 0
	}
	return info.State
}

// Sockname is the socket's local address, an empty one when it cannot be
// read.
func Sockname(fd int) net.Addr {
	sa, _ := syscall.Getsockname(fd)
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return &net.TCPAddr{}
}

// Read reads what the socket has, EAGAIN when nothing. It is recvfrom,
// not read: read(2) goes through the VFS layer (the file position lock,
// the permission hooks) before it reaches the socket, about 0.15 µs of
// kernel time each on this path, which HAProxy's recv does not pay.
func Read(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		return int(n), e
	}
}

// SetLinger sets SO_LINGER on; a zero sec makes close send a reset.
func SetLinger(fd, sec int) syscall.Errno {
	l := syscall.Linger{Onoff: 1, Linger: int32(sec)}
	_, _, e := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), syscall.SOL_SOCKET, syscall.SO_LINGER,
		uintptr(unsafe.Pointer(&l)), unsafe.Sizeof(l), 0)
	return e
}

// Send writes what the socket takes of b without blocking (a short count
// when its send buffer fills, EAGAIN when it takes nothing). MSG_NOSIGNAL:
// a reset peer is an EPIPE, not a SIGPIPE.
func Send(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
			syscall.MSG_NOSIGNAL|syscall.MSG_DONTWAIT, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), 0
	}
}
