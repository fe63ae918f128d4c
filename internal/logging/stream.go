package logging

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Stream syslog (HAProxy's "log tcp@ADDR"): HAProxy puts such a target
// behind an implicit ring whose forwarder connects to the server, sends one
// message per line (RFC 6587 non-transparent framing, its default
// "log-proto legacy") and reconnects when the server goes away, keeping
// what the ring holds meanwhile. The sink does the same with a bounded
// queue: a request never waits for the log server.
const (
	streamQueueLen    = 1024
	streamDialTimeout = 2 * time.Second
	// streamRetry is the pause between connection attempts, as HAProxy's
	// ring forwarder retries about once a second.
	streamRetry        = time.Second
	streamWriteTimeout = 5 * time.Second
)

type streamSink struct {
	network, addr string
	q             chan []byte
	done          chan struct{}
	stop          sync.Once
	// Dropped counts lines lost because the queue was full.
	Dropped atomic.Uint64
}

func newStreamSink(network, addr string) *streamSink {
	s := &streamSink{network: network, addr: addr, q: make(chan []byte, streamQueueLen), done: make(chan struct{})}
	go s.run()
	return s
}

// Write queues one framed line (the caller appends the LF); it never
// blocks, and drops the line when the queue is full.
func (s *streamSink) Write(b []byte) (int, error) {
	line := append([]byte(nil), b...)
	select {
	case s.q <- line:
	default:
		s.Dropped.Add(1)
	}
	return len(b), nil
}

func (s *streamSink) run() {
	var c net.Conn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	var pending []byte
	for {
		if pending == nil {
			select {
			case pending = <-s.q:
			case <-s.done:
				return
			}
		}
		if c == nil {
			var err error
			if c, err = net.DialTimeout(s.network, s.addr, streamDialTimeout); err != nil {
				c = nil
				select {
				case <-time.After(streamRetry):
				case <-s.done:
					return
				}
				continue
			}
		}
		c.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := c.Write(pending); err != nil {
			// The line is sent again on the next connection.
			c.Close()
			c = nil
			continue
		}
		pending = nil
	}
}

// Close stops the forwarder; queued lines are dropped.
func (s *streamSink) Close() { s.stop.Do(func() { close(s.done) }) }
