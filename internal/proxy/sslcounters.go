package proxy

import (
	"crypto/tls"
	"net"
	"sync/atomic"

	"bulwark/internal/stats"
)

// sslCounters are the process's TLS counters of "show info" (MG 9.3):
// the connections, the handshake rates and, among them, the full
// handshakes ("key rate": those that computed a key, not resumed).
type sslCounters struct {
	cur, cum atomic.Int64 // client connections over TLS; cum adds the servers'
	// rate is the frontends' TLS sessions per second, keyRate those of
	// them that were full handshakes, beKeyRate the servers' full ones.
	rate, keyRate, beKeyRate stats.Rate
}

// sslModule is the "ssl" stats module of a frontend or server.
type sslModule struct {
	sess, reused, failed atomic.Int64
}

func (m *sslModule) read() stats.SSLCounters {
	return stats.SSLCounters{Sess: m.sess.Load(), Reused: m.reused.Load(), Failed: m.failed.Load()}
}

// frontendHandshake counts a client handshake that succeeded (resumed: a
// session resumption); the connection's end takes it out of sslc.cur.
func (fe *frontend) frontendHandshake(resumed bool) {
	rt := fe.rt
	now := rt.clock.NowMs()
	c := &rt.sslc
	c.cur.Add(1)
	c.cum.Add(1)
	c.rate.Add(now)
	fe.stats.ssl.sess.Add(1)
	if resumed {
		fe.stats.ssl.reused.Add(1)
	} else {
		c.keyRate.Add(now)
	}
}

// serverHandshake counts a handshake with server s that succeeded.
func (s *server) serverHandshake(c net.Conn, nowMs int64) {
	tc, ok := c.(*tls.Conn)
	if !ok || s.sslc == nil {
		return
	}
	s.sslc.cum.Add(1)
	s.stats.ssl.sess.Add(1)
	if tc.ConnectionState().DidResume {
		s.stats.ssl.reused.Add(1)
	} else {
		s.sslc.beKeyRate.Add(nowMs)
	}
}

// fillSSLInfo puts the TLS counters in "show info".
func (c *sslCounters) fillInfo(in *stats.Info, nowMs int64, limit int64) {
	in.CurrSslConns, in.CumSslConns = c.cur.Load(), c.cum.Load()
	in.SslRate, in.MaxSslRate = c.rate.Read(nowMs), c.rate.Max()
	in.SslRateLimit = limit
	in.SslFrontendKeyRate, in.SslFrontendMaxKeyRate = c.keyRate.Read(nowMs), c.keyRate.Max()
	if in.SslRate > 0 {
		// HAProxy's share of resumed sessions over the last second,
		// rounded down as HAProxy truncates its ratio: 80 of 84 is 95,
		// not 100 minus a truncated 4.
		in.SslFrontendSessionReuse = max(0, 100*(in.SslRate-in.SslFrontendKeyRate)/in.SslRate)
	}
	in.SslBackendKeyRate, in.SslBackendMaxKeyRate = c.beKeyRate.Read(nowMs), c.beKeyRate.Max()
}
