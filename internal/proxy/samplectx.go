package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"golang.org/x/sys/unix"
	"net"
	"net/netip"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/h1"
	"bulwark/internal/tlsfail"
	"bulwark/internal/tlsinfo"
)

// What the sample fetches read beyond acl.Txn (acl.StreamTxn, BodyTxn,
// CaptureTxn, ConnTxn, StatsEnv), for HTTP and TCP sessions.

var (
	_ acl.StreamTxn       = (*httpSession)(nil)
	_ acl.BodyTxn         = (*httpSession)(nil)
	_ acl.CaptureTxn      = (*httpSession)(nil)
	_ acl.ConnTxn         = (*httpSession)(nil)
	_ acl.StreamTxn       = (*tcpTxn)(nil)
	_ acl.StatsEnv        = runtimeEnv{}
	_ acl.TLSTxn          = (*httpSession)(nil)
	_ acl.ClientVerifyTxn = (*httpSession)(nil)
	_ acl.CompressionTxn  = (*httpSession)(nil)
	_ acl.HandshakeTxn    = (*httpSession)(nil)
	_ acl.HelloVersionTxn = (*httpSession)(nil)
	_ acl.HelloTxn        = (*httpSession)(nil)
	_ acl.TLSTxn          = (*tcpTxn)(nil)
	_ acl.ClientVerifyTxn = (*tcpTxn)(nil)
	_ acl.HandshakeTxn    = (*tcpTxn)(nil)
	_ acl.HelloVersionTxn = (*tcpTxn)(nil)
	_ acl.HelloTxn        = (*tcpTxn)(nil)
)

// tlsConns is what the TLS fetches read of a session's client and server
// connections; HTTP sessions and TCP ones embed it, so that both give
// the same answers.
type tlsConns struct {
	// cconn is the client connection (c, or the h2 connection under an
	// HTTP session's stream); a TCP session sets it once the connection
	// rules have run, which in HAProxy come before the handshake.
	cconn net.Conn
	// cliTLS and srvTLS are the TLS states of the client connection and
	// of the server connection (ssl_fc_*, ssl_bc_*), nil without TLS.
	cliTLS, srvTLS *tls.ConnectionState
	// srvHS is what the server connection's handshake recorded
	// (ssl_bc_client_random...), taken with srvTLS.
	srvHS     *tlsinfo.Info
	localCert *x509.Certificate // the certificate presented (LocalCert), once parsed
}

// tlsStateOf is the state of c's completed handshake, nil when c is not
// TLS.
func tlsStateOf(c net.Conn) *tls.ConnectionState {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return &st
}

// Handshake is what the client or the server connection's handshake
// recorded beyond its state.
func (v *tlsConns) Handshake(server bool) *tlsinfo.Info {
	if server {
		return v.srvHS
	}
	return handshakeInfo(v.cconn)
}

// HelloVersion is the version field of the client's ClientHello.
func (v *tlsConns) HelloVersion() (uint16, bool) {
	if h := handshakeInfo(v.cconn).ClientHello(); h != nil {
		return h.Version, true
	}
	return 0, false
}

func (v *tlsConns) ClientTLS() *tls.ConnectionState { return v.cliTLS }

// ClientHello is what tlsfail recorded of the client's hello.
func (v *tlsConns) ClientHello() (ciphers, exts, groups []uint16, points []uint8, ok bool) {
	tc, isTLS := v.cconn.(*tls.Conn)
	if !isTLS {
		return nil, nil, nil, nil, false
	}
	c, wrapped := tc.NetConn().(*tlsfail.Conn)
	if !wrapped || !c.Hello.Seen {
		return nil, nil, nil, nil, false
	}
	h := &c.Hello
	return h.Ciphers, h.Extensions, h.Curves, h.Points, true
}
func (v *tlsConns) ServerTLS() *tls.ConnectionState { return v.srvTLS }

// ClientVerify is the verification result the bind recorded on the
// connection when it ignores certificate errors; zeros otherwise.
func (v *tlsConns) ClientVerify() (last, leaf, ca, caDepth int) {
	return clientVerifyOf(v.cconn)
}

func clientVerifyOf(c net.Conn) (last, leaf, ca, caDepth int) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return 0, 0, 0, 0
	}
	w, ok := tc.NetConn().(*tlsfail.Conn)
	if !ok {
		return 0, 0, 0, 0
	}
	v := w.Verify
	return v.Last, v.Leaf, v.CA, v.CADepth
}

// LocalCert is the certificate the handshake presented, as the
// certificate store recorded it on the connection; nil when another
// path chose it (ACME, a crt-list line's own configuration).
func (v *tlsConns) LocalCert() *x509.Certificate {
	if v.localCert != nil {
		return v.localCert
	}
	tc, ok := v.cconn.(*tls.Conn)
	if !ok {
		return nil
	}
	c, ok := tc.NetConn().(*tlsfail.Conn)
	if !ok || c.Cert == nil {
		return nil
	}
	leaf := c.Cert.Leaf
	if leaf == nil && len(c.Cert.Certificate) > 0 {
		leaf, _ = x509.ParseCertificate(c.Cert.Certificate[0])
	}
	v.localCert = leaf
	return leaf
}

// listenerOf returns the bind line whose listener accepted a connection
// with local address local, and its position (HAProxy's so_id counts the
// listeners of a frontend from 1).
func (fe *frontend) listenerOf(local net.Addr) (name string, id int, ok bool) {
	la := addrPort(local)
	for i, bl := range fe.listeners {
		ba := addrPort(bl.Addr())
		if ba.Port() == la.Port() && (ba.Addr().IsUnspecified() || ba.Addr().Unmap() == la.Addr().Unmap()) ||
			bl.Addr().String() == local.String() {
			return bl.bind.Name, i + 1, true
		}
	}
	return "", 0, false
}

func msMaybe(d time.Duration) (int64, bool) { return d.Milliseconds(), d > 0 }

func part(fe *frontend, be *backend, srv *server, local net.Addr, p acl.Part) (string, int, bool) {
	switch p {
	case acl.PartFrontend:
		return fe.name, fe.cfg.ID, true
	case acl.PartBackend:
		if be == nil {
			return "", 0, false
		}
		return be.name, be.cfg.ID, true
	case acl.PartServer:
		if srv == nil {
			return "", 0, false
		}
		return srv.name, srv.cfg.ID, true
	case acl.PartListener:
		if local == nil {
			return "", 0, false
		}
		return fe.listenerOf(local)
	case acl.PartDefaultBackend:
		if fe.def == nil {
			return "", 0, false
		}
		return fe.def.name, fe.def.cfg.ID, true
	}
	return "", 0, false
}

func timeoutOf(fe *frontend, be *backend, t acl.Timeout) (int64, bool) {
	switch t {
	case acl.TimeoutClient:
		return msMaybe(fe.cfg.Timeouts.Client)
	}
	if be == nil {
		return 0, false
	}
	switch t {
	case acl.TimeoutServer, acl.TimeoutCurServer:
		return msMaybe(be.cfg.Timeouts.Server)
	}
	if d := be.cfg.Timeouts.Tunnel; d > 0 {
		return d.Milliseconds(), true
	}
	return 0, false
}

func (s *httpSession) clientLocal() net.Addr {
	if s.cconn != nil {
		return s.cconn.LocalAddr()
	}
	if s.c != nil {
		return s.c.LocalAddr()
	}
	return nil
}

func (s *httpSession) Part(p acl.Part) (string, int, bool) {
	var srv *server
	if s.m != nil {
		srv = s.m.ent.srv
	}
	return part(s.fe, s.curBE, srv, s.clientLocal(), p)
}

// TimeoutMs reads a timeout; the cur_* ones see what "http-request
// set-timeout" set for this request (CM 7.3.2 cur_server_timeout).
func (s *httpSession) TimeoutMs(t acl.Timeout) (int64, bool) {
	switch {
	case t == acl.TimeoutCurServer && s.serverTO > 0:
		return s.serverTO.Milliseconds(), true
	case t == acl.TimeoutCurTunnel && s.tunnelTO > 0:
		return s.tunnelTO.Milliseconds(), true
	}
	return timeoutOf(s.fe, s.curBE, t)
}

func (s *httpSession) ServerConn() (src, dst netip.AddrPort, major int, ok bool) {
	if s.m == nil || s.m.ent.ServerAddr == nil {
		return src, dst, 0, false
	}
	return addrPort(s.m.ent.SourceAddr), addrPort(s.m.ent.ServerAddr), 1, true
}

func (s *httpSession) ReqBody() ([]byte, int64) {
	if s.m == nil {
		return nil, 0
	}
	size := s.m.req.ContentLength
	if size < 0 {
		size = int64(len(s.body))
	}
	return s.body, size
}

func (s *httpSession) Captured(resp bool, idx int) ([]byte, bool) {
	caps := s.capReq
	if resp {
		caps = s.capResp
	}
	if idx < 0 || idx >= len(caps) {
		return nil, false
	}
	return caps[idx], true
}

func (s *httpSession) RequestIndex() int { return s.nreq }

func (s *httpSession) SetLastRule(pos config.Pos) { s.lastRule = pos }

func (s *httpSession) LastRule() (config.Pos, bool) { return s.lastRule, s.lastRule.Line > 0 }

func (s *httpSession) UniqueID() ([]byte, bool) {
	if s.m == nil || s.m.ent.UniqueID == "" {
		return nil, false
	}
	return []byte(s.m.ent.UniqueID), true
}

// RespVersion is the response's HTTP version (res.ver, capture.res.ver).
func (s *httpSession) RespVersion() (int, int) {
	if !s.inResp {
		return 0, 0
	}
	return s.m.resp.Major, s.m.resp.Minor
}

// ReqPayload is nil in HTTP mode: req.len and req.payload read the
// buffered request in HAProxy, which Bulwark parses before rules run.
func (s *httpSession) ReqPayload() []byte { return nil }

func (t *tcpTxn) Part(p acl.Part) (string, int, bool) {
	var local net.Addr
	if t.conn != nil {
		local = t.conn.LocalAddr()
	}
	return part(t.fe, t.be, t.srv, local, p)
}

func (t *tcpTxn) TimeoutMs(tm acl.Timeout) (int64, bool) { return timeoutOf(t.fe, t.be, tm) }

func (t *tcpTxn) ServerConn() (src, dst netip.AddrPort, major int, ok bool) {
	return src, dst, 0, false
}

// ---- acl.StatsEnv ----

func (e runtimeEnv) frontend(name string) *frontend {
	if name == "" {
		name = e.fe
	}
	for _, f := range e.rt.frontends {
		if f.name == name {
			return f
		}
	}
	return nil
}

func (e runtimeEnv) ProxyStat(name string, st acl.Stat) (int64, bool) {
	nowMs := e.rt.clock.NowMs()
	switch st {
	case acl.StatReqRate:
		f := e.frontend(name)
		if f == nil {
			return 0, false
		}
		return f.stats.reqRate.Read(nowMs), true
	case acl.StatSessRate:
		if name == "" && e.backend == nil || name != "" && e.rt.backends[name] == nil {
			// fe_sess_rate names a frontend: try it first.
			if f := e.frontend(name); f != nil {
				return f.stats.rate.Read(nowMs), true
			}
		}
	}
	b := e.lookup(name)
	if b == nil {
		return 0, false
	}
	switch st {
	case acl.StatSessRate:
		return b.stats.rate.Read(nowMs), true
	case acl.StatQueue:
		return b.queued.Load(), true
	case acl.StatAvgQueue:
		active := 0
		for _, s := range b.srvs() {
			if s.balanced() && !s.cfg.Backup {
				active++
			}
		}
		q := b.queued.Load()
		if active == 0 {
			return 2 * q, true
		}
		return (q + int64(active) - 1) / int64(active), true
	case acl.StatConnFree, acl.StatConnSlots:
		var free int64
		for _, s := range b.srvs() {
			if !s.balanced() || s.cfg.Backup {
				continue
			}
			if s.cfg.MaxConn == 0 {
				return -1, true
			}
			free += int64(s.cfg.MaxConn) - s.current.Load()
		}
		if st == acl.StatConnSlots {
			if b.maxQueue == 0 {
				return -1, true
			}
			free += b.maxQueue - b.queued.Load()
		}
		return free, true
	}
	return 0, false
}

func (e runtimeEnv) ServerStat(beName, srvName string, st acl.Stat) (int64, bool) {
	b := e.lookup(beName)
	if b == nil {
		return 0, false
	}
	var s *server
	for _, x := range b.srvs() {
		if x.name == srvName {
			s = x
			break
		}
	}
	if s == nil {
		return 0, false
	}
	snap := s.state.Load()
	switch st {
	case acl.StatConn:
		return s.current.Load(), true
	case acl.StatConnFree:
		if s.cfg.MaxConn == 0 {
			return -1, true
		}
		return int64(s.cfg.MaxConn) - s.current.Load(), true
	case acl.StatIsUp:
		if snap.View().Usable {
			return 1, true
		}
		return 0, true
	case acl.StatIWeight:
		return int64(snap.InitialWeight), true
	case acl.StatUWeight:
		return int64(snap.Weight), true
	case acl.StatWeight:
		return int64(snap.View().Weight), true
	case acl.StatQueue:
		return 0, true // Bulwark queues in the backend, never on a server
	case acl.StatSessRate:
		return s.stats.rate.Read(e.rt.clock.NowMs()), true
	}
	return 0, false
}

// uniqueID renders unique-id-format for the request (%ID, the unique-id
// fetch) and adds it as unique-id-header to what the server receives
// (CM 4.2 "unique-id-format", "unique-id-header").
func (s *httpSession) uniqueID(e *LogEntry) {
	fe := s.fe
	if fe.uniqueFmt == nil || fe.opts.Render == nil {
		return
	}
	s.eval.Reset()
	id := fe.opts.Render(nil, fe.uniqueFmt, e)
	e.UniqueID = string(id)
	if fe.uniqueHdr != "" {
		s.m.req.Headers = append(s.m.req.Headers, h1.Header{Name: []byte(fe.uniqueHdr), Value: id})
	}
}

// ClientTCPInfo is the kernel's TCP_INFO of the client socket (fc_rtt and
// the other fc_* counters); false for a socket that is not TCP.
func (s *httpSession) ClientTCPInfo() (*unix.TCPInfo, bool) { return tcpInfo(s.cconn) }

func (t *tcpTxn) ClientTCPInfo() (*unix.TCPInfo, bool) { return tcpInfo(t.conn) }

func tcpInfo(c net.Conn) (*unix.TCPInfo, bool) {
	for c != nil {
		switch x := c.(type) {
		case *net.TCPConn:
			rc, err := x.SyscallConn()
			if err != nil {
				return nil, false
			}
			var info *unix.TCPInfo
			var gerr error
			if err := rc.Control(func(fd uintptr) {
				info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
			}); err != nil || gerr != nil {
				return nil, false
			}
			return info, true
		case *tls.Conn:
			c = x.NetConn()
		case *tlsfail.Conn:
			c = x.Conn
		case *ppConn:
			c = x.Conn
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil, false
		}
	}
	return nil, false
}

// ---- server connection outcome, listener connections, response body ----

var (
	_ acl.BackendConnTxn  = (*httpSession)(nil)
	_ acl.BackendConnTxn  = (*tcpTxn)(nil)
	_ acl.ListenerConnTxn = (*httpSession)(nil)
	_ acl.ListenerConnTxn = (*tcpTxn)(nil)
	_ acl.RespBodyTxn     = (*httpSession)(nil)
)

// BackendConn is the outcome of the request's server connection; a
// connection reused from the pool or kept from the previous request was
// established (bc_err 0).
func (s *httpSession) BackendConn() acl.BackendConn {
	if s.m == nil {
		return acl.BackendConn{}
	}
	if s.m.ent.bc.Known || s.m.ent.ServerAddr == nil {
		return s.m.ent.bc
	}
	return acl.BackendConn{Known: true, TLS: s.m.ent.srv != nil && s.m.ent.srv.tls != nil}
}

func (t *tcpTxn) BackendConn() acl.BackendConn {
	if t.ent == nil {
		return acl.BackendConn{}
	}
	return t.ent.bc
}

// listenerConns counts the connections of the listening socket that
// accepted the connection with local address local.
func (fe *frontend) listenerConns(local net.Addr) (int64, bool) {
	if local == nil {
		return 0, false
	}
	_, id, ok := fe.listenerOf(local)
	if !ok || fe.listeners[id-1].conns == nil {
		return 0, false
	}
	return fe.listeners[id-1].conns.Load(), true
}

func (s *httpSession) ListenerConns() (int64, bool) { return s.fe.listenerConns(s.clientLocal()) }

func (t *tcpTxn) ListenerConns() (int64, bool) {
	if t.conn == nil {
		return 0, false
	}
	return t.fe.listenerConns(t.conn.LocalAddr())
}

// RespBody is the response body available (res.body): what "http-response
// wait-for-body" read, else what came in with the head and is still
// buffered (HAProxy has the same bytes in its buffer); its advertised size
// too.
func (s *httpSession) RespBody() ([]byte, int64, bool) {
	if s.m == nil || !s.inResp {
		return nil, 0, false
	}
	body, _ := s.respBuffered()
	size := s.m.resp.ContentLength
	if size < 0 {
		size = int64(len(body))
	}
	return body, size, true
}
