package abuse

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"bulwark/internal/model"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func detector(set model.Abuse) (*Detector, *clock, *[]Alert) {
	var got []Alert
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	d := New(set, func(a Alert) { got = append(got, a) })
	d.Now = c.now
	return d, c, &got
}

// A burst of errors from one address raises exactly one alert, and one
// clear once the rate has fallen; another address is counted apart.
func TestBurstRaisesOneAlertAndOneClear(t *testing.T) {
	d, c, got := detector(model.Abuse{HTTPErrors: model.Threshold{Count: 10, Window: 10 * time.Second}})
	src := netip.MustParseAddr("192.0.2.1")
	other := netip.MustParseAddr("192.0.2.2")
	for i := 0; i < 9; i++ {
		d.HTTPStatus("web", src, 404)
		d.HTTPStatus("web", other, 404)
		d.HTTPStatus("web", src, 200) // not an error
	}
	if len(*got) != 0 {
		t.Fatalf("alert below the threshold: %v", *got)
	}
	for i := 0; i < 50; i++ {
		d.HTTPStatus("web", src, 503)
	}
	if len(*got) != 1 || (*got)[0].Clear || (*got)[0].Source != "192.0.2.1" || (*got)[0].Count != 10 || (*got)[0].Kind != HTTPErrors {
		t.Fatalf("after the burst: %+v", *got)
	}
	c.add(5 * time.Second)
	d.Sweep()
	if len(*got) != 1 {
		t.Fatalf("cleared while the rate is still high: %+v", *got)
	}
	c.add(30 * time.Second)
	d.Sweep()
	if len(*got) != 2 || !(*got)[1].Clear || (*got)[1].Source != "192.0.2.1" {
		t.Fatalf("no single clear: %+v", *got)
	}
	d.Sweep()
	if len(*got) != 2 || d.Active() != 0 {
		t.Fatalf("more lines after the clear: %+v", *got)
	}
	// A new burst alerts again.
	for i := 0; i < 10; i++ {
		d.HTTPStatus("web", src, 404)
	}
	if len(*got) != 3 || (*got)[2].Clear {
		t.Fatalf("second burst: %+v", *got)
	}
}

func TestFlapsAndTLSFailures(t *testing.T) {
	d, c, got := detector(model.Abuse{Flaps: model.Threshold{Count: 3, Window: time.Minute},
		TLSFailures: model.Threshold{Count: 5, Window: time.Minute}})
	d.ServerChange("app", "s1")
	d.ServerChange("app", "s1")
	c.add(time.Second)
	d.ServerChange("app", "s1")
	d.ServerChange("app", "s1")
	if len(*got) != 1 || (*got)[0].Kind != Flaps || (*got)[0].Source != "app/s1" {
		t.Fatalf("flaps: %+v", *got)
	}
	src := netip.MustParseAddr("::ffff:198.51.100.7")
	for i := 0; i < 20; i++ {
		d.TLSFailure("tls", src)
	}
	if len(*got) != 2 || (*got)[1].Kind != TLSFailures || (*got)[1].Source != "198.51.100.7" || (*got)[1].Frontend != "tls" {
		t.Fatalf("tls failures: %+v", *got)
	}
}

// The sliding estimate forgets old periods.
func TestCounterRate(t *testing.T) {
	w := 10 * time.Second
	t0 := time.Unix(0, 0)
	c := &counter{start: t0}
	c.cur = 10
	if r := c.rate(t0.Add(5*time.Second), w); r != 10 {
		t.Errorf("rate in the first period: %d", r)
	}
	if r := c.rate(t0.Add(15*time.Second), w); r != 5 {
		t.Errorf("rate half a period later: %d", r)
	}
	if r := c.rate(t0.Add(45*time.Second), w); r != 0 {
		t.Errorf("rate long after: %d", r)
	}
}
