package srvstate

import (
	"net/netip"
	"sync"
	"testing"
)

var (
	ok   = Check{Status: CheckL7OK, Code: 200}
	fail = Check{Status: CheckL7STS, Code: 503}
)

// recorder keeps the views pushed to the balancer.
type recorder struct {
	mu    sync.Mutex
	views []View
}

func (r *recorder) apply(v View) {
	r.mu.Lock()
	r.views = append(r.views, v)
	r.mu.Unlock()
}

func (r *recorder) last(t *testing.T) View {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.views) == 0 {
		t.Fatal("no view pushed")
	}
	return r.views[len(r.views)-1]
}

// Maintenance is never undone by a check: a DOWN/UP flap reported while
// in maintenance leaves the server out of the balancer, in maintenance,
// with the last check result recorded.
func TestMaintSurvivesCheckFlap(t *testing.T) {
	for _, rise := range []int{1, 2} {
		var rec recorder
		s := New(Config{Weight: 3, Checked: true, Rise: rise, Fall: 2, Apply: rec.apply})
		s.SetAdmin(Maint)
		for _, c := range []Check{fail, fail, ok, ok, ok, ok} {
			_, after := s.Report(c)
			if v := after.View(); v.Usable || v.Weight != 0 {
				t.Fatalf("rise %d: a check result put the server in maintenance back in the balancer: %+v", rise, v)
			}
		}
		cur := s.Load()
		if !cur.Admin.Maint() || cur.Op != Stopped || cur.Status() != "MAINT" || cur.Check != ok {
			t.Fatalf("rise %d: after the flap %+v, status %q", rise, cur, cur.Status())
		}
		if v := rec.last(t); v.Usable {
			t.Fatalf("rise %d: balancer view %+v", rise, v)
		}
	}
}

// Leaving maintenance brings a checked server UP with a health of rise:
// one failed check takes it DOWN again.
func TestLeaveMaint(t *testing.T) {
	var rec recorder
	s := New(Config{Weight: 2, Checked: true, Rise: 3, Fall: 4, Disabled: true, Apply: rec.apply})
	if cur := s.Load(); cur.Admin != AdminFMaint|AdminCMaint || cur.Op != Stopped || cur.View().Usable {
		t.Fatalf("disabled server starts %+v", cur)
	}
	if _, after := s.SetAdmin(Maint); after.Admin != AdminFMaint|AdminCMaint {
		t.Fatalf("maint on a disabled server: %#x", after.Admin)
	}
	_, after := s.SetAdmin(Ready)
	if after.Op != Running || after.Health != 3 || after.Admin != 0 || rec.last(t) != (View{Usable: true, Weight: 2}) {
		t.Fatalf("after ready %+v, view %+v", after, rec.last(t))
	}
	select {
	case <-s.Wake():
	default:
		t.Fatal("leaving maintenance did not wake the checker")
	}
	if _, after := s.Report(fail); after.Op != Stopped {
		t.Fatalf("one failure after maintenance: %+v", after)
	}
	// An unchecked server is simply UP again.
	u := New(Config{Weight: 1, Disabled: true})
	if _, after := u.SetAdmin(Ready); after.Op != Running || after.Status() != "no check" {
		t.Fatalf("unchecked server after ready: %+v %q", after, after.Status())
	}
}

// Drain keeps the user weight ("get weight", uweight) and shows weight 0;
// the balancer keeps the server for persistent traffic only.
func TestDrain(t *testing.T) {
	var rec recorder
	s := New(Config{Weight: 5, Checked: true, Rise: 2, Fall: 3, Apply: rec.apply})
	s.Report(ok)
	_, after := s.SetAdmin(Drain)
	if after.Status() != "DRAIN" || after.EffectiveWeight() != 0 || after.Weight != 5 || rec.last(t) != (View{Usable: true, Weight: 0}) {
		t.Fatalf("drain: %q %+v view %+v", after.Status(), after, rec.last(t))
	}
	if _, after = s.Report(fail); after.Status() != "DRAIN 2/3" {
		t.Fatalf("draining and going down: %q", after.Status())
	}
	_, after = s.SetAdmin(Maint)
	if after.Admin != AdminFMaint {
		t.Fatalf("maint replaces drain: %v", after.Admin)
	}
	s.SetAdmin(Ready)
	if cur := s.Load(); cur.Admin != 0 || rec.last(t) != (View{Usable: true, Weight: 5}) {
		t.Fatalf("ready: %+v view %+v", cur, rec.last(t))
	}
	s.SetWeight(300)
	if cur := s.Load(); cur.Weight != 256 || cur.InitialWeight != 5 {
		t.Fatalf("weight clamp: %+v", cur)
	}
}

// L7OKC (disable-on-404) makes the server NOLB: up, out of the rotation.
func TestNoLB(t *testing.T) {
	s := New(Config{Weight: 1, Checked: true, Rise: 2, Fall: 3})
	_, after := s.Report(Check{Status: CheckL7OKC, Code: 404})
	if after.Op != Stopping || after.Status() != "NOLB" || after.View() != (View{Usable: true, Weight: 0}) {
		t.Fatalf("L7OKC: %+v %q", after, after.Status())
	}
	if _, after = s.Report(ok); after.Op != Running || after.Status() != "UP" {
		t.Fatalf("L7OK after NOLB: %q", after.Status())
	}
}

// Concurrent writers (runtime API connections, checks) are serialized and
// the balancer ends with the view of the last write.
func TestConcurrentWriters(t *testing.T) {
	var rec recorder
	s := New(Config{Weight: 1, Checked: true, Rise: 1, Fall: 1, Apply: rec.apply})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				s.SetAdmin(AdminState((g + i) % 3))
				s.Report([]Check{ok, fail}[i%2])
				s.SetWeight(i % 4)
				cur := s.Load()
				_ = cur.Status()
			}
		}(g)
	}
	wg.Wait()
	cur := s.Load()
	if len(rec.views) > 0 && rec.last(t) != cur.View() {
		t.Fatalf("balancer view %+v, state %+v", rec.last(t), cur.View())
	}
}

func TestCheckStatusNames(t *testing.T) {
	for st, want := range map[CheckStatus][2]string{
		CheckIni: {"INI", "Initializing"}, CheckL4OK: {"L4OK", "Layer4 check passed"},
		CheckL4CON: {"L4CON", "Layer4 connection problem"}, CheckL7STS: {"L7STS", "Layer7 wrong status"},
		CheckL6RSP: {"L6RSP", "Layer6 invalid response"}, CheckSockErr: {"SOCKERR", "Socket error"},
	} {
		if st.String() != want[0] || st.Desc() != want[1] {
			t.Errorf("%d: %q %q, want %q", st, st.String(), st.Desc(), want)
		}
	}
	if !CheckL7STS.HasCode() || CheckL4CON.HasCode() || CheckL4CON.Result() != ResultFailed || CheckL6OK.Result() != ResultPassed {
		t.Error("status classes wrong")
	}
}

// Passive checks count consecutive errors of real traffic; at the limit
// the on-error mode acts, and a success starts the count over.
func TestObserve(t *testing.T) {
	for _, tc := range []struct {
		mode     string
		outcomes string // e error, o success
		want     string // status after the last outcome
	}{
		{"mark-down", "ee", "UP"},
		{"mark-down", "eee", "DOWN"},
		{"mark-down", "eeoee", "UP"},
		{"fail-check", "eee", "UP 2/3"},
		{"fail-check", "eeeeeeeee", "DOWN"},
		{"sudden-death", "eee", "UP 1/3"},
		{"fastinter", "eeeeeeeee", "UP"},
	} {
		s := New(Config{Weight: 1, Checked: true, Rise: 2, Fall: 3})
		s.Report(Check{Status: CheckL7OK}) // full health
		tripped := 0
		for _, o := range tc.outcomes {
			if _, _, tr := s.Observe(o == 'o', 3, tc.mode); tr {
				tripped++
			}
		}
		cur := s.Load()
		if cur.Status() != tc.want {
			t.Fatalf("%s after %q: %q, want %q", tc.mode, tc.outcomes, cur.Status(), tc.want)
		}
		if tripped > 0 && tc.mode != "fastinter" && cur.Check.Status != CheckHANA {
			t.Fatalf("%s: last check %v, want HANA", tc.mode, cur.Check.Status)
		}
	}
}

// Maintenance for resolution (RMAINT) is its own bit: an operator's
// "ready" does not clear it, leaving it brings a server back only when no
// other maintenance remains, and a server that starts unresolved is in it.
func TestResolutionMaint(t *testing.T) {
	var rec recorder
	s := New(Config{Weight: 2, Apply: rec.apply, FQDN: "app.test", Unresolved: true})
	cur := s.Load()
	if cur.Admin != AdminRMaint || cur.Op != Stopped || cur.Status() != "MAINT (resolution)" || cur.Addr.IsValid() {
		t.Fatalf("unresolved start: %+v %q", cur, cur.Status())
	}
	s.SetAdmin(Ready)
	if cur := s.Load(); cur.Admin != AdminRMaint || cur.View().Usable {
		t.Fatalf("ready cleared the resolution maintenance: %+v", cur)
	}
	a := netip.MustParseAddrPort("127.0.0.2:80")
	s.SetAddr(a)
	_, after := s.SetResolution("")
	if after.Admin != 0 || after.Op != Running || after.Addr != a || !after.View().Usable || rec.last(t).Weight != 2 {
		t.Fatalf("resolved: %+v", after)
	}
	s.SetAdmin(Maint)
	_, after = s.SetResolution("DNS NX status")
	if after.Admin != AdminFMaint|AdminRMaint || after.MaintCause != "DNS NX status" || after.Status() != "MAINT (resolution)" {
		t.Fatalf("both maintenances: %+v %q", after, after.Status())
	}
	_, after = s.SetResolution("")
	if !after.Admin.Maint() || after.Op != Stopped || after.Status() != "MAINT" {
		t.Fatalf("forced maintenance must remain: %+v", after)
	}
	_, after = s.SetAdmin(Ready)
	if after.Admin != 0 || after.Op != Running {
		t.Fatalf("ready: %+v", after)
	}
	// A zero port keeps the one the server has (an A record moves the
	// address, not the port).
	_, after = s.SetAddr(netip.MustParseAddrPort("127.0.0.3:0"))
	if after.Addr != netip.MustParseAddrPort("127.0.0.3:80") || s.Addr() != after.Addr {
		t.Fatalf("address: %s", after.Addr)
	}
}

// The info of a check goes into log lines escaped as HAProxy 2.6.12 logs
// it (seen with on-error "%[res.payload(0,0),cut_crlf]" and a banner
// holding these bytes): control and non-ASCII bytes, '"', '<', '>' as <XX>.
func TestCheckDescEscapesInfo(t *testing.T) {
	c := Check{Status: CheckL7RSP, Info: "A<b>\"c\"\td\x01e\xe9f#g%h\\i[a]{b}|'c`&;~^\x7f!$*()=+,-./:?@_"}
	want := `Layer7 invalid response, info: "A<3C>b<3E><22>c<22><09>d<01>e<E9>f#g%h\i[a]{b}|'c` + "`" + `&;~^<7F>!$*()=+,-./:?@_"`
	if got := c.Desc(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
