// Package srvstate is the one record of a server's state: administrative
// (ready, drain, maintenance), operational (up, down, stopping, with the
// rise/fall counter of HAProxy 2.6's checks), the last check result and the
// weight. Health checks, the runtime API and the configuration write it;
// the balancer, the stats page, the runtime API and the logs read it.
//
// Writers are serialized by one mutex; every write publishes a new
// immutable Snapshot, so a reader sees the fields of one moment without
// locking, and the balancer's view (Config.Apply) is pushed in the order of
// the writes.
package srvstate

import (
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Admin is HAProxy's administrative state mask ("show servers state"
// srv_admin_state, MG 9.3). Only the bits Bulwark can set are defined.
type Admin uint8

const (
	// AdminFMaint: forced into maintenance ("disable server", "set server
	// ... state maint").
	AdminFMaint Admin = 0x01
	// AdminCMaint: in maintenance because of "disabled" in the
	// configuration.
	AdminCMaint Admin = 0x04
	// AdminFDrain: forced into drain ("set server ... state drain").
	AdminFDrain Admin = 0x08
	// AdminRMaint: in maintenance because DNS resolution gives it no
	// address (HAProxy's RMAINT, "resolution" in the stats).
	AdminRMaint Admin = 0x20
)

// Maint reports a maintenance bit.
func (a Admin) Maint() bool { return a&(AdminFMaint|AdminCMaint|AdminRMaint) != 0 }

// Drain reports the drain bit.
func (a Admin) Drain() bool { return a&AdminFDrain != 0 }

// AdminState is what an operator asks for: the three states of "set server
// ... state".
type AdminState uint8

const (
	Ready AdminState = iota
	Drain
	Maint
)

// ParseAdminState reads "ready", "drain" or "maint".
func ParseAdminState(s string) (AdminState, bool) {
	switch s {
	case "ready":
		return Ready, true
	case "drain":
		return Drain, true
	case "maint":
		return Maint, true
	}
	return 0, false
}

// Op is HAProxy's operational state ("show servers state" srv_op_state).
// Going up and going down are not states of their own: they are Stopped
// or Running with a health counter between the two ends (see Snapshot.Status).
type Op uint8

const (
	Stopped  Op = 0 // DOWN
	Running  Op = 2 // UP
	Stopping Op = 3 // NOLB: up, but takes no new balanced traffic (L7OKC)
)

// Config is what the configuration says about a server.
type Config struct {
	Weight   int  // "weight", the initial weight
	Checked  bool // "check"
	Rise     int  // default 2
	Fall     int  // default 3
	Disabled bool // "disabled": starts in maintenance
	// Addr is the address the server starts with. Unresolved (a name
	// that did not resolve, "init-addr none", an SRV slot) starts it
	// without one, in maintenance for resolution (AdminRMaint).
	Addr       netip.AddrPort
	Unresolved bool
	// FQDN is the name the server resolves, "" for an address.
	FQDN string
	// SlowStart is "slowstart": a server coming back UP takes new
	// traffic with a weight that ramps up over this time.
	SlowStart time.Duration
	// Apply receives the balancer's view whenever it changes, with the
	// writer's lock held, so views arrive in the order of the writes. It
	// must not call back into the Server.
	Apply func(View)
}

// View is what the balancer needs: whether the server may take traffic at
// all (persistent traffic is accepted while draining or NOLB) and the
// weight to balance new traffic with (0 keeps it out of the rotation).
type View struct {
	Usable bool
	Weight int
	// Throttle is the slowstart ramp in sixteenths of Weight (1..15), 0
	// at full weight.
	Throttle int
}

// Check is the outcome of one health check.
type Check struct {
	Status   CheckStatus
	Code     int           // layer 7 code (HTTP status), 0 when none
	Duration time.Duration // time the check took
	Info     string        // HAProxy's last_chk: the error or the response reason
}

// Snapshot is the state at one moment. It is never modified once
// published: take a copy with Server.Load.
type Snapshot struct {
	Admin   Admin
	Op      Op
	Checked bool
	// Health is HAProxy's check counter, 0..Rise+Fall-1: the server is DOWN
	// at 0, comes UP when it reaches Rise (then jumps to the top), and an UP
	// server goes DOWN when it drops below Rise.
	Health, Rise, Fall int
	Check              Check // last check; Status CheckIni before the first
	Weight             int   // user weight ("set weight"), HAProxy's uweight
	InitialWeight      int   // configured weight, HAProxy's iweight
	LastChange         time.Time
	FailedChecks       int64 // HAProxy's chkfail
	DownTransitions    int64 // HAProxy's chkdown
	// Downtime is the time spent DOWN before LastChange (see DownFor).
	Downtime time.Duration
	// AgentDown is an agent's "down" (or "stopped", "fail"): the server
	// is DOWN whatever its health check says until the agent says "up".
	AgentDown bool
	Agent     Check // last agent result, Status 0 without an agent
	// ConsecutiveErrors counts the errors seen in traffic since the last
	// success ("observe"), reset when it reaches the error limit.
	ConsecutiveErrors int
	// Addr is where the server is reached now; DNS resolution changes it
	// at run time. Port 0 means the client's destination port (a server
	// written without one). Invalid while the server has no address.
	Addr netip.AddrPort
	// FQDN is the name the server resolves ("" without one); an SRV
	// record changes it.
	FQDN string
	// MaintCause is why DNS resolution put the server in maintenance
	// ("DNS NX status"), "" otherwise.
	MaintCause string
	// WarmStart is when the slowstart ramp began, zero when not warming;
	// Throttle its progress in sixteenths of the weight (0 when full).
	WarmStart time.Time
	Throttle  int
}

// DownFor is HAProxy's downtime: the time spent DOWN, the current spell
// included.
func (n *Snapshot) DownFor(now time.Time) time.Duration {
	if n.Op == Stopped {
		return n.Downtime + now.Sub(n.LastChange)
	}
	return n.Downtime
}

// Server holds one server's state.
type Server struct {
	slow  time.Duration
	mu    sync.Mutex
	cur   atomic.Pointer[Snapshot]
	apply func(View)
	view  View
	wake  chan struct{}
	// onWake is the checker's way to be woken without a goroutine of its
	// own waiting on wake.
	onWake atomic.Pointer[func()]
}

// New returns the state of a server as it starts: UP unless "disabled"
// (maintenance, DOWN). A checked server starts with a health of exactly
// Rise, as in HAProxy: UP, but DOWN at the first failed check.
func New(c Config) *Server {
	if c.Rise <= 0 {
		c.Rise = 2
	}
	if c.Fall <= 0 {
		c.Fall = 3
	}
	s := &Server{apply: c.Apply, wake: make(chan struct{}, 1), slow: c.SlowStart}
	sn := &Snapshot{Op: Running, Checked: c.Checked, Health: c.Rise, Rise: c.Rise, Fall: c.Fall,
		Weight: c.Weight, InitialWeight: c.Weight, LastChange: time.Now(), Addr: c.Addr, FQDN: c.FQDN}
	// Every server starts "Initializing", checked or not, as "show
	// servers state" shows it (srv_check_status 1).
	sn.Check.Status = CheckIni
	if c.Disabled {
		sn.Admin = AdminFMaint | AdminCMaint
	}
	if c.Unresolved {
		sn.Admin |= AdminRMaint
	}
	if sn.Admin.Maint() {
		sn.Op, sn.Health = Stopped, 0
	}
	s.cur.Store(sn)
	s.view = sn.View()
	return s
}

// Load returns the current state.
func (s *Server) Load() Snapshot { return *s.cur.Load() }

// Addr returns the current address without copying the whole state: the
// dialer reads it for every new connection.
func (s *Server) Addr() netip.AddrPort { return s.cur.Load().Addr }

// Wake is signalled when checks should run at once (the server left
// maintenance). One checker reads it.
func (s *Server) Wake() <-chan struct{} { return s.wake }

// OnWake sets f to be called whenever Wake is signalled; f must not
// block. A checker that keeps the timers of many servers uses it instead
// of a goroutine per server waiting on Wake.
func (s *Server) OnWake(f func()) { s.onWake.Store(&f) }

func (s *Server) signalWake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
	if f := s.onWake.Load(); f != nil {
		(*f)()
	}
}

// update runs f on a copy of the current state under the lock, publishes
// the result and pushes the balancer's view when it changed. It returns
// the states before and after.
func (s *Server) update(f func(*Snapshot)) (before, after Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	n := *old
	f(&n)
	if n.Admin.Maint() != old.Admin.Maint() {
		n.setMaintOp(old.Admin.Maint())
	}
	if n.Op != old.Op {
		now := time.Now()
		if old.Op == Stopped {
			n.Downtime += now.Sub(old.LastChange)
		}
		// A writer that set the time of the change itself (Restore)
		// keeps it.
		if n.LastChange == old.LastChange {
			n.LastChange = now
		}
		if n.Op == Stopped {
			n.DownTransitions++
		}
	}
	s.warm(old, &n)
	s.cur.Store(&n)
	if v := n.View(); v != s.view {
		s.view = v
		if s.apply != nil {
			s.apply(v)
		}
	}
	return *old, n
}

// warm runs the slowstart ramp (CM 5.2 "slowstart"): a server that
// comes back into the rotation after being DOWN or in maintenance starts
// at a sixteenth of its weight and gains a sixteenth of the way each
// slowstart/16, as HAProxy's eweight does; the balancer is pushed the new
// weight at each step (every slowstart/20, at least a second) until the
// ramp ends. Called under the lock.
func (s *Server) warm(old, n *Snapshot) {
	if s.slow <= 0 {
		return
	}
	now := time.Now()
	wasOut := old.Op == Stopped || old.Admin.Maint()
	isIn := n.Op != Stopped && !n.Admin.Maint()
	if wasOut && isIn && n.WarmStart.IsZero() {
		n.WarmStart = now
		step := max(time.Second, s.slow/20)
		var tick func()
		tick = func() {
			_, after := s.update(func(*Snapshot) {})
			if !after.WarmStart.IsZero() {
				time.AfterFunc(step, tick)
			}
		}
		time.AfterFunc(step, tick)
	}
	if !isIn {
		n.WarmStart, n.Throttle = time.Time{}, 0
		return
	}
	if n.WarmStart.IsZero() {
		return
	}
	elapsed := now.Sub(n.WarmStart)
	if elapsed >= s.slow {
		n.WarmStart, n.Throttle = time.Time{}, 0
		return
	}
	// HAProxy: w = (16 * elapsed + slowstart) / slowstart, in sixteenths.
	n.Throttle = int((16*elapsed + s.slow) / s.slow)
}

// SlowStart is the configured ramp.
func (s *Server) SlowStart() time.Duration { return s.slow }

// StateOp is srv_op_state of "show servers state": 1 (STARTING) during a
// slowstart ramp.
func (n *Snapshot) StateOp() Op {
	if !n.WarmStart.IsZero() && n.Op == Running {
		return 1
	}
	return n.Op
}

// SetAdmin applies "set server ... state ready|drain|maint" (and "enable"
// / "disable server"). Entering maintenance takes the server DOWN and
// pauses its checks; leaving it brings a checked server back UP with a
// health of Rise, so the next failed check takes it DOWN again (HAProxy's
// "start OK but check immediately"), and wakes its checker.
func (s *Server) SetAdmin(a AdminState) (before, after Snapshot) {
	before, after = s.update(func(n *Snapshot) {
		// An operator's state never clears what DNS resolution set.
		r := n.Admin & AdminRMaint
		switch a {
		case Ready:
			n.Admin = r
		case Drain:
			n.Admin = AdminFDrain | r
		case Maint:
			n.Admin = AdminFMaint | n.Admin&AdminCMaint | r
		}
	})
	s.wakeIfLeft(before, after)
	return before, after
}

// setMaintOp follows an admin change from old: entering maintenance takes
// the server DOWN, leaving it brings it back (UP with a health of Rise
// unless an agent holds it down).
func (n *Snapshot) setMaintOp(wasMaint bool) {
	switch {
	case !wasMaint && n.Admin.Maint():
		n.Op, n.Health = Stopped, 0
	case wasMaint && !n.Admin.Maint() && !n.AgentDown:
		n.Op, n.Health = Running, n.Rise
	case wasMaint && !n.Admin.Maint():
		n.Health = n.Rise
	}
}

func (s *Server) wakeIfLeft(before, after Snapshot) {
	if before.Admin.Maint() && !after.Admin.Maint() {
		s.signalWake()
	}
}

// SetAddr records the address DNS resolution found (a name's A/AAAA
// record, an SRV record's target and port). A zero port keeps the
// current one.
func (s *Server) SetAddr(a netip.AddrPort) (before, after Snapshot) {
	return s.update(func(n *Snapshot) {
		if a.Port() == 0 && n.Addr.IsValid() {
			a = netip.AddrPortFrom(a.Addr(), n.Addr.Port())
		}
		n.Addr = a
	})
}

// SetFQDN records the name the server resolves (an SRV record's target).
func (s *Server) SetFQDN(name string) (before, after Snapshot) {
	return s.update(func(n *Snapshot) { n.FQDN = name })
}

// SetResolution puts the server in maintenance for resolution (cause
// says why: "DNS NX status", "No IP for server") or takes it out when
// cause is "". Leaving it brings the server back as leaving any
// maintenance does, unless another maintenance remains.
func (s *Server) SetResolution(cause string) (before, after Snapshot) {
	before, after = s.update(func(n *Snapshot) {
		if cause == "" {
			n.Admin &^= AdminRMaint
		} else {
			n.Admin |= AdminRMaint
		}
		n.MaintCause = cause
	})
	s.wakeIfLeft(before, after)
	return before, after
}

// SetHealth forces the operational state of a checked server ("set
// server ... health up|stopping|down", the page's health actions): the
// health counter jumps to the matching end, and the next checks move it
// from there as usual. Unchecked servers and servers in maintenance are
// left alone, as HAProxy does.
func (s *Server) SetHealth(op Op) (before, after Snapshot) {
	return s.update(func(n *Snapshot) {
		if !n.Checked || n.Admin.Maint() {
			return
		}
		n.Op = op
		n.Health = n.Rise + n.Fall - 1
		if op == Stopped {
			n.Health = 0
		}
	})
}

// SetWeight sets the user weight, clamped to 0..256.
func (s *Server) SetWeight(w int) (before, after Snapshot) {
	return s.update(func(n *Snapshot) { n.Weight = min(max(w, 0), 256) })
}

// Report applies the result of a finished check: HAProxy 2.6's rise/fall
// counter. A failure lowers the health (an UP server falling below Rise
// drops to 0 and goes DOWN); a success raises it (reaching Rise jumps to
// the top and goes UP). Starting from a full health that is exactly Fall
// failures to go DOWN, and from DOWN exactly Rise successes to come back.
// In maintenance the result is recorded and nothing else changes: a check
// never undoes maintenance.
func (s *Server) Report(c Check) (before, after Snapshot) {
	return s.update(func(n *Snapshot) {
		n.Check = c
		if n.Admin.Maint() || !n.Checked {
			return
		}
		top := n.Rise + n.Fall - 1
		switch c.Status.Result() {
		case ResultFailed:
			if n.Health > 0 {
				n.FailedChecks++
				n.Health--
				if n.Health < n.Rise {
					n.Health = 0
				}
			}
			if n.Health == 0 {
				n.Op = Stopped
			}
		case ResultPassed, ResultCondPass:
			if n.AgentDown {
				// The agent's "down" has precedence over the check.
				if n.Health < top {
					n.Health++
					if n.Health >= n.Rise {
						n.Health = top
					}
				}
				return
			}
			if n.Health < top {
				n.Health++
				if n.Health >= n.Rise {
					n.Health = top
				}
			}
			if n.Health >= n.Rise {
				n.Op = Running
				if c.Status.Result() == ResultCondPass {
					n.Op = Stopping
				}
			}
		}
	})
}

// ReportAgent applies an agent's result: down takes the server DOWN at
// once, up brings it back when its own check (if any) lets it. Other
// results only record the agent's status: an agent that cannot be
// reached never takes a server down, as in HAProxy.
func (s *Server) ReportAgent(c Check, down, up bool) (before, after Snapshot) {
	return s.update(func(n *Snapshot) {
		n.Agent = c
		if n.Admin.Maint() {
			n.AgentDown = down || (n.AgentDown && !up)
			return
		}
		switch {
		case down:
			n.AgentDown, n.Op = true, Stopped
		case up && n.AgentDown:
			n.AgentDown = false
			if !n.Checked || n.Health >= n.Rise {
				n.Op = Running
			}
		}
	})
}

// Observe records one outcome of real traffic ("observe layer4|layer7"):
// after limit consecutive errors it acts as onError says, as HAProxy's
// health analysis does: "fastinter" only wakes the checker, "fail-check"
// counts a failed check (status HANA), "sudden-death" leaves one failure
// before DOWN and counts one, "mark-down" takes the server DOWN. It
// reports whether the limit was reached.
func (s *Server) Observe(ok bool, limit int, onError string) (before, after Snapshot, tripped bool) {
	if limit <= 0 {
		limit = 10
	}
	before, after = s.update(func(n *Snapshot) {
		if ok {
			n.ConsecutiveErrors = 0
			return
		}
		n.ConsecutiveErrors++
		if n.ConsecutiveErrors < limit {
			return
		}
		tripped = true
		n.ConsecutiveErrors = 0
		if n.Admin.Maint() || !n.Checked || onError == "" || onError == "fastinter" {
			return
		}
		switch onError {
		case "sudden-death":
			if n.Health > n.Rise {
				n.Health = n.Rise + 1
			}
		case "mark-down":
			n.Health = n.Rise
		}
		n.Check = Check{Status: CheckHANA, Info: strconv.Itoa(limit) + " consecutive errors"}
		if n.Health > 0 {
			n.FailedChecks++
			n.Health--
			if n.Health < n.Rise {
				n.Health = 0
			}
		}
		if n.Health == 0 {
			n.Op = Stopped
		}
	})
	if tripped {
		s.signalWake()
	}
	return before, after, tripped
}

// View is the balancer's view of the state: a server in maintenance or
// DOWN takes no traffic; draining or NOLB it keeps persistent traffic but
// gets no new balanced traffic.
func (n *Snapshot) View() View {
	if n.Admin.Maint() || n.Op == Stopped {
		return View{}
	}
	if n.Admin.Drain() || n.Op == Stopping {
		return View{Usable: true}
	}
	return View{Usable: true, Weight: n.Weight, Throttle: n.Throttle}
}

// EffectiveWeight is the weight the stats report: the user weight, 0
// while draining.
func (n *Snapshot) EffectiveWeight() int {
	if n.Admin.Drain() {
		return 0
	}
	return n.Weight
}

// ChecksRunning reports whether checks run now: configured and not paused
// by maintenance. The check columns of the stats are empty otherwise.
func (n *Snapshot) ChecksRunning() bool { return n.Checked && !n.Admin.Maint() }

// Transitional reports a health counter between the two ends: a server
// going down (Running below the top) or going up (Stopped above 0).
func (n *Snapshot) Transitional() bool {
	if !n.ChecksRunning() {
		return false
	}
	if n.Op == Stopped {
		return n.Health > 0
	}
	return n.Health < n.Rise+n.Fall-1
}

// Status is the stats "status" column as HAProxy 2.6 writes it: MAINT,
// DRAIN, NOLB, UP, DOWN, "no check", or with the counter while changing
// state: "UP 2/3" (going down: the failures left before DOWN, of Fall),
// "DOWN 1/2" (going up: the successes so far, of Rise).
func (n *Snapshot) Status() string {
	if n.Admin&AdminRMaint != 0 {
		return "MAINT (resolution)"
	}
	if n.Admin.Maint() {
		return "MAINT"
	}
	var word string
	switch {
	case n.Op == Stopped:
		word = "DOWN"
	case n.Op == Stopping:
		word = "NOLB"
	case n.Admin.Drain():
		word = "DRAIN"
	case !n.Checked:
		return "no check"
	default:
		word = "UP"
	}
	if !n.Transitional() {
		return word
	}
	if n.Op == Stopped {
		return word + " " + strconv.Itoa(n.Health) + "/" + strconv.Itoa(n.Rise)
	}
	return word + " " + strconv.Itoa(n.Health-n.Rise+1) + "/" + strconv.Itoa(n.Fall)
}

// CheckState is "show servers state" srv_check_state: 0x02 configured,
// 0x04 enabled, 0x08 paused by maintenance.
func (n *Snapshot) CheckState() int {
	if !n.Checked {
		return 0
	}
	st := 0x02 | 0x04
	if n.Admin.Maint() {
		st |= 0x08
	}
	return st
}

// String is the word for the admin state: "ready", "drain" or "maint".
func (a Admin) String() string {
	switch {
	case a.Maint():
		return "maint"
	case a.Drain():
		return "drain"
	}
	return "ready"
}

// CheckDesc is the log and stats wording of a check: the description,
// then the code and info when there are any ("Layer7 wrong status, code:
// 503, info: "Service Unavailable"").
func (c Check) Desc() string {
	var b strings.Builder
	b.WriteString(c.Status.Desc())
	if c.Status.HasCode() {
		b.WriteString(", code: ")
		b.WriteString(strconv.Itoa(c.Code))
	}
	if c.Info != "" {
		b.WriteString(`, info: "`)
		appendLogSafe(&b, c.Info)
		b.WriteString(`"`)
	}
	return b.String()
}

// appendLogSafe writes s as HAProxy 2.6 writes a check's info into a log
// line: control and non-ASCII bytes, '"', '<' and '>' as "<XX>" (hex), so
// a peer's bytes (on-error "%[res.payload(0,0)]") cannot end the quoted
// field or the line. The stats show the info as it is.
func appendLogSafe(b *strings.Builder, s string) {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' {
			b.WriteByte('<')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
			b.WriteByte('>')
			continue
		}
		b.WriteByte(c)
	}
}

// SetChecked turns the health check on or off ("enable|disable health"):
// off, the server is unchecked and counts as UP unless it is in
// maintenance or its agent holds it down; on, the checks decide again from
// the next result.
func (s *Server) SetChecked(on bool) (before, after Snapshot) {
	return s.update(func(n *Snapshot) {
		if n.Checked == on {
			return
		}
		n.Checked = on
		if !on && !n.Admin.Maint() && !n.AgentDown {
			n.Op, n.Health = Running, n.Rise
		}
	})
}
