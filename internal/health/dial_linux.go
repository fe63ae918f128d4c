package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"bulwark/internal/rawsock"
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
// connection attempt. Names fall back to net.Dialer. delack delays the
// last ACK of the handshake as HAProxy does for a check whose connect is
// its last step or is followed by a send: the ACK then rides on the
// request, or never leaves when the check ends at the connect (the reset
// that closes it reaches a server that has not accepted it yet), one
// packet fewer for both sides.
func dialTCP(ctx context.Context, timeout time.Duration, addr string, delack bool) (net.Conn, error) {
	ap, err := netipAddrPort(addr)
	if err != nil {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	fd, e := rawsock.Socket(ap)
	if e != 0 {
		return nil, os.NewSyscallError("socket", e)
	}
	if delack {
		// Best effort, as in HAProxy: a failure only costs the packet.
		rawsock.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 0)
	}
	switch e := rawsock.Connect(fd, ap); e {
	case 0, syscall.EINPROGRESS, syscall.EINTR:
	default:
		rawsock.Close(fd)
		return nil, &syncConnectError{e}
	}
	// On loopback and fast networks the handshake is often over when
	// connect returns: then the socket needs no poller until (unless)
	// the check sends or reads, and a connect-only check costs no
	// registration, no park and no wake-up. One TCP_INFO read tells
	// established from in progress; only a connection already closed
	// (refused) costs the SO_ERROR read.
	switch rawsock.TCPState(fd) {
	case rawsock.TCPEstablished:
		return &lazyConn{fd: fd, raddr: ap}, nil
	case rawsock.TCPClose:
		if n := rawsock.SoError(fd); n != 0 {
			rawsock.Close(fd)
			return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: os.NewSyscallError("connect", n)}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	f := os.NewFile(uintptr(fd), "check")
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
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
	// Writable with no error is connected, except on the first call,
	// which comes before any wait (and after the poller's readiness was
	// reset): there getpeername tells a connect still in progress.
	first := true
	werr := rc.Write(func(fd uintptr) bool {
		n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		switch {
		case err != nil:
			soErr = err
		case n != 0:
			soErr = syscall.Errno(n)
		case first:
			first = false
			if _, err := syscall.Getpeername(int(fd)); err != nil {
				return false
			}
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
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: os.NewSyscallError("connect", soErr)}
	}
	f.SetWriteDeadline(time.Time{})
	ok = true
	// The file is the connection: converting it with net.FileConn would
	// cost a dup, a second poller registration and two closes per check.
	return &fileConn{File: f, raddr: ap}, nil
}

// fileConn is a connected TCP socket held as an *os.File (pollable, with
// deadlines), seen as a net.Conn.
type fileConn struct {
	*os.File
	raddr netip.AddrPort
}

func (c *fileConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.raddr) }

func (c *fileConn) LocalAddr() net.Addr {
	var a net.Addr = &net.TCPAddr{}
	if rc, err := c.File.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { a = rawsock.Sockname(int(fd)) })
	}
	return a
}

// SetLinger(0) makes Close send a reset, as HAProxy ends its checks.
func (c *fileConn) SetLinger(sec int) error {
	rc, err := c.File.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: int32(sec)})
	})
	return serr
}

// netipAddrPort parses an IP literal with a port (a number or a service
// name); it allocates nothing in the common case, as it runs per check.
func netipAddrPort(addr string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return netip.AddrPort{}, errors.New("not an IP")
	}
	pa, err := net.LookupPort("tcp", port)
	if err != nil {
		return netip.AddrPort{}, err
	}
	a, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(a.Unmap(), uint16(pa)), nil
}

// lazyConn is a connected socket not yet known to the poller: it is
// handed to the poller (as a fileConn) at its first read, write or
// deadline that needs one. Close may come from another goroutine (a
// stopping checker), hence the lock.
type lazyConn struct {
	mu     sync.Mutex
	fd     int
	closed bool
	raddr  netip.AddrPort
	f      *fileConn
	rd, wd time.Time
}

func (c *lazyConn) file() (*fileConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, net.ErrClosed
	}
	if c.f == nil {
		c.f = &fileConn{File: os.NewFile(uintptr(c.fd), "check"), raddr: c.raddr}
		switch {
		case c.rd.Equal(c.wd) && !c.rd.IsZero():
			// One call: the poller then keeps a single timer for both.
			c.f.SetDeadline(c.rd)
		default:
			if !c.rd.IsZero() {
				c.f.SetReadDeadline(c.rd)
			}
			if !c.wd.IsZero() {
				c.f.SetWriteDeadline(c.wd)
			}
		}
	}
	return c.f, nil
}

func (c *lazyConn) Read(b []byte) (int, error) {
	f, err := c.file()
	if err != nil {
		return 0, err
	}
	return f.Read(b)
}

// Write sends b straight from the socket while the poller does not know
// it yet: a check's request fits the empty send buffer, so it needs no
// registration, no wait and (the send being non-blocking, and raw) no
// hand-off of the thread's P. What does not fit, or a passed deadline,
// goes through the poller.
func (c *lazyConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.f == nil && !c.closed && (c.wd.IsZero() || time.Now().Before(c.wd)) {
		n, err := rawSend(c.fd, b)
		c.mu.Unlock()
		if err != nil && err != syscall.EAGAIN {
			return n, &os.PathError{Op: "write", Path: "check", Err: err}
		}
		if n == len(b) {
			return n, nil
		}
		f, ferr := c.file()
		if ferr != nil {
			return n, ferr
		}
		m, err := f.Write(b[n:])
		return n + m, err
	}
	c.mu.Unlock()
	f, err := c.file()
	if err != nil {
		return 0, err
	}
	return f.Write(b)
}

// rawSend is send(2) without SIGPIPE on a reset connection.
func rawSend(fd int, b []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
			syscall.MSG_NOSIGNAL|syscall.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}

func (c *lazyConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.f != nil {
		return c.f.Close()
	}
	if e := rawsock.Close(c.fd); e != 0 {
		return e
	}
	return nil
}

// deadline records t for the poller-to-be, or applies it.
func (c *lazyConn) deadline(t time.Time, read, write bool) error {
	c.mu.Lock()
	f := c.f
	if f == nil {
		if read {
			c.rd = t
		}
		if write {
			c.wd = t
		}
	}
	c.mu.Unlock()
	switch {
	case f == nil:
		return nil
	case read && write:
		return f.SetDeadline(t)
	case read:
		return f.SetReadDeadline(t)
	}
	return f.SetWriteDeadline(t)
}

func (c *lazyConn) SetDeadline(t time.Time) error      { return c.deadline(t, true, true) }
func (c *lazyConn) SetReadDeadline(t time.Time) error  { return c.deadline(t, true, false) }
func (c *lazyConn) SetWriteDeadline(t time.Time) error { return c.deadline(t, false, true) }
func (c *lazyConn) RemoteAddr() net.Addr               { return net.TCPAddrFromAddrPort(c.raddr) }

func (c *lazyConn) LocalAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return &net.TCPAddr{}
	}
	return rawsock.Sockname(c.fd)
}

// SetLinger(0) makes Close send a reset, as HAProxy ends its checks.
func (c *lazyConn) SetLinger(sec int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	if c.f != nil {
		return c.f.SetLinger(sec)
	}
	if e := rawsock.SetLinger(c.fd, sec); e != 0 {
		return e
	}
	return nil
}
