//go:build !linux

package proxy

import (
	"net"
	"time"
)

// parker is Linux-only (epoll); elsewhere idle sessions keep their
// goroutine.
type parker struct{}

func newParker() *parker                           { return nil }
func (p *parker) park(*parkedConn, time.Time) bool { return false }
func (p *parker) resumeAll()                       {}
func (p *parker) count() int                       { return 0 }

func readable(net.Conn) bool { return true }

// idleUsable cannot peek at a socket here: an idle server connection is
// taken as usable, and a request that meets a closed one is retried as
// "retry-on" allows.
func idleUsable(net.Conn) bool { return true }
