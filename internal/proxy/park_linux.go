package proxy

import (
	"crypto/tls"
	"net"
	"sync"
	"syscall"
	"time"

	"bulwark/internal/timeheap"
	"bulwark/internal/tlsfail"
	"bulwark/internal/tlsinfo"
)

// parker holds idle keep-alive connections without a goroutine each: the
// connection's socket sits in an epoll set of our own (besides Go's), and
// a single goroutine resumes a session when its client sends the next
// request. An idle connection then costs a parkedConn and its socket, not
// a goroutine stack and a session (what HAProxy's event loop gets for
// free).
// Keep-alive deadlines are a heap in the same goroutine, whose epoll wait
// ends at the nearest one: a runtime timer per parked connection cost
// about 200 bytes each.
type parker struct {
	epfd   int
	wakeR  int // pipe read end in the set: stop the loop, or a nearer deadline
	wakeW  int
	mu     sync.Mutex
	parked map[int]*parkedConn
	base   time.Time                  // parkedConn.deadline counts from here
	due    timeheap.Heap[*parkedConn] // parked connections with a deadline, nearest first
	closed bool
}

func newParker() *parker {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	var p2 [2]int
	if err := syscall.Pipe2(p2[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p2[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p2[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(p2[0])
		syscall.Close(p2[1])
		return nil
	}
	p := &parker{epfd: epfd, wakeR: p2[0], wakeW: p2[1], parked: map[int]*parkedConn{}, base: time.Now()}
	go p.loop()
	return p
}

// park registers pc until its socket is readable or deadline (none when
// zero) passes. It reports false when the session must wait the ordinary
// way.
func (p *parker) park(pc *parkedConn, deadline time.Time) bool {
	fd, ok := parkFD(pc.c)
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	if old := p.parked[fd]; old != nil && p.take(fd, old) {
		// Two open sockets cannot share a descriptor: old's was closed
		// under it ("shutdown session"), which left our set silently, and
		// the number was given to pc's. old ends now; kept, it would be
		// lost below and never give its slots back.
		go old.expire()
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return false
	}
	pc.fd = int32(fd)
	p.parked[fd] = pc
	pc.idx = -1
	if !deadline.IsZero() {
		pc.deadline = max(deadline.Sub(p.base), 1)
		p.due.Push(pc)
		if pc.idx == 0 {
			// The loop waits for a later deadline (or none): wake it to
			// wait for this one.
			syscall.Write(p.wakeW, []byte{0})
		}
	}
	return true
}

// take removes pc from the set if it is still parked there; exactly one of
// the wake-up, the deadline and a stop wins. p.mu is held.
func (p *parker) take(fd int, pc *parkedConn) bool {
	if p.parked[fd] != pc || pc == nil {
		return false
	}
	delete(p.parked, fd)
	syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	if pc.idx >= 0 {
		p.due.Remove(int(pc.idx))
	}
	return true
}

// expired takes the connections whose deadline passed and returns them
// with the wait until the next deadline (-1: none). p.mu is held.
func (p *parker) expired(now time.Time, out []*parkedConn) ([]*parkedConn, int) {
	for p.due.Len() > 0 {
		pc := p.due.Peek()
		if d := pc.deadline - now.Sub(p.base); d > 0 {
			// Round up: waking a millisecond early would only loop.
			return out, int((d + time.Millisecond - 1) / time.Millisecond)
		}
		if p.take(int(pc.fd), pc) {
			out = append(out, pc)
		} else {
			p.due.Pop()
		}
	}
	return out, -1
}

func (p *parker) loop() {
	events := make([]syscall.EpollEvent, 128)
	var drain [64]byte
	var expire, resume []*parkedConn
	wait := -1
	for {
		n, err := syscall.EpollWait(p.epfd, events, wait)
		if err != nil && err != syscall.EINTR {
			return
		}
		resume = resume[:0]
		p.mu.Lock()
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			if fd == p.wakeR {
				if p.closed {
					p.mu.Unlock()
					syscall.Close(p.epfd)
					syscall.Close(p.wakeR)
					return
				}
				syscall.Read(p.wakeR, drain[:])
				continue
			}
			if pc := p.parked[fd]; pc != nil && p.take(fd, pc) {
				resume = append(resume, pc)
			}
		}
		expire, wait = p.expired(time.Now(), expire[:0])
		p.mu.Unlock()
		for _, pc := range resume {
			go pc.resume()
		}
		for i, pc := range expire {
			go pc.expire()
			expire[i] = nil
		}
		clear(resume)
	}
}

// resumeAll wakes every parked connection (a stop or reload) and closes
// the set: later idle sessions wait the ordinary way.
func (p *parker) resumeAll() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	var all []*parkedConn
	for fd, pc := range p.parked {
		all = append(all, pc)
		delete(p.parked, fd)
		syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
		pc.idx = -1
	}
	p.due = timeheap.Heap[*parkedConn]{}
	syscall.Write(p.wakeW, []byte{1})
	syscall.Close(p.wakeW)
	p.mu.Unlock()
	for _, pc := range all {
		go pc.resume()
	}
}

// count returns the number of parked connections.
func (p *parker) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.parked)
}

// parkFD is the socket under c that the parker watches, through TLS:
// the parker only waits on it, and the session reads through c.
//
// A TLS connection can park when a read on it has just timed out (the
// short wait of waitRequest): crypto/tls returns whatever it holds
// decrypted, or decrypts a whole record it holds, before it reads the
// socket, so a read that had to wait for the socket and met the deadline
// leaves nothing complete in crypto/tls's buffers; what may be left is
// the start of a record, whose rest comes on the socket and wakes the
// parker. A timeout does not break the TLS connection (crypto/tls keeps
// only errors that are not temporary).
func parkFD(c net.Conn) (int, bool) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	switch w := c.(type) {
	case *tlsfail.Conn: // a client's: records the handshake, holds no bytes
		c = w.Conn
	case *tlsinfo.Conn:
		c = w.Conn
	}
	return connFD(c)
}

// readable reports, without consuming anything, whether the connection's
// socket has bytes (or an end of stream) waiting: a deadline can fire
// after data arrived when the goroutine was not scheduled in time, and
// such a session must not be parked. For TLS that is the socket under it
// (see parkFD). A connection that cannot park (bytes held by a wrapper)
// reports false: it then waits buffer-less, and its first read takes
// whatever came. (Reporting true kept such a session waiting with its
// reader and copy buffers, about 40 KB, for the whole keep-alive timeout.)
func readable(c net.Conn) bool {
	fd, ok := parkFD(c)
	if !ok {
		return false
	}
	var b [1]byte
	n, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err == nil && n >= 0
}

// idleUsable reports whether an idle server connection can carry the next
// request: nothing waits to be read on it. A server sends nothing unasked
// on an idle HTTP/1.1 connection, so anything pending is its close (end of
// stream, reset) or bytes out of step with the requests, and either makes
// the connection unusable. The check is one non-blocking peek; the kernel
// has seen the server's FIN even if nobody read the socket.
func idleUsable(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if ic, ok := c.(*tlsinfo.Conn); ok {
		c = ic.Conn
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	usable := false
	cerr := rc.Control(func(fd uintptr) {
		var b [1]byte
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err == syscall.EINTR {
				continue
			}
			usable = err == syscall.EAGAIN
			return
		}
	})
	return cerr == nil && usable
}
