//go:build !linux

package proxy

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

var errNoRawDial = errors.New("raw dial: linux only")

// dialRaw is Linux only; elsewhere servers are dialled with net.Dialer.
func dialRaw(netip.AddrPort, time.Duration) (net.Conn, error) { return nil, errNoRawDial }

const rawDialOK = false

// resetOnClose makes the next Close of c send a TCP reset (see the Linux
// version).
func resetOnClose(c net.Conn) {
	if t, ok := c.(*net.TCPConn); ok {
		t.SetLinger(0)
	}
}
