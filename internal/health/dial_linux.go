package health

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// syncConnectError is a connect that failed in the connect call itself
// (no route, EACCES, EPERM...), which HAProxy words "General socket error
// (<strerror>)", unlike an error the peer sends back later ("Connection
// refused"). net.Dialer cannot tell the two apart, so checks dial with
// their own non-blocking connect.
type syncConnectError struct{ errno syscall.Errno }

func (e *syncConnectError) Error() string { return e.errno.Error() }
func (e *syncConnectError) Unwrap() error { return e.errno }

// dialTCP connects to addr (an IP literal with port) without blocking
// the thread, keeping apart errors of the connect call and errors of the
// connection attempt. Names fall back to net.Dialer.
func dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	ap, err := netipAddrPort(addr)
	if err != nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	family := syscall.AF_INET
	var sa syscall.Sockaddr
	if ip := ap.IP.To4(); ip != nil {
		s4 := &syscall.SockaddrInet4{Port: ap.Port}
		copy(s4.Addr[:], ip)
		sa = s4
	} else {
		family = syscall.AF_INET6
		s6 := &syscall.SockaddrInet6{Port: ap.Port}
		copy(s6.Addr[:], ap.IP.To16())
		sa = s6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	switch err := syscall.Connect(fd, sa); {
	case err == nil, errors.Is(err, syscall.EINPROGRESS), errors.Is(err, syscall.EINTR):
	default:
		syscall.Close(fd)
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return nil, &syncConnectError{errno}
		}
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "check")
	defer f.Close() // net.FileConn dups the descriptor
	if dl, ok := ctx.Deadline(); ok {
		f.SetWriteDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var soErr error
	werr := rc.Write(func(fd uintptr) bool {
		n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err != nil {
			soErr = err
			return true
		}
		if n != 0 {
			soErr = syscall.Errno(n)
			return true
		}
		// Writable with no error: connected, unless the connect has not
		// even started (spurious wake-up); getpeername tells.
		if _, err := syscall.Getpeername(int(fd)); err != nil {
			return false
		}
		return true
	})
	if werr != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ctx.Err()
		}
		return nil, context.DeadlineExceeded
	}
	if soErr != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: ap, Err: os.NewSyscallError("connect", soErr)}
	}
	return net.FileConn(f)
}

func netipAddrPort(addr string) (*net.TCPAddr, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, errors.New("not an IP")
	}
	pa, err := net.LookupPort("tcp", port)
	if err != nil {
		return nil, err
	}
	return &net.TCPAddr{IP: ip, Port: pa}, nil
}
