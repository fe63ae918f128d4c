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
	"syscall"
	"time"

	"bulwark/internal/srvstate"
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
	// applies to a running server).
	Before func(t *Target, cur srvstate.Snapshot)
	// OnResult, when set, is called after every result with the states
	// before and after it ("option log-health-checks").
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

// Checker runs the checks of a set of servers until stopped.
type Checker struct {
	bufs   BufPool
	wg     sync.WaitGroup
	cancel context.CancelFunc
	ctx    context.Context
	// wait sleeps d or until wake, false when the checker stops. Tests
	// replace it to see the intervals chosen without waiting for them.
	wait func(ctx context.Context, d time.Duration, wake <-chan struct{}) bool
}

// New returns a Checker; Watch adds servers to it.
func New() *Checker {
	ctx, cancel := context.WithCancel(context.Background())
	return &Checker{ctx: ctx, cancel: cancel, wait: sleep}
}

func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
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
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		next := offset
		for c.wait(c.ctx, next, st.Wake()) {
			cur := st.Load()
			if !cur.ChecksRunning() {
				next = s.Inter
				continue
			}
			t := target
			t.Bufs = &c.bufs
			if s.Before != nil {
				s.Before(&t, cur)
			}
			r := Run(c.ctx, script, t)
			if c.ctx.Err() != nil {
				return // a check cut short by Stop says nothing about the server
			}
			before, after := st.Report(r)
			if s.OnResult != nil {
				s.OnResult(before, after)
			}
			if changed != nil && before.Op != after.Op {
				changed(before, after)
			}
			next = Spread(Interval(s, after), s.Spread)
		}
	}()
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
	c.cancel()
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
