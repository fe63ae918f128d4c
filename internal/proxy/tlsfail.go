package proxy

import (
	"context"
	"crypto/tls"

	"bulwark/internal/tlsfail"
)

// handshakeFailed counts and logs a failed client handshake with its
// reason (docs/extensions.md "TLS handshake failure reasons").
func (fe *frontend) handshakeFailed(tc *tls.Conn, bl boundListener, err error) {
	var h tlsfail.Hello
	var cfg *tls.Config
	bind := tc.LocalAddr().String()
	if c, ok := tc.NetConn().(*tlsfail.Conn); ok {
		h = c.Hello
		cfg = c.Config
	}
	f := tlsfail.Classify(err, h, cfg)
	bl.tlsFail.Add(f.Reason)
	if fe.rt.abuse != nil {
		fe.rt.abuse.TLSFailure(fe.name, bl.label(), addrPort(tc.RemoteAddr()).Addr())
	}
	fe.rt.proxyLog(fe.name, "notice", f.Line(fe.name, bind, tc.RemoteAddr()))
}

// handshakeTCP completes the handshake of a TCP-mode TLS bind up front,
// within "timeout client", so that a failure is explained like on HTTP
// binds instead of surfacing as a read error of the first copy.
func (fe *frontend) handshakeTCP(tc *tls.Conn, bl boundListener) bool {
	ctx := fe.rt.ctx
	if to := fe.clientTimeout; to > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, to)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		fe.handshakeFailed(tc, bl, err)
		tc.Close()
		return false
	}
	return true
}

// TLSFailures returns the failed handshakes of frontend name by reason,
// only the reasons seen.
func (rt *Runtime) TLSFailures(name string) map[string]uint64 {
	out := map[string]uint64{}
	for _, fe := range rt.frontends {
		if fe.name != name {
			continue
		}
		for _, bl := range fe.listeners {
			for _, r := range tlsfail.Reasons() {
				if n := bl.tlsFail.Get(r); n > 0 {
					out[r.String()] += n
				}
			}
		}
	}
	return out
}
