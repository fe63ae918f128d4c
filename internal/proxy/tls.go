package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/tlsconf"
)

// tlsOptions are Bulwark's TLS loading options; the key-permission check
// (HAP-4.3) has an explicit opt-out through the environment.
func tlsOptions(g *model.Global) tlsconf.Options {
	return tlsconf.Options{AllowInsecureKeyPerms: os.Getenv("BULWARK_ALLOW_INSECURE_KEY_PERMS") == "1",
		CrtBase: g.CrtBase, CABase: g.CABase}
}

// checkTLS loads every certificate and TLS setting the way startup does,
// so "bulwark -c" reports a missing, unreadable or unprotected key.
func checkTLS(m *model.Model) config.Diagnostics {
	var ds config.Diagnostics
	for _, p := range m.Proxies {
		for _, b := range p.Binds {
			if !b.SSL {
				continue
			}
			bt, err := tlsconf.LoadBind(b, &m.Global.SSL, tlsOptions(&m.Global))
			if err != nil {
				ds.Alertf(b.Pos, "%s '%s': bind: %v", p.Kind, p.Name, err)
				continue
			}
			for _, w := range bt.Warnings {
				ds.Warnf(b.Pos, "%s '%s': bind: %s", p.Kind, p.Name, w)
			}
		}
		for _, s := range p.Servers {
			if !s.SSL {
				continue
			}
			if _, err := tlsconf.ServerConfigWith(s, &m.Global.SSL, tlsOptions(&m.Global)); err != nil {
				ds.Alertf(s.Pos, "%s '%s': server '%s': %v", p.Kind, p.Name, s.Name, err)
			}
		}
	}
	return ds
}

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
	return tls.Server(c, l.cfg), nil
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

// dialTLS wraps a server connection in TLS ("server ... ssl") and
// completes the handshake within the connect timeout.
func dialTLS(ctx context.Context, c net.Conn, cfg *tls.Config, timeout time.Duration) (net.Conn, error) {
	tc := tls.Client(c, cfg)
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}
