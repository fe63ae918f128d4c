// Package health runs active server checks (CM 5.2 "check", "inter",
// "fastinter", "downinter"; CM 4.2 "option httpchk") and reports each
// result to the server's srvstate.Server, whose counter follows HAProxy
// 2.6: from full health a server goes DOWN after "fall" failed checks, and
// back UP after "rise" good ones.
package health

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/textproto"
	"strconv"
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
	Timeout   time.Duration // 0 = Inter
	// HTTP, when set, makes it an HTTP check: the request line and headers
	// to send; 2xx and 3xx answers pass.
	HTTP *HTTPCheck
}

// HTTPCheck is "option httpchk [<method>] [<uri>] [<version>]".
type HTTPCheck struct {
	Method, URI, Version string
	Host                 string
}

// Checker runs the checks of a set of servers until stopped.
type Checker struct {
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
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		next := offset
		for c.wait(c.ctx, next, st.Wake()) {
			if cur := st.Load(); !cur.ChecksRunning() {
				next = s.Inter
				continue
			}
			r := Probe(c.ctx, s)
			if c.ctx.Err() != nil {
				return // a check cut short by Stop says nothing about the server
			}
			before, after := st.Report(r)
			if changed != nil && before.Op != after.Op {
				changed(before, after)
			}
			next = Interval(s, after)
		}
	}()
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
	start := time.Now()
	done := func(st srvstate.CheckStatus, code int, info string) srvstate.Check {
		return srvstate.Check{Status: st, Code: code, Duration: time.Since(start), Info: info}
	}
	to := s.Timeout
	if to <= 0 {
		to = s.Inter
	}
	if to <= 0 {
		to = 2 * time.Second
	}
	d := net.Dialer{Timeout: to}
	netw := "tcp"
	if s.Unix {
		netw = "unix"
	}
	conn, err := d.DialContext(ctx, netw, s.Addr)
	if err != nil {
		if isTimeout(err) {
			return done(srvstate.CheckL4TOUT, 0, "")
		}
		return done(srvstate.CheckL4CON, 0, sysError(err))
	}
	defer conn.Close()
	if s.HTTP == nil {
		return done(srvstate.CheckL4OK, 0, "")
	}
	conn.SetDeadline(start.Add(to))
	h := s.HTTP
	req := h.Method + " " + h.URI + " " + h.Version + "\r\n"
	if h.Host != "" {
		req += "Host: " + h.Host + "\r\n"
	}
	req += "Connection: close\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		if isTimeout(err) {
			return done(srvstate.CheckL7TOUT, 0, "")
		}
		return done(srvstate.CheckSockErr, 0, sysError(err))
	}
	line, err := textproto.NewReader(bufio.NewReader(conn)).ReadLine()
	if err != nil {
		if isTimeout(err) {
			return done(srvstate.CheckL7TOUT, 0, "")
		}
		return done(srvstate.CheckL7RSP, 0, "")
	}
	version, rest, _ := strings.Cut(line, " ")
	codeText, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeText)
	if !strings.HasPrefix(version, "HTTP/") || err != nil || len(codeText) != 3 {
		return done(srvstate.CheckL7RSP, 0, "")
	}
	if code >= 200 && code < 400 {
		return done(srvstate.CheckL7OK, code, reason)
	}
	return done(srvstate.CheckL7STS, code, reason)
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
