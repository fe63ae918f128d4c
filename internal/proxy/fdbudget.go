package proxy

import (
	"sync/atomic"
	"syscall"

	"bulwark/internal/model"
)

// fdBudget bounds the descriptors idle server connections may take, as
// HAProxy's "tune.pool-low-fd-ratio" and "tune.pool-high-fd-ratio" (CM 3.2:
// shares of the descriptors the process may use, 20 % and 25 % by
// default; see newFDBudget): past the low
// share in use, a server connection is closed after its response instead
// of going idle; past the high one, a request that has to open a new
// server connection closes an idle one. Without it, a burst of clients
// that each made one request and stayed (http-reuse safe opens a server
// connection for every first request) would leave one idle server
// connection per client, up to pool-max-conn, for pool-purge-delay
// periods on end.
//
// The descriptors in use are counted as the client connections of the
// generation (its global gate) plus its idle server connections: a server
// connection carrying a request is not counted, as there is at most one
// per client connection in a request and counting them would cost every
// request two atomic operations.
type fdBudget struct {
	clients   *gate
	idle      atomic.Int64 // idle server connections in the generation's pools
	low, high int64        // descriptors; -1: no bound (no known limit)
}

// newFDBudget sizes the budget from the descriptors the process may use:
// as HAProxy's maxsock, two per connection of the global maxconn (a client
// and a server side), within the descriptor limit; the limit alone without
// maxconn.
func newFDBudget(clients *gate, g *model.Global) *fdBudget {
	f := &fdBudget{clients: clients, low: -1, high: -1}
	maxsock := int64(-1)
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur > 0 && lim.Cur <= 1<<30 {
		maxsock = int64(lim.Cur)
	}
	if g.MaxConn > 0 && (maxsock < 0 || 2*int64(g.MaxConn) < maxsock) {
		maxsock = 2 * int64(g.MaxConn)
	}
	if maxsock < 0 {
		return f
	}
	f.low = maxsock * int64(g.PoolLowFDRatio) / 100
	f.high = maxsock * int64(g.PoolHighFDRatio) / 100
	return f
}

func (f *fdBudget) used() int64 { return f.clients.open() + f.idle.Load() }

// keepIdle reports whether a server connection may go idle in its pool.
func (f *fdBudget) keepIdle() bool { return f == nil || f.low < 0 || f.used() < f.low }

// overHigh reports whether a new server connection must close an idle one.
func (f *fdBudget) overHigh() bool { return f != nil && f.high >= 0 && f.used() >= f.high }

// added counts n idle connections in (n > 0) or out of a pool.
func (f *fdBudget) added(n int) {
	if f != nil && n != 0 {
		f.idle.Add(int64(n))
	}
}
