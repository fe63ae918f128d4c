package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/balance"
	"bulwark/internal/compress"
	"bulwark/internal/config"
	"bulwark/internal/h1"
	"bulwark/internal/model"
	"bulwark/internal/rules"
	"bulwark/internal/stick"
)

// httpSession is one client connection in HTTP mode. Its buffers are
// reused for every request of the connection.
type httpSession struct {
	fe *frontend

	// fcgiOut and fcgiParams are the records and the PARAMS content of
	// a request to a FastCGI server (fcgi.go), kept apart from head so
	// that a retry on an HTTP server of the same backend still has it.
	fcgiOut, fcgiParams []byte

	// lastRule is the rule that ended a rule list of the current request
	// (last_rule_file); Line 0 while none has.
	lastRule config.Pos
	stream   context.Context // see connInfo.stream
	c        net.Conn
	tc       timedConn
	// rseen is tc.rn when the last request was accounted.
	rseen int64
	rd    *h1.Reader
	// m is the state of the request in progress; an idle session gives it
	// back to the pool.
	m        *msgState
	head     []byte
	copyBuf  []byte
	src, dst netip.AddrPort
	srcText  []byte
	// HAProxy 2.6 keeps addresses at three levels: the connection's
	// (fc_src, fc_dst: the socket's, changed only by "tcp-request
	// connection" rules), the session's (a PROXY header's, else the
	// connection's, then "tcp-request session" rules) and the stream's
	// (src, dst above: the session's at the start of every request, then
	// tcp-request content and http-request rules).
	fcSrc, fcDst     netip.AddrPort
	sessSrc, sessDst netip.AddrPort
	sessSrcText      []byte
	streamAddr       bool // a stream rule changed src or dst
	nreq             int
	attached         *srvConn // server connection of the request in progress, or kept for the next one
	attBE            *backend
	// lent is the server connection the last request used, lent to its
	// server's idle pool between requests so that other sessions may
	// take it (as HAProxy does); the next request takes it back when it
	// is still there. lentBE is its backend.
	lent   *srvConn
	lentBE *backend
	// lendEarly: the exchange in progress may lend its server connection
	// to the pool as soon as the whole response is read from it, before
	// the client has it (lendNow).
	lendEarly bool

	// Rule evaluation state, reused for every request (the executor's is
	// in m, which an idle session gives back).
	eval *acl.Eval
	// qr reads the first request without waiting (quickread_linux.go);
	// kept, as rd and eval, when the session is recycled.
	qr          *quickRead
	tracked     [3]stick.Ref
	trackedConn [3]bool // tracked by tcp-request connection: lives with the connection
	inConnRules bool
	inTCPConn   bool // running "tcp-request connection" rules
	inResp      bool
	// inTCPResp: tcp-response content rules run, before the response is
	// analysed as HTTP; tcpResLen is then what res.len counts.
	inTCPResp bool
	tcpResLen int64
	// muxError: the response being written answers a request that could
	// not be parsed or did not arrive in time. HAProxy's H1 mux sends
	// those itself, before any stream exists, so http-after-response
	// rules never see them.
	muxError bool
	vars     map[string]acl.Sample
	curBE    *backend
	body     []byte // request body read ahead (http-buffer-request)
	bodyRead bool   // body holds this request's whole body already
	// bodyAborted: the client closed while its chunked body was read
	// ahead; the request goes through the rules and switching (the log
	// names the backend, as HAProxy's does) but to no server.
	bodyAborted bool
	// tlsConns holds the client connection and its TLS state, and the
	// TLS state of the request's server connection.
	tlsConns
	capReq    [][]byte
	capResp   [][]byte
	idle      atomic.Bool // waiting for a request: a soft stop may close it
	tlsOn     bool
	tlsFacts  tlsFacts // of the client connection, for the logs
	expectPP  bool     // "tcp-request connection expect-proxy" ran
	expectCIP bool     // "tcp-request connection expect-netscaler-cip" ran
	noted     *server  // the server "show sess" has for this session
	sni       []byte
	client    net.Addr
	h2        bool
	done      *sessInfo // its end runs when the session ends (nil: nothing)
	// Parking state (see parker): woken makes the next wait a plain read.
	woken        bool
	ck           cookieState // cookie persistence of the request in progress
	parkDeadline time.Time
	// endAt is when the last request ended (Start + Ta), for the next
	// serveOne of the same loop only (it clears it).
	endAt time.Time
	// yielded: quickNext let the other sessions run before its read;
	// quickTimedOut: it also waited the short wait of waitRequest, in
	// vain.
	yielded, quickTimedOut bool
	// serverTO and tunnelTO are "set-timeout" of the current request.
	serverTO, tunnelTO time.Duration
	// bodyWaited: "wait-for-body" read (part of) the body into body;
	// respWaited the same for the response into respBody, read from
	// exchSC, the server connection of the exchange in progress.
	bodyWaited, respWaited bool
	respBody               []byte
	exchSC                 *srvConn
	// h2s is the HTTP/2 stream the session serves (c is then the
	// stream): its request comes decoded, not parsed from c.
	h2s *h2Stream
	// up is what the TCP stage of an upgraded session left (upgrade.go);
	// nil for a session that was HTTP from the start.
	up *upgrade
	// factsSet: tlsFacts, cliTLS and srcText came with the connection
	// (connInfo.facts).
	factsSet bool
	// act is what the stream actions of the request in progress set.
	act streamActs
	// headBox is head's box in the runtime's pool (headpool.go), nil when
	// head is not the pool's.
	headBox *[]byte
	// abort watches the client while the request waits for a server
	// ("option abortonclose"), nil when nothing watches.
	abort *closeWatch
	// head0 is the size of the request ([0]) and response ([1]) heads as
	// received, taken by the first rewrite that asks for room (Room); 0
	// until then.
	head0 [2]int
}

// connInfoOf describes c, a client connection its session reads itself.
func connInfoOf(c net.Conn, done *sessInfo) connInfo {
	return connInfo{client: c.RemoteAddr(), src: addrPort(c.RemoteAddr()), dst: addrPort(c.LocalAddr()), done: done}
}

// connInfo describes the client connection a session serves; for HTTP/2
// streams the session reads from an in-memory pipe, so the addresses and
// TLS facts come from the real connection.
type connInfo struct {
	client   net.Addr
	src, dst netip.AddrPort
	h2       bool // one request, connection rules already run
	// fcSrc and fcDst are the connection's addresses (fc_src, fc_dst)
	// for an h2 stream, whose session does not see the socket.
	fcSrc, fcDst netip.AddrPort
	tlsOn        bool
	sni          []byte
	// conn is the client connection of an h2 stream (its TLS state and
	// PROXY header); nil when the session reads the connection itself.
	conn net.Conn
	// done releases the connection's slots when the session ends (which,
	// for a parked session, is not when its first goroutine returns).
	done *sessInfo
	// stream is the h2 stream's context, done when the client resets the
	// stream or its connection goes: the exchange with the server is then
	// abandoned, as HAProxy does for an aborted h2 stream.
	stream context.Context
	// h2s is the native HTTP/2 stream (see h2conn.go), nil otherwise.
	h2s *h2Stream
	// up: the connection comes from a TCP session (upgrade.go).
	up *upgrade
	// facts are what the streams of one h2 connection share, worked out
	// once for the connection instead of once per stream; nil otherwise.
	facts *connFacts
	// state is the handshake state of an HTTP/1 client connection over
	// TLS, read once after the handshake (serveTLS); nil otherwise.
	state *tls.ConnectionState
}

// connFacts are the client connection's TLS facts and source address
// text, the same for every stream of an h2 connection (read-only once
// made).
type connFacts struct {
	tls     tlsFacts
	state   *tls.ConnectionState
	srcText []byte
}

func newConnFacts(tc *tls.Conn, src netip.AddrPort) *connFacts {
	f := &connFacts{state: new(tc.ConnectionState())}
	f.tls = tlsFactsOf(f.state)
	if src.IsValid() {
		t := src.Addr().Unmap().String()
		f.srcText = []byte(t)[:len(t):len(t)]
	}
	return f
}

// newSession makes the session that serves c.
func (fe *frontend) newSession(c net.Conn, ci connInfo) *httpSession {
	s := fe.rt.cleanSession()
	s.fe, s.c, s.src, s.dst, s.client, s.h2, s.done, s.cconn, s.stream, s.h2s = fe, c, ci.src, ci.dst, ci.client, ci.h2, ci.done, ci.conn, ci.stream, ci.h2s
	if s.cconn == nil {
		s.cconn = c
	}
	if ci.h2 {
		s.tlsOn, s.sni = ci.tlsOn, ci.sni
	}
	s.tc = timedConn{Conn: c}
	if f := ci.facts; f != nil {
		s.srcText, s.cliTLS, s.tlsFacts, s.factsSet = f.srcText, f.state, f.tls, true
	} else {
		// srcText waits for the first request that needs it (srcTextOf).
		s.cliTLS = ci.state
	}
	fe.rt.idle.Store(s, struct{}{})
	s.useMsg()
	return s
}

// srcTextOf returns srcText, the text of src for "option forwardfor",
// made by the first request that asks for it: most configurations add no
// such header, and a connection per request then makes none (one
// allocation fewer per connection). nil when src is not an IP address.
func (s *httpSession) srcTextOf() []byte {
	if s.srcText == nil && s.src.IsValid() {
		// Sized for the address: one allocation, where String and the
		// conversion made two.
		n := len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")
		if s.src.Addr().Unmap().Is4() {
			n = len("255.255.255.255")
		}
		s.srcText = appendAddrText(make([]byte, 0, n), s.src)
	}
	return s.srcText
}

// nextStream prepares a session that served an h2 stream for the next
// stream of the same connection: it starts as a new session would, with
// the buffers, rule state and server connection of the last one.
func (s *httpSession) nextStream(st *h2Stream) {
	s.c, s.h2s = st, st
	s.tc = timedConn{Conn: st}
	s.rseen, s.nreq = 0, 0
	// Each stream had a session of its own: no variable carries over.
	clear(s.vars)
}

func (fe *frontend) serveHTTPOn(c net.Conn, ci connInfo) {
	s := fe.newSession(c, ci)
	if !ci.h2 {
		// An HTTP/1 client connection, open until the session finishes.
		h := &fe.stats.h1
		h.openConns.Add(1)
		h.totalConns.Add(1)
	}
	pc := ppOf(c)
	if s.h2 {
		s.fcSrc, s.fcDst = ci.fcSrc, ci.fcDst
	} else {
		s.fcSrc, s.fcDst = realAddrs(c)
	}
	if r := fe.rules; r != nil && r.tcpConn.Len() > 0 && !s.h2 {
		if pc != nil {
			s.src, s.dst = s.fcSrc, s.fcDst
		}
		s.inConnRules, s.inTCPConn = true, true
		res := r.tcpConn.Run(&s.m.exec)
		s.inConnRules, s.inTCPConn = false, false
		if res.Verdict == rules.Reject {
			s.finish()
			return
		}
		s.fcSrc, s.fcDst = s.src, s.dst
	}
	if pc != nil && !s.h2 {
		if !fe.afterConnRules(c, s.expectPP, s.expectCIP) {
			s.finish()
			return
		}
		s.setClientAddrs()
	}
	// "tcp-request session": once per connection, after the PROXY header
	// (and, for an h2 stream, already run on its connection).
	if r := fe.rules; r != nil && r.tcpSession.Len() > 0 && !s.h2 {
		s.inConnRules = true
		res := r.tcpSession.Run(&s.m.exec)
		s.inConnRules = false
		if res.Verdict == rules.Reject {
			s.finish()
			return
		}
	}
	s.sessSrc, s.sessDst, s.sessSrcText = s.src, s.dst, s.srcText
	s.loop()
}

// msgState is what one request needs: its head, the response head and the
// log entry. Sessions take one while a request is in progress and give it
// back while idle, so that idle connections do not hold it.
type msgState struct {
	req  h1.Request
	resp h1.Response
	ent  LogEntry
	// comp is the algorithm negotiated for the request ("compression"),
	// compress.None when the response is sent as it comes; compTypes
	// are the MIME types that may be compressed.
	comp      compress.Algo
	compTypes []string
	// compOut is the algorithm the response is compressed with,
	// compress.None until that is decided (res.comp).
	compOut compress.Algo
	cache   cacheState
	// exec runs the session's rules; its result and arena are scratch
	// space, so it need not stay with an idle session.
	exec rules.Exec
}

func (s *httpSession) useMsg() {
	if s.m == nil {
		s.m = s.fe.rt.getMsg()
		s.m.exec = rules.Exec{E: s.eval, T: s, DNS: s.fe.rt.lookup(), Ctx: s.fe.rt.ctx, Arena: s.m.exec.Arena[:0]}
	}
}

// loop serves requests until the connection ends or the session parks.
// After a successful park another goroutine owns the session: nothing here
// may touch it any more.
func (s *httpSession) loop() {
	for {
		more, parked := s.serveOne()
		if parked {
			return
		}
		// A stop that began after the last response went out (without
		// "Connection: close") is handled by serveOne: the client may
		// already be sending its next request, which gets served with
		// "Connection: close" within the idle grace; closing here would
		// reset it.
		if !more || s.h2 {
			s.finish()
			if s.plain() {
				s.recycle()
			}
			return
		}
	}
}

// resume continues a parked session whose client sent data (or that a
// stop woke): it reads the next request the ordinary way.
func (s *httpSession) resume() {
	s.woken = true
	s.loop()
}

// finish ends the session: tracked entries, server connection, client
// connection, then the connection's slots.
func (s *httpSession) finish() {
	s.releaseTracked(true)
	s.close()
	s.fe.rt.idle.Delete(s)
	// The buffers go back to their pools: an h2 stream is a session that
	// ends after one request, thousands a second.
	if s.copyBuf != nil {
		s.fe.rt.putCopyBuf(s.copyBuf)
		s.copyBuf = nil
	}
	s.fe.rt.putMsg(s.m)
	s.m = nil
	s.giveHead()
	s.rd.Release()
	if s.done != nil {
		s.done.end()
	}
}

func (s *httpSession) close() {
	// Every failed exchange detaches (and closes) its server connection
	// itself; one still attached here finished cleanly and can serve
	// another client.
	s.detach(true)
	if s.c != nil {
		// nil: an h2 session between streams.
		s.c.Close()
	}
}

// detach drops the attached server connection: to its server's idle pool
// when reusable, closed otherwise.
func (s *httpSession) detach(reusable bool) {
	sc := s.attached
	if sc == nil {
		return
	}
	s.attached = nil
	// A connection goes to the shared pool unless the backend keeps its
	// connections private; its key says which requests it may carry.
	if sc.h2 != nil {
		// An HTTP/2 stream ends with its exchange; its connection stays
		// with the server's h2Pool.
		sc.close()
	} else if reusable && s.attBE.shares() {
		sc.used = true
		sc.reqs++
		sc.srv.pool.put(sc)
	} else if reusable {
		sc.closeIdle()
	} else {
		sc.close()
	}
}

// serveOne handles one request; it returns false when the client
// connection must close.
func (s *httpSession) serveOne() (more, parked bool) {
	fe := s.fe
	// The end of the request this loop just served, when there is one,
	// stands for now (the deadlines below are in seconds): one time.Now,
	// two vDSO calls, fewer a keep-alive request. A session that parked
	// comes back through a new serveOne and reads the clock.
	now := s.endAt
	s.endAt = time.Time{}
	if now.IsZero() {
		now = time.Now()
	}
	// The first request is bounded by "timeout http-request" (total time for
	// the head, against slowloris); later ones wait "http-keep-alive" for
	// their head. Both fall back to "timeout client".
	wait := fe.httpRequestTimeout
	if s.nreq > 0 && fe.keepAliveTimeout > 0 {
		wait = fe.keepAliveTimeout
	}
	if wait == 0 {
		wait = fe.clientTimeout
	}
	s.tc.rto, s.tc.wto = 0, fe.clientTimeout
	s.parkDeadline = time.Time{}
	if wait > 0 {
		s.parkDeadline = now.Add(wait)
	}
	// A first request already there in whole needs no deadline to be read:
	// none is set (and none cleared after it). A busy keep-alive
	// connection waits under the short deadline that waitRequest sets:
	// setting this one first would be a second timer update and clock
	// read per request, for nothing.
	noReadDL := s.h2s == nil && (s.nreq == 0 && s.quickFirst() || s.nreq > 0 && s.quickNext(wait, now))
	busy := s.busyWait(wait) // never for a first request
	if !noReadDL && !busy {
		s.c.SetReadDeadline(s.parkDeadline)
	}
	// While waiting for a request the session is idle: a soft stop
	// shortens the wait to a last grace instead of the keep-alive timeout.
	// An h2 stream waits for nothing (its request is decoded already),
	// and its connection tells the client to stop (GOAWAY).
	if s.h2s == nil {
		s.idle.Store(true)
	}
	if fe.rt.stopping.Load() && s.nreq > 0 {
		g := time.Duration(fe.rt.idleGrace.Load())
		if g == 0 {
			return false, false
		}
		// A head read whole already (noReadDL) needs no wait.
		if g > 0 && (wait == 0 || wait > g) && !noReadDL {
			s.c.SetReadDeadline(now.Add(g))
		}
	}
	var err error
	if s.h2s == nil {
		err = s.waitRequest(busy, now)
	}
	if err == errParked {
		return false, true
	}
	// The request starts with its first byte: idle time is not part of
	// its timers (HAProxy's %TR excludes %Ti).
	start := time.Now()
	s.useMsg()
	s.m.cache = cacheState{key: s.m.cache.key[:0]}
	s.m.compOut = compress.None
	e := &s.m.ent
	s.lastRule = config.Pos{}
	*e = LogEntry{Start: start, Client: s.client, Frontend: fe.name, Server: "<NOSRV>",
		Term: "--", TR: -1, Tw: -1, Tc: -1, Tr: -1, Ta: -1, HTTP: true, Eval: s.eval, Local: s.cconn.LocalAddr()}
	if err == nil {
		if s.h2s != nil {
			// The request was decoded from the stream's header block.
			err = s.h2s.takeRequest(&s.m.req, s.rd)
		} else {
			err = s.rd.ReadRequest(&s.m.req)
		}
	}
	// A deadline the head did not need is not set (waitRequest).
	s.tc.rdPending = false
	s.idle.Store(false)
	if s.nreq == 0 {
		if s.cliTLS == nil {
			s.cliTLS = tlsStateOf(s.cconn)
		}
		switch {
		case s.h2:
			// The stream came with its connection's (newSession).
		case s.c == s.cconn:
			// The connection's own state, read once (serveTLS).
			s.tlsOn, s.sni = s.cliTLS != nil, nil
			if s.tlsOn && s.cliTLS.ServerName != "" {
				s.sni = []byte(s.cliTLS.ServerName)
			}
		default:
			s.tlsOn, s.sni = connTLS(s.c)
		}
		if s.tlsOn && !s.factsSet {
			// cliTLS is cconn's state, read once above.
			s.tlsFacts = tlsFactsOf(s.cliTLS)
		}
	}
	s.srvTLS, s.srvHS = nil, nil
	e.TLS = s.tlsOn
	s.tlsFacts.fill(e)
	if err != nil {
		return s.requestError(err, e), false
	}
	if fe.proxyHdr {
		s.proxyConnection()
	}
	s.nreq++
	e.TR = time.Since(start)
	if fe.logging {
		e.Request = string(s.m.req.Method) + " " + string(s.m.req.Target) + " HTTP/" + strconv.Itoa(s.m.req.Major) + "." + strconv.Itoa(s.m.req.Minor)
	}
	s.tc.rto = fe.clientTimeout
	s.tc.rlast = time.Time{} // force the next Read to set its own deadline
	if !noReadDL {
		s.c.SetReadDeadline(time.Time{})
	}
	defer s.releaseTracked(false)
	s.inResp = false
	s.curBE = nil
	if s.streamAddr {
		// Every request is a new stream: it starts from the session's
		// addresses, whatever the last one's rules set.
		s.streamAddr = false
		s.src, s.dst, s.srcText = s.sessSrc, s.sessDst, s.sessSrcText
	}
	s.serverTO, s.tunnelTO = 0, 0
	s.act.reset()
	s.bodyWaited, s.respWaited = false, false
	s.body, s.respBody = s.body[:0], s.respBody[:0]
	s.head0 = [2]int{}
	s.m.exec.Arena = s.m.exec.Arena[:0]
	for k := range s.vars {
		if !strings.HasPrefix(k, "sess.") {
			delete(s.vars, k)
		}
	}
	if s.up != nil && s.nreq == 1 {
		s.takeUpgrade()
	}
	// Entries tracked for the whole connection count every request.
	for i, r := range s.tracked {
		if r.Valid() && s.trackedConn[i] {
			r.IncHTTPReq(s.Now())
		}
	}

	s.captureRequest()
	if fe.cfg.LogJSON {
		for _, h := range s.m.req.Headers {
			if bytes.EqualFold(h.Name, []byte("user-agent")) {
				e.UserAgent = string(h.Value)
				break
			}
		}
	}
	s.uniqueID(e)
	ok := s.route(e)
	s.captureText(e)
	if e.Status > 0 {
		s.countStatus(e.Status)
	}
	e.Ta = time.Since(start)
	s.endAt = start.Add(e.Ta)
	// Bytes read since the last request ended belong to this one.
	e.BytesIn += s.tc.rn - s.rseen
	s.rseen = s.tc.rn
	if !s.h2 {
		fe.h1Stream(e)
	}
	fe.log(e)
	return ok, false
}

// route runs the frontend's rules, picks the backend (use_backend, then
// default_backend), runs the backend's rules and forwards (CM 4 "rule
// evaluation order").
func (s *httpSession) route(e *LogEntry) bool {
	fe := s.fe
	if s.acmeChallenge(e) {
		return false
	}
	// An upgraded TCP session (upgrade.go): its first request was judged
	// by the content rules already; an implicit upgrade has no frontend
	// HTTP rules at all, only its backend.
	var forced *backend
	skipContent := false
	if u := s.up; u != nil {
		forced, skipContent = u.be, u.be != nil || s.nreq == 1
	}
	if r := fe.rules; r != nil && r.tcpContent.Len() > 0 && !skipContent {
		// CM 4.2: in an HTTP proxy "tcp-request content" rules run for
		// every request, before the http-request rules.
		s.eval.Reset()
		if res := r.tcpContent.Run(&s.m.exec); res.Verdict == rules.Reject {
			e.Term = "PR"
			return false
		}
	}
	if uri := fe.cfg.MonitorURI; uri != "" && s.monitorMatch(uri) {
		return s.monitor(e)
	}
	s.bodyRead, s.bodyAborted = false, false
	if fe.bufferReq && s.bufferable() {
		// "option http-buffer-request" in the frontend: the rules see
		// the body (req.body, req.body_param), as in HAProxy.
		s.body = s.body[:0]
		if !s.bufferBody(e) {
			return false
		}
		s.bodyRead = true
	}
	if r := fe.rules; r != nil && r.req.Len() > 0 && forced == nil {
		s.eval.Reset()
		res := r.req.Run(&s.m.exec)
		s.flushEarlyHints()
		if res.Verdict != rules.Continue && res.Verdict != rules.Allow {
			if res.Verdict == rules.Service {
				return s.serveService(res.Service, e)
			}
			return s.reply(res, fe.pages, e)
		}
	}
	if r := fe.rules; r != nil && r.redirects.Len() > 0 && forced == nil {
		s.eval.Reset()
		if res := r.redirects.Run(&s.m.exec); res.Verdict != rules.Continue {
			return s.reply(res, fe.pages, e)
		}
	}
	if ok, keep := s.restrictHeaderNames(fe.cfg, fe.pages, e); !ok {
		return keep
	}
	if st := statsFor(fe.cfg, s.m.req.Target); st != nil {
		return s.serveStats(st, fe.cfg, fe.pages, e)
	}
	be := fe.def
	if forced != nil {
		be = forced
	} else if r := fe.rules; r != nil {
		for i, c := range r.useBE {
			s.eval.Reset()
			if c.Match(s.eval) {
				if be = fe.useBE[i]; be == nil {
					be = fe.dynamicBackend(r.useBEName[i], s.eval)
				}
				break
			}
		}
	}
	if be == nil {
		e.Term = "PR"
		s.sendError(503, e)
		return false
	}
	s.curBE = be
	e.Backend, e.be = be.name, be
	if be.cfg != fe.cfg && be.rules != nil && be.rules.tcpContent.Len() > 0 {
		s.eval.Reset()
		if res := be.rules.tcpContent.Run(&s.m.exec); res.Verdict == rules.Reject {
			e.Term = "PR"
			return false
		}
	}
	if be.cfg != fe.cfg && be.rules != nil && be.rules.req.Len() > 0 {
		s.eval.Reset()
		res := be.rules.req.Run(&s.m.exec)
		s.flushEarlyHints()
		if res.Verdict != rules.Continue && res.Verdict != rules.Allow {
			if res.Verdict == rules.Service {
				return s.serveService(res.Service, e)
			}
			return s.reply(res, be.pages, e)
		}
	}
	if be.cfg != fe.cfg && be.rules != nil && be.rules.redirects.Len() > 0 {
		s.eval.Reset()
		if res := be.rules.redirects.Run(&s.m.exec); res.Verdict != rules.Continue {
			return s.reply(res, be.pages, e)
		}
	}
	if be.cfg != fe.cfg {
		if ok, keep := s.restrictHeaderNames(be.cfg, be.pages, e); !ok {
			return keep
		}
	}
	if st := statsFor(be.cfg, s.m.req.Target); st != nil && be.cfg != fe.cfg {
		return s.serveStats(st, be.cfg, be.pages, e)
	}
	return s.forward(be, e)
}

// responseRules runs the backend's then the frontend's http-response rules
// on the response head just read. A terminal verdict replaces the response.
func (s *httpSession) responseRules(be *backend) (rules.Result, *backend, bool) {
	s.inResp = true
	lists := [2]*proxyRules{be.rules, nil}
	if be.cfg != s.fe.cfg {
		lists[1] = s.fe.rules
	}
	// "tcp-response content" (backends only) runs before http-response.
	if r := be.rules; r != nil && r.tcpResp.Len() > 0 {
		if res := s.tcpResponseRules(be, r.tcpResp); res.Verdict == rules.Reject || res.Verdict == rules.Close {
			return res, be, true
		}
	}
	for _, r := range lists {
		if r == nil || r.resp.Len() == 0 {
			continue
		}
		s.eval.Reset()
		res := r.resp.Run(&s.m.exec)
		if res.Verdict != rules.Continue && res.Verdict != rules.Allow {
			if res.Verdict == rules.Deny && res.Status == 0 {
				res.Status = 502
			}
			return res, be, true
		}
	}
	return rules.Result{}, be, false
}

// yieldBeforeRead lets the other sessions run before a read that would
// fail with EAGAIN now, the peer having just been written to: one system
// call a request for nothing, and a park in the poller (1.0 a request
// before this, 0.05-0.16 for keep-alive and 0.24-0.62 for l7_close with
// it; h2 streams 1.0 -> 0.12; docs/performance.md). With nothing else
// ready it returns at once. An HTTP/1 session yields only when its
// frontend has other connections: a lone one has no other session to run,
// and with several Ps the yield would only move its goroutine to another
// thread (BenchmarkProxyHTTPKeepAlive -cpu 2: 0.35 context switches and
// 2.5 µs more a request). An h2 stream always does: its connection's other
// streams are sessions of their own.
func (s *httpSession) yieldBeforeRead() {
	if s.h2s != nil || s.fe.conns.Load() > 1 {
		runtime.Gosched()
	}
}

// busyWait reports whether waitRequest will wait for the next request of
// a kept connection with everything in place, under a short deadline of
// its own (parkAfter), before it parks the connection; wait is how long
// the connection may wait for the request (0: forever).
func (s *httpSession) busyWait(wait time.Duration) bool {
	if s.h2s != nil || s.nreq == 0 || s.h2 || s.woken || s.fe.rt.parker == nil || s.rd.Buffered() > 0 || s.fe.rt.stopping.Load() {
		return false
	}
	return wait <= 0 || wait > parkAfter
}

// waitRequest waits for the first byte of the next request holding no
// buffer: an idle keep-alive connection keeps only its goroutine, its
// socket and this session. The server connection goes back to the pool and
// the buffers to theirs; the byte read is handed to the reader. busy is
// busyWait's answer, now the time parkDeadline was computed from.
func (s *httpSession) waitRequest(busy bool, now time.Time) error {
	if s.rd.Buffered() > 0 {
		return nil
	}
	if err, ok := s.waitFirst(); ok {
		return err
	}
	woken := s.woken
	s.woken = false
	if woken {
		// The deadline in place is the short one that led to parking.
		s.c.SetReadDeadline(s.parkDeadline)
		if g := time.Duration(s.fe.rt.idleGrace.Load()); s.fe.rt.stopping.Load() && g >= 0 {
			s.c.SetReadDeadline(time.Now().Add(g))
		}
	}
	p := s.fe.rt.parker
	if busy {
		// A busy keep-alive client sends its next request at once: wait a
		// little with everything in place, and park only a connection that
		// stays quiet (parking costs two epoll calls and a goroutine).
		// serveOne left the deadline to this wait.
		var err error
		if s.quickTimedOut {
			// quickNext waited under this deadline already.
			s.quickTimedOut = false
			err = os.ErrDeadlineExceeded
		} else {
			s.c.SetReadDeadline(now.Add(parkAfter))
			// The response has just been written: the client has
			// seldom sent its next request yet (quickNext yielded
			// already when it ran).
			if !s.yielded {
				s.yieldBeforeRead()
			}
			// Read straight into the reader's buffer: the next
			// request usually arrives whole, in one read.
			if err = s.rd.Wait(); err == nil {
				// The rest of the head, if it needs another read,
				// has until parkDeadline; a head read whole in this
				// one (the usual case) spares the timer update.
				s.tc.rdPending, s.tc.rdDeadline = true, s.parkDeadline
				return nil
			}
		}
		if !isTimeout(err) {
			s.c.SetReadDeadline(s.parkDeadline)
			return err
		}
		if readable(s.c) {
			// Data came as the deadline fired (a busy scheduler): go on.
			s.c.SetReadDeadline(s.parkDeadline)
			return s.rd.Wait()
		}
		s.releaseIdle()
		pc := s.parkRecord()
		if pc.s == nil {
			// A soft stop must not find s among the idle sessions
			// once it is in the pool; it wakes the parked ones.
			s.fe.rt.idle.Delete(s)
		}
		if p.park(pc, s.parkDeadline) {
			// Another goroutine may own the connection from here on;
			// s itself only when it parked whole.
			if pc.s == nil {
				s.recycle()
			}
			return errParked
		}
		if pc.s == nil {
			s.fe.rt.idle.Store(s, struct{}{})
		}
		if s.fe.rt.stopping.Load() {
			// A stop closed the parker meanwhile: the last grace, if any.
			g := time.Duration(s.fe.rt.idleGrace.Load())
			if g == 0 {
				return err
			}
			if g > 0 {
				s.c.SetReadDeadline(time.Now().Add(g))
			} else {
				s.c.SetReadDeadline(s.parkDeadline)
			}
		} else {
			s.c.SetReadDeadline(s.parkDeadline)
		}
	}
	if woken {
		// The parker saw data: take a buffer and read it at once.
		return s.rd.Wait()
	}
	s.releaseIdle()
	return s.readFirst()
}

// parkAfter is how long an idle keep-alive connection keeps its goroutine
// before it is parked.
const parkAfter = 100 * time.Millisecond

// releaseIdle gives back what an idle session does not need: the server
// connection (to its pool) and the buffers (to theirs).
func (s *httpSession) releaseIdle() {
	s.detach(true)
	if s.copyBuf != nil {
		s.fe.rt.putCopyBuf(s.copyBuf)
		s.copyBuf = nil
	}
	// An idle connection may stay for minutes: keep only what the next
	// request cannot do without. These grow back with a few allocations
	// when the client sends again.
	s.giveHead()
	s.body = nil
	s.fe.rt.putMsg(s.m)
	s.m = nil
	// Session variables live as long as the connection; the others end
	// with their request.
	for k := range s.vars {
		if !strings.HasPrefix(k, "sess.") {
			delete(s.vars, k)
		}
	}
	if len(s.vars) == 0 {
		s.vars = nil
	}
	s.eval.Shrink()
	s.rd.Release()
}

// readFirst reads the first byte of the next request straight from the
// connection (so a timeout does not poison the reader) and hands it over.
func (s *httpSession) readFirst() error {
	var one [1]byte
	for {
		n, err := s.tc.Read(one[:])
		if n > 0 {
			s.rd.Prime(one[:n])
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (s *httpSession) requestError(err error, e *LogEntry) bool {
	s.muxError = true
	defer func() { s.muxError = false }()
	var pe *h1.ParseError
	switch {
	case errors.As(err, &pe):
		e.Term = "PR"
		e.Request = "<BADREQ>"
		s.fe.errs.capture(s.src, pe.Reason, s.rd.Head())
		s.sendError(pe.Status, e)
		s.fe.log(e)
	case isTimeout(err):
		// An idle keep-alive connection closes silently; a request that
		// started (or a first request) gets 408, as in HAProxy.
		if s.rd.Buffered() > 0 || (s.nreq == 0 && !s.fe.rt.stopping.Load()) {
			e.Term = "cR"
			e.Request = "<BADREQ>"
			s.sendError(408, e)
			// "option dontlognull": a connection that sent nothing is not
			// logged (health probes, port scans).
			if s.rd.Buffered() > 0 || !s.fe.cfg.Option("dontlognull") {
				s.fe.log(e)
			}
		}
	}
	return false
}

// sendError writes a complete error response and marks the entry.
func (s *httpSession) sendError(status int, e *LogEntry) {
	s.sendPage(s.pagesFor(status), status, e)
}

// connLevel ranks a proxy's own connection mode (model.Proxy.ConnMode);
// the stronger of the frontend's and the backend's applies:
// 0 http-keep-alive, 1 http-server-close, 2 httpclose.
func connLevel(p *model.Proxy) int {
	switch p.ConnMode() {
	case model.ConnClose:
		return 2
	case model.ConnServerClose:
		return 1
	}
	return 0
}

// forward sends the request to a server of be and relays the response. It
// returns whether the client connection may carry another request.
func (s *httpSession) forward(be *backend, e *LogEntry) bool {
	fe := s.fe
	req := &s.m.req
	mode := max(fe.connLevel, be.connLevel)
	if req.FramingFault {
		// Framing accepted only under Relax.Framing: neither connection
		// carries another message after this one (RFC 9112 §6.1, §6.3).
		mode = 2
	}
	hasBody := req.Framing() != h1.FramingNone
	if req.Upgrade && hasBody {
		// A server may switch protocols before the body ends, and what the
		// client sends next would then pass as tunnel bytes: an upgrade is
		// only offered on a request without a body (WebSocket's never has
		// one); this one goes as a plain request, and a 101 to it is a 502.
		req.Upgrade = false
	}
	if req.Expect100 && hasBody && expectIsHopByHop(req.Headers) {
		// "Connection: Expect" makes Expect hop-by-hop: it is not
		// forwarded, so no server will answer 100. The client waits for
		// one: answer it here, as HAProxy does, and send the body on.
		if _, err := io.WriteString(&s.tc, continue100); err != nil {
			e.Term = "CR"
			return false
		}
		req.Expect100 = false
	}
	clientKeep := req.KeepAlive && mode < 2 && !req.Upgrade
	s.cookieRequest(be)
	s.stickMatch(be)
	s.negotiateCompression(be)
	if s.m.cache.hit != nil {
		return s.serveFromCache(be, e)
	}
	if be.ck != nil {
		e.Cookie = s.ck.log()
	}

	// Build the outgoing head once; it is resent as is on a retry.
	// An HTTP/1.0 request goes on as HTTP/1.0, as HAProxy sends it: the
	// server then knows the client cannot take chunked framing or 1.1
	// features. Anything newer goes as 1.1.
	minor := 1
	if req.Major == 1 && req.Minor == 0 {
		minor = 0
	}
	s.takeHead()
	s.head = h1.AppendRequestLine(s.head[:0], req.Method, req.Target, 1, minor)
	s.head = h1.AppendForwardHeaders(s.head, req.Headers, req.Upgrade)
	if req.Chunked {
		s.head = h1.AppendHeaderField(s.head, "Transfer-Encoding", "chunked")
	}
	if h1.AcceptsTrailers(req.Headers) {
		s.head = h1.AppendHeaderField(s.head, "TE", "trailers")
	}
	if ff := forwardFor(fe.cfg, be.cfg); ff != nil && s.srcTextOf() != nil && wantsXFF(ff, req.Headers, s.src) {
		s.head = h1.AppendHeaderField(s.head, ff.Header, s.srcText)
	}
	if ot := originalTo(fe.cfg, be.cfg); ot != nil && s.dst.IsValid() && wantsXFF(ot, nil, s.dst) {
		s.head = h1.AppendHeaderField(s.head, ot.Header, s.dst.Addr().Unmap().String())
	}
	// The server is always spoken to in HTTP/1.1, where keep-alive is
	// implicit; only closing needs saying.
	if mode >= 1 && !be.pretendKA {
		// "option http-pretend-keepalive" leaves it out, so that servers
		// that stop chunking on "close" keep framing the body; the
		// connection is closed after the response all the same.
		s.head = h1.AppendHeaderField(s.head, "Connection", "close")
	} else if minor == 0 {
		s.head = h1.AppendHeaderField(s.head, "Connection", "keep-alive")
	}
	s.head = append(s.head, '\r', '\n')

	if !s.bodyWaited && !s.bodyRead {
		s.body = s.body[:0]
	}
	if hasBody && !s.bodyWaited && !s.bodyRead && s.bufferable() && (fe.bufferReq || be.bufferReq) {
		// "option http-buffer-request": the whole body arrives before a
		// server is chosen, so a slow client cannot hold a server
		// connection (and the request can be retried on a fresh one).
		if !s.bufferBody(e) {
			return false
		}
	}
	if s.bodyAborted {
		e.Term, e.Status = "CR", -1
		return false
	}
	if be.fcgi != nil && !s.fcgiPrepare(be.fcgi, e) {
		return false
	}

	key := s.balanceKey(be)
	dialNew := false
	if be.abortOnClose && s.h2s == nil && s.stream == nil && (!hasBody || s.rd.Body().Done()) {
		// The whole request is in: from here on the client has nothing
		// to send, and its close is what "abortonclose" looks for.
		s.abort = watchClose(s.fe.rt.ctx, s.c)
	}
	if be.abortOnClose {
		defer s.endAbortWatch()
	}
	for {
		sc, idx, fresh, err := s.serverConn(be, key, e, dialNew)
		if err != nil {
			if s.stopAbortWatch() {
				return s.clientAborted(e)
			}
			s.sendError(503, e)
			return false
		}
		e.Server, e.srv = sc.srv.name, sc.srv
		if s.noted != sc.srv {
			s.noted = sc.srv
			s.fe.rt.noteServer(s.cconn, be, sc.srv, sc.c)
		}
		s.srvTLS, s.srvHS = sc.tlsState(), handshakeInfo(sc.c)
		s.stickStore(be, sc.srv, false)
		sc.srv.stats.smax.Observe(sc.srv.current.Add(1))
		canRetry := e.Retries < int64(be.retries)
		tid := sc.srv.trackSession(sc.c, s.c)
		// Not for an h2 stream: a client reset closes the stream's server
		// connection, which must not be in the pool by then.
		s.lendEarly = clientKeep && mode < 1 && be.shares() && sc.srv.pool.keeps() && s.h2s == nil
		ev, err := s.exchange(be, sc, hasBody, e, canRetry)
		s.lendEarly = false
		sc.srv.untrackSession(tid)
		sc.srv.current.Add(-1)
		// HTTP counts concurrent requests against server maxconn, not
		// connections: the slot is freed as soon as the response is done.
		be.release(idx)
		if err == nil && sc.fr != nil && !sc.fr.Complete() {
			// The application's records for this request did not end
			// cleanly: what follows on the connection is not known.
			s.m.resp.KeepAlive = false
		}
		if err == nil {
			if !s.m.resp.KeepAlive || mode >= 1 || s.m.resp.Tunnel {
				s.detach(false)
			} else if !clientKeep || !sc.srv.pool.keeps() {
				// Idle now: to the pool, or closed as an idle one.
				s.detach(true)
			} else if s.attBE.shares() {
				// HAProxy puts the connection in the idle pool at the end
				// of every transaction: another client's request may use
				// it before this client's next one.
				s.lent, s.lentBE = sc, s.attBE
				s.detach(true)
			} else {
				sc.idleAt = monoNow()
			}
			// The response may have said "Connection: close" (req.KeepAlive).
			return clientKeep && s.m.req.KeepAlive && !s.m.resp.Tunnel
		}
		s.detach(false)
		if s.stopAbortWatch() {
			return s.clientAborted(e)
		}
		if canRetry && be.mayRetry(ev, !fresh, req.Method, s.act.noL7Retry) {
			e.Retries++
			// Other idle connections may be as stale as the one that
			// failed: the retry gets a connection of its own.
			dialNew = true
			s.rewatch()
			continue
		}
		return s.forwardError(err, e)
	}
}

// mayRetry applies "retry-on" to the event that ended a failed exchange (0
// when the failure came too late to send the request again).
//
// noL7 is "http-request disable-l7-retry": only connection failures are
// retried, which includes the stale reused connection below.
func (be *backend) mayRetry(ev model.RetryOn, reused bool, method []byte, noL7 bool) bool {
	if ev == 0 {
		return false
	}
	if be.retryOn&ev != 0 && (!noL7 || ev == model.RetryConnFailure) {
		return true
	}
	// A reused connection closed without a byte of response almost always
	// met the server's keep-alive timeout as the request went out. Under
	// plain conn-failure that is retried for idempotent methods (RFC 9110
	// section 9.2.2 lets an intermediary retry them); other methods need
	// "empty-response", as the server may have acted on the request.
	return ev == model.RetryEmptyResponse && reused && be.retryOn&model.RetryConnFailure != 0 && idempotent(method)
}

// idempotent reports whether a method is idempotent (RFC 9110 section
// 9.2.2).
func idempotent(method []byte) bool {
	switch string(method) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// lendNow lends sc to its server's idle pool once the whole response is
// read from it and before the client gets its end, as HAProxy's idle
// list has it by the time the client can send again: the next client
// (or this one's next request) finds it there.
func (s *httpSession) lendNow(sc *srvConn) {
	if !s.lendEarly || s.attached != sc || sc.fr != nil && !sc.fr.Complete() || s.m.req.Expect100 || !s.m.resp.KeepAlive || s.m.resp.Tunnel || s.m.resp.Informational() || !sc.rd.Body().Done() {
		return
	}
	s.lent, s.lentBE = sc, s.attBE
	s.detach(true)
}

// serverDataTerm is the termination state of a response body whose read
// from the server failed: the server side timed out (sD) or broke (SD).
func serverDataTerm(err error) string {
	if isTimeout(err) {
		return "sD"
	}
	return "SD"
}

// responseBodyError sets the termination state of a response body that
// failed on either end (CM 8.5): the client's end when the write failed,
// as a client that stops reading makes it time out (cD), else the
// server's. forwardError keeps it (errBodyFailed).
func responseBodyError(err error, e *LogEntry) error {
	var we *writeError
	switch {
	case !errors.As(err, &we):
		e.Term = serverDataTerm(err)
	case isTimeout(err):
		e.Term = "cD"
	default:
		e.Term = "CD"
	}
	return errBodyFailed
}

// clientWriteError is the error of a failed write to the client: "timeout
// client" expired while it did not read (cD), or it went away (CD).
func clientWriteError(err error) error {
	if isTimeout(err) {
		return errClientTimeout
	}
	return errClientAborted
}

// writeError marks the failure of the end a body copy writes to, so that
// the log blames the side that failed; it is a net.Error as the error it
// carries is, for isTimeout.
type writeError struct{ err error }

func (e *writeError) Error() string   { return e.err.Error() }
func (e *writeError) Unwrap() error   { return e.err }
func (e *writeError) Timeout() bool   { return isTimeout(e.err) }
func (e *writeError) Temporary() bool { return false }

// destWriter is the timedConn a body is copied to, its write errors marked
// (writeError). The conversion costs nothing: the interface holds the
// same pointer.
type destWriter timedConn

func (w *destWriter) Write(p []byte) (int, error) {
	n, err := (*timedConn)(w).Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// smallBody is the largest response body sent with its head in one write.
const smallBody = 8 << 10

// bufferable reports whether the request's body can be read ahead
// whole: a known length within the buffer, no "Expect: 100-continue".
func (s *httpSession) bufferable() bool {
	req := &s.m.req
	return req.Framing() != h1.FramingNone && !req.Expect100 && (req.Chunked || req.ContentLength <= int64(s.fe.bufSize))
}

// bufferBody reads a request body of known length completely, within the
// request's time ("timeout http-request", else "timeout client"): a client
// too slow gets 408 and no server is contacted.
// WaitBody applies "wait-for-body" (CM 4.2) to the request, or in
// http-response rules to the response: up to d for a Content-Length body
// that fits the buffer, or for its first atLeast bytes. A request body of
// no declared length (chunked, or HTTP/2 without content-length and
// END_STREAM) is waited for as HAProxy does for any payload: until its
// end, atLeast bytes or a full buffer. What arrived is sent with the head
// and the rest streams after it. It reports false when the time ran out
// first: HAProxy then answers 408 (504 for a response).
func (s *httpSession) WaitBody(d time.Duration, atLeast int64) bool {
	if s.inResp {
		return s.waitRespBody(d, atLeast)
	}
	req := &s.m.req
	if s.bodyWaited || req.Expect100 {
		return true
	}
	chunked := req.Framing() == h1.FramingChunked
	if !chunked && (req.Framing() != h1.FramingLength || req.ContentLength > int64(s.fe.bufSize)) {
		return true
	}
	s.tc.rto = 0
	s.c.SetReadDeadline(time.Now().Add(d))
	var got int
	ok := true
	if chunked {
		var err error
		got, err = readChunkedPart(&s.body, s.rd.Body(), s.fe.bufSize, atLeast)
		if err != nil && !isTimeout(err) {
			// A bad chunk or a client gone: nothing goes to a server,
			// as when option http-buffer-request reads it.
			s.bodyAborted, err = true, nil
		}
		ok = err == nil
	} else {
		got, ok = readBodyPart(&s.body, s.rd.Body(), req.ContentLength, atLeast)
	}
	s.tc.rto, s.tc.rlast = s.fe.clientTimeout, time.Time{}
	s.c.SetReadDeadline(time.Time{})
	s.bodyWaited = got > 0
	return ok
}

// readChunkedPart reads the decoded body of no declared length into *buf
// until its end, atLeast bytes when set, or limit bytes (the buffer).
func readChunkedPart(buf *[]byte, body *h1.BodyReader, limit int, atLeast int64) (int, error) {
	if atLeast > 0 && atLeast < int64(limit) {
		limit = int(atLeast)
	}
	if cap(*buf) < limit {
		*buf = make([]byte, 0, limit)
	}
	b := (*buf)[:0]
	for len(b) < limit {
		n, err := body.Read(b[len(b):limit])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*buf = b
			return len(b), err
		}
	}
	*buf = b
	return len(b), nil
}

func (s *httpSession) waitRespBody(d time.Duration, atLeast int64) bool {
	sc, resp := s.exchSC, &s.m.resp
	if sc == nil || s.respWaited || resp.Body != h1.FramingLength || resp.ContentLength > int64(s.fe.bufSize) {
		return true
	}
	rto := sc.tc.rto
	sc.tc.rto = 0
	sc.c.SetReadDeadline(time.Now().Add(d))
	got, ok := readBodyPart(&s.respBody, sc.rd.Body(), resp.ContentLength, atLeast)
	sc.tc.rto, sc.tc.rlast = rto, time.Time{}
	sc.c.SetReadDeadline(time.Time{})
	s.respWaited = got > 0
	return ok
}

// readBodyPart reads into *buf up to length bytes of body, stopping at atLeast
// when set; ok is false when the read failed (its deadline) before.
func readBodyPart(buf *[]byte, body *h1.BodyReader, length, atLeast int64) (int, bool) {
	n := length
	if atLeast > 0 && atLeast < n {
		n = atLeast
	}
	if int64(cap(*buf)) < length {
		*buf = make([]byte, 0, length)
	}
	*buf = (*buf)[:n]
	got, err := io.ReadFull(body, *buf)
	*buf = (*buf)[:got]
	if int64(got) == length {
		// Reaching the end marks the body complete for the reader.
		var one [1]byte
		body.Read(one[:])
	}
	return got, err == nil
}

func (s *httpSession) bufferBody(e *LogEntry) bool {
	n := max(int(s.m.req.ContentLength), 0) // -1 when chunked
	if cap(s.body) < n {
		s.body = make([]byte, 0, n)
	}
	s.body = s.body[:n]
	to := s.fe.httpRequestTimeout
	if to == 0 {
		to = s.fe.clientTimeout
	}
	if to > 0 {
		s.tc.rto = 0
		s.c.SetReadDeadline(time.Now().Add(to))
		defer func() {
			s.tc.rto, s.tc.rlast = s.fe.clientTimeout, time.Time{}
			s.c.SetReadDeadline(time.Time{})
		}()
	}
	body := s.rd.Body()
	if s.m.req.Chunked {
		return s.bufferChunked(e)
	}
	if _, err := io.ReadFull(body, s.body); err != nil {
		if isTimeout(err) {
			e.Term = "cR"
			s.sendError(408, e)
		} else {
			e.Term = "CR"
		}
		s.body = s.body[:0]
		return false
	}
	// Reaching the end marks the body complete for the reader.
	var one [1]byte
	body.Read(one[:])
	return true
}

// bufferChunked reads a chunked body ahead, up to the buffer size (the
// rest then streams after it, as in HAProxy). A client that closes
// instead sets bodyAborted: nothing goes to a server and the log says CR
// with the backend the rules chose (HAProxy 2.6.12 with
// http_request_buffer.vtc c4).
func (s *httpSession) bufferChunked(e *LogEntry) bool {
	_, err := readChunkedPart(&s.body, s.rd.Body(), s.fe.bufSize, 0)
	if err == nil {
		return true
	}
	s.body = s.body[:0]
	if isTimeout(err) {
		e.Term = "cR"
		s.sendError(408, e)
		return false
	}
	var pe *h1.ParseError
	if errors.As(err, &pe) {
		e.Term = "PD"
		s.sendError(pe.Status, e)
		return false
	}
	s.bodyAborted = true
	return true
}

// errParked tells serveOne that the session went to the parker.
var errParked = errors.New("parked")

// continue100 is the interim response Bulwark sends itself when the
// client's Expect is not forwarded.
const continue100 = "HTTP/1.1 100 Continue\r\n\r\n"

// expectIsHopByHop reports an Expect field that "Connection: expect" makes
// hop-by-hop, so that it is not forwarded.
func expectIsHopByHop(hs []h1.Header) bool {
	for i := range hs {
		if len(hs[i].Name) == 6 && strings.EqualFold(string(hs[i].Name), "expect") {
			return h1.IsHopByHop(hs, hs[i], false)
		}
	}
	return false
}

// upgradeGranted: a 101 opens a tunnel only for a request whose upgrade was
// forwarded, to a protocol that request offered.
func upgradeGranted(req *h1.Request, resp *h1.Response) bool {
	if !req.Upgrade {
		return false
	}
	v, ok := h1.Get(resp.Headers, "upgrade")
	return ok && h1.UpgradeGranted(req.UpgradeProto, v)
}

// clientBodyError classifies a failure while streaming the client's body to
// a server: a malformed body (a bad chunk) is the client's fault and gets a
// 400, "timeout client" expiring on its read is cD (CM 8.5), another read
// error is the client gone, and a failed write (writeError) or anything
// else is the server side (other).
func clientBodyError(err, other error) error {
	var pe *h1.ParseError
	var we *writeError
	switch {
	case errors.As(err, &pe) && !pe.Response:
		return errClientBadBody
	case errors.As(err, &we):
		return other
	case isTimeout(err):
		return errClientTimeout
	case isClientSide(err):
		return errClientAborted
	}
	return other
}

var (
	errRogueUpgrade  = errors.New("101 to a request that did not offer that upgrade")
	errClientBadBody = errors.New("malformed request body")
	errSendFailed    = errors.New("request could not be sent")
	errEmptyResponse = errors.New("server closed without a response")
	errRetryStatus   = errors.New("response status listed in retry-on")
	errServerTimeout = errors.New("server timeout")
	errBadResponse   = errors.New("bad response")
	errClientAborted = errors.New("client aborted")
	errClientTimeout = errors.New("client timeout")
	// errBodyFailed: a body transfer failed and the log's termination
	// state already says which side (responseBodyError).
	errBodyFailed = errors.New("body transfer failed")
)

func (s *httpSession) forwardError(err error, e *LogEntry) bool {
	switch {
	case errors.Is(err, errServerTimeout):
		e.Term = "sH"
		s.sendError(504, e)
	case errors.Is(err, errBadResponse), errors.Is(err, errSendFailed), errors.Is(err, errEmptyResponse), errors.Is(err, errRogueUpgrade):
		e.Term = "SH"
		s.sendError(502, e)
	case errors.Is(err, errClientBadBody):
		// The server has seen the head and part of the body; the client
		// is told why, and the log says the proxy cut it in the data
		// phase ("PD") rather than blaming the server.
		e.Term = "PD"
		s.sendError(400, e)
	case errors.Is(err, errClientAborted), errors.Is(err, errClientTimeout):
		e.Term = "CD"
		if errors.Is(err, errClientTimeout) {
			e.Term = "cD"
		}
		if e.Status == 0 {
			// No response came: the log says so as HAProxy does.
			e.Status = -1
		}
	case errors.Is(err, errBodyFailed):
		// responseBodyError set the state.
	default:
		if e.Status == 0 {
			e.Term = "SH"
			s.sendError(502, e)
		} else {
			e.Term = "SD"
		}
	}
	return false
}

// serverConn takes a slot on a server and returns the connection to use:
// the one attached to the session when the balancer picks the same server,
// an idle one (never for the first request of a session under "http-reuse
// safe", nor when dialNew), or a new one.
func (s *httpSession) serverConn(be *backend, key balance.Key, e *LogEntry, dialNew bool) (*srvConn, int, bool, error) {
	if sc := s.lent; sc != nil {
		s.lent = nil
		if s.attached == nil && sc.srv.pool.reclaim(sc) {
			s.attached, s.attBE = sc, s.lentBE
		}
		s.lentBE = nil
	}
	cs := clientSide{conn: s.cconn, src: s.src, dst: s.dst, uniqueID: e.UniqueID, samples: s}
	if be.transparent {
		cs.dst = originalDst(s.cconn, cs.dst)
	}
	// Bytes the server sent after its response, or its close, make the
	// kept connection unusable; the next response must not be read from
	// them. A finished HTTP/2 stream carries nothing more.
	var cp connParams
	var cpFor *server // the server cp was computed for
	if sc := s.attached; sc != nil {
		if sc.h2 != nil || sc.rd.Buffered() > 0 || sc.idleAt.since() > attachedCheckAfter && !idleUsable(sc.c) {
			s.detach(false)
		} else if cp, cpFor = sc.srv.connParams(cs), sc.srv; !sc.carries(cp.key) {
			// Good for other requests: it goes to the pool.
			s.detach(true)
		}
	}
	// "option prefer-last-server": keep using the attached server while it
	// is usable and has room, instead of balancing every request.
	if sc := s.attached; sc != nil && s.attBE == be && be.preferLast && s.ck.direct < 0 && sc.srv.balanced() && sc.srv.lb.TryAcquire() {
		e.Tw, e.Tc = 0, 0
		return sc, sc.srv.lb.ID, false, nil
	}
	// Tw is the time spent queued: 0, without reading the clock, for a
	// request that gets its server at once (HAProxy's figure, in
	// milliseconds, is 0 then too).
	idx, ok := s.acquireDirect(be)
	if !ok {
		idx, ok = be.pickNow(key)
	}
	var err error
	ctx := s.abort.context(s.fe.rt.ctx)
	e.Tw = 0
	if !ok {
		tq := monoNow()
		s.abort.setPhase('Q')
		idx, err = be.acquirePrio(ctx, key, s.act.prio)
		e.Tw = tq.since()
	}
	if err != nil {
		if err == errQueueTimout {
			e.Term = "sQ"
		} else {
			e.Term = "SC"
		}
		return nil, -1, false, err
	}
	srv := be.slots()[idx]
	if cpFor != srv {
		cp, cpFor = srv.connParams(cs), srv
	}
	if sc := s.attached; sc != nil {
		if s.attBE == be && sc.srv == srv && !sc.stale() {
			e.Tc = 0
			return sc, idx, false, nil
		}
		s.detach(true)
	}
	// An h2 stream is one request of a longer client connection: like a
	// later request of an HTTP/1.1 connection it may use an idle server
	// connection.
	later := s.nreq > 1 || s.h2
	if srv.h2 != nil && !dialNew {
		if sc := srv.h2.stream(s, be.reuse, s.cconn, !later); sc != nil {
			s.attached, s.attBE = sc, be
			e.Tc = 0
			return sc, idx, false, nil
		}
	}
	reuseOK := !dialNew && (be.reuse == "always" || be.reuse == "aggressive" || (be.reuse == "safe" && later))
	if reuseOK {
		// "aggressive" gives a first request only a connection proven
		// reusable: one that already carried a second request.
		if sc := srv.pool.take(be.reuse == "aggressive" && !later, cp.key); sc != nil {
			s.attached, s.attBE = sc, be
			e.Tc = 0
			return sc, idx, false, nil
		}
	}
	if be.fds.overHigh() {
		// Past tune.pool-high-fd-ratio a new connection takes the
		// place of the server's longest idle one.
		srv.pool.closeOldest()
	}
	s.abort.setPhase('C')
	conn, srv2, idx2, err := be.dialFrom(ctx, key, idx, cs, e)
	if err != nil {
		return nil, -1, false, err
	}
	if srv2.speaksH2(conn) {
		sc := srv2.h2.add(s, be, conn, s.cconn)
		if sc == nil {
			be.release(idx2)
			return nil, -1, false, errSendFailed
		}
		s.attached, s.attBE = sc, be
		return sc, idx2, true, nil
	}
	if srv2 != cpFor {
		// Redispatched: the connection was opened for another server.
		cp = srv2.connParams(cs)
	}
	sc := &srvConn{c: conn, srv: srv2, to: srv2.state.Addr().Addr(), key: cp.key}
	sc.tc = timedConn{Conn: conn}
	if fcgiServer(srv2) {
		s.fe.rt.newFCGIConn(sc, be.fcgi)
	} else {
		sc.rd = &sc.rdv
		sc.rd.Init(&sc.tc, s.fe.rt.readerConfig())
	}
	s.attached, s.attBE = sc, be
	return sc, idx2, true, nil
}

// attachedCheckAfter is how long a connection kept by its session waits
// before the next request checks it is still open. A server does not close
// a connection within milliseconds of its response; skipping the check
// keeps a system call off busy keep-alive connections.
const attachedCheckAfter = 10 * time.Millisecond

func (s *httpSession) balanceKey(be *backend) balance.Key {
	var k balance.Key
	switch be.params.Input() {
	case balance.InputSource:
		k.Src = s.src.Addr()
	case balance.InputURI:
		k.URI = string(s.m.req.Target)
	case balance.InputValue:
		switch be.params.Algo {
		case balance.Header:
			if v, ok := h1.Get(s.m.req.Headers, be.hdrName); ok && len(v) > 0 {
				k.Value, k.HasValue = string(firstListValue(v)), true
			}
		case balance.URLParam:
			k.Value, k.HasValue = balance.URLParamValue(string(s.m.req.Target), be.params.Name)
		}
	}
	return k
}

func firstListValue(v []byte) []byte {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return bytes.TrimSpace(v)
}

// exchange writes the request on sc and relays the response. A failure
// comes with the "retry-on" event that describes it, or 0 once the request
// can no longer be sent again: a byte went to the client, or part of a
// streamed body went to the server. canRetry allows giving up a response
// whose status is listed in retry-on.
func (s *httpSession) exchange(be *backend, sc *srvConn, hasBody bool, e *LogEntry, canRetry bool) (model.RetryOn, error) {
	if st := s.h2s; st != nil {
		// The native h2 stream closes the server connection itself when
		// the client resets it (see h2Stream.watched).
		if !st.watch(sc.c) {
			return 0, errClientAborted
		}
		ev, err := s.exchangeOn(be, sc, hasBody, e, canRetry)
		if st.unwatch() && err != nil {
			return 0, errClientAborted
		}
		return ev, err
	}
	if s.stream != nil {
		// Closing the server connection is what ends a read that waits
		// for the server; the error is then the client's abort, never a
		// reason to retry.
		stop := context.AfterFunc(s.stream, func() { sc.c.Close() })
		defer stop()
		ev, err := s.exchangeOn(be, sc, hasBody, e, canRetry)
		if err != nil && s.stream.Err() != nil {
			return 0, errClientAborted
		}
		return ev, err
	}
	return s.exchangeOn(be, sc, hasBody, e, canRetry)
}

func (s *httpSession) exchangeOn(be *backend, sc *srvConn, hasBody bool, e *LogEntry, canRetry bool) (model.RetryOn, error) {
	req := &s.m.req
	srvTO, tunTO := s.timeouts(be)
	if sc.tc.Conn != sc.c || sc.tc.rto != srvTO || sc.tc.wto != srvTO {
		sc.tc = timedConn{Conn: sc.c, rto: srvTO, wto: srvTO}
	}
	// Otherwise the deadlines the last exchange set still stand (at least
	// 3/4 of the timeout ahead when refreshed less than a quarter ago):
	// setting them again for every request costs two timer updates.
	tcs := &sc.tc
	var replay, waited bool
	var err error
	// The wait for the response may start within the send (sendRequest).
	tr := monoNow()
	if sc.fr != nil {
		streamed, ev, err := s.fcgiSend(be, sc, tcs, hasBody)
		if err != nil {
			return ev, err
		}
		// replay: nothing was streamed, the request can go again.
		replay, hasBody = !streamed, false
	} else if len(s.body) > 0 {
		// A buffered body goes with the head in one write.
		out := append(s.head[:len(s.head):len(s.head)], s.body...)
		if req.Chunked {
			// Read ahead decoded: it goes as one chunk, with the last
			// chunk when the body ended within the buffer.
			out = h1.AppendChunk(s.head[:len(s.head):len(s.head)], s.body)
			if s.rd.Body().Done() {
				out = h1.AppendLastChunk(out, s.rd.Body().Trailers())
			}
		}
		// "wait-for-body" may have stopped before the end: the rest is
		// streamed.
		hasBody = !s.rd.Body().Done()
		if waited, err = s.sendRequest(be, sc, out, hasBody); err != nil {
			return model.RetryConnFailure, errSendFailed
		}
	} else if waited, err = s.sendRequest(be, sc, s.head, hasBody); err != nil {
		// No byte of a streamed body was read yet: it can still go to
		// another connection.
		return model.RetryConnFailure, errSendFailed
	}
	// replay: the whole request can still be sent again (no body, a
	// buffered one, or one still waiting for 100-continue) and the client
	// has seen nothing.
	if sc.fr == nil {
		replay = !hasBody || req.Expect100
	}
	if s.copyBuf == nil {
		s.copyBuf = s.fe.rt.getCopyBuf()
	}
	bodyDone := !hasBody
	if hasBody && !req.Expect100 {
		if _, err := s.forwardBody(tcs, s.rd, &s.tc, s.spliceDir(be, spliceReq), true, be, sc.srv); err != nil {
			// Part of a streamed body went out: it is never sent again.
			return 0, clientBodyError(err, errSendFailed)
		}
		bodyDone = true
	}
	var unwatch func() bool
	if be.abortOnClose && bodyDone {
		unwatch = s.watchResponse(sc)
	}
	// A send that waited found the answer there already: yielding again
	// would only delay it. A request that went the ordinary way (an h2
	// stream's, a server connection's first: l7_close's case) has seldom
	// been answered yet.
	if !waited && sc.rd.Buffered() == 0 {
		s.yieldBeforeRead()
	}
	for {
		err := sc.rd.ReadResponse(&s.m.resp, req.Method)
		if unwatch != nil && (err != nil || !s.m.resp.Informational()) && unwatch() {
			// The client closed while the server had the request: the
			// server connection was closed under the read.
			return 0, errClientAborted
		}
		if err != nil {
			ev, err := responseFailure(err, sc.rd.Buffered() == 0)
			if !replay {
				ev = 0
			}
			return ev, err
		}
		if e.Tr < 0 {
			e.Tr = tr.since()
		}
		if s.m.resp.Informational() && !s.m.resp.Tunnel {
			// 1xx interim responses (100 Continue, 103 Early Hints) go to
			// the client as they are; the final response follows.
			replay = false
			s.head = h1.AppendResponseHead(s.head[:0], &s.m.resp)
			if _, err := s.tc.Write(s.head); err != nil {
				return 0, errClientAborted
			}
			if s.m.resp.Status == 100 && !bodyDone {
				if _, err := s.forwardBody(tcs, s.rd, &s.tc, s.spliceDir(be, spliceReq), true, be, sc.srv); err != nil {
					return 0, clientBodyError(err, errClientAborted)
				}
				bodyDone = true
			}
			continue
		}
		break
	}
	if s.m.resp.Tunnel && s.m.resp.Status == 101 && !upgradeGranted(req, &s.m.resp) {
		// A 101 the client did not ask for (or to a protocol it did not
		// offer, or one Bulwark stripped) would make the rest of the
		// client's bytes a tunnel past every http-request rule.
		return 0, errRogueUpgrade
	}
	if canRetry && replay && !s.act.noL7Retry && be.retryOn.Status(s.m.resp.Status) {
		// The response is dropped unread; its connection closes.
		return model.RetryStatus(s.m.resp.Status), errRetryStatus
	}
	if !bodyDone {
		// The server answered without waiting for the body: the client's
		// body is never read, so the client connection cannot continue.
		s.m.req.KeepAlive = false
	}
	resp := &s.m.resp
	s.captureResponse()
	s.head0[1] = 0
	// Compression is decided on the response as the server sent it,
	// before the http-response rules, which can read the outcome
	// (res.comp), as HAProxy's filter does; they cannot change it, and
	// its header changes follow every rule.
	comp := s.m.comp
	if comp != compress.None && !compress.Eligible(s.m.compTypes, req, resp) {
		comp = compress.None
	}
	s.m.compOut = comp
	s.exchSC = sc
	res, _, stop := s.responseRules(be)
	s.exchSC = nil
	if stop {
		// The server's response is replaced: its body is never read, so
		// its connection cannot be reused. The client's may go on, as
		// in HAProxy 2.6 (log/last_rule.vtc sends its next request after
		// an http-response redirect and deny).
		s.m.resp.KeepAlive = false
		if !s.reply(res, be.pages, e) {
			s.m.req.KeepAlive = false
		}
		return 0, nil
	}
	if be.ck != nil {
		s.cookieResponse(be, e)
		e.Cookie = s.ck.log()
	}
	s.stickStore(be, e.srv, true)
	if res := s.afterRules(); res.Verdict == rules.Error {
		s.m.resp.KeepAlive = false
		s.m.req.KeepAlive = false
		s.sendPage(s.pagesFor(500), 500, e)
		return 0, nil
	}
	e.Status = resp.Status
	be.observe(sc.srv, true, !layer7Error(resp.Status))
	// An HTTP/1.0 response keeps its version, as in HAProxy, unless it
	// leaves chunked (which 1.0 does not have).
	rminor := 1
	if resp.Minor == 0 && resp.Body != h1.FramingChunked {
		rminor = 0
	}
	s.head = h1.AppendStatusLine(s.head[:0], 1, rminor, resp.Status, resp.Reason)
	if comp != compress.None {
		s.head = compress.AppendHeaders(s.head, resp.Headers, comp)
		s.head = h1.AppendHeaderField(s.head, "Transfer-Encoding", "chunked")
	} else {
		s.head = h1.AppendForwardHeaders(s.head, resp.Headers, resp.Tunnel)
		if resp.Body == h1.FramingChunked {
			s.head = h1.AppendHeaderField(s.head, "Transfer-Encoding", "chunked")
		}
	}
	closeClient := !s.m.req.KeepAlive || max(s.fe.connLevel, be.connLevel) >= 2 || resp.Body == h1.FramingClose || resp.FramingFault ||
		s.fe.rt.stopping.Load()
	if resp.Tunnel {
		// Connection: upgrade was re-added by AppendForwardHeaders.
	} else if closeClient {
		s.head = h1.AppendHeaderField(s.head, "Connection", "close")
		s.m.req.KeepAlive = false
	} else if (s.m.req.Major == 1 && s.m.req.Minor == 0) || rminor == 0 {
		s.head = h1.AppendHeaderField(s.head, "Connection", "keep-alive")
	}
	s.head = append(s.head, '\r', '\n')
	if comp != compress.None {
		return 0, s.compressBody(sc, comp, e)
	}
	if s.respWaited {
		// "wait-for-body" read (part of) the body: it goes with the head.
		s.head = append(s.head, s.respBody...)
		if sc.rd.Body().Done() {
			s.lendNow(sc)
			n, err := s.tc.Write(s.head)
			e.BytesOut += int64(n)
			if err != nil {
				return 0, clientWriteError(err)
			}
			return 0, nil
		}
	}
	// A small body with a known length goes out in the same write as the
	// head: one syscall and one segment instead of two.
	if resp.Body == h1.FramingLength && resp.ContentLength <= smallBody && !s.respWaited {
		hl := len(s.head)
		if s.fe.logASAPOn {
			// The head is complete: "option logasap" logs now, counting
			// the head as sent, before waiting for the body.
			out := e.BytesOut
			e.BytesOut += int64(hl)
			s.fe.logASAP(e)
			e.BytesOut = out
		}
		s.head = append(s.head, make([]byte, resp.ContentLength)...)
		if _, err := io.ReadFull(sc.rd.Body(), s.head[hl:]); err != nil {
			return 0, responseBodyError(err, e)
		}
		// Stored before the client can see the end of the response, so
		// that its next request finds the entry.
		s.m.cache.keepBody(s.head[hl:])
		s.m.cache.commit()
		s.lendNow(sc)
		n, err := s.tc.Write(s.head)
		e.BytesOut += int64(n)
		if err != nil {
			return 0, clientWriteError(err)
		}
		s.fe.logASAP(e)
		return 0, nil
	}
	n, err := s.tc.Write(s.head)
	e.BytesOut += int64(n)
	if err != nil {
		return 0, clientWriteError(err)
	}
	s.fe.logASAP(e)
	if resp.Tunnel {
		to := tunTO
		cto, sto := to, to
		if to == 0 {
			cto, sto = s.fe.clientTimeout, srvTO
		}
		e.BytesOut += s.tunnel(be, sc, cto, sto)
		return 0, nil
	}
	if resp.Body != h1.FramingNone && s.m.cache.entry != nil {
		return 0, s.storeBody(sc, e)
	}
	if resp.Body != h1.FramingNone {
		bn, err := s.forwardBody(&s.tc, sc.rd, &sc.tc, s.spliceDir(be, spliceResp), false, be, sc.srv)
		e.BytesOut += bn
		if err != nil {
			return 0, responseBodyError(err, e)
		}
	}
	return 0, nil
}

// sendRequest writes b, the request or its start, to the server. When
// nothing follows it (no body to stream) the server's answer is all that
// can come next: the send then waits for it (sendWaiter) and the reader
// finds it without a read that fails first. Not under "option
// abortonclose", whose watch of the client starts after the send.
// waited says the answer's readiness was waited for.
func (s *httpSession) sendRequest(be *backend, sc *srvConn, b []byte, more bool) (waited bool, err error) {
	if !more && !be.abortOnClose {
		if w := sc.waiter(); w != nil {
			_, err = w.sendWait(&sc.tc, b)
			return true, err
		}
	}
	_, err = sc.tc.Write(b)
	return false, err
}

// responseFailure classifies an error reading a response head as the
// retry-on event it is; empty says no byte of it arrived.
func responseFailure(err error, empty bool) (model.RetryOn, error) {
	var pe *h1.ParseError
	switch {
	case errors.As(err, &pe):
		return model.RetryJunkResponse, errBadResponse
	case isTimeout(err):
		if empty {
			return model.RetryResponseTimeout, errServerTimeout
		}
		return 0, errServerTimeout
	case empty:
		return model.RetryEmptyResponse, errEmptyResponse
	}
	// The server closed in the middle of the head.
	return model.RetryJunkResponse, errBadResponse
}

// tunnel relays raw bytes both ways after a 101 or a CONNECT, starting with
// what the readers already buffered.
// The client's bytes are counted as "bytes in" by the timed conn under
// s.rd, so only what the server sent is returned.
func (s *httpSession) tunnel(be *backend, sc *srvConn, cto, sto time.Duration) (out int64) {
	// From here "timeout tunnel" governs, through copyTimed alone: the
	// timed conns under the readers would cut the tunnel at the client and
	// server timeouts, and the write deadlines they left would fail a write
	// after a quiet spell.
	s.tc.rto, sc.tc.rto = 0, 0
	s.c.SetWriteDeadline(time.Time{})
	sc.c.SetWriteDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		s.tunnelCopy(sc.c, s.rd, s.c, cto, s.spliceDir(be, spliceReq), true, be, sc.srv)
		closeWrite(sc.c)
		close(done)
	}()
	out, _ = s.tunnelCopy(s.c, sc.rd, sc.c, sto, s.spliceDir(be, spliceResp), false, be, sc.srv)
	closeWrite(s.c)
	<-done
	return out
}

// copyTimed copies from r (reading from conn underneath) to dst, cutting the
// copy after timeout of inactivity.
func copyTimed(dst net.Conn, r io.Reader, conn net.Conn, timeout time.Duration) (int64, error) {
	buf := make([]byte, 16<<10)
	var n int64
	for {
		if timeout > 0 {
			conn.SetReadDeadline(time.Now().Add(timeout))
		}
		m, err := r.Read(buf)
		if m > 0 {
			w, werr := dst.Write(buf[:m])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		if err != nil {
			return n, err
		}
	}
}

func isClientSide(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "read"
}

// forwardFor merges the frontend's and backend's "option forwardfor": it
// applies when either sets it; the backend's header name wins; if-none only
// when both say so (CM 4.2).
func forwardFor(fe, be *model.Proxy) *model.ForwardFor {
	a, b := fe.ForwardFor, be.ForwardFor
	if fe == be {
		b = nil
	}
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	m := *b
	m.IfNone = a.IfNone && b.IfNone
	if m.Except == "" {
		m.Except = a.Except
	}
	return &m
}

// originalTo merges "option originalto" of the frontend and the backend:
// either enables it; the backend's header name wins (CM 4.2).
func originalTo(fe, be *model.Proxy) *model.ForwardFor {
	a, b := fe.OriginalTo, be.OriginalTo
	if fe == be || b == nil {
		return a
	}
	if a == nil {
		return b
	}
	m := *b
	if m.Except == "" {
		m.Except = a.Except
	}
	return &m
}

func wantsXFF(ff *model.ForwardFor, hs []h1.Header, src netip.AddrPort) bool {
	if ff.Except != "" {
		if pfx, err := parsePrefix(ff.Except); err == nil && pfx.Contains(src.Addr().Unmap()) {
			return false
		}
	}
	if ff.IfNone {
		if _, ok := h1.Get(hs, strings.ToLower(ff.Header)); ok {
			return false
		}
	}
	return true
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// readerConfig is how every HTTP/1.1 reader of the connections of this
// configuration is bounded: buffers from the shared pool (tune.bufsize)
// and tune.http.maxhdr fields.
func (rt *Runtime) readerConfig() h1.Config {
	return h1.Config{Pool: rt.bufs, MaxHeaders: rt.model.Global.MaxHdr, Relax: rt.opts.Relax}
}

// timedConn pushes the read and write deadlines forward as data flows, so
// rto/wto act as inactivity timeouts; refreshes are rate-limited to keep
// syscalls off the per-read path.
type timedConn struct {
	net.Conn
	rto, wto     time.Duration
	rlast, wlast time.Time
	// rn counts the bytes read: the request bytes of "bytes in" (the
	// head, the body and tunnelled data all pass through here).
	rn int64
	// rdPending asks the next Read to set the read deadline to rdDeadline
	// first: a deadline needed only if the read comes (waitRequest).
	rdPending  bool
	rdDeadline time.Time
	// qw, when set (a plain TCP client connection, quickRead), writes
	// without a deadline while writes do not wait: the deadline is set
	// only for a write that has to wait.
	qw *quickRead
}

// Read and Write check the refresh with time.Since, which reads only the
// monotonic clock (time.Now reads the wall clock too): the clock is read
// several times per request, and each read is a vDSO call.
func (t *timedConn) Read(p []byte) (int, error) {
	if t.rdPending {
		t.rdPending = false
		t.Conn.SetReadDeadline(t.rdDeadline)
	}
	t.refreshRead()
	n, err := t.Conn.Read(p)
	t.rn += int64(n)
	return n, err
}

func (t *timedConn) Write(p []byte) (int, error) {
	if t.qw != nil && t.wlast.IsZero() && len(p) > 0 {
		n := t.qw.tryWrite(p)
		if n == len(p) {
			return n, nil
		}
		// The socket is full (or failed): the rest waits under the
		// deadline, which stays set from now on.
		t.refreshWrite()
		m, err := t.Conn.Write(p[n:])
		return n + m, err
	}
	t.refreshWrite()
	return t.Conn.Write(p)
}

// refreshRead and refreshWrite push the deadlines forward (rate-limited);
// a wait outside Read and Write (sendWaiter) calls them too.
func (t *timedConn) refreshRead() {
	if t.rto > 0 && (t.rlast.IsZero() || time.Since(t.rlast) > t.rto/4) {
		now := time.Now()
		t.Conn.SetReadDeadline(now.Add(t.rto))
		t.rlast = now
	}
}

func (t *timedConn) refreshWrite() {
	if t.wto > 0 && (t.wlast.IsZero() || time.Since(t.wlast) > t.wto/4) {
		now := time.Now()
		t.Conn.SetWriteDeadline(now.Add(t.wto))
		t.wlast = now
	}
}

// proxyConnection applies "option http-use-proxy-header": a proxied
// request (a target that starts with neither '/' nor '*') says in
// Proxy-Connection, not Connection, whether the client keeps its
// connection, as browsers talking to a proxy do.
func (s *httpSession) proxyConnection() {
	req := &s.m.req
	if len(req.Target) == 0 || req.Target[0] == '/' || req.Target[0] == '*' {
		return
	}
	v, ok := h1.Get(req.Headers, "proxy-connection")
	if !ok {
		return
	}
	for len(v) > 0 {
		var tok []byte
		tok, v = h1.NextListElem(v)
		switch {
		case h1.EqualFold(tok, "close"):
			req.KeepAlive = false
		case h1.EqualFold(tok, "keep-alive"):
			req.KeepAlive = true
		}
	}
}

// restrictHeaderNames applies "option http-restrict-req-hdr-names" of px
// after its http-request rules (CM 4.2): header names outside
// [A-Za-z0-9-] are deleted, or the request is refused with a 403. It
// reports whether the request goes on and, when it does not, whether the
// client connection stays open: HAProxy 2.6 keeps it after the 403
// (http-rules/restrict_req_hdr_names.vtc sends on after one).
func (s *httpSession) restrictHeaderNames(px *model.Proxy, pages errorPages, e *LogEntry) (ok, keep bool) {
	policy := px.RestrictHdrNames
	if policy == "" || policy == "preserve" {
		return true, false
	}
	hs := s.m.req.Headers
	out := hs[:0]
	for _, h := range hs {
		if plainName(h.Name) {
			out = append(out, h)
			continue
		}
		if policy == "reject" {
			e.Term = "PR"
			return false, s.sendPageKeep(pages, 403, e, s.keepAfterReply())
		}
	}
	clear(hs[len(out):])
	s.m.req.Headers = out
	return true, false
}

func plainName(n []byte) bool {
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// monitorMatch reports a request for "monitor-uri": its path when uri
// starts with a slash, its whole target otherwise (CM 4.2).
func (s *httpSession) monitorMatch(uri string) bool {
	t := s.m.req.Target
	if uri[0] == '/' {
		_, path, _, _ := splitTargetPath(t)
		return string(path) == uri
	}
	return string(t) == uri
}

// monitor answers a monitor-uri request: 200, or 503 when a "monitor
// fail" condition says so; such requests are not logged.
func (s *httpSession) monitor(e *LogEntry) bool {
	status := 200
	if r := s.fe.rules; r != nil {
		for _, c := range r.monitorFail {
			s.eval.Reset()
			if c.Match(s.eval) {
				status = 503
				break
			}
		}
	}
	e.Level = "silent"
	s.sendPage(s.fe.pages, status, e)
	return false
}

// splitTargetPath splits a request-target into scheme and authority (the
// absolute form), path and query.
func splitTargetPath(t []byte) (prefix, path, query []byte, hasQuery bool) {
	start := 0
	if i := bytes.Index(t, []byte("://")); i > 0 && t[0] != '/' {
		start = len(t)
		if j := bytes.IndexAny(t[i+3:], "/?"); j >= 0 {
			start = i + 3 + j
		}
	}
	prefix, rest := t[:start], t[start:]
	if q := bytes.IndexByte(rest, '?'); q >= 0 {
		return prefix, rest[:q], rest[q+1:], true
	}
	return prefix, rest, nil, false
}
