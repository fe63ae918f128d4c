package proxy

import (
	"bulwark/internal/logfmt"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"bulwark/internal/acl"
	"bulwark/internal/compress"
	"bulwark/internal/model"
	"bulwark/internal/plan"
)

// frontend is the running state of a frontend (or listen) proxy.
type frontend struct {
	rt        *Runtime
	cfg       *model.Proxy
	name      string
	listeners []boundListener
	opts      Options
	def       *backend // default_backend, or the listen's own
	useBE     []*backend
	pages     errorPages
	rules     *proxyRules
	caps      captures
	// inspectDelay is "tcp-request inspect-delay" (TCP mode: how long to
	// wait for a ClientHello before the content rules run).
	inspectDelay time.Duration
	// gate is the frontend's "maxconn" and its "disable frontend".
	gate    *gate
	stopped atomic.Bool // "shutdown frontend"
	errs    errCapture  // "show errors"
	conns   atomic.Int64
	logging bool // some log target is configured: render request lines
	// logSamples: the TCP session's log line has %[...] samples, which
	// read the session when it is logged.
	logSamples bool
	tcpka      bool  // option clitcpka / tcpka
	connLevel  int   // see connLevel
	bufferReq  bool  // option http-buffer-request
	splice     uint8 // spliceReq, spliceResp: option splice-*
	comp       *compress.Config
	proxyHdr   bool // option http-use-proxy-header
	logASAPOn  bool // option logasap
	// uniqueFmt is unique-id-format, uniqueHdr unique-id-header.
	uniqueFmt   *logfmt.Format
	uniqueHdr   string
	errorLog    bool          // error-log-format is set: failed connections are logged in it
	expectProxy bool          // some "tcp-request connection expect-proxy" rule
	expectCIP   bool          // some "tcp-request connection expect-netscaler-cip" rule
	h2          *http2.Server //lint:ignore SA1019 see h2.go
	h2base      *http.Server
	// h2legacy serves HTTP/2 with x/net's server and a pipe per stream
	// (BULWARK_H2_LEGACY=1), while the native front is new.
	h2legacy bool
	stats    counters

	clientTimeout, httpRequestTimeout, keepAliveTimeout time.Duration
	bufSize                                             int
	// maxRewrite is the part of a message buffer that reads leave free
	// for rewrites (tune.maxrewrite, see rewriteReserve).
	maxRewrite int
}

func newFrontend(rt *Runtime, p *model.Proxy, pp *plan.Proxy, opts Options) *frontend {
	fe := &frontend{rt: rt, cfg: p, name: p.Name, opts: opts, bufSize: rt.model.Global.BufSize, rules: rt.rules[p]}
	fe.gate = newGate(p.MaxConn)
	fe.maxRewrite = rewriteReserve(rt.model.Global)
	fe.logging = opts.Log != nil && (len(p.Logs) > 0 || opts.LogAll)
	if l := pp.Log; fe.logging && l != nil {
		fe.logSamples = l.TCP != nil && l.TCP.HasSample || l.SD != nil && l.SD.HasSample
	}
	fe.tcpka = p.Option("clitcpka") || p.Option("tcpka")
	fe.connLevel, fe.bufferReq = connLevel(p), p.Option("http-buffer-request")
	fe.splice = spliceOptions(p)
	fe.comp = p.Compression
	fe.proxyHdr = p.Option("http-use-proxy-header")
	fe.logASAPOn = p.Option("logasap")
	fe.initH2()
	fe.h2legacy = os.Getenv("BULWARK_H2_LEGACY") == "1"
	for _, r := range p.TCPRequest {
		fe.expectProxy = fe.expectProxy || (r.Keyword == "tcp-request connection" && r.Action == "expect-proxy")
		fe.expectCIP = fe.expectCIP || (r.Keyword == "tcp-request connection" && r.Action == "expect-netscaler-cip")
	}
	t := p.Timeouts
	fe.clientTimeout = t.Client
	fe.httpRequestTimeout = t.HTTPRequest
	fe.keepAliveTimeout = t.HTTPKeepAlive
	if fe.keepAliveTimeout == 0 {
		fe.keepAliveTimeout = fe.httpRequestTimeout
	}
	if p.Cap&model.CapBackend != 0 {
		fe.def = rt.backends[p.Name]
	}
	if p.DefaultBackend != "" {
		fe.def = rt.backends[p.DefaultBackend]
	}
	for _, ub := range p.UseBackends {
		var be *backend
		if !ub.Dynamic {
			be = rt.backends[ub.Backend]
		}
		fe.useBE = append(fe.useBE, be)
	}
	fe.caps, fe.inspectDelay, fe.pages = pp.Captures, pp.InspectDelay, pp.Pages
	if pp.Log != nil {
		fe.uniqueFmt, fe.uniqueHdr = pp.Log.UniqueID, pp.Log.UniqueIDHeader
		fe.errorLog = pp.Log.Error != nil
	}
	return fe
}

// serve accepts on one listener. Back-pressure: when the frontend's or the
// process's maxconn is reached, it stops accepting and lets the kernel
// backlog hold new connections, as HAProxy does.
func (fe *frontend) serve(bl boundListener) {
	var bindSem chan struct{}
	if bl.bind.MaxConn > 0 {
		bindSem = make(chan struct{}, bl.bind.MaxConn)
	}
	rt := fe.rt
	var delay time.Duration
	release := func() {
		if bindSem != nil {
			<-bindSem
		}
		fe.gate.release()
		rt.gate.release()
	}
	for {
		if !rt.gate.acquire(rt.ctx.Done()) {
			return
		}
		if !fe.gate.acquire(rt.ctx.Done()) {
			rt.gate.release()
			return
		}
		if bindSem != nil {
			select {
			case bindSem <- struct{}{}:
			case <-rt.ctx.Done():
				fe.gate.release()
				rt.gate.release()
				return
			}
		}
		if !rt.waitRate() {
			release()
			return
		}
		var c net.Conn
		err := errClosed
		if !rt.stopping.Load() {
			c, err = bl.Accept()
		}
		if err != nil {
			release()
			if errors.Is(err, net.ErrClosed) || rt.stopping.Load() {
				return
			}
			if isTimeout(err) {
				// The previous generation woke its accept loops on this
				// shared socket during a reload; clear the deadline and go on.
				if d, ok := bl.Listener.(interface{ SetDeadline(time.Time) error }); ok {
					d.SetDeadline(time.Time{})
				}
				continue
			}
			// Out of file descriptors and the like: back off briefly
			// instead of spinning.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay < time.Second {
				delay *= 2
			}
			time.Sleep(delay)
			continue
		}
		delay = 0
		if fe.tcpka {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetKeepAlive(true)
			}
		}
		rt.active.Add(1)
		fe.accepted(fe.conns.Add(1))
		bl.conns.Add(1)
		rt.workers.run(connJob{fe: fe, bl: &bl, c: c, release: release})
	}
}

// handleConn serves an accepted connection until it ends (or parks);
// release gives back the slots its accept took.
func (fe *frontend) handleConn(c net.Conn, bl *boundListener, release func()) {
	rt := fe.rt
	if fe.wantsProxyHeader(bl.bind) {
		if c = fe.wrapProxy(c, *bl); c == nil {
			release()
			fe.conns.Add(-1)
			bl.conns.Add(-1)
			rt.active.Done()
			return
		}
	}
	_, isTLS := c.(*tls.Conn)
	// h1 is a clear-text HTTP/1 connection, counted open in the HTTP/1
	// statistics until done (serveHTTPOn counts it in).
	h1 := fe.cfg.Mode == model.ModeHTTP && !isTLS && bl.bind.Proto != "h2"
	// done's end runs once when the connection ends; a parked HTTP
	// session calls it from whichever goroutine finishes it. It is made
	// after the PROXY wrapping, for the final c.
	done := rt.newSess(fe, fe.bindID(bl.bind), c)
	done.release, done.bl, done.h1 = release, bl, h1
	rt.conns.Store(c, done)
	if isTLS && fe.cfg.Mode == model.ModeHTTP {
		// An HTTP/1 session may park: it calls done when it ends.
		fe.serveTLS(c, *bl, done)
	} else if fe.cfg.Mode == model.ModeHTTP && bl.bind.Proto == "h2" {
		defer done.end()
		fe.serveH2(c)
	} else if h1 {
		fe.serveHTTPOn(c, connInfoOf(c, done))
	} else {
		defer done.end()
		if tc, ok := c.(*tls.Conn); ok {
			// The handshake of a TCP-mode bind comes up front, within
			// "timeout client", so that a failure is explained like on
			// HTTP binds instead of surfacing as a read error of the
			// first copy.
			if _, ok := fe.handshake(tc, *bl, fe.clientTimeout); !ok {
				return
			}
			defer rt.sslc.cur.Add(-1)
		}
		fe.serveTCP(c, bl.bind.Proto)
	}
}

// addrPort converts a net.Addr to netip.AddrPort (invalid for unix sockets).
func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}

func (fe *frontend) log(e *LogEntry) {
	fe.account(e)
	if fe.logging && !e.logged {
		fe.connCounts(e)
		fe.opts.Log(e)
	}
}

// connCounts fills the connection counters of the httplog/tcplog
// "actconn/feconn/beconn/srv_conn" field at log time.
func (fe *frontend) connCounts(e *LogEntry) {
	e.FeConn = fe.conns.Load()
	e.ActConn = 0
	for _, f := range fe.rt.frontends {
		e.ActConn += f.conns.Load()
	}
	e.BeConn, e.SrvConn = 0, 0
	if e.be != nil {
		for _, s := range e.be.srvs() {
			e.BeConn += s.current.Load()
		}
	}
	if e.srv != nil {
		e.SrvConn = e.srv.current.Load()
	}
}

// logASAP sends the line of "option logasap" (CM 4.2): in HTTP once the
// response head is out, in TCP once the server connection is up. The
// entry is then only accounted at the end.
func (fe *frontend) logASAP(e *LogEntry) {
	if !fe.logASAPOn || !fe.logging || e.logged {
		return
	}
	e.Ta = time.Since(e.Start)
	e.ASAP = true
	fe.connCounts(e)
	fe.opts.Log(e)
	e.ASAP = false
	e.logged = true
}

// dynamicBackend resolves a use_backend name given as a log-format: the
// backend of that name, or, when there is none (or it does not speak the
// frontend's mode), the default backend, with no further rule tried
// (CM 4.2 "use_backend").
func (fe *frontend) dynamicBackend(f *acl.Format, e *acl.Eval) *backend {
	if f == nil {
		return fe.def
	}
	e.Reset()
	name := f.Append(nil, e)
	if be := fe.rt.backends[string(name)]; be != nil && be.cfg.Mode == fe.cfg.Mode {
		return be
	}
	return fe.def
}
