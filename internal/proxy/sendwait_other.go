//go:build !linux

package proxy

import "net"

// sendWaiter sends the ordinary way where there are no raw sockets (see
// sendwait_linux.go).
type sendWaiter struct{}

func newSendWaiter(net.Conn) *sendWaiter { return nil }

func (w *sendWaiter) sendWait(t *timedConn, b []byte) (int, error) { return t.Write(b) }
