//go:build !linux

package proxy

import (
	"net"
	"time"

	"bulwark/internal/h1"
)

// quickRead needs raw socket reads (quickread_linux.go); elsewhere the
// first request is read the ordinary way.
type quickRead struct{}

func newQuickRead() *quickRead { return nil }

func (q *quickRead) first(net.Conn, *h1.Reader) int {
	return 0
}

func (q *quickRead) forget() {}

func (q *quickRead) live() bool { return false }

func (q *quickRead) tryWrite([]byte) int { return 0 }

func (q *quickRead) next(*h1.Reader, time.Time) (n int, armed, timedOut bool) { return 0, false, false }
