package proxy

import (
	"sync/atomic"
	"time"

	"bulwark/internal/h2up"
	"bulwark/internal/model"
	"bulwark/internal/stats"
)

// counters are the traffic totals of a frontend, backend or server, read
// by the stats page, the runtime API and the exporter. Atomics only: every
// session updates them once when it logs, and a scrape must not slow the
// request path.
type counters struct {
	total    atomic.Int64 // sessions (TCP) or requests (HTTP); frontends: connections
	bytesIn  atomic.Int64
	bytesOut atomic.Int64
	denied   atomic.Int64
	errReq   atomic.Int64
	errResp  atomic.Int64
	hrsp     [6]atomic.Int64 // 1xx..5xx, other
	reqTot   atomic.Int64    // HTTP requests
	lbtot    atomic.Int64    // requests a balancer sent to a server
	cliAbrt  atomic.Int64
	srvAbrt  atomic.Int64
	retries  atomic.Int64
	wrew     atomic.Int64 // failed header rewrites (strict-mode, tune.maxrewrite)
	intercep atomic.Int64 // answered by the proxy itself (stats, services, redirects)
	connTot  atomic.Int64 // frontends: accepted connections
	lastSess atomic.Int64 // unix ms of the last session; 0 never
	rate     stats.Rate   // sessions per second (requests for backends and servers)
	reqRate  stats.Rate   // frontends: HTTP requests per second
	connRate stats.Rate   // frontends: connections per second
	smax     stats.Max64
	qmax     stats.Max64
	timed    atomic.Int64 // samples in the time averages
	qtime    stats.Avg
	ctime    stats.Avg
	rtime    stats.Avg
	ttime    stats.Avg
	// h1 is the HTTP/1 module (frontends: client connections; backends:
	// the exchanges with the servers).
	h1 h1Counters
	// h2 is the HTTP/2 module (frontends: client connections; backends:
	// server connections).
	h2 h2up.Counters
	// ssl is the "ssl" module: the TLS sessions of a frontend's clients
	// or with a server.
	ssl sslModule
}

// h1Counters back stats.H1Counters. The spliced byte counts are added
// by the code that splices bodies; the others are kept here.
type h1Counters struct {
	openConns, openStreams   atomic.Int64
	totalConns, totalStreams atomic.Int64
	bytesIn, bytesOut        atomic.Int64
	splicedIn, splicedOut    atomic.Int64
}

func (h *h1Counters) read() stats.H1Counters {
	return stats.H1Counters{OpenConns: h.openConns.Load(), OpenStreams: h.openStreams.Load(),
		TotalConns: h.totalConns.Load(), TotalStreams: h.totalStreams.Load(),
		BytesIn: h.bytesIn.Load(), BytesOut: h.bytesOut.Load(),
		SplicedIn: h.splicedIn.Load(), SplicedOut: h.splicedOut.Load()}
}

// h1Stream counts a finished HTTP/1 exchange of the client session: the
// frontend's stream and bytes, and the backend's when a server answered
// over its own HTTP/1 connection (what came from the server went out to
// the client, and the other way round).
func (fe *frontend) h1Stream(e *LogEntry) {
	h := &fe.stats.h1
	h.totalStreams.Add(1)
	h.bytesIn.Add(e.BytesIn)
	h.bytesOut.Add(e.BytesOut)
	if e.be != nil && e.srv != nil {
		bh := &e.be.stats.h1
		bh.totalStreams.Add(1)
		bh.bytesIn.Add(e.BytesOut)
		bh.bytesOut.Add(e.BytesIn)
	}
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// account counts e; nowMs is the stick-table clock, wallMs the Unix time
// in milliseconds (read once for the three counters of a request).
func (c *counters) account(e *LogEntry, nowMs, wallMs int64, isFrontend bool) {
	if !isFrontend || !e.HTTP {
		// A frontend's sessions are its connections in HTTP mode
		// (counted at accept); a TCP session is one connection.
		c.total.Add(1)
		c.rate.Add(nowMs)
	}
	c.lastSess.Store(wallMs)
	c.bytesIn.Add(e.BytesIn)
	c.bytesOut.Add(e.BytesOut)
	if e.HTTP {
		c.reqTot.Add(1)
		if isFrontend {
			c.reqRate.Add(nowMs)
		}
	}
	if e.Status > 0 {
		i := e.Status/100 - 1
		if i < 0 || i > 4 {
			i = 5
		}
		c.hrsp[i].Add(1)
	}
	c.retries.Add(e.Retries)
	switch {
	case e.Term == "PR" && e.Status == 400:
		c.errReq.Add(1)
	case e.Term == "PR" || e.Term == "PT":
		c.denied.Add(1)
	case len(e.Term) > 0 && (e.Term[0] == 'S' || e.Term[0] == 's'):
		c.errResp.Add(1)
		c.srvAbrt.Add(1)
	case e.Term == "CQ" || e.Term == "CC":
		// Given up before a server had it ("abortonclose"): HAProxy
		// 2.6.12 counts no abort for these.
	case len(e.Term) > 0 && (e.Term[0] == 'C' || e.Term[0] == 'c'):
		c.cliAbrt.Add(1)
	}
	if e.Server == "<STATS>" || e.Server == "<PROMEX>" || e.Server == "<NOSRV>" && e.Term == "PR" && e.Status/100 == 3 {
		c.intercep.Add(1)
	}
	if e.Tc >= 0 && !isFrontend {
		c.timed.Add(1)
		c.qtime.Add(max(ms(e.Tw), 0))
		c.ctime.Add(ms(e.Tc))
		c.rtime.Add(max(ms(e.Tr), 0))
		c.ttime.Add(max(ms(e.Ta), 0))
	}
}

// account updates the frontend's, backend's and server's counters for a
// finished request or session, then logs it.
func (fe *frontend) account(e *LogEntry) {
	// A request ends at Start + Ta: its log entry has the time already
	// (two vDSO calls fewer a request).
	var t time.Time
	if e.Ta >= 0 && !e.Start.IsZero() {
		t = e.Start.Add(e.Ta)
	} else {
		t = time.Now()
	}
	now, wall := fe.rt.clock.MsAt(t), t.UnixMilli()
	fe.stats.account(e, now, wall, true)
	fe.rt.out32.AddN(now, uint32(min((e.BytesOut+16)/32, 1<<32-1)))
	if d := fe.rt.abuse; d != nil {
		// Denied by a rule: intercepted (PR) or tarpitted (PT), other than
		// a malformed request (400) or a redirect.
		denied := (e.Term == "PR" || e.Term == "PT") && e.Status != 400 && e.Status/100 != 3
		backend := ""
		if e.be != nil {
			backend = e.be.name
		}
		d.Response(fe.name, backend, addrPort(e.Client).Addr(), e.Status, denied)
	}
	if e.be != nil {
		e.be.stats.account(e, now, wall, false)
	}
	if e.srv != nil {
		e.srv.stats.account(e, now, wall, false)
		e.srv.stats.lbtot.Add(1)
		if e.be != nil {
			e.be.stats.lbtot.Add(1)
		}
	}
}

// accepted counts a new connection on a frontend.
func (fe *frontend) accepted(cur int64) {
	now := fe.rt.clock.NowMs()
	s := &fe.stats
	s.connTot.Add(1)
	s.connRate.Add(now)
	fe.rt.connRate.Add(now)
	s.smax.Observe(cur)
	if fe.cfg.Mode == model.ModeHTTP {
		s.total.Add(1)
		s.rate.Add(now)
	}
}
