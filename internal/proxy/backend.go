package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/balance"
	"bulwark/internal/compress"
	"bulwark/internal/h1"
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

	// state is the server's one state (admin, health, last check,
	// weight); it is the only writer of lb's weight and usability.
	state *srvstate.Server
	tls   *tls.Config // "ssl": TLS to the server
	// checkTLS is "check-ssl": TLS for the health checks.
	checkTLS *tls.Config
	tcpka    bool    // option srvtcpka / tcpka
	pp       *ppSend // send-proxy[-v2]: a PROXY header on every new connection

	cookie  atomic.Pointer[string] // its persistence cookie value, "" = none
	removed atomic.Bool            // "del server": kept only for its balancer index
	// agentOff is "disable agent": the agent's answers are not applied.
	agentOff atomic.Bool

	// Counters for stats and logs.
	stats   counters
	total   atomic.Int64
	failed  atomic.Int64
	current atomic.Int64

	// sessions are the running sessions on the server, so that
	// "on-marked-down shutdown-sessions" (and "on-marked-up
	// shutdown-backup-sessions" on the backups) can end them.
	sessMu   sync.Mutex
	sessions map[uint64]sessConns
	sessNext uint64
}

// sessConns are the two connections of a running session: closing them
// ends it. Kept as values, so that tracking a request allocates nothing
// (two closures a request, before).
type sessConns struct{ srv, cli net.Conn }

// trackSession registers a running session, until untrackSession with
// the returned id.
func (s *server) trackSession(srv, cli net.Conn) uint64 {
	s.sessMu.Lock()
	if s.sessions == nil {
		s.sessions = map[uint64]sessConns{}
	}
	s.sessNext++
	id := s.sessNext
	s.sessions[id] = sessConns{srv, cli}
	s.sessMu.Unlock()
	return id
}

func (s *server) untrackSession(id uint64) {
	s.sessMu.Lock()
	delete(s.sessions, id)
	s.sessMu.Unlock()
}

// killSessions ends every running session on s and returns how many.
func (s *server) killSessions() int {
	s.sessMu.Lock()
	kills := make([]sessConns, 0, len(s.sessions))
	for _, k := range s.sessions {
		kills = append(kills, k)
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
	cfg  *model.Proxy
	name string
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

	// freed is closed and replaced whenever a server slot is released, to
	// wake requests waiting in the backend queue without a goroutine each.
	freedMu sync.Mutex
	freed   chan struct{}
	queued  atomic.Int64
	stats   counters

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
	b := &backend{cfg: p, name: p.Name, freed: make(chan struct{}), retries: p.Retries,
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
	}
	s.pool = idlePool{max: sc.PoolMaxConn, low: sc.PoolLowConn, every: sc.PoolPurgeDelay}
	if sc.SSL {
		if s.tls = pp.ServerTLS[sc]; s.tls == nil {
			return nil, fmt.Errorf("server '%s': no TLS settings in the plan", sc.Name)
		}
	}
	s.checkTLS = pp.CheckTLS[sc]
	s.setCookie(cookieValue(p, sc))
	s.pp = newPPSend(sc)
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
	timer := time.NewTimer(d)
	defer timer.Stop()
	b.stats.qmax.Observe(b.queued.Add(1))
	defer b.queued.Add(-1)
	for {
		b.freedMu.Lock()
		wake := b.freed
		b.freedMu.Unlock()
		idx, st := b.bal().Pick(key)
		switch st {
		case balance.OK:
			return idx, nil
		case balance.NoServer:
			return -1, errNoServer
		}
		select {
		case <-wake:
		case <-timer.C:
			return -1, errQueueTimout
		case <-ctx.Done():
			return -1, ctx.Err()
		}
	}
}

func (b *backend) release(idx int) {
	b.bal().Release(idx)
	// Waking the queue costs a channel; only pay it when someone waits. A
	// waiter registers (queued++) before re-checking the balancer, so it
	// cannot miss this release.
	if b.queued.Load() == 0 {
		return
	}
	b.freedMu.Lock()
	close(b.freed)
	b.freed = make(chan struct{})
	b.freedMu.Unlock()
}

// dialAddr returns the address to dial for s, given the client's
// destination port for servers written without a port.
func (s *server) dialAddr(dst netip.AddrPort) string {
	if s.unix {
		return s.addr
	}
	ap := s.state.Addr()
	if !ap.IsValid() {
		return "" // no address (DNS maintenance): the dial fails
	}
	if ap.Port() != 0 {
		return s.fixedDial(ap)
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
	return net.JoinHostPort(ap.Addr().String(), strconv.Itoa(port))
}

func containsMinusPort(raw string) bool {
	for i := len(raw) - 1; i >= 0; i-- {
		if raw[i] == ':' {
			return i+1 < len(raw) && raw[i+1] == '-'
		}
	}
	return false
}

func (s *server) dial(ctx context.Context, cs clientSide, timeout time.Duration) (net.Conn, error) {
	dst := cs.dst
	// As on the client side, keep-alive probes only with "option
	// srvtcpka"/"tcpka".
	d := net.Dialer{Timeout: timeout, KeepAlive: -1, LocalAddr: s.source}
	if s.tcpka {
		d.KeepAlive = 0 // Go's default probes
	}
	netw := "tcp"
	if s.unix {
		netw = "unix"
	}
	var c net.Conn
	var err error
	if s.cfg.Socks4 != "" && !s.unix {
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
	return dialTLS(ctx, c, s.tls, timeout)
}

// srvConn is a connection to a server with its HTTP reader.
type srvConn struct {
	c    net.Conn
	tc   timedConn
	rd   *h1.Reader
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
	idleAt time.Time
	st     *tls.ConnectionState // TLS state, taken once (tlsState)
	// ppUID is the unique ID its PROXY header carried ("proxy-v2-options
	// unique-id"): a request with another one needs a connection of its
	// own, as in HAProxy.
	ppUID string
}

// carries reports whether sc can carry a request whose unique ID is uid:
// its PROXY header, if it sent one with a unique ID, named that request.
func (sc *srvConn) carries(uid string) bool {
	p := sc.srv.pp
	return p == nil || !p.v2 || p.opts&model.PPv2UniqueID == 0 || sc.ppUID == uid
}

// tlsState is the connection's TLS state, nil for plain TCP.
func (sc *srvConn) tlsState() *tls.ConnectionState {
	if sc.st == nil {
		if tc, ok := sc.c.(*tls.Conn); ok {
			st := tc.ConnectionState()
			sc.st = &st
		}
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
	sc.c.Close()
	sc.rd.Close()
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
