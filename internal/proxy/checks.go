package proxy

import (
	"fmt"
	"strconv"
	"time"

	"bulwark/internal/health"
	"bulwark/internal/model"
	"bulwark/internal/srvstate"
)

// newServerState creates the state of s, whose changes reach the balancer
// of b. The balancer is built after its servers, so the view is applied to
// s.lb here and b.lb is only read when a change comes, once serving.
func newServerState(b *backend, s *server) *srvstate.Server {
	st := srvstate.New(srvstate.Config{Weight: s.cfg.Weight, Checked: s.cfg.Check, Rise: s.cfg.Rise,
		Fall: s.cfg.Fall, Disabled: s.cfg.Disabled, Apply: func(v srvstate.View) {
			s.lb.SetUsable(v.Usable)
			s.lb.SetWeight(v.Weight)
			b.lb.Update()
		}})
	cur := st.Load()
	v := cur.View()
	s.lb.SetUsable(v.Usable)
	s.lb.SetWeight(v.Weight)
	return st
}

// startChecks runs the active health checks of every server with "check".
// Servers in maintenance are watched too: their checks resume when they
// leave it.
func (rt *Runtime) startChecks() {
	rt.checker = health.New()
	n := 0
	for _, b := range rt.backends {
		for _, s := range b.servers {
			if !s.cfg.Check {
				continue
			}
			spec := health.Spec{Addr: s.addr, Unix: s.unix, Inter: s.cfg.Inter,
				FastInter: s.cfg.FastInter, DownInter: s.cfg.DownInter, Timeout: b.cfg.Timeouts.Check}
			if s.cfg.Port != 0 && !s.unix {
				spec.Addr = joinPort(s.cfg.Addr.Host, s.cfg.Port)
			}
			if spec.Timeout == 0 {
				spec.Timeout = s.cfg.Inter
			}
			if b.cfg.HTTPChk != nil {
				spec.HTTP = httpCheck(b.cfg, spec.Addr)
			}
			srv, be := s, b
			// Stagger the first checks over one interval, as HAProxy does.
			offset := time.Duration(n%16) * s.cfg.Inter / 16
			n++
			rt.checker.Watch(spec, offset, s.state, func(before, after srvstate.Snapshot) {
				rt.event(be.stateMessage(srv, before, after))
			})
		}
	}
}

func (rt *Runtime) event(msg string) {
	if msg != "" && rt.opts.Event != nil {
		rt.opts.Event(msg)
	}
}

// stateMessage words a state change of s as HAProxy logs it, "" when
// nothing an operator watches changed.
func (b *backend) stateMessage(s *server, before, after srvstate.Snapshot) string {
	who := "Server " + b.name + "/" + s.name
	if s.cfg.Backup {
		who = "Backup " + who
	}
	reason := func() string {
		c := after.Check
		return ", reason: " + c.Desc() + ", check duration: " + strconv.FormatInt(c.Duration.Milliseconds(), 10) + "ms"
	}
	switch {
	case !before.Admin.Maint() && after.Admin.Maint():
		if before.Op == srvstate.Stopped {
			return who + " was DOWN and now enters maintenance."
		}
		return who + " is going DOWN for maintenance. " + b.left()
	case before.Admin.Maint() && !after.Admin.Maint():
		if after.Op == srvstate.Stopped {
			return who + " leaves maintenance, still DOWN."
		}
		return who + " is UP/READY (leaving forced maintenance)."
	case !before.Admin.Drain() && after.Admin.Drain():
		return who + " enters drain state."
	case before.Admin.Drain() && !after.Admin.Drain():
		return who + " is UP (leaving forced drain)."
	case before.Op == after.Op:
		return ""
	case after.Op == srvstate.Stopped:
		return who + " is DOWN" + reason() + ". " + b.left()
	case after.Op == srvstate.Stopping:
		return who + " is stopping" + reason() + ". " + b.left()
	}
	return who + " is UP" + reason() + ". " + b.left()
}

// left is the tail of HAProxy's state messages: the servers that still
// take traffic.
func (b *backend) left() string {
	act, bck := 0, 0
	for _, s := range b.servers {
		cur := s.state.Load()
		if cur.View().Weight == 0 {
			continue
		}
		if s.cfg.Backup {
			bck++
		} else {
			act++
		}
	}
	msg := fmt.Sprintf("%d active and %d backup servers left.", act, bck)
	if act+bck == 0 {
		msg += " Backend " + b.name + " has no server available!"
	}
	return msg
}

func httpCheck(p *model.Proxy, addr string) *health.HTTPCheck {
	hc := &health.HTTPCheck{Method: "OPTIONS", URI: "/", Version: "HTTP/1.0"}
	args := p.HTTPChk.Texts()
	// "option httpchk [<method>] [<uri>] [<version>]"; the directive's
	// arguments start after the option name.
	if len(args) > 0 && args[0] == "option" {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "httpchk" {
		args = args[1:]
	}
	switch len(args) {
	case 1:
		hc.URI = args[0]
	case 2:
		hc.Method, hc.URI = args[0], args[1]
	case 3:
		hc.Method, hc.URI, hc.Version = args[0], args[1], args[2]
	}
	if hc.Version == "HTTP/1.1" {
		hc.Host = addr
	}
	return hc
}

// balanced reports whether s takes new, non-persistent traffic: not DOWN,
// in maintenance, draining or NOLB (HAProxy's srv_currently_usable).
func (s *server) balanced() bool {
	cur := s.state.Load()
	return cur.View().Weight > 0
}
