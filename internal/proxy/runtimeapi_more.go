package proxy

import (
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// moreCommands are the frontend, server-limit and process commands of the
// runtime API (MG 9.3), answering in HAProxy 2.6's words.
func moreCommands() []apiCommand {
	return []apiCommand{
		{"show version", "", "user", "show version of the current process", func(*Runtime, *apiSession, []string) string { return Version + "\n" }},
		{"show pools", "", "user", "report information about the memory pools usage", wrap((*Runtime).apiShowPools)},
		{"show activity", "", "user", "show per-thread activity stats (for support/developers)", wrap((*Runtime).apiShowActivity)},
		{"show startup-logs", "", "user", "report logs emitted during HAProxy startup", wrap((*Runtime).apiShowStartupLogs)},
		{"show errors", "[<px>] [request|response]", "operator", "report last request and/or response errors for each proxy", wrap((*Runtime).apiShowErrors)},
		{"disable frontend", "<frontend>", "admin", "temporarily disable specific frontend", wrap((*Runtime).apiDisableFrontend)},
		{"enable frontend", "<frontend>", "admin", "re-enable specific frontend", wrap((*Runtime).apiEnableFrontend)},
		{"shutdown frontend", "<frontend>", "admin", "stop a specific frontend", wrap((*Runtime).apiShutdownFrontend)},
		{"shutdown sessions server", "<bk>/<srv>", "admin", "kill sessions on a server", wrap((*Runtime).apiShutdownServerSessions)},
		{"set maxconn frontend", "<frontend> <value>", "admin", "change a frontend's maxconn setting", wrap((*Runtime).apiSetMaxconnFrontend)},
		{"set maxconn server", "<bk>/<srv>", "admin", "change a server's maxconn setting", wrap((*Runtime).apiSetMaxconnServer)},
		{"set maxconn global", "<value>", "admin", "change the per-process maxconn setting", wrap((*Runtime).apiSetMaxconnGlobal)},
		{"enable dynamic-cookie backend", "<bk>", "admin", "enable dynamic cookies on a specific backend", func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiDynamicCookie(a, true) }},
		{"disable dynamic-cookie backend", "<bk>", "admin", "disable dynamic cookies on a specific backend", func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiDynamicCookie(a, false) }},
		{"set dynamic-cookie-key backend", "<bk> <k>", "admin", "change a backend secret key for dynamic cookies", wrap((*Runtime).apiSetDynamicCookieKey)},
		{"set rate-limit", "<setting> <value>", "admin", "change a rate limiting value", wrap((*Runtime).apiSetRateLimit)},
		{"enable health", "<bk>/<srv>", "admin", "enable health checks", func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiHealth(a, true) }},
		{"disable health", "<bk>/<srv>", "admin", "disable health checks", func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiHealth(a, false) }},
		{"enable agent", "<bk>/<srv>", "admin", "enable agent checks", func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiAgent(a, true) }},
		{"disable agent", "<bk>/<srv>", "admin", "disable agent checks", func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiAgent(a, false) }},
	}
}

// apiHealth is "enable|disable health <b>/<s>": disabled, the server is
// no longer checked and counts as UP (MG 9.3). A server without "check"
// cannot be enabled; disabling it changes nothing, and HAProxy answers
// nothing then.
func (rt *Runtime) apiHealth(args []string, on bool) string {
	if len(args) != 1 {
		return "Require 'backend/server'.\n"
	}
	b, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg
	}
	if !s.cfg.Check {
		if on {
			return "Health check was not configured on this server, cannot enable.\n"
		}
		return ""
	}
	before, after := s.state.SetChecked(on)
	if before.Op != after.Op {
		rt.stateChanged(b, s, before, after)
	}
	return ""
}

// apiAgent is "enable|disable agent <b>/<s>": disabled, the agent's
// answers are ignored and what it held down is released.
func (rt *Runtime) apiAgent(args []string, on bool) string {
	if len(args) != 1 {
		return "Require 'backend/server'.\n"
	}
	b, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg
	}
	if !s.cfg.AgentCheck {
		if on {
			return "Agent was not configured on this server, cannot enable.\n"
		}
		return ""
	}
	if s.agentOff.Swap(!on) == !on || on {
		return ""
	}
	before, after := s.state.ReportAgent(s.state.Load().Agent, false, true)
	if before.Op != after.Op {
		rt.stateChanged(b, s, before, after)
	}
	return ""
}

// frontendArg resolves a frontend by name or "#<id>".
func (rt *Runtime) frontendArg(args []string) (*frontend, string) {
	if len(args) == 0 || args[0] == "" {
		return nil, "A frontend name is expected.\n"
	}
	for _, f := range rt.frontends {
		if f.name == args[0] || strings.HasPrefix(args[0], "#") && args[0][1:] == strconv.Itoa(f.cfg.ID) {
			return f, ""
		}
	}
	return nil, "No such frontend.\n"
}

// apiDisableFrontend stops accepting on the frontend's sockets: new
// connections wait in the kernel backlog until "enable frontend", as
// HAProxy's paused listeners do; established ones go on.
func (rt *Runtime) apiDisableFrontend(args []string) string {
	f, msg := rt.frontendArg(args)
	if f == nil {
		return msg
	}
	if f.stopped.Load() {
		return "Frontend was already shut down.\n"
	}
	if !f.gate.pause(true) {
		return "All sockets are already disabled.\n"
	}
	// An accept loop already waiting in Accept would take one more
	// connection: wake it with a deadline so that it meets the closed
	// gate (the loop clears the deadline).
	for _, bl := range f.listeners {
		if d, ok := bl.Listener.(interface{ SetDeadline(time.Time) error }); ok {
			d.SetDeadline(time.Now())
		}
	}
	return ""
}

func (rt *Runtime) apiEnableFrontend(args []string) string {
	f, msg := rt.frontendArg(args)
	if f == nil {
		return msg
	}
	if f.stopped.Load() {
		return "Frontend was previously shut down, cannot enable it.\n"
	}
	if !f.gate.pause(false) {
		return "All sockets are already enabled.\n"
	}
	return ""
}

// apiShutdownFrontend closes the frontend's sockets for good (until a
// reload): its port is released, established connections go on.
func (rt *Runtime) apiShutdownFrontend(args []string) string {
	f, msg := rt.frontendArg(args)
	if f == nil {
		return msg
	}
	if f.stopped.Swap(true) {
		return "Frontend was already shut down.\n"
	}
	rt.handedMu.Lock()
	if rt.shut == nil {
		rt.shut = map[net.Listener]bool{}
	}
	for _, bl := range f.listeners {
		rt.shut[bl.Listener] = true
		bl.Close()
	}
	rt.handedMu.Unlock()
	rt.event(fmt.Sprintf("Proxy %s stopped (cumulated conns: FE: %d, BE: %d).", f.name, f.stats.connTot.Load(), 0))
	return ""
}

// apiShutdownServerSessions ends every connection to the server; the
// clients see them end as when the server closes.
func (rt *Runtime) apiShutdownServerSessions(args []string) string {
	if len(args) != 1 {
		return "Require 'backend/server'.\n"
	}
	_, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg
	}
	rt.killServerSessions(s)
	return ""
}

func (rt *Runtime) apiSetMaxconnFrontend(args []string) string {
	f, msg := rt.frontendArg(args)
	if f == nil {
		return msg
	}
	if len(args) < 2 {
		return "Integer value expected.\n"
	}
	// HAProxy reads the value with atoi: garbage is 0, no limit.
	n, _ := strconv.Atoi(args[1])
	if n < 0 {
		return "Value out of range.\n"
	}
	f.gate.setMax(n)
	return ""
}

func (rt *Runtime) apiSetMaxconnServer(args []string) string {
	if len(args) == 0 {
		return "Require 'backend/server'.\n"
	}
	_, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg
	}
	if len(args) < 2 {
		return "Require <maxconn>.\n"
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 0 {
		return "'set maxconn server' expects an integer value.\n"
	}
	s.lb.SetMaxConn(n)
	return ""
}

// apiSetMaxconnGlobal moves the process bound, up to the configured
// "maxconn" (HAProxy's hard limit).
func (rt *Runtime) apiSetMaxconnGlobal(args []string) string {
	if len(args) == 0 {
		return "Expects an integer value.\n"
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 {
		return "Expects an integer value.\n"
	}
	if hard := rt.model.Global.MaxConn; n > hard && hard > 0 || n == 0 {
		return "Value out of range.\n"
	}
	rt.gate.setMax(n)
	return ""
}

// apiShowPools reports the Go allocator's size classes in the layout of
// HAProxy's pools: Bulwark has no pools of its own to list, and these are
// where its memory goes.
func (rt *Runtime) apiShowPools(args []string) string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var b strings.Builder
	b.WriteString("Dumping pools usage. Use SIGQUIT to flush them.\n")
	var n int
	var alloc, used uint64
	for _, c := range ms.BySize {
		if c.Mallocs == 0 {
			continue
		}
		live := c.Mallocs - c.Frees
		fmt.Fprintf(&b, "  - Pool size%d (%d bytes) : %d allocated (%d bytes), %d used (~0 by thread caches), needed_avg %d, 0 failures, 1 users [SHARED]\n",
			c.Size, c.Size, live, live*uint64(c.Size), live, live)
		n++
		alloc += live * uint64(c.Size)
		used += live * uint64(c.Size)
	}
	fmt.Fprintf(&b, "Total: %d pools, %d bytes allocated, %d used (~0 by thread caches).\n", n, alloc, used)
	return b.String()
}

// apiShowActivity gives the counters of HAProxy's "show activity" that
// mean something in Bulwark; the scheduler's own are not there to give.
func (rt *Runtime) apiShowActivity(args []string) string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	now := time.Now()
	var accepted int64
	for _, f := range rt.frontends {
		accepted += f.stats.connTot.Load()
	}
	n := runtime.GOMAXPROCS(0)
	var b strings.Builder
	fmt.Fprintf(&b, "thread_id: 0 (1..%d)\n", n)
	fmt.Fprintf(&b, "date_now: %d.%06d\n", now.Unix(), now.Nanosecond()/1000)
	fmt.Fprintf(&b, "accepted: %d\n", accepted)
	fmt.Fprintf(&b, "goroutines: %d\n", runtime.NumGoroutine())
	fmt.Fprintf(&b, "gc_cycles: %d\n", ms.NumGC)
	fmt.Fprintf(&b, "gc_pause_total_us: %d\n", ms.PauseTotalNs/1000)
	fmt.Fprintf(&b, "heap_alloc: %d\n", ms.HeapAlloc)
	return b.String()
}

func (rt *Runtime) apiShowStartupLogs(args []string) string {
	if rt.opts.StartupLogs == nil {
		return ""
	}
	return rt.opts.StartupLogs()
}

// killServerSessions closes the client connections whose session last
// connected to s, and the idle connections kept to it: the sessions end
// as HAProxy's "shutdown sessions server" ends them.
func (rt *Runtime) killServerSessions(s *server) {
	for _, si := range rt.sessions() {
		if si.srv.Load() == s {
			si.c.Close()
		}
	}
	s.pool.drop()
	if s.h2 != nil {
		s.h2.drop()
	}
}

// apiSetServerAgent is "set server <b>/<s> agent up|down": the agent's
// verdict, as if the agent had said it.
func (rt *Runtime) apiSetServerAgent(b *backend, s *server, word string) string {
	if !s.cfg.AgentCheck {
		return "agent checks are not enabled on this server.\n"
	}
	var down, up bool
	switch word {
	case "up":
		up = true
	case "down":
		down = true
	default:
		return "'set server <srv> agent' expects 'up' or 'down'.\n"
	}
	before, after := s.state.ReportAgent(s.state.Load().Agent, down, up)
	if before.Op != after.Op {
		rt.stateChanged(b, s, before, after)
	}
	return ""
}

const rateLimitUsage = "'set rate-limit' only supports :\n" +
	"   - 'connections global' to set the per-process maximum connection rate\n" +
	"   - 'sessions global' to set the per-process maximum session rate\n" +
	"   - 'ssl-sessions global' to set the per-process maximum SSL session rate\n" +
	"   - 'http-compression global' to set the per-process maximum compression speed in kB/s\n"

// apiSetRateLimit is "set rate-limit connections|sessions global <n>": the
// accept loops stop accepting while the process's connection rate is at
// the limit, leaving newcomers in the kernel backlog as HAProxy does. A
// session is a connection in Bulwark, so both limits bound the same rate.
func (rt *Runtime) apiSetRateLimit(args []string) string {
	if len(args) < 2 || args[1] != "global" {
		return rateLimitUsage
	}
	var lim *atomic.Int64
	switch args[0] {
	case "connections":
		lim = &rt.connLimit
	case "sessions":
		lim = &rt.sessLimit
	case "ssl-sessions", "http-compression":
		return "'set rate-limit " + args[0] + "' is not supported by bulwark.\n"
	default:
		return rateLimitUsage
	}
	if len(args) < 3 {
		return "Expects an integer value.\n"
	}
	// atoi, as HAProxy reads it: garbage is 0, no limit.
	n, _ := strconv.Atoi(args[2])
	if n < 0 {
		return "Value out of range.\n"
	}
	lim.Store(int64(n))
	return ""
}

// waitRate holds an accept loop while the process's connection rate is at
// the lowest of the rate limits; false once the runtime stops.
func (rt *Runtime) waitRate() bool {
	for {
		lim := rt.connLimit.Load()
		if s := rt.sessLimit.Load(); s > 0 && (lim == 0 || s < lim) {
			lim = s
		}
		if lim <= 0 || rt.connRate.Read(rt.clock.NowMs()) < lim {
			return true
		}
		wait := time.Duration(min(max(1000/lim, 1), 100)) * time.Millisecond
		select {
		case <-time.After(wait):
		case <-rt.ctx.Done():
			return false
		}
	}
}

// apiDynamicCookie is "enable|disable dynamic-cookie backend <be>": the
// servers without a "cookie" of their own get (or lose) the cookie
// derived from the backend's key and their address.
func (rt *Runtime) apiDynamicCookie(args []string, on bool) string {
	if len(args) == 0 {
		return "A backend name is expected.\n"
	}
	b := rt.backends[args[0]]
	if b == nil {
		return "No such backend.\n"
	}
	b.dynMu.Lock()
	defer b.dynMu.Unlock()
	b.dynOff = !on
	b.applyDynamicCookies()
	return ""
}

func (rt *Runtime) apiSetDynamicCookieKey(args []string) string {
	if len(args) == 0 {
		return "A backend name is expected.\n"
	}
	b := rt.backends[args[0]]
	if b == nil {
		return "No such backend.\n"
	}
	if len(args) < 2 {
		return "String value expected.\n"
	}
	b.dynMu.Lock()
	defer b.dynMu.Unlock()
	k := args[1]
	b.dynKey = &k
	b.applyDynamicCookies()
	return ""
}

// applyDynamicCookies recomputes the dynamic cookies of b's servers; the
// caller holds dynMu. HAProxy applies them when the backend's "cookie" has
// "dynamic" and a key is set.
func (b *backend) applyDynamicCookies() {
	for _, s := range b.srvs() {
		b.applyDynamicCookie(s)
	}
}

// applyDynamicCookie recomputes s's dynamic cookie from the key and the
// server's live address (the one "set server addr" or DNS gave it); the
// caller holds dynMu.
func (b *backend) applyDynamicCookie(s *server) {
	if s.cfg.Opts["cookie"] != "" {
		return
	}
	p := b.cfg
	key := p.DynamicCookieKey
	if b.dynKey != nil {
		key = *b.dynKey
	}
	v := ""
	if p.Cookie != nil && p.Cookie.Dynamic && !b.dynOff && key != "" {
		host, port := s.cfg.Addr.Host, s.cfg.Addr.PortLow
		if a := s.state.Addr(); a.IsValid() {
			host, port = a.Addr().String(), int(a.Port())
		}
		v = dynamicCookie(key, host, port)
	}
	s.setCookie(v)
}
