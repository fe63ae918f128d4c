// Package proxy runs a compiled configuration: listeners, client sessions in
// TCP and HTTP mode, server selection, connection pools, queues, retries and
// timeouts.
//
// The running configuration is one immutable snapshot: a reload builds a new
// Runtime and swaps it in; sessions keep the snapshot they started with.
package proxy

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"bulwark/internal/abuse"
	"bulwark/internal/acl"
	"bulwark/internal/acme"
	"bulwark/internal/cache"
	"bulwark/internal/certwatch"
	"bulwark/internal/compress"
	"bulwark/internal/h1"
	"bulwark/internal/health"
	"bulwark/internal/libcrypto"
	"bulwark/internal/logfmt"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/resolver"
	"bulwark/internal/rules"
	"bulwark/internal/srvstate"
	"bulwark/internal/stats"
	"bulwark/internal/stick"
	"bulwark/internal/tlsconf"
	"bulwark/internal/tlsfail"
)

// LogEntry describes one finished session or request for the access log.
type LogEntry struct {
	Start              time.Time
	Client             net.Addr
	Frontend           string
	TLS                bool
	Backend            string
	Server             string // "<NOSRV>" when none was chosen
	Status             int    // -1 in TCP mode
	BytesOut           int64  // bytes sent to the client
	BytesIn            int64
	TR, Tw, Tc, Tr, Ta time.Duration // HAProxy's timers; -1 when not reached
	Term               string        // termination state, two characters ("--" normal)
	Cookie             string        // persistence cookie characters of the state; "" = "--"
	Request            string        // request line, HTTP only
	// ActConn, FeConn, BeConn and SrvConn are the process's, the
	// frontend's, the backend's and the server's current connections
	// when the line is logged (the current one counted, as in HAProxy).
	ActConn, FeConn, BeConn, SrvConn, Retries int64
	HTTP                                      bool
	// Level is set by "set-log-level" ("silent" drops the line).
	Level string
	// CapReq and CapResp are the {...} capture blocks of httplog, empty
	// when the frontend captures nothing.
	CapReq, CapResp string
	// Eval is the transaction's evaluation state while Log runs, for the
	// %[sample] expressions of log-format strings; nil when the session
	// never ran rules. It is only valid during the Log call.
	Eval *acl.Eval
	// UniqueID is the request's unique-id-format value (%ID).
	UniqueID string
	// Local is the address the client connected to (%fi, %fp);
	// ServerAddr and SourceAddr are the server connection's remote and
	// local addresses (%si/%sp, %bi/%bp), nil when none was made.
	Local, ServerAddr, SourceAddr net.Addr
	// bc is the outcome of the last server connection attempt (bc_err).
	bc acl.BackendConn
	// SSLVersion and SSLCipher describe the client TLS session (%sslv,
	// %sslc); empty without TLS.
	SSLVersion, SSLCipher string
	// SSLCipherID is the suite's number (ECS logs its IANA name); SNI the
	// server name the client asked, empty without one.
	SSLCipherID uint16
	SNI         string
	// UserAgent is the request's User-Agent, filled only for frontends
	// with bulwark-log-json (ECS user_agent.original).
	UserAgent string

	// ConnError marks a client connection that failed before any
	// request (a TLS handshake): error-log-format renders it.
	ConnError bool
	// ASAP marks the early line of "option logasap": the total time and
	// the bytes are what they were then ("+" before them in the line).
	ASAP bool
	// logged is set once the early line went out: the final one is then
	// only counted, not logged again.
	logged bool

	be  *backend
	srv *server
}

// Options are the hooks the embedding program provides.
type Options struct {
	// Log receives one entry per HTTP request or TCP session.
	Log func(*LogEntry)
	// Render renders a log-format string for an entry (package logging);
	// unique-id-format needs it. Nil leaves unique ids unset.
	Render func(dst []byte, f *logfmt.Format, e *LogEntry) []byte
	// Inherited are listeners passed by a parent process (fd@N binds).
	Inherited map[int]net.Listener
	// Sockets are listening sockets a master process opened for this
	// one, by listen key (OpenSockets): a bind or stats socket whose key
	// is here serves on it instead of binding, so a worker serves on
	// sockets it could not open itself (a port below 1024 after the
	// drop) and the kernel's accept queue survives a reload.
	Sockets map[string]net.Listener
	// Adopted are listening sockets received from another process (-x),
	// taken by the first generation's binds on their addresses.
	Adopted *Adopted
	// ClockStart, when set, is tick 0 of the stick tables' clock: the
	// workers of one master share it, so tables carry over between them
	// (ExportState, ImportState).
	ClockStart time.Time
	// Event receives operational messages (server state changes) for
	// the standard error.
	Event func(msg string)
	// ProxyLog sends a message to the log targets of the named proxy at a
	// syslog level ("notice", "alert", "emerg"): health checks and state
	// changes reach the configured logs, which survive -D.
	ProxyLog func(proxy, level, msg string)
	// LogAll calls Log for every frontend, even those without a "log"
	// line (debug mode).
	LogAll bool
	// StartupLogs returns what the process printed while starting, for
	// "show startup-logs"; nil answers nothing.
	StartupLogs func() string
	// LogStats returns the log targets' totals (lines written, dropped)
	// for the stats; nil when nothing logs.
	LogStats func() []stats.LogTarget
	// Relax turns off HTTP/1 refusals HAProxy 2.6 does not make
	// (docs/secure-defaults.md); the CLI sets it from BULWARK_ALLOW_*.
	Relax h1.Relax
}

// Proxy runs configurations and swaps them on reload.
type Proxy struct {
	opts  Options
	cur   atomic.Pointer[Runtime]
	wg    sync.WaitGroup
	clock stick.Clock // shared by every generation so tables carry over
	start time.Time   // process start: uptime on the stats page and "show info"
}

// New returns a Proxy that is not yet serving.
func New(opts Options) *Proxy {
	clock := stick.NewClock()
	if !opts.ClockStart.IsZero() {
		clock = stick.ClockFrom(opts.ClockStart)
	}
	return &Proxy{opts: opts, clock: clock, start: time.Now()}
}

// carried is what one worker hands to the next on a master/worker reload
// (ExportState, ImportState).
type carried struct {
	Tables  []*stick.Exported
	Servers []carriedServer
}

// carriedServer is a server state an operator set through the runtime
// API: maintenance or drain, and a weight other than the configured one.
type carriedServer struct {
	Backend, Server       string
	Maint, Drain          bool
	Weight, InitialWeight int
	// Addr and FQDN are the address DNS gave a server resolving FQDN
	// ("init-addr last" for the next worker).
	Addr, FQDN string
}

// ExportState writes the running generation's stick tables and the
// server states set through the runtime API to w, for ImportState in the
// next worker of a master/worker reload.
func (p *Proxy) ExportState(w io.Writer) error {
	rt := p.cur.Load()
	var c carried
	if rt != nil {
		now := p.clock.NowMs()
		for _, t := range rt.tables {
			c.Tables = append(c.Tables, t.Export(now))
		}
		for name, b := range rt.backends {
			for _, s := range b.srvs() {
				n := s.state.Load()
				cs := carriedServer{Backend: name, Server: s.name, Maint: n.Admin&srvstate.AdminFMaint != 0,
					Drain: n.Admin.Drain(), Weight: n.Weight, InitialWeight: n.InitialWeight}
				if s.cfg.FQDN() != "" && s.cfg.Resolvers != "" && n.Addr.IsValid() {
					cs.Addr, cs.FQDN = n.Addr.String(), s.cfg.FQDN()
				}
				if cs.Maint || cs.Drain || cs.Weight != cs.InitialWeight || cs.Addr != "" {
					c.Servers = append(c.Servers, cs)
				}
			}
		}
	}
	return gob.NewEncoder(w).Encode(&c)
}

// ImportState reads what ExportState wrote into rt, before it serves:
// stick tables go into rt's tables of the same name, as Build does within
// one process (Adopt; a table missing from the new configuration, or of
// another key type, is left behind). A server of the same backend and name
// gets the maintenance or drain state the operator set; the operator's
// weight, when the configured weight did not change (as HAProxy's
// server-state-file). It returns how many table entries came over.
func (p *Proxy) ImportState(rt *Runtime, r io.Reader) (int, error) {
	var c carried
	if err := gob.NewDecoder(r).Decode(&c); err != nil {
		return 0, err
	}
	now := p.clock.NowMs()
	n := 0
	var errs []error
	for _, e := range c.Tables {
		if t, ok := rt.tables[e.Name]; ok {
			k, err := t.Import(e, now)
			n += k
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, cs := range c.Servers {
		b := rt.backends[cs.Backend]
		if b == nil {
			continue
		}
		for _, s := range b.srvs() {
			if s.name != cs.Server {
				continue
			}
			switch {
			case cs.Maint:
				s.state.SetAdmin(srvstate.Maint)
			case cs.Drain:
				s.state.SetAdmin(srvstate.Drain)
			}
			if cs.Weight != cs.InitialWeight && s.state.Load().InitialWeight == cs.InitialWeight {
				s.state.SetWeight(cs.Weight)
			}
			s.importAddr(cs)
		}
	}
	return n, errors.Join(errs...)
}

// Runtime is one running configuration.
type Runtime struct {
	model *model.Model
	// stateFiles are the server-state files of the backends that load
	// one, read once at Build: "init-addr last" takes addresses from them
	// and Start applies their states.
	stateFiles map[string]srvstate.StateFile
	frontends  []*frontend
	backends   map[string]*backend
	listeners  []net.Listener
	keys       map[string]net.Listener // listenKey -> socket
	handedMu   sync.Mutex
	handed     map[net.Listener]bool             // taken over by a newer generation
	shut       map[net.Listener]bool             // closed by "shutdown frontend" (handedMu)
	taken      map[net.Listener]bool             // taken from the previous generation
	conns      *registry[net.Conn, *sessInfo]    // every connection, for a hard stop and "show sess" (nil info: master CLI)
	idle       *registry[*httpSession, struct{}] // HTTP sessions, for a soft stop's idle grace
	gate       *gate                             // global maxconn ("set maxconn global")
	fds        *fdBudget                         // tune.pool-low/high-fd-ratio over the idle pools
	trims      atomic.Int64                      // memory trims done once quiet (trim.go)
	pipes      *pipeBudget                       // maxpipes, nosplice
	// connLimit and sessLimit are "set rate-limit connections|sessions
	// global": accepted connections per second, 0 without a limit.
	connLimit, sessLimit atomic.Int64
	ctx                  context.Context
	cancel               context.CancelFunc
	stopping             atomic.Bool
	stopped              chan struct{}  // closed when stopping becomes true
	loops                sync.WaitGroup // accept loops
	idleGrace            atomic.Int64   // time.Duration an idle session may still wait once stopping
	active               sync.WaitGroup
	checker              *health.Checker
	opts                 Options
	clock                stick.Clock
	tables               map[string]*stick.Table
	rules                map[*model.Proxy]*proxyRules
	bufs                 *h1.BufPool  // HTTP reader buffers, taken only while reading
	parker               *parker      // idle keep-alive sessions without goroutines
	workers              *connWorkers // goroutines that serve accepted connections
	copyBufs             sync.Pool    // body copy buffers
	msgs                 sync.Pool    // *msgState of idle sessions
	freeSess             sync.Pool    // *httpSession of slim-parked connections (parkrec.go)
	heads                sync.Pool    // *[]byte head buffers of sessions (headpool.go)
	comp                 compress.Pools
	caches               map[string]*cache.Cache // "cache" sections by name
	apis                 []apiListener
	start                time.Time
	// statsToken is the CSRF token of the stats page's action forms: a
	// form posted by a browser must carry it (see statsCSRF).
	statsToken string
	connRate   stats.Rate // process-wide, for "show info" and the page
	// out32 counts the bytes sent to clients in units of 32 (HAProxy's
	// out_32bps), for BytesOutRate.
	out32     stats.Rate
	idlePct   idleSampler
	sslc      sslCounters
	sessID    atomic.Uint64
	sessEpoch atomic.Uint32 // advanced by each "show sess" (sessInfo.epoch)
	closeOnce sync.Once
	acme      *acme.Manager    // bulwark-acme certificates; nil without
	abuse     *abuse.Detector  // bulwark-abuse-* alerts; nil without
	procVars  *acl.ProcVars    // the "proc." variables of every session
	stores    []*tlsconf.Store // for bulwark-crt-watch
	// dns are the running "resolvers" sections by name; they resolve
	// until ctx ends.
	dns  map[string]*resolver.Section
	refs *acl.PatRefs // the maps and ACL patterns of "show map|acl"
	ssl  sslTx        // the open "set ssl cert" transaction
	// rsa is the libcrypto RSA keys sign through (plan.Plan.RSA), for
	// the certificates "set ssl cert" brings; nil: crypto/rsa.
	rsa      *libcrypto.Lib
	crtWatch atomic.Pointer[certwatch.Watcher]
}

func (rt *Runtime) getMsg() *msgState {
	if m, ok := rt.msgs.Get().(*msgState); ok {
		return m
	}
	return &msgState{}
}

func (rt *Runtime) putMsg(m *msgState) {
	if m == nil {
		return
	}
	m.ent = LogEntry{}
	// The pool must not keep the session alive through its executor.
	m.exec = rules.Exec{Arena: m.exec.Arena[:0]}
	rt.msgs.Put(m)
}

const copyBufSize = 16 << 10

// The copy buffers are pooled as pointers to their arrays: a pointer goes
// into the pool as it is, where a *[]byte made for each Put was one
// allocation per session end.
func (rt *Runtime) getCopyBuf() []byte {
	if b, ok := rt.copyBufs.Get().(*[copyBufSize]byte); ok {
		return b[:]
	}
	return new([copyBufSize]byte)[:]
}

func (rt *Runtime) putCopyBuf(b []byte) {
	if cap(b) == copyBufSize {
		rt.copyBufs.Put((*[copyBufSize]byte)(b[:copyBufSize]))
	}
}

// Build instantiates a compiled configuration and opens its sockets. The
// plan must hold no alert: everything that can fail without a socket
// failed there. On error, everything Build took is released before it
// returns (sockets of the running generation go back to it), so a failed
// reload leaves the running configuration as it was.
func (p *Proxy) Build(pl *plan.Plan) (_ *Runtime, err error) {
	m := pl.Model
	ctx, cancel := context.WithCancel(context.Background())
	rt := &Runtime{model: m, backends: map[string]*backend{}, ctx: ctx, cancel: cancel, stopped: make(chan struct{}), opts: p.opts, clock: p.clock,
		bufs: h1.NewBufPool(m.Global.BufSize), parker: newParker(), keys: map[string]net.Listener{},
		tables: pl.Tables, rules: map[*model.Proxy]*proxyRules{}, start: p.start, statsToken: newToken(), acme: pl.ACME, refs: pl.Refs, rsa: pl.RSA,
		conns: newRegistry[net.Conn, *sessInfo](), idle: newRegistry[*httpSession, struct{}]()}
	rt.workers = newConnWorkers(ctx)
	rt.comp.Level = m.Global.CompMaxLevel
	rt.caches = make(map[string]*cache.Cache, len(m.Caches))
	for _, cs := range m.Caches {
		// A new generation starts with empty caches, as HAProxy's new
		// process does.
		rt.caches[cs.Config.Name] = cache.New(cs.Config, nil)
	}
	old := p.cur.Load()
	defer func() {
		if err != nil {
			rt.abandon(old)
		}
	}()
	rt.gate = newGate(m.Global.MaxConn)
	rt.fds = newFDBudget(rt.gate, &m.Global)
	rt.pipes = newPipeBudget(&m.Global)
	rt.abuse = newAbuse(rt, m)
	rt.procVars = acl.NewProcVars(pl.ProcVars)
	rt.stores = pl.Stores
	for px, pp := range pl.Proxies {
		if r := pp.Rules; r != nil {
			rt.rules[px] = &proxyRules{set: r.Set, req: r.Req, resp: r.Resp, after: r.After, tcpConn: r.TCPConn,
				tcpSession: r.TCPSession, tcpContent: r.TCPContent, tcpResp: r.TCPResp, useBE: r.UseBackend, useBEName: r.UseBackendName, statsAdmin: r.StatsAdmin, monitorFail: r.MonitorFail, redirects: r.Redirects}
		}
	}
	fresh := func(key string) net.Listener {
		if l := p.opts.Sockets[key]; l != nil {
			return l
		}
		return p.opts.Adopted.Take(key)
	}
	take := func(key string) net.Listener {
		if old == nil {
			return fresh(key)
		}
		old.handedMu.Lock()
		defer old.handedMu.Unlock()
		l, ok := old.keys[key]
		if !ok {
			// The same address under another spelling is the same socket.
			if _, l = respelled(old.keys, key, func(l net.Listener) bool { return old.handed[l] }); l == nil {
				return fresh(key)
			}
		}
		if old.handed[l] || old.shut[l] {
			// A socket "shutdown frontend" closed is bound again.
			return nil
		}
		if old.handed == nil {
			old.handed = map[net.Listener]bool{}
		}
		old.handed[l] = true
		if rt.taken == nil {
			rt.taken = map[net.Listener]bool{}
		}
		rt.taken[l] = true
		return l
	}
	if err := rt.openAPI(m, take); err != nil {
		return nil, err
	}
	rt.dns = dnsSections(m)
	rt.stateFiles = rt.readStateFiles()
	env := newAddrEnv(old, rt.stateAddr, rt.event)
	for _, px := range m.Backends() {
		if px.Disabled {
			continue
		}
		b, err := newBackend(px, pl.Proxies[px], env)
		if err != nil {
			return nil, fmt.Errorf("backend '%s' (%s): %v", px.Name, px.Pos, err)
		}
		b.pages = pl.Proxies[px].Pages
		b.rules = rt.rules[px]
		b.fcgi = pl.FCGIApps[px.FCGIAppName]
		b.sslc = &rt.sslc
		b.fds = rt.fds
		for _, s := range b.srvs() {
			s.sslc = b.sslc
			s.pool.fds = b.fds
			s.keyLog = m.Global.SSLKeyLog
		}
		rt.backends[px.Name] = b
	}
	for _, px := range m.Frontends() {
		if px.Disabled {
			continue
		}
		pp := pl.Proxies[px]
		fe := newFrontend(rt, px, pp, p.opts)
		rt.frontends = append(rt.frontends, fe)
		for _, b := range px.Binds {
			tcfg := pp.BindTLS[b]
			if b.SSL && tcfg == nil {
				return nil, fmt.Errorf("%s '%s' (%s): no TLS settings in the plan", px.Kind, px.Name, b.Pos)
			}
			ls, keys, err := listen(ctx, b, !m.Global.NoReusePort, p.opts.Inherited, take)
			if err != nil {
				return nil, fmt.Errorf("%s '%s' (%s): %v", px.Kind, px.Name, b.Pos, err)
			}
			for i, l := range ls {
				sl := l
				if tcfg != nil {
					sl = tlsListener{l, tlsfail.Wrap(tcfg, m.Global.SSLKeyLog)}
				}
				fe.listeners = append(fe.listeners, boundListener{sl, b, &tlsfail.Counters{}, new(atomic.Int64)})
				rt.listeners = append(rt.listeners, l)
				rt.keys[keys[i]] = l
			}
		}
	}
	// Stick tables survive a reload: an unchanged one is shared with the
	// running generation (Plan's Options.Table); a changed one gets the
	// old entries copied in. This moves entries out of the running
	// generation, so it comes last, once nothing can fail.
	if old != nil {
		now := p.clock.NowMs()
		for name, t := range rt.tables {
			if ot, ok := old.tables[name]; ok && ot != t {
				t.Adopt(ot, now)
			}
		}
	}
	return rt, nil
}

// RunningTable returns the running generation's stick table called name
// when it has the same spec, for plan.Options.Table on reload.
func (p *Proxy) RunningTable(name string, spec stick.Spec) *stick.Table {
	cur := p.cur.Load()
	if cur == nil {
		return nil
	}
	if t, ok := cur.tables[name]; ok && reflect.DeepEqual(t.Spec(), spec) {
		return t
	}
	return nil
}

// Start serves rt and makes it the current configuration.
func (p *Proxy) Start(rt *Runtime) {
	old := p.cur.Swap(rt)
	rt.loadServerState()
	rt.startChecks()
	rt.startDNS()
	for _, al := range rt.apis {
		p.wg.Add(1)
		rt.loops.Add(1)
		go func() {
			defer p.wg.Done()
			defer rt.loops.Done()
			rt.serveAPIListener(al)
		}()
	}
	for _, fe := range rt.frontends {
		for _, bl := range fe.listeners {
			p.wg.Add(1)
			rt.loops.Add(1)
			go func() {
				defer p.wg.Done()
				defer rt.loops.Done()
				fe.serve(bl)
			}()
		}
	}
	rt.startACME()
	rt.startCrtWatch()
	if rt.abuse != nil {
		go rt.abuse.Run(rt.ctx)
	}
	if !rt.model.Global.NoMemoryTrimming {
		h := newHeapHeld()
		go rt.trimWhenQuiet(h, trimmer{base: h.read(), lastAct: rt.activity()})
	}
	if old != nil {
		// As a worker's soft stop: idle keep-alive connections of the old
		// generation stay until their own timeout (see SoftStop).
		go old.softStop(0, keepIdle)
	}
}

// Current returns the running configuration.
func (p *Proxy) Current() *Runtime { return p.cur.Load() }

// Addrs returns the bound addresses of the current configuration, in bind
// order (useful with port 0 in tests).
func (rt *Runtime) Addrs() []net.Addr {
	var out []net.Addr
	for _, l := range rt.listeners {
		out = append(out, l.Addr())
	}
	return out
}

// Shutdown stops accepting, lets sessions finish until ctx is done, then
// closes what remains.
func (p *Proxy) Shutdown(ctx context.Context) error {
	rt := p.cur.Load()
	if rt == nil {
		return nil
	}
	deadline, ok := ctx.Deadline()
	grace := time.Duration(0)
	if ok {
		// A deadline already past is a hard stop, not "no deadline".
		grace = max(time.Until(deadline), time.Nanosecond)
	}
	rt.softStop(grace, 0)
	p.wg.Wait()
	return nil
}

// SoftStop stops as a master stops a worker on reload, or SIGUSR1 does:
// the listeners close, in-flight requests finish, an idle keep-alive
// connection is answered once more (with "Connection: close") if its client
// sends a request, and is otherwise closed only when its keep-alive timeout
// would have closed it anyway, so a stop adds no race with a client that is
// sending right now. What remains when ctx is done is closed.
func (p *Proxy) SoftStop(ctx context.Context) {
	rt := p.cur.Load()
	if rt == nil {
		return
	}
	grace := time.Duration(0)
	if deadline, ok := ctx.Deadline(); ok {
		grace = max(time.Until(deadline), time.Nanosecond)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rt.softStop(grace, keepIdle)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// Cancelled: a hard stop cuts the soft one short. At the
		// deadline softStop closes everything itself.
		if errors.Is(ctx.Err(), context.Canceled) {
			rt.close()
		} else {
			<-done
		}
	}
	p.wg.Wait()
}

// ServeAPI answers one runtime API connection at level on the running
// generation, as a stats socket would: the master CLI forwards "@N"
// commands to a worker this way.
func (p *Proxy) ServeAPI(c net.Conn, level string) {
	rt := p.cur.Load()
	if rt == nil || rt.stopping.Load() {
		c.Close()
		return
	}
	rt.conns.Store(c, nil)
	defer rt.conns.Delete(c)
	rt.serveAPI(c, level, false)
}

// keepIdle as a soft stop's idle grace keeps each idle keep-alive
// connection until its own keep-alive timeout.
const keepIdle = time.Duration(-1)

// softStop closes the listeners, waits up to grace for active sessions
// (0 = wait forever... bounded by hard-stop-after when set), then closes
// every connection.
func (rt *Runtime) softStop(grace, idleGrace time.Duration) {
	rt.idleGrace.Store(int64(idleGrace))
	if !rt.stopping.CompareAndSwap(false, true) {
		return
	}
	close(rt.stopped)
	rt.closeListeners()
	for _, fe := range rt.frontends {
		go fe.stopH2()
	}
	if rt.parker != nil {
		rt.parker.resumeAll()
	}
	// Idle keep-alive sessions hold nothing in flight. On a reload,
	// closing them at once would race with a request the client is sending
	// right now, so each gets a short grace: a request that arrives is
	// served with "Connection: close", otherwise the connection closes
	// silently. A stop closes them at once.
	// The sessions are read under the registry's locks (one that finishes
	// meanwhile is recycled once out of the registry, and must not be
	// touched after), their connections set outside them (an h2 stream's
	// takes its connection's lock).
	var idleConns []net.Conn
	rt.idle.RangeLocked(func(s *httpSession, _ struct{}) {
		if s.idle.Load() && idleGrace >= 0 && s.c != nil {
			idleConns = append(idleConns, s.c)
		}
	})
	for _, c := range idleConns {
		c.SetReadDeadline(time.Now().Add(idleGrace))
	}
	if grace == 0 && rt.model.Global.HardStop > 0 {
		grace = rt.model.Global.HardStop
	}
	done := make(chan struct{})
	go func() {
		// An accept loop may still hand over a connection it accepted as
		// the stop began: wait for the loops first, so that the session
		// count cannot rise after the wait below started.
		rt.loops.Wait()
		rt.active.Wait()
		close(done)
	}()
	if grace > 0 {
		select {
		case <-done:
		case <-time.After(grace):
		}
	} else {
		<-done
	}
	rt.close()
}

// closeListeners closes the sockets this generation owns; sockets taken
// over by a newer generation stay open and only its accept loops are woken
// (a past deadline), so they notice the stop and exit.
func (rt *Runtime) closeListeners() {
	rt.handedMu.Lock()
	defer rt.handedMu.Unlock()
	for _, l := range rt.listeners {
		if rt.handed[l] {
			if d, ok := l.(interface{ SetDeadline(time.Time) error }); ok {
				d.SetDeadline(time.Now())
			}
			continue
		}
		l.Close()
	}
}

// abandon releases a Runtime whose Build failed: sockets taken from the
// previous generation go back to it, the others are closed.
func (rt *Runtime) abandon(old *Runtime) {
	if old != nil {
		old.handedMu.Lock()
		for l := range rt.taken {
			delete(old.handed, l)
		}
		old.handedMu.Unlock()
	}
	for _, l := range rt.listeners {
		if !rt.taken[l] {
			l.Close()
		}
	}
	if rt.parker != nil {
		rt.parker.resumeAll()
	}
	rt.cancel()
}

// close ends the generation: once, whether a hard stop or the end of a
// soft one comes first.
func (rt *Runtime) close() { rt.closeOnce.Do(rt.closeAll) }

func (rt *Runtime) closeAll() {
	rt.cancel()
	if rt.acme != nil {
		rt.acme.Stop()
	}
	if rt.parker != nil {
		rt.parker.resumeAll()
	}
	if rt.checker != nil {
		rt.checker.Stop()
	}
	rt.closeListeners()
	rt.conns.Range(func(c net.Conn, _ *sessInfo) bool {
		c.Close()
		return true
	})
	for _, b := range rt.backends {
		for _, s := range b.srvs() {
			s.pool.close()
			if s.h2 != nil {
				s.h2.close()
			}
		}
	}
}

type boundListener struct {
	net.Listener
	bind *model.Bind
	// tlsFail counts the bind's failed handshakes by reason.
	tlsFail *tlsfail.Counters
	// conns counts the socket's established connections (dst_conn).
	conns *atomic.Int64
}

var errClosed = errors.New("listener closed")
