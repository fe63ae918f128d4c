//go:build !linux

package health

import (
	"context"
	"net"
)

// dialTCP is net.Dialer's: outside Linux the connect errors are not told
// apart.
func dialTCP(ctx context.Context, addr string, delack bool) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

type syncConnectError struct{ error }
