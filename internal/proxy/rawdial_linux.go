package proxy

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"bulwark/internal/rawsock"
)

// rawDialOK: dialRaw is available.
const rawDialOK = true

// dialRaw connects to ap with a non-blocking connect of its own instead
// of net.Dialer, for the common server (a literal address, no source, no
// SOCKS, no keep-alive probes). net.Dialer costs, per connection, about
// two dozen allocations (address resolution of the literal, a deadline
// context, its AfterFunc), a trip through the poller to learn that a
// connect is done which on loopback and fast networks is done when the
// call returns, and getsockopt, getpeername and getsockname calls. Here: a
// socket, TCP_NODELAY (as net.Dialer sets it, and HAProxy), the connect and
// one TCP_INFO read; the poller is asked to wait only when the handshake
// is still in progress. The socket calls are raw: none of them blocks, so
// they need not hand the thread's P to another thread.
func dialRaw(ap netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	fd, e := rawsock.Socket(ap)
	if e != 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: os.NewSyscallError("socket", e)}
	}
	rawsock.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	fail := func(op string, e error) (net.Conn, error) {
		rawsock.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: os.NewSyscallError(op, e)}
	}
	switch e := rawsock.Connect(fd, ap); e {
	case 0, syscall.EINPROGRESS, syscall.EINTR, syscall.EALREADY:
	default:
		return fail("connect", e)
	}
	established := false
	switch rawsock.TCPState(fd) {
	case rawsock.TCPEstablished:
		established = true
	case rawsock.TCPClose:
		// Refused (or reset) before connect returned: SO_ERROR says why.
		if n := rawsock.SoError(fd); n != 0 {
			return fail("connect", n)
		}
	}
	f := os.NewFile(uintptr(fd), "tcp")
	c := &rawConn{f: f, raddr: ap}
	if established {
		return c, nil
	}
	if err := c.waitConnected(timeout); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// waitConnected waits, through the poller, for a connect in progress to
// end, at most timeout (0: no limit).
func (c *rawConn) waitConnected(timeout time.Duration) error {
	if timeout > 0 {
		c.f.SetWriteDeadline(time.Now().Add(timeout))
		defer c.f.SetWriteDeadline(time.Time{})
	}
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var soErr error
	werr := rc.Write(func(fd uintptr) bool {
		switch rawsock.TCPState(int(fd)) {
		case rawsock.TCPEstablished:
			return true
		case rawsock.TCPSynSent, rawsock.TCPSynRecv:
			return false // woken early: wait on
		}
		n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		switch {
		case err != nil:
			soErr = err
		case n != 0:
			soErr = syscall.Errno(n)
		default:
			soErr = syscall.ECONNREFUSED
		}
		return true
	})
	addr := net.TCPAddrFromAddrPort(c.raddr)
	if werr != nil {
		if errors.Is(werr, os.ErrDeadlineExceeded) {
			return &net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: errConnectTimeout{}}
		}
		return &net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: werr}
	}
	if soErr != nil {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: os.NewSyscallError("connect", soErr)}
	}
	return nil
}

// errConnectTimeout is a connect that did not finish within "timeout
// connect": a net.Error whose Timeout is true, as net.Dialer's.
type errConnectTimeout struct{}

func (errConnectTimeout) Error() string   { return "i/o timeout" }
func (errConnectTimeout) Timeout() bool   { return true }
func (errConnectTimeout) Temporary() bool { return true }

// rawConn is a connected TCP socket held as a pollable *os.File, seen as
// a net.Conn whose errors read as net.Conn's do (*net.OpError, net.ErrClosed,
// timeouts as net.Error).
type rawConn struct {
	f     *os.File
	raddr netip.AddrPort
	once  sync.Once
	laddr net.Addr // asked for only by what needs it (bc_src, logs)
	// From its second read on, a connection reads with recv through rc
	// (recvOp): os.File's read(2) costs the VFS layer (see rawsock.Read).
	// The first read goes through os.File, so that a connection carrying
	// one request (l7_close) allocates neither.
	rc     syscall.RawConn
	r      recvOp
	rfirst bool // the first read is done
}

func (c *rawConn) Read(b []byte) (int, error) {
	if c.rc == nil {
		if !c.rfirst || len(b) == 0 {
			c.rfirst = true
			n, err := c.f.Read(b)
			if err != nil && err != io.EOF {
				err = c.opErr("read", err)
			}
			return n, err
		}
		rc, err := c.f.SyscallConn()
		if err != nil {
			return 0, c.opErr("read", err)
		}
		c.rc, c.r.wait = rc, true
	}
	if len(b) == 0 {
		return 0, nil
	}
	err := c.r.recv(c.rc, b)
	switch {
	case err != nil:
		// The poller's own errors: a deadline, or the file closed.
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, c.opErr("read", err)
		}
		return 0, c.opErr("read", os.ErrClosed)
	case c.r.errno != 0:
		return 0, c.opErr("read", c.r.errno)
	case c.r.n == 0:
		return 0, io.EOF
	}
	return c.r.n, nil
}

func (c *rawConn) Write(b []byte) (int, error) {
	n, err := c.f.Write(b)
	if err != nil {
		err = c.opErr("write", err)
	}
	return n, err
}

func (c *rawConn) Close() error {
	if err := c.f.Close(); err != nil {
		return c.opErr("close", err)
	}
	return nil
}

// opErr words an *os.File error as the net package would.
func (c *rawConn) opErr(op string, err error) error {
	inner := err
	var pe *os.PathError
	if errors.As(err, &pe) {
		inner = pe.Err
	}
	var errno syscall.Errno
	switch {
	case errors.Is(inner, os.ErrClosed):
		inner = net.ErrClosed
	case errors.As(inner, &errno):
		inner = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: "tcp", Addr: net.TCPAddrFromAddrPort(c.raddr), Err: inner}
}

func (c *rawConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.raddr) }

func (c *rawConn) LocalAddr() net.Addr {
	c.once.Do(func() {
		c.laddr = &net.TCPAddr{}
		rc, err := c.f.SyscallConn()
		if err != nil {
			return
		}
		rc.Control(func(fd uintptr) { c.laddr = rawsock.Sockname(int(fd)) })
	})
	return c.laddr
}

// resetOnClose makes the next Close of c send a TCP reset (SO_LINGER
// with a zero timeout) instead of a FIN; a connection that is not a
// plain TCP one (TLS, a unix socket, an h2 stream) closes as usual.
func resetOnClose(c net.Conn) {
	switch t := c.(type) {
	case *rawConn:
		t.setNoLinger()
	case *net.TCPConn:
		t.SetLinger(0)
	}
}

// setNoLinger makes Close send a reset (resetOnClose).
func (c *rawConn) setNoLinger() {
	if rc, err := c.f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { rawsock.NoLinger(int(fd)) })
	}
}

func (c *rawConn) SetDeadline(t time.Time) error      { return c.f.SetDeadline(t) }
func (c *rawConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *rawConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }

// SyscallConn gives the socket to what works on it directly (the idle
// check of pooled connections, splicing).
func (c *rawConn) SyscallConn() (syscall.RawConn, error) { return c.f.SyscallConn() }

// CloseWrite half-closes the connection, as (*net.TCPConn).CloseWrite.
func (c *rawConn) CloseWrite() error {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Shutdown(int(fd), syscall.SHUT_WR) }); err != nil {
		return c.opErr("close", err)
	}
	if serr != nil {
		return c.opErr("close", serr)
	}
	return nil
}
