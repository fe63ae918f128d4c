package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"bulwark/internal/tlsconf"
	"bulwark/internal/tlsfail"
	"bulwark/internal/tlsinfo"
)

// tlsListener terminates TLS on accepted connections. The handshake runs
// in the session's goroutine, on its first read, under the session's
// request timeout.
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// The wrapper records the ClientHello, so that a failed handshake can
	// be explained (tlsfail).
	return tls.Server(tlsfail.NewConn(c), l.cfg), nil
}

// SetDeadline lets a reload wake accept loops on a shared socket.
func (l tlsListener) SetDeadline(t time.Time) error {
	if d, ok := l.Listener.(interface{ SetDeadline(time.Time) error }); ok {
		return d.SetDeadline(t)
	}
	return nil
}

// connTLS returns the TLS state of a client connection and the SNI it sent.
func connTLS(c net.Conn) (bool, []byte) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return false, nil
	}
	sni := tc.ConnectionState().ServerName
	if sni == "" {
		return true, nil
	}
	return true, []byte(sni)
}

// tlsFacts are the facts of a client TLS session that logs carry, read
// once per connection.
type tlsFacts struct {
	version, cipher, sni string
	cipherID             uint16
}

// readTLSFacts reads them from c, the zero value when c is not TLS.
func readTLSFacts(c net.Conn) tlsFacts {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return tlsFacts{}
	}
	st := tc.ConnectionState()
	return tlsFactsOf(&st)
}

// tlsFactsOf reads them from a handshake's state, the zero value for nil
// (no TLS).
func tlsFactsOf(st *tls.ConnectionState) tlsFacts {
	if st == nil {
		return tlsFacts{}
	}
	return tlsFacts{version: tlsVersionName(st.Version), cipher: tlsconf.OpenSSLName(st.CipherSuite), sni: st.ServerName, cipherID: st.CipherSuite}
}

// fill copies the facts into a log entry.
func (f *tlsFacts) fill(e *LogEntry) {
	e.SSLVersion, e.SSLCipher, e.SSLCipherID, e.SNI = f.version, f.cipher, f.cipherID, f.sni
}

// dialTLS wraps a server connection in TLS ("server ... ssl") and
// completes the handshake within the connect timeout. The connection
// under the TLS one records the hellos (ssl_bc_client_random...) and,
// with keyLog, the handshake's secrets.
func dialTLS(ctx context.Context, c net.Conn, cfg *tls.Config, timeout time.Duration, keyLog bool) (net.Conn, error) {
	ic := tlsinfo.NewConn(c)
	if keyLog {
		cfg = cfg.Clone()
		ic.Info.Keys = &tlsinfo.KeyLog{}
		cfg.KeyLogWriter = ic.Info.Keys
	}
	tc := tls.Client(ic, cfg)
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, &tlsHandshakeError{err}
	}
	return tc, nil
}

// handshakeInfo returns what the handshake of c (a client or server TLS
// connection) recorded, nil when nothing under it records.
func handshakeInfo(c net.Conn) *tlsinfo.Info {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil
	}
	switch x := tc.NetConn().(type) {
	case *tlsinfo.Conn:
		return &x.Info
	case *tlsfail.Conn:
		return &x.Info
	case *ppConn:
		// accept-proxy: the TLS connection was rebuilt above the PROXY
		// header reader.
		if fc, ok := x.Conn.(*tlsfail.Conn); ok {
			return &fc.Info
		}
	}
	return nil
}
