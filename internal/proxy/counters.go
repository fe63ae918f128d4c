package proxy

import (
	"sync/atomic"
)

// counters are the traffic totals of a frontend, backend or server, read
// by the stats page. Atomics: every session updates them once when it
// logs.
type counters struct {
	total    atomic.Int64 // sessions (TCP) or requests (HTTP)
	bytesIn  atomic.Int64
	bytesOut atomic.Int64
	denied   atomic.Int64
	errReq   atomic.Int64
	errResp  atomic.Int64
	hrsp     [6]atomic.Int64 // 1xx..5xx, other
}

func (c *counters) account(e *LogEntry) {
	c.total.Add(1)
	c.bytesIn.Add(e.BytesIn)
	c.bytesOut.Add(e.BytesOut)
	if e.Status > 0 {
		i := e.Status/100 - 1
		if i < 0 || i > 4 {
			i = 5
		}
		c.hrsp[i].Add(1)
	}
	switch {
	case e.Term == "PR" && e.Status == 400:
		c.errReq.Add(1)
	case e.Term == "PR" || e.Term == "PT":
		c.denied.Add(1)
	case len(e.Term) > 0 && (e.Term[0] == 'S' || e.Term[0] == 's'):
		c.errResp.Add(1)
	}
}

// account updates the frontend's, backend's and server's counters for a
// finished request or session, then logs it.
func (fe *frontend) account(e *LogEntry) {
	fe.stats.account(e)
	if e.be != nil {
		e.be.stats.account(e)
	}
	if e.srv != nil {
		e.srv.stats.account(e)
	}
}
