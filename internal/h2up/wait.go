package h2up

import (
	"sync"
	"time"
)

// WaitUntil waits on c until it is woken or the deadline d passes (zero:
// none); c.L is held. The timer that wakes it at d is made once, in
// *timer, and reset by later waits: a stream waits many times. It
// reports false once d has passed. Both HTTP/2 sides (these streams to
// servers, the proxy's streams from clients) wait this way.
func WaitUntil(c *sync.Cond, timer **time.Timer, d time.Time) bool {
	if !d.IsZero() {
		now := time.Now()
		if !now.Before(d) {
			return false
		}
		if *timer == nil {
			*timer = time.AfterFunc(d.Sub(now), func() {
				c.L.Lock()
				c.Broadcast()
				c.L.Unlock()
			})
		} else {
			(*timer).Reset(d.Sub(now))
		}
	}
	c.Wait()
	return true
}
