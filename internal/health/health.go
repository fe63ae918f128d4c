// Package health runs active server checks (CM 5.2 "check", "inter",
// "fastinter", "downinter"; CM 4.2 "option httpchk") and reports each
// result to the server's srvstate.Server, whose counter follows HAProxy
// 2.6: from full health a server goes DOWN after "fall" failed checks, and
// back UP after "rise" good ones.
package health

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"bulwark/internal/srvstate"
	"bulwark/internal/timeheap"
)

// Spec describes the check of one server. Rise and fall live in the
// server's srvstate.Server, which keeps the counter.
type Spec struct {
	Addr      string // host:port or unix path to check
	Unix      bool
	Inter     time.Duration // interval while stable (default 2s)
	FastInter time.Duration // interval while going up or down (default Inter)
	DownInter time.Duration // interval while fully down (default Inter)
	Timeout   time.Duration // "timeout check"; 0 = Inter bounds the check
	// Connect is "timeout connect"; the connect is bounded by the smaller
	// of it and Inter when "timeout check" is set.
	Connect time.Duration
	// Script is what the check does; nil is a plain connect, or the HTTP
	// check of HTTP when set.
	Script *Script
	// HTTP, when set and Script is not, makes it "option httpchk" with
	// this request line; 2xx and 3xx answers pass.
	HTTP *HTTPCheck
	// Target carries the rest of what Run needs (TLS, PROXY header,
	// send-state); Addr, Unix and the timeouts above override its fields.
	Target Target
	// Before, when set, is called before each check with the state the
	// check starts from, to adjust the target (disable-on-404 only
	// applies to a running server). The calls for one server never
	// overlap, so it may keep state of its own. It may run on the
	// scheduler goroutine (plain checks), so it must not block.
	Before func(t *Target, cur srvstate.Snapshot)
	// OnResult, when set, is called after every result with the states
	// before and after it ("option log-health-checks"). A result that
	// changes neither the state, the health nor the check status may be
	// reported on the scheduler goroutine: OnResult must then be quick.
	OnResult func(before, after srvstate.Snapshot)
	// Spread is "spread-checks": each interval is moved by up to this
	// percentage of itself, either way, so that checks drift apart.
	Spread int
}

// HTTPCheck is "option httpchk [<method>] [<uri>] [<version>]".
type HTTPCheck struct {
	Method, URI, Version string
	Host                 string
}

// Checker runs the checks of a set of servers until stopped. One
// goroutine keeps the next check of every server in a heap ordered by
// time and starts the checks that are due: a thousand servers cost no
// parked goroutine and no timer of their own between checks, and checks
// due close together start in one wake-up (HAProxy's single timer tree
// and event loop do the same). Plain connect checks and plain HTTP
// checks (no TLS, PROXY header, SOCKS4, HTTP/2 or tcp-check steps) run
// in that goroutine too, on non-blocking sockets of its own poller
// (Linux): the answers of many checks come in one wake-up, where a
// goroutine per check would be woken once per answer. The other checks
// run each in a short-lived worker goroutine.
type Checker struct {
	bufs   BufPool
	wg     sync.WaitGroup
	cancel context.CancelFunc
	ctx    context.Context
	start  sync.Once
	poke   chan struct{} // the earliest due time moved earlier
	// pl, when set, is the scheduler's poller: the plain checks' sockets
	// and the pokes (which then go to it, not to poke).
	pl *poller
	// work hands due checks to idle workers; idle counts the workers
	// waiting on it that no job was promised to yet.
	work chan *job
	idle atomic.Int32

	mu    sync.Mutex
	queue timeheap.Heap[*job]
	// tick is how late a due check may start so that it joins others:
	// a tenth of the smallest interval watched, at most maxTick.
	tick time.Duration
	due  []*job // the loop's scratch list

	// wait, when set (tests), is asked about every delay chosen (the
	// first one is the offset): true runs the next check at once, false
	// ends that server's checks. Nothing sleeps then.
	wait func(ctx context.Context, d time.Duration, wake <-chan struct{}) bool
}

// maxTick bounds how late a check starts to share a wake-up: 10 ms on a
// 1 s interval, invisible to rise/fall and to the spread of the checks.
const maxTick = 10 * time.Millisecond

// maxIdle bounds the workers kept waiting for checks. A worker keeps its
// grown stack from one check to the next (a new goroutine per check
// would grow one every time); a check that blocks never holds others
// up, since a due check with no idle worker gets a new one.
const maxIdle = 128

// job is the check of one server (or its agent).
type job struct {
	due   time.Time
	index int  // in the heap; -1 while it runs or once it ended
	woken bool // a wake came while the check ran: the next one is at once
	// run performs one check and returns the delay before the next; false
	// ends the job.
	run func() (time.Duration, bool)
	// plain, when set, is a check the scheduler may run itself.
	plain *plainJob
}

// plainJob is the check of a server whose script the scheduler's poller
// can run (plainKind), when its target allows (plainTarget).
type plainJob struct {
	kind   plainKind
	script *Script
	t      *Target // the job's Target, set by begin
	// begin prepares a check: false, with the delay to the next, when
	// none runs now (maintenance).
	begin func() (time.Duration, bool)
	// report records a result and returns the delay to the next check;
	// notify, when not nil, carries the callbacks of a result that
	// changed something, which may block (logs) and so run off the
	// scheduler.
	report func(srvstate.Check) (d time.Duration, notify func())
	// ready marks t as prepared for the worker the scheduler hands the
	// check to.
	ready bool
	op    plainOp // the check in flight, reused from one check to the next
}

// The checker's schedule is a timeheap of jobs.
func (j *job) HeapDeadline() time.Time { return j.due }
func (j *job) SetHeapIndex(i int)      { j.index = i }

// New returns a Checker; Watch adds servers to it.
func New() *Checker {
	ctx, cancel := context.WithCancel(context.Background())
	return &Checker{ctx: ctx, cancel: cancel, poke: make(chan struct{}, 1), tick: maxTick, work: make(chan *job, maxIdle)}
}

// add queues a new job whose intervals are at least minInter, the first
// check after offset.
func (c *Checker) add(j *job, offset, minInter time.Duration) {
	j.index = -1
	c.mu.Lock()
	if t := minInter / 10; t > 0 && t < c.tick {
		c.tick = t
	}
	c.mu.Unlock()
	c.start.Do(func() {
		c.pl = newPoller()
		c.wg.Add(1)
		go c.loop()
	})
	c.schedule(j, offset)
}

// schedule queues j to run after d.
func (c *Checker) schedule(j *job, d time.Duration) { c.requeue(j, d, false) }

// requeue queues j to run after d; inLoop spares the scheduler its own
// wake-up when it queues the job itself.
func (c *Checker) requeue(j *job, d time.Duration, inLoop bool) {
	if c.ctx.Err() != nil {
		return
	}
	if c.wait != nil {
		if !c.wait(c.ctx, d, nil) {
			return
		}
		d = 0
	}
	c.mu.Lock()
	if j.woken {
		j.woken, d = false, 0
	}
	j.due = time.Now().Add(d)
	c.queue.Push(j)
	first := j.index == 0
	c.mu.Unlock()
	if first && !inLoop {
		c.signal()
	}
}

// wakeJob runs j's next check at once (the server left maintenance, or
// observe asked for it), or right after the one that runs now.
func (c *Checker) wakeJob(j *job) {
	c.mu.Lock()
	if j.index < 0 {
		j.woken = true
		c.mu.Unlock()
		return
	}
	j.due = time.Now()
	c.queue.Fix(j.index)
	c.mu.Unlock()
	c.signal()
}

func (c *Checker) signal() {
	if c.pl != nil {
		c.pl.poke()
		return
	}
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// loop starts the due checks, then sleeps until the next one is due (at
// least a tick, so that checks due close together start together) or
// until an earlier one is queued.
func (c *Checker) loop() {
	defer c.wg.Done()
	if c.pl != nil {
		c.pollLoop()
		return
	}
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		c.mu.Lock()
		now := time.Now()
		due := c.due[:0]
		for c.queue.Len() > 0 && !c.queue.Peek().due.After(now) {
			due = append(due, c.queue.Pop())
		}
		sleep := time.Duration(-1)
		if c.queue.Len() > 0 {
			sleep = max(c.queue.Peek().due.Sub(now), c.tick)
		}
		c.mu.Unlock()
		c.startDue(due)
		var fire <-chan time.Time
		if sleep >= 0 {
			t.Reset(sleep)
			fire = t.C
		}
		select {
		case <-c.ctx.Done():
			return
		case <-fire:
		case <-c.poke:
		}
	}
}

// startDue starts the checks in due and clears it.
func (c *Checker) startDue(due []*job) {
	for i, j := range due {
		if j.plain == nil || c.pl == nil || !c.startPlain(j) {
			c.dispatch(j)
		}
		due[i] = nil
	}
	c.due = due[:0]
}

// dispatch gives j to an idle worker, or to a new one.
func (c *Checker) dispatch(j *job) {
	if c.idle.Add(-1) >= 0 {
		c.work <- j // a slot was free: this never blocks
		return
	}
	c.idle.Add(1)
	c.wg.Add(1)
	go c.worker(j)
}

// worker runs j, then the jobs handed to it, until there are enough idle
// workers or the checker stops.
func (c *Checker) worker(j *job) {
	defer c.wg.Done()
	for {
		if d, ok := j.run(); ok {
			c.schedule(j, d)
		}
		for {
			n := c.idle.Load()
			if n >= maxIdle {
				return
			}
			if c.idle.CompareAndSwap(n, n+1) {
				break
			}
		}
		select {
		case j = <-c.work:
		case <-c.ctx.Done():
			return
		}
	}
}

// Watch starts checking one server and reports every result to st, which
// runs the rise/fall state machine; changed, when not nil, is called after
// a result that changed the operational state (UP, DOWN, NOLB). The first
// check follows offset (spread so that checks do not all fire together).
// While the server is in maintenance no check is sent, as in HAProxy;
// leaving maintenance wakes the checker at once.
func (c *Checker) Watch(s Spec, offset time.Duration, st *srvstate.Server, changed func(before, after srvstate.Snapshot)) {
	s = s.withDefaults()
	target, script := s.target()
	target.Bufs = &c.bufs
	j := &job{}
	// The job never runs twice at once: one Target serves all its
	// checks, copied afresh from target each time.
	pj := &plainJob{kind: kindOf(script), script: script, t: new(Target)}
	pj.begin = func() (time.Duration, bool) {
		cur := st.Load()
		if !cur.ChecksRunning() {
			return s.Inter, false
		}
		*pj.t = target
		if s.Before != nil {
			s.Before(pj.t, cur)
		}
		return 0, true
	}
	pj.report = func(r srvstate.Check) (time.Duration, func()) {
		before, after := st.Report(r)
		d := Spread(Interval(s, after), s.Spread)
		if before.Op == after.Op && before.Health == after.Health && before.Check.Status == after.Check.Status {
			// Nothing to log or to act on: what OnResult does then is
			// quick, and it runs where the check ran.
			if s.OnResult != nil {
				s.OnResult(before, after)
			}
			return d, nil
		}
		// Copies, so that before and after stay on the stack of the
		// steady case.
		b, a := before, after
		return d, func() {
			if s.OnResult != nil {
				s.OnResult(b, a)
			}
			if changed != nil && b.Op != a.Op {
				changed(b, a)
			}
		}
	}
	j.run = func() (time.Duration, bool) {
		if !pj.ready {
			if d, ok := pj.begin(); !ok {
				return d, true
			}
		}
		pj.ready = false
		r := Run(c.ctx, script, *pj.t)
		if c.ctx.Err() != nil {
			return 0, false // a check cut short by Stop says nothing about the server
		}
		d, notify := pj.report(r)
		if notify != nil {
			notify()
		}
		return d, true
	}
	if pj.kind != plainNone {
		j.plain = pj
	}
	st.OnWake(func() { c.wakeJob(j) })
	c.add(j, offset, min(s.Inter, s.FastInter, s.DownInter))
}

// Spread moves d by a random amount within spread percent of it, either
// way ("spread-checks", HAProxy's jitter on every interval).
func Spread(d time.Duration, spread int) time.Duration {
	if spread <= 0 {
		return d
	}
	r := d * time.Duration(spread) / 100
	return d + r - time.Duration(rand.Int64N(int64(2*r)+1))
}

// Offsets are the first checks' delays, as HAProxy starts them: the i-th
// of n checks waits i/n of the smallest interval of at least a second
// (or of its own interval when longer), capped by "max-spread-checks".
func Offsets(inters []time.Duration, maxSpread time.Duration) []time.Duration {
	var minInter time.Duration
	for _, d := range inters {
		if d >= time.Second && (minInter == 0 || d < minInter) {
			minInter = d
		}
	}
	out := make([]time.Duration, len(inters))
	for i, d := range inters {
		m := max(minInter, d)
		if maxSpread > 0 && m > maxSpread {
			m = maxSpread
		}
		out[i] = m * time.Duration(i) / time.Duration(len(inters))
	}
	return out
}

// Interval is the wait before the next check (HAProxy's srv_getinter):
// inter at full health, downinter when fully down, fastinter in between.
func Interval(s Spec, n srvstate.Snapshot) time.Duration {
	s = s.withDefaults()
	switch {
	case n.Health == n.Rise+n.Fall-1:
		return s.Inter
	case n.Op == srvstate.Stopped && n.Health == 0:
		return s.DownInter
	}
	return s.FastInter
}

func (s Spec) withDefaults() Spec {
	if s.Inter <= 0 {
		s.Inter = 2 * time.Second
	}
	if s.FastInter <= 0 {
		s.FastInter = s.Inter
	}
	if s.DownInter <= 0 {
		s.DownInter = s.Inter
	}
	return s
}

// Stop ends every check and waits for them.
func (c *Checker) Stop() {
	c.start.Do(func() {}) // no scheduler starts after this; c.pl is settled
	c.cancel()
	c.signal()
	c.wg.Wait()
}

// Probe runs one check.
func Probe(ctx context.Context, s Spec) srvstate.Check {
	t, sc := s.target()
	return Run(ctx, sc, t)
}

// target is the Target and Script of s with its timeouts: without
// "timeout check", inter bounds the connect and the rest; with it, the
// connect gets min(timeout connect, inter) and the rest timeout check.
func (s Spec) target() (Target, *Script) {
	t := s.Target
	t.Addr, t.Unix = s.Addr, s.Unix
	inter := s.Inter
	if inter <= 0 {
		inter = 2 * time.Second
	}
	t.ConnectTimeout, t.Timeout = inter, inter
	if s.Timeout > 0 {
		t.Timeout = s.Timeout
		if s.Connect > 0 && s.Connect < inter {
			t.ConnectTimeout = s.Connect
		}
	}
	sc := s.Script
	if sc == nil {
		sc = TCPConnect()
		if h := s.HTTP; h != nil {
			sc = HTTPScript(h.Method, h.URI, h.Version)
		}
	}
	return t, sc
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// sysError is the system's wording of a socket error, as HAProxy puts it
// in last_chk ("Connection refused").
func sysError(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return ""
	}
	msg := errno.Error()
	if msg == "" {
		return ""
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}
