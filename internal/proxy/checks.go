package proxy

import (
	"time"

	"bulwark/internal/health"
	"bulwark/internal/model"
)

// startChecks runs the active health checks of every server with "check";
// a server that goes DOWN leaves its balancer until it comes back UP.
func (rt *Runtime) startChecks() {
	rt.checker = health.New()
	n := 0
	for _, b := range rt.backends {
		for _, s := range b.servers {
			if !s.cfg.Check || s.cfg.Disabled {
				continue
			}
			spec := health.Spec{Addr: s.addr, Unix: s.unix, Inter: s.cfg.Inter,
				FastInter: s.cfg.FastInter, DownInter: s.cfg.DownInter,
				Rise: s.cfg.Rise, Fall: s.cfg.Fall, Timeout: b.cfg.Timeouts.Check}
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
			rt.checker.Watch(spec, offset, func(up bool, r health.Result) {
				srv.up.Store(up)
				srv.lb.SetUsable(up)
				be.lb.Update()
				if rt.opts.Event != nil {
					state := "DOWN"
					if up {
						state = "UP"
					}
					rt.opts.Event("Server " + be.name + "/" + srv.name + " is " + state + ", reason: " + r.Status)
				}
			})
		}
	}
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
