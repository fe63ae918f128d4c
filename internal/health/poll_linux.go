//go:build linux

package health

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"bulwark/internal/rawsock"
	"bulwark/internal/srvstate"
	"bulwark/internal/timeheap"
)

// poller is the scheduler's own epoll set: the sockets of the plain
// checks in flight, an eventfd for pokes and a timerfd for the next due
// time. The scheduler does not block in epoll_wait (that would hold a
// thread, and keep the runtime's monitor from sleeping): the epoll
// descriptor is itself registered with Go's poller, which wakes the
// scheduler when anything in the set is ready; the scheduler then takes
// every ready event with one non-blocking epoll_wait. The timerfd, not
// a deadline on that descriptor, bounds the wait: moving a runtime timer
// earlier wakes the thread that sleeps in Go's poller to sleep again,
// two context switches each time.
//
// The sockets are armed one-shot: an event for a descriptor closed and
// reused meanwhile fires once and finds a check that looks again.
type poller struct {
	epfd  int
	f     *os.File // epfd as Go's poller knows it
	rc    syscall.RawConn
	evfd  int
	poked atomic.Bool // a poke is written and not yet read
	tfd   int
	timer time.Time          // when tfd fires, zero when disarmed
	ready func(uintptr) bool // harvest, made once: Read would allocate it per wait
	ops   timeheap.Heap[*plainOp]
	byFD  map[int32]*plainOp
	evs   [128]unix.EpollEvent
	n     int // events in evs
}

func newPoller() *poller {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}
	tev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(tfd)}
	if unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev) != nil || unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, tfd, &tev) != nil ||
		unix.SetNonblock(epfd, true) != nil {
		unix.Close(tfd)
		unix.Close(evfd)
		unix.Close(epfd)
		return nil
	}
	p := &poller{epfd: epfd, evfd: evfd, tfd: tfd, f: os.NewFile(uintptr(epfd), "checks"), byFD: make(map[int32]*plainOp)}
	p.ready = func(uintptr) bool { return p.harvest() }
	// A descriptor Go's poller cannot take has no deadline: then the
	// scheduler keeps its timer and channel.
	if p.f.SetReadDeadline(time.Time{}) != nil {
		p.closeFDs()
		return nil
	}
	if p.rc, err = p.f.SyscallConn(); err != nil {
		p.closeFDs()
		return nil
	}
	return p
}

func (p *poller) closeFDs() {
	p.f.Close()
	unix.Close(p.evfd)
	unix.Close(p.tfd)
}

// arm sets the timerfd to fire at t (zero: never), unless it already
// does.
func (p *poller) arm(t time.Time) {
	if t.Equal(p.timer) {
		return
	}
	var spec unix.ItimerSpec
	if !t.IsZero() {
		spec.Value = unix.NsecToTimespec(max(int64(time.Until(t)), 1))
	}
	unix.TimerfdSettime(p.tfd, 0, &spec, nil)
	p.timer = t
}

// poke wakes the scheduler (one eventfd write until it reads it).
func (p *poller) poke() {
	if !p.poked.CompareAndSwap(false, true) {
		return
	}
	one := uint64(1)
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(p.evfd), uintptr(unsafe.Pointer(&one)), 8)
}

// harvest takes the ready events without waiting.
func (p *poller) harvest() bool {
	n, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(unsafe.Pointer(&p.evs[0])), uintptr(len(p.evs)), 0, 0, 0)
	if e != 0 {
		n = 0
	}
	p.n = int(n)
	return p.n > 0
}

// wait waits for events, a poke or until (zero: no limit) and handles
// the events.
func (p *poller) wait(c *Checker, until time.Time) {
	p.n = 0
	if !until.IsZero() && !time.Now().Before(until) {
		p.harvest()
	} else {
		p.arm(until)
		p.rc.Read(p.ready)
	}
	for i := range p.evs[:p.n] {
		ev := &p.evs[i]
		switch int(ev.Fd) {
		case p.evfd:
			p.poked.Store(false)
			drain(p.evfd)
			continue
		case p.tfd:
			p.timer = time.Time{}
			drain(p.tfd)
			continue
		}
		if op := p.byFD[ev.Fd]; op != nil {
			op.ready(c, p)
		}
	}
}

// drain reads the count of an eventfd or timerfd, which makes it
// unreadable again.
func drain(fd int) {
	var v uint64
	syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&v)), 8)
}

func (p *poller) nextDeadline() (time.Time, bool) {
	if p.ops.Len() == 0 {
		return time.Time{}, false
	}
	return p.ops.Peek().deadline, true
}

// expire ends the checks whose time is up.
func (p *poller) expire(c *Checker, now time.Time) {
	for p.ops.Len() > 0 && !p.ops.Peek().deadline.After(now) {
		p.ops.Pop().timeout(c, p)
	}
}

// close drops the checks in flight (the checker stops: their results
// say nothing) and the poller.
func (p *poller) close(c *Checker) {
	for _, op := range p.byFD {
		op.release(c, p)
	}
	p.closeFDs()
}

// Where a plain check is.
const (
	opConnecting = iota
	opSending
	opReading
)

// plainOp is a plain check in flight on the poller.
type plainOp struct {
	j        *job
	fd       int
	state    uint8
	armed    bool // fd is in the epoll set
	deadline time.Time
	index    int // in the poller's heap, -1 when not there
	req      []byte
	sent     int
	buf      *[bufSize]byte
	n        int
	// r judges the check with the script's engine once the poller has
	// done the I/O, end standing for the connection.
	r   probeRun
	end endConn
}

func (o *plainOp) HeapDeadline() time.Time { return o.deadline }
func (o *plainOp) SetHeapIndex(i int)      { o.index = i }

// endConn is what the poller saw after the data it read: the judging
// engine's next read gets err (EOF, a socket error or a timeout). The
// engine does nothing else with the connection.
type endConn struct {
	net.Conn
	err error
}

func (c *endConn) Read([]byte) (int, error) { return 0, c.err }

// plainTarget is the address of a check of kind k to t when the poller
// can run it: TCP to an IP address with no TLS, PROXY header, SOCKS4
// proxy, HTTP/2 or test dialer on the default connection.
func plainTarget(k plainKind, t *Target) (netip.AddrPort, bool) {
	if t.Unix || t.TLS != nil || t.SendProxy != "" || t.Socks4 != "" && t.Socks4Checks || t.Dial != nil ||
		k == plainHTTP && t.Proto == "h2" {
		return netip.AddrPort{}, false
	}
	ap, err := netipAddrPort(t.Addr)
	return ap, err == nil
}

// startPlain starts the check of j on the poller; false hands it to a
// worker (its target needs what only the engine does).
func (c *Checker) startPlain(j *job) bool {
	pj := j.plain
	if d, ok := pj.begin(); !ok {
		c.requeue(j, d, true)
		return true
	}
	ap, ok := plainTarget(pj.kind, pj.t)
	if !ok {
		pj.ready = true
		return false
	}
	p := c.pl
	o := &pj.op
	*o = plainOp{j: j, fd: -1, index: -1}
	o.r = probeRun{s: pj.script, t: *pj.t, ctx: c.ctx, start: time.Now(), linger: pj.script.Rules[0].Conn.Linger}
	o.r.cx.Server, o.r.cx.Backend = pj.t.Server, pj.t.Backend
	o.end.err = os.ErrDeadlineExceeded
	fd, e := rawsock.Socket(ap)
	if e != 0 {
		o.connectFailed(c, p, os.NewSyscallError("socket", e))
		return true
	}
	o.fd = fd
	// The connect is the last step or a send follows: the handshake's
	// last ACK may wait (see dialTCP).
	rawsock.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 0)
	switch e := rawsock.Connect(fd, ap); e {
	case 0, syscall.EINPROGRESS, syscall.EINTR:
	default:
		o.connectFailed(c, p, &syncConnectError{e})
		return true
	}
	switch rawsock.TCPState(fd) {
	case rawsock.TCPEstablished:
		o.connected(c, p)
		return true
	case rawsock.TCPClose:
		if e := rawsock.SoError(fd); e != 0 {
			o.connectFailed(c, p, os.NewSyscallError("connect", e))
			return true
		}
	}
	p.byFD[int32(fd)] = o
	o.state = opConnecting
	o.wait(c, p, unix.EPOLLOUT, o.r.start.Add(pj.t.ConnectTimeout))
	return true
}

// wait arms the socket for events until deadline (zero: keep it).
func (o *plainOp) wait(c *Checker, p *poller, events uint32, deadline time.Time) {
	ev := unix.EpollEvent{Events: events | unix.EPOLLONESHOT, Fd: int32(o.fd)}
	op := unix.EPOLL_CTL_MOD
	if !o.armed {
		op = unix.EPOLL_CTL_ADD
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(p.epfd), uintptr(op), uintptr(o.fd), uintptr(unsafe.Pointer(&ev)), 0, 0); e != 0 {
		// Cannot happen with a valid socket; the check fails as a
		// socket error rather than never ending.
		o.r.fail(srvstate.CheckSockErr, 0, sysError(e))
		o.done(c, p, o.r.result)
		return
	}
	o.armed = true
	if !deadline.IsZero() {
		o.deadline = deadline
		if o.index < 0 {
			p.ops.Push(o)
		} else {
			p.ops.Fix(o.index)
		}
	}
}

// ready handles an event on the socket (or a spurious one: the socket
// is looked at again).
func (o *plainOp) ready(c *Checker, p *poller) {
	switch o.state {
	case opConnecting:
		if e := rawsock.SoError(o.fd); e != 0 {
			o.connectFailed(c, p, os.NewSyscallError("connect", e))
			return
		}
		if st := rawsock.TCPState(o.fd); st == rawsock.TCPSynSent || st == rawsock.TCPSynRecv {
			o.wait(c, p, unix.EPOLLOUT, time.Time{})
			return
		}
		o.connected(c, p)
	case opSending:
		o.send(c, p)
	case opReading:
		o.read(c, p)
	}
}

// connected goes on from an established connection: a connect check has
// passed, an HTTP check sends its request.
func (o *plainOp) connected(c *Checker, p *poller) {
	if o.j.plain.kind == plainConnect {
		o.done(c, p, o.r.exec(1))
		return
	}
	o.r.conn = &o.end
	o.req = o.r.request(o.r.s.Rules[1].HTTP)
	o.deadline = time.Now().Add(o.r.t.Timeout)
	if o.index >= 0 {
		p.ops.Fix(o.index)
	}
	o.state = opSending
	o.send(c, p)
}

// send writes what is left of the request, then waits for the answer.
func (o *plainOp) send(c *Checker, p *poller) {
	n, err := rawSend(o.fd, o.req[o.sent:])
	switch {
	case err == syscall.EAGAIN:
	case err != nil:
		o.r.sendFailed(&o.r.s.Rules[1], &os.PathError{Op: "write", Path: "check", Err: err})
		o.done(c, p, o.failed())
		return
	}
	o.sent += n
	p.byFD[int32(o.fd)] = o
	if o.sent < len(o.req) {
		o.wait(c, p, unix.EPOLLOUT, o.deadline)
		return
	}
	o.state = opReading
	o.wait(c, p, unix.EPOLLIN|unix.EPOLLRDHUP, o.deadline)
}

// read takes what the socket has and judges the answer once it is
// complete, or the peer closed, or the buffer is full.
func (o *plainOp) read(c *Checker, p *poller) {
	if o.buf == nil {
		o.buf = c.bufs.get()
	}
	for o.n < bufSize {
		n, e := rawsock.Read(o.fd, o.buf[o.n:])
		switch {
		case e == syscall.EAGAIN:
			resp, complete, bad := parseResponse(o.buf[:o.n], false)
			if !complete {
				o.wait(c, p, unix.EPOLLIN|unix.EPOLLRDHUP, time.Time{})
				return
			}
			if bad {
				resp = nil
			}
			o.judge(c, p, resp)
			return
		case e != 0:
			o.end.err = &os.PathError{Op: "read", Path: "check", Err: e}
		case n == 0:
			o.end.err = io.EOF
		}
		if e != 0 || n == 0 {
			break
		}
		o.n += n
	}
	o.judge(c, p, nil)
}

// judge runs the expect rules on what was read; resp is the response
// when already parsed.
func (o *plainOp) judge(c *Checker, p *poller, resp *httpResponse) {
	if o.buf != nil {
		o.r.in = o.buf[:o.n]
		o.r.cx.Payload = o.r.in
	}
	o.r.resp = resp
	o.done(c, p, o.r.exec(2))
}

// timeout ends a check whose time is up (the heap let it go).
func (o *plainOp) timeout(c *Checker, p *poller) {
	switch o.state {
	case opConnecting:
		o.connectFailed(c, p, context.DeadlineExceeded)
	case opSending:
		o.r.sendFailed(&o.r.s.Rules[1], os.ErrDeadlineExceeded)
		o.done(c, p, o.failed())
	default:
		o.end.err = os.ErrDeadlineExceeded
		o.judge(c, p, nil)
	}
}

func (o *plainOp) connectFailed(c *Checker, p *poller, err error) {
	o.r.connectFailed(&o.r.s.Rules[0], "connect", err)
	o.done(c, p, o.failed())
}

// failed is the result a failing step set, with its duration.
func (o *plainOp) failed() srvstate.Check {
	res := o.r.result
	res.Duration = time.Since(o.r.start)
	return res
}

// release closes the socket (with a reset unless the script lingers or
// the peer closed first, as the engine does) and gives back the buffers.
func (o *plainOp) release(c *Checker, p *poller) {
	if o.fd >= 0 {
		if !o.r.linger {
			rawsock.SetLinger(o.fd, 0)
		}
		rawsock.Close(o.fd)
		delete(p.byFD, int32(o.fd))
		o.fd = -1
	}
	if o.index >= 0 {
		p.ops.Remove(o.index)
	}
	if o.buf != nil {
		c.bufs.p.Put(o.buf)
	}
	if o.r.buf != nil {
		c.bufs.p.Put(o.r.buf)
	}
	o.buf, o.r.buf, o.r.in, o.r.cx.Payload, o.r.resp, o.req = nil, nil, nil, nil, nil, nil
}

// done ends the check with res and queues the next one.
func (o *plainOp) done(c *Checker, p *poller, res srvstate.Check) {
	o.release(c, p)
	if c.ctx.Err() != nil {
		return
	}
	j := o.j
	d, notify := j.plain.report(res)
	if notify == nil {
		c.requeue(j, d, true)
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		notify()
		c.schedule(j, d)
	}()
}

// pollLoop is loop with the poller: it starts the due checks, then waits
// for the sockets of the plain checks in flight, the next due check (at
// least a tick away) or a poke, and goes on with what came.
func (c *Checker) pollLoop() {
	p := c.pl
	defer p.close(c)
	for c.ctx.Err() == nil {
		c.mu.Lock()
		now := time.Now()
		due := c.due[:0]
		for c.queue.Len() > 0 && !c.queue.Peek().due.After(now) {
			due = append(due, c.queue.Pop())
		}
		c.mu.Unlock()
		c.startDue(due)
		// The checks just started may be queued again already (a check
		// in maintenance, a connect that ended at once).
		var until time.Time
		c.mu.Lock()
		if c.queue.Len() > 0 {
			until = now.Add(max(c.queue.Peek().due.Sub(now), c.tick))
		}
		c.mu.Unlock()
		if dl, ok := p.nextDeadline(); ok && (until.IsZero() || dl.Before(until)) {
			until = dl
		}
		p.wait(c, until)
		p.expire(c, time.Now())
	}
}
