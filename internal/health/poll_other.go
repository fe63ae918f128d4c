//go:build !linux

package health

// Outside Linux every check runs in a worker: there is no poller.
type poller struct{}

type plainOp struct{}

func newPoller() *poller                  { return nil }
func (p *poller) poke()                   {}
func (c *Checker) pollLoop()              {}
func (c *Checker) startPlain(j *job) bool { return false }
