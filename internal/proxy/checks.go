package proxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/h2up"
	"bulwark/internal/health"
	"bulwark/internal/srvstate"
)

// newServerState creates the state of s, whose changes reach the balancer
// of b. The balancer is built after its servers, so the view is applied to
// s.lb here and b.lb is only read when a change comes, once serving.
func newServerState(b *backend, s *server, addr netip.AddrPort) *srvstate.Server {
	st := srvstate.New(srvstate.Config{Weight: s.cfg.Weight, Checked: s.cfg.Check, Rise: s.cfg.Rise,
		Fall: s.cfg.Fall, Disabled: s.cfg.Disabled, Addr: addr, FQDN: stateFQDN(s.cfg), SlowStart: s.cfg.SlowStart,
		Unresolved: !s.unix && !addr.IsValid(), Apply: func(v srvstate.View) {
			s.lb.SetUsable(v.Usable)
			s.lb.SetWeight(v.Weight)
			s.lb.SetThrottle(v.Throttle)
			if st := b.set.Load(); st != nil {
				st.lb.Update()
			}
		}})
	cur := st.Load()
	v := cur.View()
	s.lb.SetUsable(v.Usable)
	s.lb.SetWeight(v.Weight)
	return st
}

// startChecks runs the active health checks of every server with "check"
// and the agents of those with "agent-check". Servers in maintenance are
// watched too: their checks resume when they leave it. The first checks
// are spread over the smallest interval as HAProxy spreads them, and
// "spread-checks" adds its jitter to every interval.
func (rt *Runtime) startChecks() {
	rt.checker = health.New()
	type job struct {
		b *backend
		s *server
	}
	var jobs []job
	var inters []time.Duration
	for _, b := range rt.backends {
		be := b
		b.stateHook = func(s *server, before, after srvstate.Snapshot) { rt.stateChanged(be, s, before, after) }
	}
	for _, p := range rt.model.Backends() {
		b := rt.backends[p.Name]
		if b == nil {
			continue
		}
		for _, s := range b.srvs() {
			jobs = append(jobs, job{b, s})
			// Each server takes two slots, its check and its agent, as
			// HAProxy counts them; a slot it does not use stays empty.
			inters = append(inters, health.Interval(b.checkSpec(s), s.state.Load()), agentInter(s))
		}
	}
	offsets := health.Offsets(inters, rt.model.Global.MaxSpreadChecks)
	for i, j := range jobs {
		rt.watchServer(j.b, j.s, offsets[2*i], offsets[2*i+1])
	}
}

func agentInter(s *server) time.Duration {
	if s.cfg.AgentInter != 0 {
		return s.cfg.AgentInter
	}
	return s.cfg.Inter
}

// watchServer starts the agent and the active checks of s, the first
// check after offset and the first agent probe after agentOffset
// (startChecks spreads them, as HAProxy does).
func (rt *Runtime) watchServer(b *backend, s *server, offset, agentOffset time.Duration) {
	if s.cfg.AgentCheck && s.cfg.AgentPort != 0 {
		rt.startAgent(b, s, agentOffset)
	}
	if !s.cfg.Check {
		return
	}
	srv, be := s, b
	spec := b.checkSpec(s)
	spec.Spread = rt.model.Global.SpreadChecks
	// "set server check-addr|check-port" redirect the next checks.
	before := spec.Before
	spec.Before = func(t *health.Target, cur srvstate.Snapshot) {
		if before != nil {
			before(t, cur)
		}
		srv.redirectCheck(t)
	}
	// An HTTP/2 check connection announces tune.h2.* as the traffic's do.
	g := rt.model.Global
	spec.Target.H2 = h2up.Config{HeaderTableSize: uint32(g.H2.HeaderTableSize), InitialWindowSize: uint32(g.H2.InitialWindowSize),
		MaxFrameSize: uint32(g.H2.MaxFrameSize), MaxHeaderList: g.BufSize}
	spec.OnResult = func(before, after srvstate.Snapshot) {
		rt.checkResolves(srv, after)
		if be.cfg.Option("log-health-checks") && (before.Check.Status != after.Check.Status || before.Health != after.Health) {
			rt.proxyLog(be.name, "notice", be.checkMessage(srv, after))
		}
	}
	rt.checker.Watch(spec, offset, s.state, func(before, after srvstate.Snapshot) {
		rt.stateChanged(be, srv, before, after)
	})
}

// startAgent asks the agent of s ("agent-check") and applies its words:
// the weight as a share of the configured one, maxconn, the admin state
// (ready, drain, maint) and the agent's up/down, which takes precedence
// over the health check.
func (rt *Runtime) startAgent(b *backend, s *server, offset time.Duration) {
	c := s.cfg
	// "addr" moves the agent too, unless "agent-addr" says otherwise.
	host := c.Addr.Host
	if c.CheckAddr != "" {
		host = c.CheckAddr
	}
	if c.AgentAddr != "" {
		host = c.AgentAddr
	}
	spec := health.AgentSpec{Addr: joinPort(host, c.AgentPort), Send: c.AgentSend, Inter: agentInter(s),
		Timeout: b.cfg.Timeouts.Check, Spread: rt.model.Global.SpreadChecks}
	if c.AgentAddr == "" && c.CheckAddr == "" && !s.unix {
		// The agent runs beside the server: it follows the server's
		// address as DNS moves it.
		spec.Follow = func() string {
			if s.probes.Load() != nil {
				return s.agentTarget()
			}
			ap := s.state.Addr()
			if !ap.IsValid() {
				return ""
			}
			return joinPort(ap.Addr().String(), c.AgentPort)
		}
	} else {
		spec.Follow = func() string {
			if s.probes.Load() != nil {
				return s.agentTarget()
			}
			return joinPort(host, c.AgentPort)
		}
	}
	// "set server agent-send" changes the string of the next probes.
	spec.Prepare = func(a *health.AgentSpec) {
		if s.probes.Load() != nil {
			a.Send = s.agentSend()
		}
	}
	rt.checker.WatchAgent(spec, offset, func(res srvstate.Check, r *health.AgentReply) {
		if s.agentOff.Load() {
			return
		}
		if r != nil {
			if r.MaxConn >= 0 {
				s.lb.SetMaxConn(r.MaxConn)
			}
			if r.Weight >= 0 {
				cur := s.state.Load()
				s.state.SetWeight(cur.InitialWeight * r.Weight / 100)
			}
			if a, ok := srvstate.ParseAdminState(r.Admin); ok {
				before, after := s.state.SetAdmin(a)
				rt.stateChanged(b, s, before, after)
			}
		}
		down := r != nil && r.Op == "down"
		up := r != nil && r.Op == "up"
		before, after := s.state.ReportAgent(res, down, up)
		if before.Op != after.Op {
			rt.stateChanged(b, s, before, after)
		}
		if b.cfg.Option("log-health-checks") && before.Agent.Status != after.Agent.Status {
			n := after
			n.Check = after.Agent
			rt.proxyLog(b.name, "notice", "Agent"+strings.TrimPrefix(b.checkMessage(s, n), "Health"))
		}
	})
}

// checkSpec is how server s of b is checked: the backend's script
// against the check address ("addr", "port"), with TLS when "check-ssl"
// (or "ssl" when the check goes to the server's own port) and a PROXY
// header when "check-send-proxy" (or "send-proxy" likewise).
func (b *backend) checkSpec(s *server) health.Spec {
	c := s.cfg
	spec := health.Spec{Addr: s.addr, Unix: s.unix, Inter: c.Inter, FastInter: c.FastInter,
		DownInter: c.DownInter, Timeout: b.cfg.Timeouts.Check, Connect: b.cfg.Timeouts.Connect, Script: b.check}
	host := c.Addr.Host
	if c.CheckAddr != "" {
		host = c.CheckAddr
	}
	redirected := c.CheckAddr != "" || c.Port != 0
	// The check follows the server's address as DNS moves it, unless
	// "addr" sends it elsewhere; "port" only changes the port.
	var follow func(cur *srvstate.Snapshot) string
	switch {
	case s.unix:
	case c.CheckAddr != "":
		port := c.Port
		if port == 0 {
			port = c.Addr.PortLow
		}
		spec.Addr = joinPort(host, port)
	case c.Port != 0:
		follow = func(cur *srvstate.Snapshot) string {
			if !cur.Addr.IsValid() {
				return ""
			}
			return joinPort(cur.Addr.Addr().String(), c.Port)
		}
	default:
		follow = func(cur *srvstate.Snapshot) string {
			if !cur.Addr.IsValid() {
				return ""
			}
			if cur.Addr.Port() == 0 {
				// A server without a port is checked on its address alone
				// (HAProxy needs "port" then); keep what the check did.
				return cur.Addr.Addr().String()
			}
			return s.fixedDial(cur.Addr)
		}
	}
	if follow != nil {
		// Before runs before every check of one server, one at a time:
		// the strings are made again only when DNS moved the server.
		var (
			seen       bool
			lastAP     netip.AddrPort
			addr, name string
		)
		spec.Before = func(t *health.Target, cur srvstate.Snapshot) {
			if !seen || cur.Addr != lastAP {
				seen, lastAP = true, cur.Addr
				addr, name = follow(&cur), ""
				if cur.Addr.IsValid() {
					name = cur.Addr.Addr().String()
				}
			}
			t.Addr = addr
			if c.CheckAddr == "" && cur.Addr.IsValid() {
				t.Host = name // "tcp-check connect port N" too
			}
		}
		cur := s.state.Load()
		spec.Addr = follow(&cur)
	}
	t := &spec.Target
	t.Host = host
	t.Server, t.Backend = s.name, b.name
	t.Socks4, t.Socks4Checks = c.Socks4, c.CheckViaSocks4
	t.TLS = s.checkTLS
	if t.TLS == nil && s.tls != nil && !redirected {
		t.TLS = s.tls
	}
	if t.TLS != nil && (c.CheckSNI != "" || c.CheckALPN != "") {
		t.TLS = t.TLS.Clone()
		if c.CheckSNI != "" {
			t.TLS.ServerName = c.CheckSNI
		}
		if c.CheckALPN != "" {
			t.TLS.NextProtos = strings.Split(c.CheckALPN, ",")
		}
	}
	t.Proto = c.CheckProto
	if t.Proto == "" {
		t.Proto = c.Proto
	}
	if c.CheckSendProxy || (c.SendProxy != "" && !redirected) {
		t.SendProxy = c.SendProxy
		if t.SendProxy == "" {
			t.SendProxy = "v1"
		}
	}
	hc := &b.cfg.Check
	if hc.SendState {
		t.State = func() string { return b.serverStateHeader(s) }
	}
	if hc.DisableOn404 {
		t.DisableOn404 = true
		addr := spec.Before
		spec.Before = func(t *health.Target, cur srvstate.Snapshot) {
			if addr != nil {
				addr(t, cur)
			}
			t.Running = cur.Op != srvstate.Stopped
		}
	}
	return spec
}

// serverStateHeader is X-Haproxy-Server-State: the state as the stats
// show it, then the server's name, weights and load.
func (b *backend) serverStateHeader(s *server) string {
	cur := s.state.Load()
	st := cur.Status()
	if st == "no check" {
		st = "UP"
	}
	totalW := 0
	for _, o := range b.srvs() {
		w := o.state.Load()
		totalW += w.View().Weight
	}
	return fmt.Sprintf("%s; name=%s/%s; node=bulwark; weight=%d/%d; scur=%d/%d; qcur=%d",
		st, b.name, s.name, cur.EffectiveWeight(), totalW, s.current.Load(), b.currentSessions(), 0)
}

func (b *backend) currentSessions() int64 {
	var n int64
	for _, s := range b.srvs() {
		n += s.current.Load()
	}
	return n
}

// checkMessage words one check result as "option log-health-checks"
// logs it: "Health check for server be/s1 failed, reason: Layer4
// connection problem, info: "Connection refused", check duration: 0ms,
// status: 0/2 DOWN."
func (b *backend) checkMessage(s *server, n srvstate.Snapshot) string {
	who := "server "
	if s.cfg.Backup {
		who = "backup server "
	}
	verdict := "failed"
	switch n.Check.Status.Result() {
	case srvstate.ResultPassed:
		verdict = "succeeded"
	case srvstate.ResultCondPass:
		verdict = "conditionally succeeded"
	}
	var counter string
	if n.Health >= n.Rise {
		word := "UP"
		if n.Weight == 0 {
			word = "DRAIN"
		}
		counter = fmt.Sprintf("%d/%d %s", n.Health-n.Rise+1, n.Fall, word)
	} else {
		counter = fmt.Sprintf("%d/%d DOWN", n.Health, n.Rise)
	}
	return "Health check for " + who + b.name + "/" + s.name + " " + verdict + ", reason: " + n.Check.Desc() +
		", check duration: " + strconv.FormatInt(n.Check.Duration.Milliseconds(), 10) + "ms, status: " + counter + "."
}

// stateChanged reports a state change on stderr and to the backend's
// logs, and "backend be has no server available!" when it was the last.
func (rt *Runtime) stateChanged(b *backend, s *server, before, after srvstate.Snapshot) {
	msg := b.stateMessage(s, before, after)
	if msg == "" {
		return
	}
	if rt.abuse != nil {
		rt.abuse.ServerChange(b.name, s.name)
	}
	// CM 5.2 "on-marked-down shutdown-sessions": a server marked DOWN
	// (by its checks, an agent or observe) ends its running sessions;
	// "on-marked-up shutdown-backup-sessions": an active server back UP
	// ends the sessions of the backups.
	if after.Op == srvstate.Stopped && before.Op != srvstate.Stopped &&
		s.cfg.OnMarkedDown == "shutdown-sessions" {
		s.killSessions()
	}
	if before.Op == srvstate.Stopped && after.Op != srvstate.Stopped && !s.cfg.Backup &&
		s.cfg.OnMarkedUp == "shutdown-backup-sessions" && after.View().Weight > 0 {
		for _, o := range b.srvs() {
			if o.cfg.Backup {
				o.killSessions()
			}
		}
	}
	rt.event(msg)
	level := "notice"
	wentDown := after.Op == srvstate.Stopped && before.Op != srvstate.Stopped ||
		after.Admin.Maint() && !before.Admin.Maint() && before.Op != srvstate.Stopped
	// HAProxy sends no alert for a server that was already stopping.
	if wentDown && before.Op != srvstate.Stopping {
		level = "alert"
	}
	rt.proxyLog(b.name, level, msg)
	if after.View().Weight == 0 && before.View().Weight > 0 && b.noneLeft() {
		last := "backend " + b.name + " has no server available!"
		rt.event(last)
		rt.proxyLog(b.name, "emerg", last)
	}
}

// observe feeds one outcome of real traffic to s's passive check
// ("observe layer4" for connections, "layer7" for responses too).
func (b *backend) observe(s *server, layer7, ok bool) {
	mode := s.cfg.Observe
	if mode == "" || mode == "none" || (layer7 && mode != "layer7") {
		return
	}
	before, after, _ := s.state.Observe(ok, s.cfg.ErrorLimit, s.cfg.OnError)
	if before.Op != after.Op && b.stateHook != nil {
		b.stateHook(s, before, after)
	}
}

// layer7Error is HAProxy's view of a response as a server error: 5xx but
// 501 and 505, which answer the request rather than fail it.
func layer7Error(status int) bool {
	return status >= 500 && status != 501 && status != 505
}

func (rt *Runtime) event(msg string) {
	if msg != "" && rt.opts.Event != nil {
		rt.opts.Event(msg)
	}
}

func (rt *Runtime) proxyLog(proxy, level, msg string) {
	if msg != "" && rt.opts.ProxyLog != nil {
		rt.opts.ProxyLog(proxy, level, msg)
	}
}

// stateMessage words a state change of s as HAProxy 2.6 logs it (the
// messages of srv_update_status), "" when nothing an operator watches
// changed.
func (b *backend) stateMessage(s *server, before, after srvstate.Snapshot) string {
	who := "Server " + b.name + "/" + s.name
	if s.cfg.Backup {
		who = "Backup " + who
	}
	upDown := func() string {
		if after.Op == srvstate.Stopped {
			return "DOWN"
		}
		return "UP"
	}
	rmaint := func(n srvstate.Snapshot) bool { return n.Admin&srvstate.AdminRMaint != 0 }
	switch {
	case !before.Admin.Maint() && after.Admin.Maint() && rmaint(after):
		// DNS resolution: HAProxy names the cause and the sessions.
		cause := ""
		if after.MaintCause != "" {
			cause = " (" + after.MaintCause + ")"
		}
		if before.Op == srvstate.Stopped {
			return who + " was DOWN and now enters maintenance" + cause + "."
		}
		return who + " is going DOWN for maintenance" + cause + b.left(s) + "."
	case rmaint(before) && !rmaint(after) && !after.Admin.Maint():
		state := "UP"
		if after.Op == srvstate.Stopped {
			state = "DOWN"
		}
		ready := "READY"
		if after.Admin.Drain() {
			ready = "DRAIN"
		}
		return who + " ('" + after.FQDN + "') is " + state + "/" + ready + " (resolves again)."
	case rmaint(before) && !rmaint(after):
		return who + " ('" + after.FQDN + "') resolves again but remains in maintenance."
	case !before.Admin.Maint() && after.Admin.Maint():
		if before.Op == srvstate.Stopped {
			return who + " was DOWN and now enters maintenance."
		}
		return who + " is going DOWN for maintenance" + b.left(s) + "."
	case before.Admin.Maint() && !after.Admin.Maint():
		ready := "READY"
		if after.Admin.Drain() {
			ready = "DRAIN"
		}
		return who + " is " + upDown() + "/" + ready + " (leaving forced maintenance)."
	case !before.Admin.Drain() && after.Admin.Drain():
		return who + " enters drain state" + b.left(s) + "."
	case before.Admin.Drain() && !after.Admin.Drain():
		return who + " is " + upDown() + " (leaving forced drain)."
	case before.Op == after.Op:
		return ""
	case after.Op == srvstate.Stopped:
		return who + " is DOWN" + checkReason(before, after) + b.left(s) + "."
	case after.Op == srvstate.Stopping:
		return who + " is stopping" + checkReason(before, after) + b.left(s) + "."
	}
	return who + " is UP" + checkReason(before, after) + b.online() + "."
}

// checkReason is the check that changed the state, as HAProxy appends it:
// ", reason: Layer4 connection problem, info: "Connection refused",
// check duration: 0ms". An agent's result is used when the agent decided.
func checkReason(before, after srvstate.Snapshot) string {
	c := after.Check
	if after.AgentDown != before.AgentDown {
		c = after.Agent
	}
	if !c.Status.Finished() {
		return ""
	}
	return ", reason: " + c.Desc() + ", check duration: " + strconv.FormatInt(c.Duration.Milliseconds(), 10) + "ms"
}

// left is the tail of HAProxy's messages for a server leaving the
// rotation: the servers that still take traffic, then s's sessions.
func (b *backend) left(s *server) string {
	act, bck := b.counts()
	return fmt.Sprintf(". %d active and %d backup servers left.%s %d sessions active, 0 requeued, 0 remaining in queue",
		act, bck, onBackup(act, bck), s.current.Load())
}

// online is the tail of the message for a server coming back.
func (b *backend) online() string {
	act, bck := b.counts()
	return fmt.Sprintf(". %d active and %d backup servers online.%s 0 sessions requeued, 0 total in queue", act, bck, onBackup(act, bck))
}

func onBackup(act, bck int) string {
	if act == 0 && bck > 0 {
		return " Running on backup."
	}
	return ""
}

// counts are the active and backup servers taking new traffic.
func (b *backend) counts() (act, bck int) {
	for _, s := range b.srvs() {
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
	return act, bck
}

// noneLeft reports a backend with no server taking traffic.
func (b *backend) noneLeft() bool {
	for _, s := range b.srvs() {
		if s.balanced() {
			return false
		}
	}
	return true
}

// balanced reports whether s takes new, non-persistent traffic: not DOWN,
// in maintenance, draining or NOLB (HAProxy's srv_currently_usable).
func (s *server) balanced() bool {
	cur := s.state.Load()
	return cur.View().Weight > 0
}
