package proxy

import (
	"sync"
	"time"
)

// idlePool holds a server's idle connections, oldest first, for requests
// of any session ("http-reuse"). Servers close idle connections on their
// own keep-alive timeout (nginx's keepalive_timeout, Apache's
// KeepAliveTimeout), so a pooled connection may be dead when it is taken:
// take checks each one without blocking, and every pool-purge-delay the
// pool drops the dead ones and shrinks what was not needed.
type idlePool struct {
	max   int           // pool-max-conn: -1 unlimited, 0 keep none
	low   int           // pool-low-conn: purging keeps this many
	every time.Duration // pool-purge-delay: 0 keeps none
	fds   *fdBudget     // the generation's tune.pool-*-fd-ratio; nil: none

	mu     sync.Mutex
	conns  []*srvConn // by idleAt, oldest first
	timer  *time.Timer
	armed  bool // the timer runs: conns is not empty
	closed bool // the generation stopped: nothing is kept any more
}

// keeps reports whether connections to this server may be kept idle at
// all; when not, a connection closes after its response.
func (p *idlePool) keeps() bool { return p.max != 0 && p.every > 0 }

// take returns the most recently used idle connection that is still
// usable and was opened with the parameters whose hash is key (see
// connParams; with proven, one that carried two requests or more), closing
// the dead ones it meets; nil when none is left. The most recent is the
// least likely to have met the server's idle timeout, and leaves the
// oldest to the purge. As in reclaim, one back within attachedCheckAfter
// is taken without a peek (a system call per request on a busy pool).
func (p *idlePool) take(proven bool, key uint64) *srvConn {
	for {
		p.mu.Lock()
		n := len(p.conns)
		i := n - 1
		for i >= 0 && (proven && p.conns[i].reqs < 2 || p.conns[i].key != key) {
			i--
		}
		if i < 0 {
			p.mu.Unlock()
			return nil
		}
		sc := p.conns[i]
		copy(p.conns[i:], p.conns[i+1:])
		p.conns[n-1] = nil // the backing array must not keep it alive
		p.conns = p.conns[:n-1]
		p.fds.added(-1)
		p.mu.Unlock()
		if !sc.stale() && (sc.idleAt.since() <= attachedCheckAfter || idleUsable(sc.c)) {
			return sc
		}
		sc.closeIdle()
	}
}

// reclaimDepth is how far from the top of the pool a session looks for
// the connection it lent: past that, others have used the pool since and
// any idle connection will do as well.
const reclaimDepth = 8

// reclaim takes sc back from the pool if it is still there, for the next
// request of the session that lent it. A connection back within
// attachedCheckAfter is taken without a peek: the server had no time to
// close it (a failed send is retried on a new connection anyway).
func (p *idlePool) reclaim(sc *srvConn) bool {
	p.mu.Lock()
	n := len(p.conns)
	i := n - 1
	for ; i >= 0 && i >= n-reclaimDepth; i-- {
		if p.conns[i] == sc {
			break
		}
	}
	if i < 0 || i < n-reclaimDepth {
		p.mu.Unlock()
		return false
	}
	copy(p.conns[i:], p.conns[i+1:])
	p.conns[n-1] = nil
	p.conns = p.conns[:n-1]
	p.fds.added(-1)
	p.mu.Unlock()
	if sc.stale() || sc.idleAt.since() > attachedCheckAfter && !idleUsable(sc.c) {
		sc.closeIdle()
		return false
	}
	return true
}

// put keeps sc for a later request, or closes it when the pool keeps
// nothing, when its reader still holds bytes (something the server sent
// unasked: the connection is out of step), when the generation stopped,
// when the pool is full ("pool-max-conn": HAProxy keeps the connections
// already idle and closes the one that does not fit), or when the
// descriptors in use passed tune.pool-low-fd-ratio.
func (p *idlePool) put(sc *srvConn) {
	if !p.keeps() || sc.stale() || !p.fds.keepIdle() || !sc.rd.Release() {
		sc.closeIdle()
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		sc.closeIdle()
		return
	}
	if p.max > 0 && len(p.conns) >= p.max {
		p.mu.Unlock()
		sc.closeIdle()
		return
	}
	// Set under the lock so that conns stays ordered by idleAt.
	sc.idleAt = monoNow()
	p.conns = append(p.conns, sc)
	p.fds.added(1)
	if !p.armed {
		p.armed = true
		if p.timer == nil {
			p.timer = time.AfterFunc(p.every, p.purge)
		} else {
			p.timer.Reset(p.every)
		}
	}
	p.mu.Unlock()
}

// purge runs every pool-purge-delay while the pool is not empty. It closes
// the connections the server closed meanwhile, then half (rounded up) of
// those that sat idle through a whole period, oldest first, keeping
// pool-low-conn: after a burst the pool shrinks by halves, while what a
// steady load takes back within a period stays.
func (p *idlePool) purge() {
	var drop []*srvConn
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	live := p.conns[:0]
	for _, sc := range p.conns {
		if idleUsable(sc.c) {
			live = append(live, sc)
		} else {
			drop = append(drop, sc)
		}
	}
	clear(p.conns[len(live):])
	p.conns = live
	now := monoNow()
	surplus := 0
	for _, sc := range p.conns {
		if now.sub(sc.idleAt) < p.every {
			break
		}
		surplus++
	}
	n := min((surplus+1)/2, max(len(p.conns)-p.low, 0))
	drop = append(drop, p.conns[:n]...)
	m := copy(p.conns, p.conns[n:])
	clear(p.conns[m:])
	p.conns = p.conns[:m]
	p.armed = len(p.conns) > 0
	if p.armed {
		p.timer.Reset(p.every)
	}
	p.fds.added(-len(drop))
	p.mu.Unlock()
	for _, sc := range drop {
		sc.closeIdle()
	}
}

// close closes every idle connection and keeps none from now on (the
// generation stopped; sessions still finishing close theirs).
func (p *idlePool) close() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
	}
	p.fds.added(-len(conns))
	p.mu.Unlock()
	for _, sc := range conns {
		sc.closeIdle()
	}
}

// drop closes the idle connections and keeps the pool in service.
func (p *idlePool) drop() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.fds.added(-len(conns))
	p.mu.Unlock()
	for _, sc := range conns {
		sc.closeIdle()
	}
}

// closeOldest closes the connection that has been idle longest, if any:
// a new connection to the server is opened while the descriptors in use
// passed tune.pool-high-fd-ratio.
func (p *idlePool) closeOldest() {
	p.mu.Lock()
	if len(p.conns) == 0 {
		p.mu.Unlock()
		return
	}
	sc := p.conns[0]
	m := copy(p.conns, p.conns[1:])
	p.conns[m] = nil
	p.conns = p.conns[:m]
	p.fds.added(-1)
	p.mu.Unlock()
	sc.closeIdle()
}

// len returns the number of idle connections (tests and stats).
func (p *idlePool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}
