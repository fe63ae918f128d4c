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

// spliceMax is the default pipe capacity; splicePipe the capacity asked
// for. One splice call fills the pipe at most, the write side drains it.
const (
	spliceMax  = 64 << 10
	splicePipe = 1 << 20
)

// spliceMin is the smallest length-delimited body worth a pipe (two
// system calls to make it, two to close it): below it the copy buffer
// does as well.
const spliceMin = 32 << 10

// rawTCP returns the socket under c when the proxy may splice on it: a
// plain TCP connection, or one whose PROXY header and the bytes read past
// it are consumed. TLS connections, h2 streams and connections that
// replay inspected bytes are not.
func rawTCP(c net.Conn) spliceConn {
	if pc, ok := c.(*ppConn); ok && len(pc.rest) == 0 {
		c = pc.Conn
	}
	switch tc := c.(type) {
	case *net.TCPConn:
		return tc
	case *rawConn:
		// A server connection of the raw dial (rawdial_linux.go).
		return tc
	}
	return nil
}

// spliceConn is what splicing needs of a socket: its descriptor through
// the runtime's poller, and deadlines.
type spliceConn interface {
	syscall.Conn
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// spliceConns moves n bytes (n < 0: up to the end of src) from src to
// dst. rto and wto are the inactivity timeouts of the reads and the
// writes (0: none). eof reports that src ended; err is a read error or a
// write error, that one a writeError (a timeout is a net.Error with
// Timeout()).
func spliceConns(dst, src spliceConn, n int64, rto, wto time.Duration) (moved int64, eof bool, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return 0, false, err
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	// A bigger pipe takes more per call (fewer system calls per byte);
	// the kernel may refuse (pipe-max-size), the default then does.
	pipeSize := spliceMax
	if sz, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, splicePipe); err == nil && sz > spliceMax {
		pipeSize = sz
	}
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	wc, err := dst.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	var rlast, wlast time.Time
	for n != 0 {
		want := pipeSize
		if n > 0 && n < int64(want) {
			want = int(n)
		}
		// Deadlines move as data flows, at most every timeout/4, as
		// timedConn does: setting one costs a timer update.
		now := time.Now()
		if rto > 0 && now.Sub(rlast) > rto/4 {
			src.SetReadDeadline(now.Add(rto))
			rlast = now
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
			// The time is read again per write: a slow reader can take
			// longer than the timeout to drain a pipe-full while it makes
			// progress, and the timeout is one of inactivity.
			if wto > 0 {
				if now = time.Now(); now.Sub(wlast) > wto/4 {
					dst.SetWriteDeadline(now.Add(wto))
					wlast = now
				}
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
				return moved, false, &writeError{err}
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
