package proxy

import (
	"crypto/tls"
	"net"
	"strings"

	"golang.org/x/net/http2"

	"bulwark/internal/acl"
	"bulwark/internal/model"
	"bulwark/internal/stick"
)

// A TCP session becomes an HTTP one (CM 4 "HTTP upgrades") either by a
// "tcp-request content switch-mode http" rule of its frontend, or
// implicitly when it is routed to an HTTP backend. The bytes the
// content rules inspected are not lost: the HTTP session reads them
// first. What the TCP stage decided stays: the addresses (set-src,
// set-dst, the PROXY header), variables and tracked counters. The
// content rules do not run again for the first request (they just ran
// on it), as HAProxy continues the same stream; they run for each later
// one, as for any HTTP session.

// prefixConn replays bytes already read from a connection before
// reading from it again.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// upgrade describes a TCP session handed to the HTTP path.
type upgrade struct {
	// be is the backend of an implicit upgrade, which then serves every
	// request of the connection (the frontend, a TCP one, has no HTTP
	// rules to run); nil after switch-mode, where the frontend's HTTP
	// rules and use_backend run.
	be   *backend
	vars map[string]acl.Sample
}

// upgradeTCP serves c, whose first bytes the TCP stage read (peeked), as
// HTTP with the multiplexer proto ("h1", "h2", "" to tell by the
// client's preface). It returns false when the bind forbids it ("proto
// none"): the connection is then closed, as HAProxy does.
func (fe *frontend) upgradeTCP(c net.Conn, bindProto string, txn *tcpTxn, peeked []byte, proto string, be *backend) bool {
	if bindProto == "none" || bindProto == "fcgi" {
		return false
	}
	if proto == "" {
		proto = bindProto
	}
	pc := &prefixConn{Conn: c, pre: peeked}
	ci := connInfo{client: c.RemoteAddr(), src: txn.src, dst: txn.dst, fcSrc: txn.fcSrc, fcDst: txn.fcDst, conn: c,
		up: &upgrade{be: be, vars: txn.vars}}
	txn.vars = nil
	isH2 := strings.HasPrefix(string(peeked), http2.ClientPreface) || proto == "h2"
	if isH2 && proto != "h1" {
		if fe.h2legacy {
			return false
		}
		ci.h2 = true
		if tc, ok := c.(*tls.Conn); ok {
			ci.tlsOn = true
			if sni := tc.ConnectionState().ServerName; sni != "" {
				ci.sni = []byte(sni)
			}
			ci.facts = newConnFacts(tc, ci.src)
		}
		fe.serveH2Conn(pc, ci)
		return true
	}
	// Counters the content rules tracked live with the connection now.
	s := fe.newSession(pc, ci)
	s.up = ci.up
	for i, r := range txn.tracked {
		if r.Valid() {
			s.tracked[i], s.trackedConn[i] = r, true
			txn.tracked[i] = stick.Ref{}
		}
	}
	s.fcSrc, s.fcDst = txn.fcSrc, txn.fcDst
	s.sessSrc, s.sessDst, s.sessSrcText = s.src, s.dst, s.srcText
	s.loop()
	return true
}

// takeUpgrade gives the first request of an upgraded session what the
// TCP stage set: its variables (the request's and transaction's ones
// included, as it is the same stream), and tells whether the frontend's
// content rules are to be skipped for it.
func (s *httpSession) takeUpgrade() {
	u := s.up
	if u.vars != nil {
		if s.vars == nil {
			s.vars = make(map[string]acl.Sample, len(u.vars))
		}
		for k, v := range u.vars {
			s.vars[k] = v
		}
		u.vars = nil
	}
}

// IsHTTP answers internal.strm.is_htx: an HTTP session's stream is one.
func (s *httpSession) IsHTTP() bool { return true }

var _ acl.ModeTxn = (*httpSession)(nil)

// httpBackend reports a backend in HTTP mode: routing a TCP session to it
// upgrades the session.
func (b *backend) httpBackend() bool { return b.cfg.Mode == model.ModeHTTP }
