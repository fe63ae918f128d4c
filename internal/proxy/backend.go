package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/balance"
	"bulwark/internal/compress"
	"bulwark/internal/fcgi"
	"bulwark/internal/h1"
	"bulwark/internal/h2up"
	"bulwark/internal/health"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/socks4"
	"bulwark/internal/srvstate"
)

// server is the running state of one "server" line.
type server struct {
	cfg  *model.Server
	name string
	lb   *balance.Server
	addr string // the socket path of a unix server; TCP servers dial state.Addr()
	unix bool
	// source is the local address of connections to the server
	// ("source"), nil to let the kernel choose.
	source net.Addr
	// dialStr caches the dial string of the current address.
	dialStr atomic.Pointer[dialCache]
	// dnsStop ends the watch of the name the server resolves (under the
	// backend's dnsMu); nil without one.
	dnsStop func()

	pool idlePool
	// h2 holds the HTTP/2 connections of a server that speaks it
	// ("proto h2", "alpn h2"); nil for the others (h2srv.go).
	h2 *h2Pool

	// state is the server's one state (admin, health, last check,
	// weight); it is the only writer of lb's weight and usability.
	state *srvstate.Server
	tls   *tls.Config // "ssl": TLS to the server
	// keyLog ("tune.ssl.keylog on") keeps each connection's handshake
	// secrets for the ssl_bc_session_key fetch.
	keyLog bool
	// checkTLS is "check-ssl": TLS for the health checks.
	checkTLS *tls.Config
	tcpka    bool    // option srvtcpka / tcpka
	rawDial  bool    // see rawDialFor
	pp       *ppSend // send-proxy[-v2]: a PROXY header on every new connection
	// sni is the "sni" expression when it is not a constant: each new
	// connection sends the name it gives for its request (connParams).
	sni *acl.Expr
	// toDst: the server stands for "option transparent", connections go
	// to the request's destination.
	toDst bool
	// useSrc is "usesrc client|clientip": connections come from the
	// client's address (and port), "" from source or the kernel's choice.
	useSrc string

	cookie  atomic.Pointer[string] // its persistence cookie value, "" = none
	removed atomic.Bool            // "del server": kept only for its balancer index
	// agentOff is "disable agent": the agent's answers are not applied.
	agentOff atomic.Bool
	// probes are the check and agent targets "set server" changed at run
	// time (check-addr, check-port, agent-addr, agent-port, agent-send);
	// nil until one is.
	probes atomic.Pointer[probeOverride]
	// sslc are the process's TLS counters (show info), nil in tests
	// building servers alone.
	sslc *sslCounters

	// Counters for stats and logs.
	stats   counters
	total   atomic.Int64
	failed  atomic.Int64
	current atomic.Int64

	// sessions are the running sessions on the server, so that
	// "on-marked-down shutdown-sessions" (and "on-marked-up
	// shutdown-backup-sessions" on the backups) can end them.
	sessMu   sync.Mutex
	sessions []sessConns // a slot per session; a free one is zero
	sessFree []int32     // the free slots, the last freed on top
}

// sessConns are the two connections of a running session: closing them
// ends it. Kept as values, so that tracking a request allocates nothing
// (two closures a request, before). The slots are reused, last freed
// first: a map insert and delete a request cost 2 % of a keep-alive
// request's own CPU time.
type sessConns struct{ srv, cli net.Conn }

// trackSession registers a running session, until untrackSession with
// the returned id.
func (s *server) trackSession(srv, cli net.Conn) int32 {
	s.sessMu.Lock()
	var id int32
	if n := len(s.sessFree); n > 0 {
		id = s.sessFree[n-1]
		s.sessFree = s.sessFree[:n-1]
	} else {
		id = int32(len(s.sessions))
		s.sessions = append(s.sessions, sessConns{})
	}
	s.sessions[id] = sessConns{srv, cli}
	s.sessMu.Unlock()
	return id
}

func (s *server) untrackSession(id int32) {
	s.sessMu.Lock()
	s.sessions[id] = sessConns{}
	s.sessFree = append(s.sessFree, id)
	s.sessMu.Unlock()
}

// killSessions ends every running session on s and returns how many.
func (s *server) killSessions() int {
	s.sessMu.Lock()
	kills := make([]sessConns, 0, len(s.sessions)-len(s.sessFree))
	for _, k := range s.sessions {
		if k.srv != nil || k.cli != nil {
			kills = append(kills, k)
		}
	}
	s.sessMu.Unlock()
	for _, k := range kills {
		k.srv.Close()
		k.cli.Close()
	}
	return len(kills)
}

// backend is the running state of a backend (or listen) proxy.
type backend struct {
	// sslc are the process's TLS counters, for its servers' handshakes.
	sslc *sslCounters
	// fds bounds the idle server connections of the generation
	// (tune.pool-*-fd-ratio); the servers' pools share it.
	fds  *fdBudget
	cfg  *model.Proxy
	name string
	// fcgi is the "use-fcgi-app" application, nil without one.
	fcgi *plan.FCGIApp
	// set holds the servers and their balancer; "add server" swaps a
	// new one. Indices only grow: a request releases the index it picked
	// on whichever set is current, and the balancers share the servers'
	// balance.Server, so the slot it took is the one given back.
	set   atomic.Pointer[srvSet]
	addMu sync.Mutex // serialises "add server"
	// dynMu guards the runtime API's dynamic-cookie settings: dynOff
	// ("disable dynamic-cookie") and dynKey ("set dynamic-cookie-key").
	dynMu   sync.Mutex
	dynOff  bool
	dynKey  *string
	params  balance.Params
	pages   errorPages
	rules   *proxyRules
	hdrName string // balance hdr(<name>), lower-cased for h1.Get

	// waiters are the requests waiting for a server slot, best first
	// (queuePrio); freedMu guards them and queueSeq, which keeps equal
	// priorities in arrival order.
	freedMu  sync.Mutex
	waiters  []*queueWaiter
	queueSeq uint64
	queued   atomic.Int64
	stats    counters

	// maxQueue bounds the requests waiting for a server slot: the sum of
	// the servers' "maxqueue" when every server has one (HAProxy queues per
	// server; Bulwark has one queue per backend), 0 = unbounded.
	maxQueue int64

	connectTimeout time.Duration
	serverTimeout  time.Duration
	queueTimeout   time.Duration
	tunnelTimeout  time.Duration
	retries        int // "retries": the budget of one request's retries
	connRetries    int // of which connection retries: 0 without retry-on conn-failure
	retryOn        model.RetryOn
	redispatch     int
	preferLast     bool // option prefer-last-server
	connLevel      int  // see connLevel
	bufferReq      bool // option http-buffer-request
	abortOnClose   bool // option abortonclose
	pretendKA      bool // option http-pretend-keepalive
	comp           *compress.Config
	reuse          string
	transparent    bool  // option transparent: connections stay private
	splice         uint8 // spliceReq, spliceResp: option splice-*
	// check is the script of the active checks, shared by the servers.
	check *health.Script
	// stateHook reports a state change caused by traffic ("observe"); set
	// before the backend serves.
	stateHook func(s *server, before, after srvstate.Snapshot)
	ck        *cookieCfg  // "cookie" persistence, nil without
	persist   []*acl.Cond // force-persist / ignore-persist, parallel to cfg.PersistRules
	stick     []plan.StickRule
	// dnsMu serializes the address changes of DNS resolution, so two
	// servers resolving one name never take the same address.
	dnsMu  sync.Mutex
	lbOpts []balance.Option
}

func newBackend(p *model.Proxy, pp *plan.Proxy, env *addrEnv) (*backend, error) {
	b := &backend{cfg: p, name: p.Name, retries: p.Retries,
		redispatch: p.Redispatch, reuse: p.HTTPReuse, connRetries: p.Retries, check: pp.Check}
	// retry-on only exists in HTTP mode; a TCP backend keeps retrying
	// connections as "retries" says.
	if p.Mode == model.ModeHTTP {
		b.retryOn = p.RetryOn
		if p.RetryOn&model.RetryConnFailure == 0 {
			b.connRetries = 0
		}
	}
	if b.reuse == "" {
		b.reuse = "safe"
	}
	b.preferLast = p.Option("prefer-last-server")
	b.transparent = p.Option("transparent")
	b.splice = spliceOptions(p)
	b.ck = newCookieCfg(p)
	if pp.Rules != nil {
		b.persist, b.stick = pp.Rules.Persist, pp.Rules.Stick
	}
	b.connLevel, b.bufferReq = connLevel(p), p.Option("http-buffer-request")
	b.comp = p.Compression
	b.pretendKA = p.Option("http-pretend-keepalive")
	b.abortOnClose = p.Option("abortonclose")
	t := p.Timeouts
	b.connectTimeout, b.serverTimeout, b.tunnelTimeout = t.Connect, t.Server, t.Tunnel
	b.queueTimeout = t.Queue
	if b.queueTimeout == 0 {
		b.queueTimeout = t.Connect
	}
	var lbs []*balance.Server
	var servers []*server
	for _, sc := range p.Servers {
		if sc.MaxQueue <= 0 {
			b.maxQueue = 0
			break
		}
		b.maxQueue += int64(sc.MaxQueue)
	}
	for i, sc := range p.Servers {
		s, err := b.newServer(i, sc, pp, env)
		if err != nil {
			return nil, err
		}
		servers = append(servers, s)
		lbs = append(lbs, s.lb)
	}
	params := p.LB
	var opts []balance.Option
	if p.Option("allbackups") {
		opts = append(opts, balance.AllBackups())
	}
	b.params = params
	b.hdrName = strings.ToLower(params.Name)
	b.lbOpts = opts
	lb, err := balance.New(params, p.Hash, lbs, opts...)
	if err != nil {
		return nil, err
	}
	b.set.Store(&srvSet{servers: servers, live: servers, lb: lb})
	return b, nil
}

// newServer builds server i of b from its configuration.
// env gives the starting address of a server that names a host (init-addr).
func (b *backend) newServer(i int, sc *model.Server, pp *plan.Proxy, env *addrEnv) (*server, error) {
	p := b.cfg
	s := &server{cfg: sc, name: sc.Name, tcpka: p.Option("srvtcpka") || p.Option("tcpka")}
	if sc.Addr.Net != "unix" && sc.Addr.Net != "abns" {
		s.source = sourceAddr(sc.Source, p.Source)
		// A server's own "source" replaces the backend's, usesrc and all.
		if s.useSrc = sc.UseSrc; sc.Source == "" {
			s.useSrc = p.UseSrc
		}
	}
	s.pool = idlePool{max: sc.PoolMaxConn, low: sc.PoolLowConn, every: sc.PoolPurgeDelay}
	if wantsH2(s) && p.Mode == model.ModeHTTP {
		s.h2 = &h2Pool{srv: s}
	}
	s.rawDial = rawDialFor(p)
	if sc.SSL {
		if s.tls = pp.ServerTLS[sc]; s.tls == nil {
			return nil, fmt.Errorf("server '%s': no TLS settings in the plan", sc.Name)
		}
	}
	s.checkTLS = pp.CheckTLS[sc]
	s.setCookie(cookieValue(p, sc))
	s.pp = newPPSend(sc)
	s.sni = pp.ServerSNI[sc]
	s.toDst = sc.ToDst
	s.lb = balance.NewServer(i, sc.Weight, sc.Backup)
	s.lb.SetMaxConn(sc.MaxConn)
	var start netip.AddrPort
	switch sc.Addr.Net {
	case "unix":
		s.addr, s.unix = sc.Addr.Path, true
	case "abns":
		s.addr, s.unix = "@"+sc.Addr.Path, true
	default:
		a, err := env.initialAddr(p.Name, sc)
		if err != nil {
			return nil, fmt.Errorf("server '%s' (%s): %v", sc.Name, sc.Pos, err)
		}
		start = a
	}
	s.state = newServerState(b, s, start)
	return s, nil
}

// srvSet is a backend's servers and the balancer over them. servers is
// by balancer index and keeps the servers "del server" removed (in
// maintenance, never picked), so that indices stay valid; live is the
// servers that exist, for everything that lists or names them.
type srvSet struct {
	servers []*server
	live    []*server
	lb      balance.Balancer
}

// srvs returns the servers of the backend, in order.
func (b *backend) srvs() []*server {
	if st := b.set.Load(); st != nil {
		return st.live
	}
	return nil
}

// slots returns the servers by balancer index; removed ones are nil-free
// but flagged (server.removed).
func (b *backend) slots() []*server {
	if st := b.set.Load(); st != nil {
		return st.servers
	}
	return nil
}

// bal returns the current balancer.
func (b *backend) bal() balance.Balancer { return b.set.Load().lb }

var (
	errNoServer    = errors.New("no server available")
	errQueueTimout = errors.New("queue timeout")
	errQueueFull   = errors.New("queue full")
)

// acquire picks a server and takes a slot on it, waiting in the backend
// queue while every candidate is at its maxconn, up to "timeout queue".
func (b *backend) acquire(ctx context.Context, key balance.Key) (int, error) {
	return b.acquirePrio(ctx, key, queuePrio{})
}

// queuePrio is a request's place in the backend queue (CM 4.2
// "set-priority-class", "set-priority-offset"): lower classes first, then
// the earlier arrival date moved by offset milliseconds.
type queuePrio struct {
	class, offset int64
}

// queueWaiter is a request waiting in the backend queue. The release that
// frees a slot picks for the best waiter and hands it the slot, so that a
// slot goes to the waiters in priority order, not to whichever goroutine
// wakes first.
type queueWaiter struct {
	class, at int64 // at: arrival in ms plus the offset
	seq       uint64
	key       balance.Key
	grant     chan queueGrant // buffered: the releaser never blocks
}

type queueGrant struct {
	idx int
	err error
}

func (w *queueWaiter) before(o *queueWaiter) bool {
	if w.class != o.class {
		return w.class < o.class
	}
	if w.at != o.at {
		return w.at < o.at
	}
	return w.seq < o.seq
}

// pickNow takes a slot on the server the balancer picks, if one has room
// now; it never queues.
func (b *backend) pickNow(key balance.Key) (int, bool) {
	idx, st := b.bal().Pick(key)
	return idx, st == balance.OK
}

// acquirePrio is acquire for a request with a queue priority.
func (b *backend) acquirePrio(ctx context.Context, key balance.Key, p queuePrio) (int, error) {
	idx, st := b.bal().Pick(key)
	switch st {
	case balance.OK:
		return idx, nil
	case balance.NoServer:
		return -1, errNoServer
	}
	if b.maxQueue > 0 && b.queued.Load() >= b.maxQueue {
		return -1, errQueueFull
	}
	d := b.queueTimeout
	if d == 0 {
		d = 24 * time.Hour
	}
	w := &queueWaiter{class: p.class, at: time.Now().UnixMilli() + p.offset, key: key, grant: make(chan queueGrant, 1)}
	b.freedMu.Lock()
	// A release between the Pick above and this lock found no waiter to
	// serve: pick again before waiting.
	if idx, st := b.bal().Pick(key); st == balance.OK || st == balance.NoServer {
		b.freedMu.Unlock()
		if st == balance.NoServer {
			return -1, errNoServer
		}
		return idx, nil
	}
	b.queueSeq++
	w.seq = b.queueSeq
	i := sort.Search(len(b.waiters), func(i int) bool { return w.before(b.waiters[i]) })
	b.waiters = append(b.waiters, nil)
	copy(b.waiters[i+1:], b.waiters[i:])
	b.waiters[i] = w
	b.stats.qmax.Observe(b.queued.Add(1))
	b.freedMu.Unlock()

	timer := time.NewTimer(d)
	defer timer.Stop()
	var err error
	select {
	case g := <-w.grant:
		return g.idx, g.err
	case <-timer.C:
		err = errQueueTimout
	case <-ctx.Done():
		err = ctx.Err()
	}
	b.freedMu.Lock()
	gone := true
	for i, o := range b.waiters {
		if o == w {
			b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
			b.queued.Add(-1)
			gone = false
			break
		}
	}
	b.freedMu.Unlock()
	if gone {
		// Served as the timer fired: the slot is this request's.
		g := <-w.grant
		return g.idx, g.err
	}
	return -1, err
}

func (b *backend) release(idx int) {
	b.bal().Release(idx)
	// Serving the queue costs the lock; only pay it when someone waits. A
	// waiter registers (queued++) under the lock after its last Pick, so
	// it cannot miss this release.
	if b.queued.Load() == 0 {
		return
	}
	b.freedMu.Lock()
	b.serveQueue()
	b.freedMu.Unlock()
}

// serveQueue hands free slots to the waiters in priority order; the
// caller holds freedMu. A waiter whose hashed server is still full stays
// (HAProxy queues it on that server) and the next one may get another
// server; when every server is full nobody else can be served.
func (b *backend) serveQueue() {
	kept := b.waiters[:0]
	full := false
	for _, w := range b.waiters {
		if full {
			kept = append(kept, w)
			continue
		}
		idx, st := b.bal().Pick(w.key)
		switch st {
		case balance.OK:
			w.grant <- queueGrant{idx: idx}
		case balance.NoServer:
			w.grant <- queueGrant{idx: -1, err: errNoServer}
		case balance.AllFull:
			full = true
			kept = append(kept, w)
			continue
		default:
			kept = append(kept, w)
			continue
		}
		b.queued.Add(-1)
	}
	clear(b.waiters[len(kept):])
	b.waiters = kept
}

// dialAddr returns the address to dial for s, given the client's
// destination for servers written without a port or address.
func (s *server) dialAddr(dst netip.AddrPort) string {
	if s.unix {
		return s.addr
	}
	ap := s.state.Addr()
	if !ap.IsValid() && !s.toDst {
		return "" // no address (DNS maintenance): the dial fails
	}
	if ap.Port() != 0 && !s.toDst {
		return s.fixedDial(ap)
	}
	if ap = s.dialDst(dst); !ap.IsValid() {
		return ""
	}
	return ap.String()
}

// dialDst is the address a connection to s goes to, given the request's
// destination: the destination itself under "option transparent", else
// the server's address with, for a server without a port, the
// destination's port (or an offset from it).
func (s *server) dialDst(dst netip.AddrPort) netip.AddrPort {
	if s.toDst {
		return dst
	}
	ap := s.state.Addr()
	if !ap.IsValid() || ap.Port() != 0 {
		return ap
	}
	a := s.cfg.Addr
	port := int(dst.Port())
	if a.PortDelta {
		if a.Raw != "" && containsMinusPort(a.Raw) {
			port -= a.PortLow
		} else {
			port += a.PortLow
		}
	}
	return netip.AddrPortFrom(ap.Addr(), uint16(port))
}

func containsMinusPort(raw string) bool {
	for i := len(raw) - 1; i >= 0; i-- {
		if raw[i] == ':' {
			return i+1 < len(raw) && raw[i+1] == '-'
		}
	}
	return false
}

// shares reports whether the backend's idle server connections go to
// the servers' shared pools: not under "http-reuse never", nor with
// "option transparent", whose connections HAProxy keeps private to
// their session.
func (b *backend) shares() bool { return b.reuse != "never" && !b.transparent }

func (s *server) dial(ctx context.Context, cs clientSide, timeout time.Duration) (net.Conn, error) {
	dst := cs.dst
	// As on the client side, keep-alive probes only with "option
	// srvtcpka"/"tcpka".
	d := net.Dialer{Timeout: timeout, KeepAlive: -1, LocalAddr: s.source}
	if s.tcpka {
		d.KeepAlive = 0 // Go's default probes
	}
	if s.useSrc != "" {
		d.LocalAddr, d.Control = net.TCPAddrFromAddrPort(s.bindSrc(cs)), ipTransparent
	}
	netw := "tcp"
	if s.unix {
		netw = "unix"
	}
	var c net.Conn
	var err error
	if ap, ok := s.rawDialAddr(); ok {
		c, err = dialRaw(ap, timeout)
	} else if s.cfg.Socks4 != "" && !s.unix {
		c, err = dialSocks4(ctx, &d, s.cfg.Socks4, s.dialAddr(dst), timeout)
	} else {
		c, err = d.DialContext(ctx, netw, s.dialAddr(dst))
	}
	if err == nil && s.pp != nil {
		if err = s.sendProxyHeader(c, cs, timeout); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err != nil || s.tls == nil {
		return c, err
	}
	cfg := s.tls
	if s.sni != nil && cs.samples != nil {
		// A name for this connection: the shared configuration stays
		// as it is (its session cache is shared by the clone).
		cfg = cfg.Clone()
		cfg.ServerName = cs.samples.serverSNI(s)
	}
	c, err = dialTLS(ctx, c, cfg, timeout, s.keyLog)
	if err == nil {
		s.serverHandshake(c, time.Now().UnixMilli())
	} else if ctx.Err() == nil {
		s.stats.ssl.failed.Add(1)
	}
	return c, err
}

// rawDialAddr is the address to connect to with dialRaw, false when the
// server needs net.Dialer: a socket path, a port taken from the client, a
// "source" address, SOCKS4, keep-alive probes, a zoned address, or no
// address.
func (s *server) rawDialAddr() (netip.AddrPort, bool) {
	if !rawDialOK || !s.rawDial || s.unix || s.source != nil || s.cfg.Socks4 != "" || s.tcpka {
		return netip.AddrPort{}, false
	}
	ap := s.state.Addr()
	// A zoned (link-local IPv6) address needs its scope: net.Dialer's.
	return ap, ap.IsValid() && ap.Port() != 0 && ap.Addr().Zone() == ""
}

// rawDialFor reports whether the servers of backend p may be dialled with
// dialRaw: HTTP backends that do not splice. TCP backends, and HTTP ones
// with a splice option, relay between sockets whose *net.TCPConn the
// kernel-splicing paths want on both sides.
func rawDialFor(p *model.Proxy) bool {
	return p.Mode == model.ModeHTTP && !p.Option("splice-auto") && !p.Option("splice-request") && !p.Option("splice-response")
}

// srvConn is a connection to a server with its HTTP reader.
type srvConn struct {
	c  net.Conn
	tc timedConn
	rd *h1.Reader
	// rdv is rd for an HTTP/1 server connection: in place, one allocation
	// fewer per server connection.
	rdv  h1.Reader
	srv  *server
	used bool // carried at least one request: safe to reuse
	// reqs counts the requests it carried to the pool; from two on it is
	// proven reusable ("http-reuse aggressive" lends it to first requests).
	reqs int
	// to is the server address the connection went to: once DNS moves
	// the server, the connection is stale and carries no more requests.
	to netip.Addr
	// idleAt is when the connection last finished a response; the pool
	// purges by it and a session checks an attached connection that
	// waited long enough for the server to have closed it.
	idleAt monoTime
	st     *tls.ConnectionState // TLS state, taken once (tlsState)
	// h2 is the stream when the exchange runs on an HTTP/2 connection
	// (c is the stream too); it never goes to the idle pool: the
	// connection under it is the h2Pool's.
	h2 *h2up.Stream
	// fr is the FastCGI translation rd reads from, nil for an HTTP
	// server (fcgi.go).
	fr *fcgi.Response
	// key is the hash of what the connection was opened with for its
	// first request (connParams): it carries only requests with the same.
	key uint64
	// sw sends requests that wait for their response without a wasted
	// read (sendWaiter), made at the second request; swSet once it was
	// tried; sent: a request went out on the connection.
	sw          *sendWaiter
	swSet, sent bool
}

// waiter returns the connection's sendWaiter, nil when it cannot have one
// or must not: a connection's first request sends the ordinary way, since
// what a server sent before it (a server that speaks first) was not read
// by anyone, and its readiness, already recorded, would be lost. Later
// requests follow a response read whole.
func (sc *srvConn) waiter() *sendWaiter {
	if !sc.sent {
		sc.sent = true
		return nil
	}
	if !sc.swSet {
		sc.swSet = true
		sc.sw = newSendWaiter(sc.c)
	}
	return sc.sw
}

// carries reports whether sc can carry a request whose connection
// parameters hash to key.
func (sc *srvConn) carries(key uint64) bool { return sc.key == key }

// tlsState is the connection's TLS state, nil for plain TCP.
func (sc *srvConn) tlsState() *tls.ConnectionState {
	if sc.st == nil {
		sc.st = tlsStateOf(sc.c)
	}
	return sc.st
}

func joinPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// stale reports a connection to an address the server no longer has.
func (sc *srvConn) stale() bool {
	return sc.srv != nil && sc.srv.state != nil && !sc.srv.unix && sc.to != sc.srv.state.Addr().Addr()
}

// close discards a server connection and gives its buffer back.
func (sc *srvConn) close() {
	if sc.fr != nil {
		if id, ok := sc.fr.InFlight(); ok {
			sc.abortFCGI(id)
		}
	}
	sc.c.Close()
	sc.rd.Close()
}

// closeIdle closes a connection whose exchanges are over (the idle pool's):
// with a reset, as HAProxy closes the idle server connections it drops.
// A close with a FIN would leave the socket in TIME_WAIT here for a
// minute, and tens of thousands of those (one per request under a
// connection-per-request load) make every later connect search longer
// for a free source port; a reset leaves nothing behind on either side.
// Nothing is lost: the request was sent and its response read whole.
func (sc *srvConn) closeIdle() {
	resetOnClose(sc.c)
	sc.close()
}

// abortFCGI tells a FastCGI application to stop working on request id,
// which is given up on (the server timeout, a client abort), with
// FCGI_ABORT_REQUEST, as HAProxy does before it closes the connection.
// The record fits the socket buffer; the deadline only bounds a stuck
// one.
func (sc *srvConn) abortFCGI(id uint16) {
	sc.c.SetWriteDeadline(time.Now().Add(fcgiAbortWait))
	sc.c.Write(fcgi.AppendRecord(nil, fcgi.TypeAbortRequest, id, nil))
}

// sourceAddr is the local address of "source" (the server's, else the
// backend's), nil for none. The model checked the syntax.
func sourceAddr(server, backend string) net.Addr {
	src := server
	if src == "" {
		src = backend
	}
	if src == "" {
		return nil
	}
	if ap, err := netip.ParseAddrPort(src); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	if a, err := netip.ParseAddr(src); err == nil {
		return &net.TCPAddr{IP: a.AsSlice()}
	}
	return nil
}

// dialSocks4 reaches addr through the SOCKS4 proxy at via ("server ...
// socks4"): the handshake is part of the connect, bounded by timeout.
func dialSocks4(ctx context.Context, d *net.Dialer, via, addr string, timeout time.Duration) (net.Conn, error) {
	dst, err := netip.ParseAddrPort(addr)
	if err != nil {
		ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip4", hostOf(addr))
		if lerr != nil || len(ips) == 0 {
			return nil, fmt.Errorf("socks4: cannot resolve %s", addr)
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		dst = netip.AddrPortFrom(ips[0], uint16(port))
	}
	c, err := d.DialContext(ctx, "tcp", via)
	if err != nil {
		return nil, err
	}
	if timeout > 0 {
		c.SetDeadline(time.Now().Add(timeout))
	}
	if err := socks4.Connect(c, dst); err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
