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
		d.TLSFailure("tls", "127.0.0.1:443", src)
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

// Errors spread over many clients, each below the per-client threshold,
// raise one proxy-errors alert for the frontend and one for the backend,
// naming the clients with the most errors; a denied burst from one
// client raises one denied alert.
func TestProxyErrorsAndDenied(t *testing.T) {
	d, c, got := detector(model.Abuse{
		HTTPErrors:  model.Threshold{Count: 100, Window: 10 * time.Second},
		ProxyErrors: model.Threshold{Count: 30, Window: 10 * time.Second},
		Denied:      model.Threshold{Count: 5, Window: 10 * time.Second},
	})
	for i := 0; i < 40; i++ {
		// 192.0.2.1 sends 1 in 2, 192.0.2.2 1 in 4, the rest one each.
		a := netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)})
		switch {
		case i%2 == 0:
			a = netip.MustParseAddr("192.0.2.1")
		case i%4 == 1:
			a = netip.MustParseAddr("192.0.2.2")
		}
		d.Response("web", "app", a, 503, false)
	}
	var fe, be *Alert
	for i := range *got {
		a := &(*got)[i]
		switch {
		case a.Kind == ProxyErrors && a.Frontend == "web" && a.Backend == "":
			fe = a
		case a.Kind == ProxyErrors && a.Backend == "app" && a.Frontend == "":
			be = a
		default:
			t.Errorf("unexpected alert %+v", *a)
		}
	}
	if fe == nil || be == nil || len(*got) != 2 {
		t.Fatalf("alerts %+v", *got)
	}
	if len(fe.Top) < 2 || fe.Top[0] != (ClientCount{"192.0.2.1", 15}) || fe.Top[1].Addr != "192.0.2.2" || fe.Count != 30 {
		t.Errorf("frontend alert %+v", *fe)
	}
	if line := be.Line(); line != "bulwark abuse ALERT: kind=proxy-errors frontend=- backend=app source=app count=30 threshold=30 window=10s top=192.0.2.1:15,192.0.2.2:8,192.0.2.13:1,192.0.2.17:1,192.0.2.21:1" {
		t.Errorf("backend line %q", line)
	}
	*got = nil
	src := netip.MustParseAddr("198.51.100.7")
	for i := 0; i < 20; i++ {
		d.Response("web", "", src, 403, true)
	}
	if len(*got) != 1 || (*got)[0].Kind != Denied || (*got)[0].Source != "198.51.100.7" {
		t.Fatalf("denied: %+v", *got)
	}
	c.add(time.Minute)
	d.Sweep()
	clears := 0
	for _, a := range *got {
		if a.Clear {
			clears++
		}
	}
	if clears != 3 || d.Active() != 0 { // frontend, backend, denied
		t.Fatalf("after the burst: %d clears, %d active: %+v", clears, d.Active(), *got)
	}
}

// Failed handshakes from many clients raise one alert for their bind,
// naming the top clients, while no client alone crosses its threshold.
func TestBindTLSFailures(t *testing.T) {
	d, _, got := detector(model.Abuse{
		TLSFailures:     model.Threshold{Count: 50, Window: time.Minute},
		BindTLSFailures: model.Threshold{Count: 12, Window: time.Minute},
	})
	for i := 0; i < 30; i++ {
		d.TLSFailure("tls", "tlsbind", netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i%3)}))
	}
	if len(*got) != 1 {
		t.Fatalf("alerts %+v", *got)
	}
	if line := (*got)[0].Line(); line != "bulwark abuse ALERT: kind=bind-tls-failures frontend=tls bind=tlsbind source=tlsbind count=12 threshold=12 window=1m0s top=192.0.2.1:4,192.0.2.2:4,192.0.2.3:4" {
		t.Errorf("line %q", line)
	}
}
