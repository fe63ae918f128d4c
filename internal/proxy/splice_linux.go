package proxy

import (
	"errors"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Kernel splicing ("option splice-request|splice-response|splice-auto"):
// bytes go from one socket to the other through a pipe, splice(2) twice,
// without being copied to user space. Go's own io.Copy between two
// *net.TCPConn splices too, but only without deadlines and only when it
// sees the bare connections; this one keeps Bulwark's inactivity timeouts
// (a deadline refreshed per transfer, as the user-space copies do) and
// reports how much it moved, for the h1_spliced_bytes counters.

// spliceMax is how much one splice call asks for: the default pipe
// capacity, which the write side then drains.
const spliceMax = 64 << 10

// spliceMin is the smallest length-delimited body worth a pipe (two
// system calls to make it, two to close it): below it the copy buffer
// does as well.
const spliceMin = 32 << 10

// rawTCP returns the socket under c when the proxy may splice on it: a
// plain TCP connection, or one whose PROXY header and the bytes read past
// it are consumed. TLS connections, h2 streams and connections that
// replay inspected bytes are not.
func rawTCP(c net.Conn) *net.TCPConn {
	if pc, ok := c.(*ppConn); ok && len(pc.rest) == 0 {
		c = pc.Conn
	}
	tc, _ := c.(*net.TCPConn)
	return tc
}

// spliceConns moves n bytes (n < 0: up to the end of src) from src to
// dst. rto and wto are the inactivity timeouts of the reads and the
// writes (0: none). eof reports that src ended; err is a read or write
// error (a timeout is a net.Error with Timeout()).
func spliceConns(dst, src *net.TCPConn, n int64, rto, wto time.Duration) (moved int64, eof bool, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return 0, false, err
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	wc, err := dst.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	for n != 0 {
		want := spliceMax
		if n > 0 && n < int64(want) {
			want = int(n)
		}
		if rto > 0 {
			src.SetReadDeadline(time.Now().Add(rto))
		}
		var got int64
		var serr error
		err := rc.Read(func(fd uintptr) bool {
			got, serr = unix.Splice(int(fd), nil, p[1], nil, want, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			return serr != unix.EAGAIN && serr != unix.EINTR
		})
		if err == nil {
			err = serr
		}
		if err != nil {
			return moved, false, err
		}
		if got == 0 {
			return moved, true, nil
		}
		// Drain the pipe before reading again: it is then empty for
		// the next read, whose splice can never block on it.
		left := int(got)
		for left > 0 {
			if wto > 0 {
				dst.SetWriteDeadline(time.Now().Add(wto))
			}
			var w int64
			var werr error
			err := wc.Write(func(fd uintptr) bool {
				w, werr = unix.Splice(p[0], nil, int(fd), nil, left, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				return werr != unix.EAGAIN && werr != unix.EINTR
			})
			if err == nil {
				err = werr
			}
			if err != nil {
				return moved, false, err
			}
			left -= int(w)
			moved += w
		}
		if n > 0 {
			n -= got
		}
	}
	return moved, false, nil
}

// spliceUnsupported reports an error that means splicing is not possible
// on these sockets at all (as opposed to a failed transfer).
func spliceUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSYS)
}
