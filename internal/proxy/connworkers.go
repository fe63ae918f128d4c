package proxy

import (
	"context"
	"net"
	"sync/atomic"
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
	// done ends the waiting workers (the runtime stopped).
	done <-chan struct{}
}

// maxIdleWorkers bounds the goroutines kept waiting for a connection, so
// that a burst of connections does not leave thousands of idle stacks
// behind (the garbage collector also shrinks those that wait long).
const maxIdleWorkers = 64

type connJob struct {
	fe      *frontend
	bl      *boundListener
	c       net.Conn
	release func()
}

func newConnWorkers(ctx context.Context) *connWorkers {
	return &connWorkers{jobs: make(chan connJob), done: ctx.Done()}
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
		select {
		case j = <-w.jobs:
			w.idle.Add(-1)
		case <-w.done:
			w.idle.Add(-1)
			return
		}
	}
}
