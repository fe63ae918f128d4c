package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/balance"
	"bulwark/internal/rules"
)

// serveTCP relays one client connection to a server (mode tcp).
func (fe *frontend) serveTCP(c net.Conn, bindProto string) {
	defer c.Close()
	upgraded := false
	start := time.Now()
	e := &LogEntry{Start: start, Client: c.RemoteAddr(), Frontend: fe.name, Server: "<NOSRV>",
		Status: -1, Term: "--", Tw: -1, Tc: -1, Ta: -1, TR: -1, Tr: -1, Local: c.LocalAddr()}
	if _, ok := c.(*tls.Conn); ok {
		// The handshake is complete (handleConn) before a TLS session
		// is served.
		e.TLS = true
		f := readTLSFacts(c)
		f.fill(e)
	}
	defer func() {
		if upgraded {
			return // the HTTP session logs its requests
		}
		// "option dontlognull": a session that carried no data is not logged.
		if e.BytesIn == 0 && fe.cfg.Option("dontlognull") {
			fe.account(e)
			return
		}
		fe.log(e)
	}()
	// "tcp-request connection" rules see the real peer; a PROXY header
	// read after them gives every later stage the relayed addresses.
	src, dst := realAddrs(c)
	be := fe.def
	var peeked []byte
	r := fe.rules
	if r != nil && r.tcpConn.Len() == 0 {
		r = nil
	}
	txn := &tcpTxn{fe: fe, src: src, dst: dst, conn: c, ent: e}
	// Runs before the log above: the capture slots go into %hr.
	defer txn.captureText(e)
	if fe.logSamples {
		// Without rules too: %[ssl_fc_cipher] and the like read the
		// session when its line is rendered.
		e.Eval = acl.NewEval(txn)
	}
	if r != nil {
		x := rules.Exec{E: acl.NewEval(txn), T: txn}
		if res := r.tcpConn.Run(&x); res.Verdict == rules.Reject {
			txn.release()
			e.Term = "PR"
			return
		}
	}
	if !fe.afterConnRules(c, txn.expectPP, txn.expectCIP) {
		txn.release()
		e.Term = "CR"
		return
	}
	e.Client = c.RemoteAddr()
	// fc_src/fc_dst keep what the connection rules left; src/dst become
	// the PROXY header's, if any.
	txn.fcSrc, txn.fcDst, txn.fcSet = txn.src, txn.dst, true
	txn.clientConn(c)
	src, dst = sessionAddrs(c, txn.src, txn.dst)
	txn.src, txn.dst = src, dst
	if r := fe.rules; r != nil && r.tcpSession.Len() > 0 {
		x := rules.Exec{E: acl.NewEval(txn), T: txn}
		if res := r.tcpSession.Run(&x); res.Verdict == rules.Reject {
			txn.release()
			e.Term = "PR"
			return
		}
	}
	if r := fe.rules; r != nil && (r.tcpConn.Len() > 0 || r.tcpSession.Len() > 0 || r.tcpContent.Len() > 0 || len(r.useBE) > 0) {
		defer txn.release()
		defer func() { e.Level = txn.level }()
		ev := e.Eval
		if ev == nil {
			ev = acl.NewEval(txn)
			e.Eval = ev
		}
		x := rules.Exec{E: ev, T: txn, DNS: fe.rt.lookup(), Ctx: fe.rt.ctx}
		// "tcp-request inspect-delay": wait for the client's first bytes
		// so that content rules and use_backend can see the TLS SNI
		// (req.ssl_sni); they are replayed to the server.
		if fe.inspectDelay > 0 {
			var sni string
			peeked, sni = peekClientHello(c, fe.inspectDelay)
			if sni != "" {
				txn.sni = []byte(sni)
			}
			txn.payload = peeked
		}
		res := r.tcpContent.Run(&x)
		switch res.Verdict {
		case rules.Reject:
			e.Term = "PR"
			return
		case rules.SwitchMode:
			if upgraded = fe.upgradeTCP(c, bindProto, txn, peeked, res.Proto, nil); !upgraded {
				e.Term = "PR"
			}
			return
		}
		for i, cond := range r.useBE {
			ev.Reset()
			if cond.Match(ev) {
				if be = fe.useBE[i]; be == nil {
					be = fe.dynamicBackend(r.useBEName[i], ev)
				}
				break
			}
		}
	}
	if be == nil {
		e.Term = "PR"
		gracefulClose(c)
		return
	}
	if be.httpBackend() {
		// An HTTP backend upgrades the session implicitly.
		if upgraded = fe.upgradeTCP(c, bindProto, txn, peeked, "", be); !upgraded {
			e.Term = "PR"
		}
		return
	}
	// Session and content rules may have moved src/dst: balancing and a
	// PROXY header to the server use the stream's addresses.
	src, dst = txn.src, txn.dst
	e.Backend, e.be = be.name, be
	key := balance.Key{Src: src.Addr()}
	if be.params.Algo == balance.RDPCookie {
		// "balance rdp-cookie": the cookie of the inspected connection
		// request, hashed; without one, round robin.
		name := be.params.Name
		if name == "" {
			name = "mstshash"
		}
		if v, ok := acl.RDPCookie(peeked, name); ok && len(v) > 0 {
			key.Value, key.HasValue = string(v), true
		}
	}
	cs := clientSide{conn: c, src: src, dst: dst, samples: tcpSamples{txn}}
	if be.transparent {
		cs.dst = originalDst(c, dst)
	}
	var (
		sc  net.Conn
		srv *server
		idx int
		err error
	)
	// "option abortonclose": a client that closes while queued or
	// connecting gives its session up (see closeWatch).
	var w *closeWatch
	if be.abortOnClose {
		w = watchClose(fe.rt.ctx, c)
	}
	ctx := w.context(fe.rt.ctx)
	if i, ok := be.rdpPersist(peeked); ok {
		sc, srv, idx, err = be.dialFrom(ctx, key, i, cs, e)
	} else {
		sc, srv, idx, err = be.connect(ctx, key, txn.act.prio, cs, e)
	}
	if w != nil {
		aborted := w.stop()
		w.cancel()
		if err != nil && aborted {
			// dialFrom names the server it tries: without one the
			// session was still queued.
			e.Term = "CQ"
			if e.Server != "<NOSRV>" {
				e.Term = "CC"
			}
		}
	}
	if err != nil {
		return
	}
	defer be.release(idx)
	defer sc.Close()
	fe.rt.noteServer(c, be, srv, sc)
	defer srv.untrackSession(srv.trackSession(sc, c))
	e.Server, e.srv = srv.name, srv
	txn.srv = srv
	txn.serverConn(sc)
	fe.logASAP(e)
	clientTO, serverTO := fe.clientTimeout, be.serverTimeout
	if be.tunnelTimeout > 0 {
		clientTO, serverTO = be.tunnelTimeout, be.tunnelTimeout
	}
	if len(peeked) > 0 {
		if _, err := sc.Write(peeked); err != nil {
			e.Term = "SD"
			return
		}
	}
	var inspect func() ([]byte, rules.Verdict, error)
	if r := be.rules; r != nil && r.tcpResp.Len() > 0 {
		txn.be = be
		inspect = func() ([]byte, rules.Verdict, error) {
			return inspectResponse(fe, r.tcpResp, txn, sc, be.cfg.ResInspectDelay, serverTO)
		}
	}
	in, out, term := relay(c, sc, clientTO, serverTO, !fe.rt.pipes.off, inspect)
	e.BytesIn, e.BytesOut, e.Term = in+int64(len(peeked)), out, term
	e.Ta = time.Since(start)
	if txn.level != "" {
		e.Level = txn.level
	}
}

// resBufSize is how much of the server's data tcp-response content rules
// can inspect: HAProxy's default tune.bufsize less tune.maxrewrite, the
// point at which its response buffer counts as full and the rules must
// decide.
const resBufSize = 16384 - 1024

// inspectResponse runs the backend's tcp-response content rules on the
// server's first bytes (CM 4.2 "tcp-response content"). The rules run
// as soon as the server is connected, then again on every read, from the
// first rule, while one of them cannot decide on the data so far; they
// decide with what is there once the inspect-delay has passed, the
// buffer is full or the server has closed, and at once without a delay.
// It returns the bytes read, to be forwarded unless the verdict is
// Reject; err is a server read error or its timeout.
func inspectResponse(fe *frontend, l *rules.List, txn *tcpTxn, sc net.Conn, delay, serverTO time.Duration) ([]byte, rules.Verdict, error) {
	ev := acl.NewEval(txn)
	x := rules.Exec{E: ev, T: txn, DNS: fe.rt.lookup(), Ctx: fe.rt.ctx}
	defer func() {
		txn.resPayload = nil
		sc.SetReadDeadline(time.Time{})
	}()
	buf := make([]byte, 0, resBufSize)
	var end time.Time
	if delay > 0 {
		end = time.Now().Add(delay)
	}
	eof := false
	for {
		final := delay <= 0 || eof || len(buf) >= resBufSize || !time.Now().Before(end)
		txn.resPayload = buf
		ev.Reset()
		ev.Partial = !final
		res := l.Run(&x)
		ev.Partial = false
		if res.Verdict != rules.Wait {
			return buf, res.Verdict, nil
		}
		// Wait for more data, at most until the inspect-delay ends or
		// the server timeout, whichever is first.
		dl := end
		if serverTO > 0 && time.Now().Add(serverTO).Before(dl) {
			dl = time.Now().Add(serverTO)
		}
		sc.SetReadDeadline(dl)
		n, err := sc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			eof = true
		case isTimeout(err) && !time.Now().Before(end):
			// The inspect-delay is over: decide on what arrived.
		default:
			return buf, rules.Reject, err
		}
	}
}

// connect picks a server and connects to it, with "retries" and
// "option redispatch" semantics: a failed connection is retried on the same
// server, and redispatched to another one on the last retry (or every Nth
// retry) when redispatch is enabled.
func (b *backend) connect(ctx context.Context, key balance.Key, prio queuePrio, cs clientSide, e *LogEntry) (net.Conn, *server, int, error) {
	tq := time.Now()
	idx, err := b.acquirePrio(ctx, key, prio)
	e.Tw = time.Since(tq)
	if err != nil {
		if err == errQueueTimout {
			e.Term = "sQ"
		} else {
			e.Term = "SC"
		}
		return nil, nil, -1, err
	}
	return b.dialFrom(ctx, key, idx, cs, e)
}

// dialFrom connects to server idx (whose slot is already taken), retrying
// and redispatching as configured.
func (b *backend) dialFrom(ctx context.Context, key balance.Key, idx int, cs clientSide, e *LogEntry) (net.Conn, *server, int, error) {
	tc := time.Now()
	// "retries" is one budget per request: an HTTP request retried after a
	// failed exchange has fewer connection retries left.
	base := int(e.Retries)
	for attempt := 0; ; attempt++ {
		srv := b.slots()[idx]
		// The log names the server being tried, connected or not.
		e.Server = srv.name
		conn, err := srv.dial(ctx, cs, b.connectTimeout)
		e.bc = backendConnOf(err, srv.tls != nil)
		if err != nil && ctx.Err() != nil {
			// Given up by the proxy or the client ("abortonclose"), not
			// refused by the server.
			e.Retries = int64(base + attempt)
			b.release(idx)
			return nil, nil, -1, err
		}
		b.observe(srv, false, err == nil)
		if err == nil {
			srv.total.Add(1)
			e.Tc = time.Since(tc)
			e.Retries = int64(base + attempt)
			return conn, srv, idx, nil
		}
		srv.failed.Add(1)
		if base+attempt >= b.connRetries {
			e.Retries = int64(base + attempt)
			b.release(idx)
			e.Term = "SC"
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				e.Term = "sC"
			}
			return nil, nil, -1, err
		}
		if b.shouldRedispatch(base + attempt + 1) {
			b.release(idx)
			nidx, err := b.acquire(ctx, key.Avoiding(idx))
			if err != nil {
				e.Term = "SC"
				return nil, nil, -1, err
			}
			idx = nidx
			continue
		}
		// HAProxy's turn-around delay between retries: min(connect, 1s).
		d := time.Second
		if b.connectTimeout > 0 && b.connectTimeout < d {
			d = b.connectTimeout
		}
		if errIsRefused(err) {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				b.release(idx)
				return nil, nil, -1, ctx.Err()
			}
		}
	}
}

// shouldRedispatch applies "option redispatch [interval]" to retry number n
// (1-based). -1 (the option without interval) means the last retry.
func (b *backend) shouldRedispatch(n int) bool {
	switch {
	case b.redispatch == -1:
		return n == b.connRetries
	case b.redispatch > 0:
		return n%b.redispatch == 0
	}
	return false
}

// relay copies both ways until both sides are done, propagating half-closes.
// splice false keeps Go's io.Copy from splicing ("nosplice").
// Each direction is cut after its inactivity timeout. inspect, when set,
// decides on the server's first bytes before any reach the client
// (tcp-response content); the client's data flows to the server
// meanwhile.
func relay(client, srv net.Conn, clientTO, serverTO time.Duration, splice bool, inspect func() ([]byte, rules.Verdict, error)) (in, out int64, term string) {
	var wg sync.WaitGroup
	var inErr, outErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		in, inErr = copyDir(srv, client, clientTO, splice)
		closeWrite(srv)
	}()
	decided := ""
	relayed := false
	if inspect != nil {
		fwd, v, err := inspect()
		switch {
		case err != nil:
			outErr = err
			srv.Close()
			client.Close()
		case v == rules.Reject:
			// Nothing of the response reaches the client (CM 4.2: the
			// response is rejected; HAProxy logs PD). The client gets a
			// FIN, as from HAProxy, rather than the reset a close with
			// its data unread would send: the copy towards the closed
			// server ends at the client's next bytes, or in a second.
			decided = "PD"
			srv.Close()
			client.SetReadDeadline(time.Now().Add(time.Second))
		default:
			var werr error
			if len(fwd) > 0 {
				if serverTO > 0 {
					client.SetWriteDeadline(time.Now().Add(serverTO))
				}
				var n int
				n, werr = client.Write(fwd)
				out += int64(n)
			}
			switch {
			case werr != nil:
				outErr = werr
				srv.Close()
				client.Close()
			case v == rules.Close:
				// The server connection ends; the client gets what
				// was received, then a FIN, and has a second to close.
				srv.Close()
				decided = "--"
				client.SetReadDeadline(time.Now().Add(time.Second))
			default:
				relayed = true
			}
		}
	} else {
		relayed = true
	}
	if relayed {
		n, err := copyDir(client, srv, serverTO, splice)
		out, outErr = out+n, err
	}
	closeWrite(client)
	wg.Wait()
	if decided != "" {
		return in, out, decided
	}
	term = "--"
	switch {
	case isTimeout(inErr):
		term = "cD"
	case isTimeout(outErr):
		term = "sD"
	case inErr != nil:
		term = "CD"
	case outErr != nil:
		term = "SD"
	}
	return in, out, term
}

// copyDir copies src to dst. Without a timeout io.Copy lets Linux splice
// between the two TCP sockets (unless splice is false: "nosplice"); with
// one, the deadline is pushed forward as data flows, refreshed at most
// every timeout/4 to keep syscalls rare.
func copyDir(dst, src net.Conn, timeout time.Duration, splice bool) (int64, error) {
	if timeout <= 0 && splice {
		return io.Copy(dst, src)
	}
	buf := make([]byte, 32<<10)
	var n int64
	var last time.Time
	for {
		// time.Since reads only the monotonic clock (see timedConn).
		if timeout > 0 && (last.IsZero() || time.Since(last) > timeout/4) {
			now := time.Now()
			src.SetReadDeadline(now.Add(timeout))
			dst.SetWriteDeadline(now.Add(timeout))
			last = now
		}
		r, err := src.Read(buf)
		if r > 0 {
			w, werr := dst.Write(buf[:r])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			// The peer may have been closed by the other direction
			// finishing; that is a normal end.
			return n, err
		}
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

// gracefulClose ends a connection the proxy has nothing to relay to with
// a FIN, as HAProxy does, rather than the reset a close with unread
// client data would send: it shuts the write side, then reads and drops
// what the client still sends, for at most a second and 64 kB.
func gracefulClose(c net.Conn) {
	closeWrite(c)
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4096)
	for range 16 {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func errIsRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// rdpPersist applies "persist rdp-cookie": the msts cookie of an RDP
// connection request names the server that holds the user's session (its
// IPv4 address and port, each written as the decimal of its bytes read
// little-endian, as in "msts=16885952.15629.0000" for 192.168.1.1:3389).
// That server is taken when it is UP (or with "option persist") and has
// room; it returns the server's index, its slot taken.
func (b *backend) rdpPersist(payload []byte) (int, bool) {
	if b.cfg.PersistRDP == "" || len(payload) == 0 {
		return -1, false
	}
	v, ok := acl.RDPCookie(payload, b.cfg.PersistRDP)
	if !ok {
		return -1, false
	}
	ap, ok := decodeMSTS(v)
	if !ok {
		return -1, false
	}
	for i, s := range b.slots() {
		if s.removed.Load() || s.unix || s.state.Addr() != ap {
			continue
		}
		if (s.balanced() || b.cfg.Option("persist")) && s.lb.TryAcquire() {
			return i, true
		}
		return -1, false
	}
	return -1, false
}

// decodeMSTS reads "ADDR.PORT.0000" of an msts cookie.
func decodeMSTS(v []byte) (netip.AddrPort, bool) {
	parts := strings.SplitN(string(v), ".", 3)
	if len(parts) < 2 {
		return netip.AddrPort{}, false
	}
	a, err1 := strconv.ParseUint(parts[0], 10, 32)
	p, err2 := strconv.ParseUint(parts[1], 10, 16)
	if err1 != nil || err2 != nil {
		return netip.AddrPort{}, false
	}
	ip := netip.AddrFrom4([4]byte{byte(a), byte(a >> 8), byte(a >> 16), byte(a >> 24)})
	port := uint16(p>>8) | uint16(p<<8)
	return netip.AddrPortFrom(ip, port), true
}
