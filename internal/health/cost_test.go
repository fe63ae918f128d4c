package health

import (
	"os"
	"testing"
	"time"

	"bulwark/internal/srvstate"

	"bulwark/internal/testtool"
)

// TestCheckCostProfile runs 1,000 connect checks at inter 1s for a few
// seconds; with BULWARK_CHECK_COST=1 only (a profiling aid, go test
// -cpuprofile), it proves nothing by itself.
func TestCheckCostProfile(t *testing.T) {
	if os.Getenv("BULWARK_CHECK_COST") == "" {
		t.Skip("set BULWARK_CHECK_COST=1 to profile")
	}
	srv := testtool.Listen(t, func(c *testtool.Conn) {
		c.Read(make([]byte, 512))
		c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
	})
	c := New()
	inters := make([]time.Duration, 1000)
	for i := range inters {
		inters[i] = time.Second
	}
	offs := Offsets(inters, 0)
	for i := range inters {
		st := srvstate.New(srvstate.Config{Weight: 1, Checked: true})
		sp := Spec{Addr: srv.Addr, Inter: time.Second}
		if os.Getenv("BULWARK_CHECK_COST") == "http" {
			sp.HTTP = &HTTPCheck{Method: "GET", URI: "/health"}
		}
		c.Watch(sp, offs[i], st, nil)
	}
	time.Sleep(8 * time.Second)
	c.Stop()
}
