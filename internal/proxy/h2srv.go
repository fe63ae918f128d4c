package proxy

import (
	"crypto/tls"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"bulwark/internal/h1"
	"bulwark/internal/h2up"
)

// HTTP/2 to servers ("server ... proto h2", or "ssl alpn h2,..." when
// ALPN chose h2). A server connection carries many streams; each request
// of a session is one stream, written and read by the ordinary exchange
// code as an HTTP/1.1 request and response (internal/h2up does the
// conversion), so retries, timeouts, rules and logging are the same as
// towards an HTTP/1.1 server.
//
// Which connection a stream may use follows "http-reuse" as HAProxy
// applies it to multiplexed connections: under "safe" a connection with
// streams in flight is reserved to the client connection they belong to
// (its other h2 streams, its next requests), an idle one is shared from
// a session's second request on; "aggressive" also shares busy ones with
// later requests, and with first requests once the connection carried
// two streams; "always" shares any connection that has room; "never"
// gives each client connection its own server connections, closed once
// idle. A connection takes streams up to the server's
// SETTINGS_MAX_CONCURRENT_STREAMS and tune.h2.max-concurrent-streams.

// h2Pool holds a server's HTTP/2 connections.
type h2Pool struct {
	srv *server

	mu     sync.Mutex
	conns  []*h2PoolConn
	closed bool
}

type h2PoolConn struct {
	cc *h2up.Conn
	// owner is the client connection whose streams are in flight on it
	// (nil when idle); private: "http-reuse never", never shared.
	owner   net.Conn
	private bool
	to      netip.Addr
	st      *tls.ConnectionState
	idle    *time.Timer
}

// wantsH2 reports whether a server may speak HTTP/2: forced by "proto h2",
// or offered in its ALPN list.
func wantsH2(s *server) bool {
	if s.cfg.Proto == "h2" {
		return true
	}
	if s.cfg.Proto == "" && s.cfg.SSL {
		for _, p := range strings.Split(s.cfg.Opts["alpn"], ",") {
			if strings.TrimSpace(p) == "h2" {
				return true
			}
		}
	}
	return false
}

// speaksH2 reports whether a new connection to s is HTTP/2.
func (s *server) speaksH2(c net.Conn) bool {
	if s.h2 == nil {
		return false
	}
	if s.cfg.Proto == "h2" {
		return true
	}
	tc, ok := c.(*tls.Conn)
	return ok && tc.ConnectionState().NegotiatedProtocol == "h2"
}

// h2Config is what a new connection announces and accepts (tune.h2.*,
// tune.bufsize for a response's header list).
func (s *httpSession) h2Config(be *backend) h2up.Config {
	g := s.fe.rt.model.Global
	return h2up.Config{HeaderTableSize: uint32(g.H2.HeaderTableSize), InitialWindowSize: uint32(g.H2.InitialWindowSize),
		MaxFrameSize: uint32(g.H2.MaxFrameSize), MaxConcurrentStreams: uint32(g.H2.MaxConcurrentStreams),
		MaxHeaderList: s.fe.bufSize, WriteTimeout: be.serverTimeout, Counters: &be.stats.h2}
}

// stream opens a stream on a connection that http-reuse mode allows for
// a request of client connection owner (first: the first request of its
// session); nil when none may take it.
func (p *h2Pool) stream(s *httpSession, reuse string, owner net.Conn, first bool) *srvConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.conns) - 1; i >= 0; i-- {
		pc := p.conns[i]
		if pc.to != p.srv.state.Addr().Addr() && !p.srv.unix {
			continue // DNS moved the server: no new stream
		}
		active := pc.cc.Active()
		ok := false
		switch {
		case active > 0 && pc.owner == owner:
			ok = true // more streams of the same client connection
		case pc.private || reuse == "never":
		case active == 0:
			ok = reuse == "always" || !first || reuse == "aggressive" && pc.cc.Streams() >= 2
		case reuse == "always":
			ok = true
		case reuse == "aggressive":
			ok = !first || pc.cc.Streams() >= 2
		}
		if !ok {
			continue
		}
		st, err := pc.cc.NewStream(false)
		if err != nil {
			continue
		}
		if active == 0 {
			pc.owner = owner
			if pc.idle != nil {
				pc.idle.Stop()
			}
		}
		return p.srvConn(s, pc, st)
	}
	return nil
}

// add starts HTTP/2 on a new connection and opens its first stream.
func (p *h2Pool) add(s *httpSession, be *backend, c net.Conn, owner net.Conn) *srvConn {
	cfg := s.h2Config(be)
	pc := &h2PoolConn{owner: owner, private: be.reuse == "never"}
	if !p.srv.unix {
		pc.to = p.srv.state.Addr().Addr()
	}
	if tc, ok := c.(*tls.Conn); ok {
		st := tc.ConnectionState()
		pc.st = &st
	}
	cfg.OnIdle = func(*h2up.Conn) { p.idle(pc) }
	pc.cc = h2up.New(c, cfg)
	st, err := pc.cc.NewStream(false)
	if err != nil {
		pc.cc.Close()
		return nil
	}
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.conns = append(p.conns, pc)
	}
	p.mu.Unlock()
	if closed {
		// The generation stopped meanwhile: this stream is its last.
		pc.private = true
	}
	return p.srvConn(s, pc, st)
}

func (p *h2Pool) srvConn(s *httpSession, pc *h2PoolConn, st *h2up.Stream) *srvConn {
	sc := &srvConn{c: st, srv: p.srv, to: pc.to, st: pc.st, h2: st}
	sc.tc = timedConn{Conn: st}
	sc.rd = h1.NewReader(&sc.tc, s.fe.rt.readerConfig())
	return sc
}

// idle runs when pc's last stream ended or the connection is gone: a
// dead or GOAWAY'd one leaves the pool, an idle one stays for
// pool-purge-delay (within pool-max-conn), unless the pool keeps none.
func (p *h2Pool) idle(pc *h2PoolConn) {
	var drop []*h2up.Conn
	p.mu.Lock()
	if pc.cc.Active() > 0 {
		p.mu.Unlock()
		return
	}
	pc.owner = nil
	pool := &p.srv.pool
	if !pc.cc.Usable() || pc.private || p.closed || !pool.keeps() {
		p.remove(pc)
		drop = append(drop, pc.cc)
	} else {
		idle := 0
		for _, o := range p.conns {
			if o != pc && o.cc.Active() == 0 {
				idle++
			}
		}
		if pool.max > 0 && idle >= pool.max {
			p.remove(pc)
			drop = append(drop, pc.cc)
		} else if pc.idle == nil {
			pc.idle = time.AfterFunc(pool.every, func() { p.expire(pc) })
		} else {
			pc.idle.Reset(pool.every)
		}
	}
	p.mu.Unlock()
	for _, c := range drop {
		go c.Close()
	}
}

// expire closes pc once it stayed idle through pool-purge-delay.
func (p *h2Pool) expire(pc *h2PoolConn) {
	p.mu.Lock()
	if pc.cc.Active() > 0 {
		p.mu.Unlock()
		return
	}
	p.remove(pc)
	p.mu.Unlock()
	pc.cc.Close()
}

// remove takes pc out of the pool; mu held.
func (p *h2Pool) remove(pc *h2PoolConn) {
	for i, o := range p.conns {
		if o == pc {
			copy(p.conns[i:], p.conns[i+1:])
			p.conns[len(p.conns)-1] = nil
			p.conns = p.conns[:len(p.conns)-1]
			break
		}
	}
	if pc.idle != nil {
		pc.idle.Stop()
	}
}

// drop closes the idle connections ("shutdown sessions server"); close
// also makes the busy ones close once idle (the generation stopped).
func (p *h2Pool) drop() { p.shut(false) }

func (p *h2Pool) close() { p.shut(true) }

func (p *h2Pool) shut(stop bool) {
	var drop []*h2up.Conn
	p.mu.Lock()
	if stop {
		p.closed = true
	}
	for _, pc := range append([]*h2PoolConn(nil), p.conns...) {
		if pc.cc.Active() == 0 {
			p.remove(pc)
			drop = append(drop, pc.cc)
		}
	}
	p.mu.Unlock()
	for _, c := range drop {
		c.Close()
	}
}
