package proxy

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// connWorkers runs accepted connections on goroutines that outlive them.
// A new goroutine starts with a small stack, and serving an HTTP request
// (rules, balancing, the server dial, the exchange) grows it by copying
// several times: with a connection per request that copying was about a
// tenth of the proxy's CPU. A goroutine that finished its connection keeps
// its grown stack and waits for the next one; HAProxy's threads serve
// every connection on the stack they have.
type connWorkers struct {
	jobs chan connJob
	idle atomic.Int32
	// done ends the waiting workers (the runtime stopped): each checks it
	// before it waits, and stopIdle wakes those already waiting with a
	// zero job. A worker waits with a plain receive, not a select on jobs
	// and done: with a connection per request the select (two channels
	// locked, two waiters queued and dequeued) was 2 % of the proxy's
	// own CPU.
	done <-chan struct{}
}

// maxIdleWorkers bounds the goroutines kept waiting for a connection, so
// that a burst of connections does not leave thousands of idle stacks
// behind (the garbage collector also shrinks those that wait long).
const maxIdleWorkers = 64

// connJob is a connection for a worker; the zero one tells a waiting
// worker to end (stopIdle).
type connJob struct {
	fe      *frontend
	bl      *boundListener
	c       net.Conn
	release func()
}

func newConnWorkers(ctx context.Context) *connWorkers {
	w := &connWorkers{jobs: make(chan connJob), done: ctx.Done()}
	context.AfterFunc(ctx, w.stopIdle)
	return w
}

// run serves j on a waiting worker, or on a new one when none waits.
func (w *connWorkers) run(j connJob) {
	select {
	case w.jobs <- j:
	default:
		go w.work(j)
	}
}

func (w *connWorkers) work(j connJob) {
	for {
		j.fe.handleConn(j.c, j.bl, j.release)
		j = connJob{} // hold nothing of the last connection while waiting
		if w.idle.Add(1) > maxIdleWorkers {
			w.idle.Add(-1)
			return
		}
		// Counted idle before this check: stopIdle, which runs after done
		// closed, goes on until this worker is no longer counted.
		select {
		case <-w.done:
			w.idle.Add(-1)
			return
		default:
		}
		j = <-w.jobs
		w.idle.Add(-1)
		if j.fe == nil {
			return
		}
	}
}

// stopIdle ends the workers that wait once the runtime stopped: a zero
// job for each one counted idle. A worker counted but not yet waiting
// sees done closed and ends by itself; the send then gives up after a
// while and looks at the count again.
func (w *connWorkers) stopIdle() {
	t := time.NewTimer(time.Millisecond)
	defer t.Stop()
	for w.idle.Load() > 0 {
		t.Reset(time.Millisecond)
		select {
		case w.jobs <- connJob{}:
		case <-t.C:
		}
	}
}
