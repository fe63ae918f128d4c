// Package health runs active server checks (CM 5.2 "check", "inter",
// "rise", "fall"; CM 4.2 "option httpchk") and drives each server's state:
// a server goes DOWN after "fall" consecutive failures and back UP after
// "rise" consecutive successes.
package health

import (
	"bufio"
	"context"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Spec describes the check of one server.
type Spec struct {
	Addr      string // host:port or unix path to check
	Unix      bool
	Inter     time.Duration // interval while stable (default 2s)
	FastInter time.Duration // interval while changing state
	DownInter time.Duration // interval while down
	Timeout   time.Duration // 0 = Inter
	Rise      int
	Fall      int
	// HTTP, when set, makes it an HTTP check: the request line and headers
	// to send; 2xx and 3xx answers pass.
	HTTP *HTTPCheck
}

// HTTPCheck is "option httpchk [<method>] [<uri>] [<version>]".
type HTTPCheck struct {
	Method, URI, Version string
	Host                 string
}

// Result of one probe.
type Result struct {
	OK     bool
	Status string // HAProxy's check_status: L4OK, L4CON, L4TOUT, L7OK, L7STS, L7RSP, L7TOUT
	Code   int
	Dur    time.Duration
}

// Checker runs the checks of a set of servers until stopped.
type Checker struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
	ctx    context.Context
}

// New returns a Checker; Watch adds servers to it.
func New() *Checker {
	ctx, cancel := context.WithCancel(context.Background())
	return &Checker{ctx: ctx, cancel: cancel}
}

// Watch starts checking one server; change is called with the new state on
// every UP/DOWN transition. Servers start UP, as in HAProxy, and the first
// check follows within one interval (spread so that checks do not all fire
// together).
func (c *Checker) Watch(s Spec, offset time.Duration, change func(up bool, r Result)) {
	if s.Inter <= 0 {
		s.Inter = 2 * time.Second
	}
	if s.Rise <= 0 {
		s.Rise = 2
	}
	if s.Fall <= 0 {
		s.Fall = 3
	}
	if s.FastInter <= 0 {
		s.FastInter = s.Inter
	}
	if s.DownInter <= 0 {
		s.DownInter = s.Inter
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		up := true
		health := s.Rise + s.Fall - 1 // HAProxy's counter: UP when >= rise
		timer := time.NewTimer(offset)
		defer timer.Stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-timer.C:
			}
			r := Probe(c.ctx, s)
			next := s.Inter
			if r.OK {
				if health < s.Rise+s.Fall-1 {
					health++
				}
				if !up && health >= s.Rise+s.Fall-1 {
					up = true
					change(true, r)
				} else if !up {
					next = s.FastInter
				}
			} else {
				if health > 0 {
					health--
				}
				if up && health < s.Rise {
					up = false
					health = 0
					change(false, r)
				} else if up {
					next = s.FastInter
				}
			}
			if !up && health == 0 {
				next = s.DownInter
			}
			timer.Reset(next)
		}
	}()
}

// Stop ends every check and waits for them.
func (c *Checker) Stop() {
	c.cancel()
	c.wg.Wait()
}

// Probe runs one check.
func Probe(ctx context.Context, s Spec) Result {
	start := time.Now()
	to := s.Timeout
	if to <= 0 {
		to = s.Inter
	}
	d := net.Dialer{Timeout: to}
	netw := "tcp"
	if s.Unix {
		netw = "unix"
	}
	conn, err := d.DialContext(ctx, netw, s.Addr)
	if err != nil {
		st := "L4CON"
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			st = "L4TOUT"
		}
		return Result{Status: st, Dur: time.Since(start)}
	}
	defer conn.Close()
	if s.HTTP == nil {
		return Result{OK: true, Status: "L4OK", Dur: time.Since(start)}
	}
	conn.SetDeadline(start.Add(to))
	h := s.HTTP
	req := h.Method + " " + h.URI + " " + h.Version + "\r\n"
	if h.Host != "" {
		req += "Host: " + h.Host + "\r\n"
	}
	req += "Connection: close\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return Result{Status: "L7RSP", Dur: time.Since(start)}
	}
	line, err := textproto.NewReader(bufio.NewReader(conn)).ReadLine()
	if err != nil {
		st := "L7RSP"
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			st = "L7TOUT"
		}
		return Result{Status: st, Dur: time.Since(start)}
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return Result{Status: "L7RSP", Dur: time.Since(start)}
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return Result{Status: "L7RSP", Dur: time.Since(start)}
	}
	ok := code >= 200 && code < 400
	st := "L7OK"
	if !ok {
		st = "L7STS"
	}
	return Result{OK: ok, Status: st, Code: code, Dur: time.Since(start)}
}
