//go:build !linux

package health

import (
	"context"
	"net"
	"time"
)

// dialTCP is net.Dialer's: outside Linux the connect errors are not told
// apart.
func dialTCP(ctx context.Context, timeout time.Duration, addr string, delack bool) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

type syncConnectError struct{ error }
