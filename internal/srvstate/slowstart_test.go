package srvstate

import (
	"sync"
	"testing"
	"time"
)

// A server coming back UP with "slowstart" is pushed to the balancer at
// a sixteenth of its weight, then at growing shares, then at full weight
// once the ramp is over; "show servers state" says STARTING meanwhile.
func TestSlowStartRamp(t *testing.T) {
	var mu sync.Mutex
	var views []View
	s := New(Config{Weight: 10, Checked: true, Rise: 1, Fall: 1, SlowStart: 1600 * time.Millisecond, Apply: func(v View) {
		mu.Lock()
		views = append(views, v)
		mu.Unlock()
	}})
	s.Report(Check{Status: CheckL4CON})
	_, after := s.Report(Check{Status: CheckL4OK})
	if after.Op != Running || after.StateOp() != 1 || after.Throttle != 1 {
		t.Fatalf("back up: op %d state op %d throttle %d, want UP, STARTING, 1/16", after.Op, after.StateOp(), after.Throttle)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		cur := s.Load()
		if cur.WarmStart.IsZero() {
			if cur.Throttle != 0 || cur.StateOp() != Running {
				t.Fatalf("after the ramp: %+v", cur)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ramp never ended")
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	// DOWN, then 1/16, one step in between, then full.
	if len(views) < 4 {
		t.Fatalf("views %+v", views)
	}
	last := 0
	for _, v := range views[1 : len(views)-1] {
		if v.Weight != 10 || v.Throttle <= last || v.Throttle >= 16 {
			t.Fatalf("ramp %+v is not increasing below full weight", views)
		}
		last = v.Throttle
	}
	if v := views[len(views)-1]; v != (View{Usable: true, Weight: 10}) {
		t.Fatalf("last view %+v, want full weight", v)
	}
	// Leaving maintenance ramps up as well; the first start does not.
	if New(Config{Weight: 3, SlowStart: time.Minute}).Load().Throttle != 0 {
		t.Fatal("a server starting with the process is throttled")
	}
	m := New(Config{Weight: 3, SlowStart: time.Minute})
	m.SetAdmin(Maint)
	if _, a := m.SetAdmin(Ready); a.Throttle != 1 {
		t.Fatalf("leaving maintenance: throttle %d, want 1", a.Throttle)
	}
}
