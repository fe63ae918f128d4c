// Package balance implements HAProxy 2.6's load-balancing algorithms
// (CM 4.2 "balance" and "hash-type") behind one small interface.
//
// The proxy owns the servers: it creates one *Server per "server" line;
// its weight and usability are a projection of the server's
// srvstate.Server (health checks, runtime API), written only from there,
// followed by Balancer.Update. The balancer only reads that state
// and counts in-flight requests: Pick takes a slot on the chosen server,
// Release gives it back.
package balance

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
)

// Weight limits and scale (CM 5.2 "weight"; HAProxy BE_WEIGHT_SCALE).
const (
	MaxWeight   = 256
	WeightScale = 16
	maxEWeight  = MaxWeight * WeightScale // SRV_EWGHT_MAX
)

// MaxRRServers is roundrobin's design limit on active servers (CM 4.2).
const MaxRRServers = 4095

// Server is the balancer's view of one server. The proxy owns it; its
// setters are safe to call from any goroutine but take effect in the
// balancer only after Balancer.Update.
type Server struct {
	// ID is HAProxy's numeric server id ("id" keyword, else the position
	// in the backend starting at 1). It orders "first" and places the
	// consistent-hash points, so equal ids give equal mappings across
	// load balancers. 0 means "position + 1".
	ID int
	// Backup marks a "backup" server.
	Backup bool

	weight   atomic.Int32
	throttle atomic.Int32 // slowstart: 1..WeightScale of the weight, 0 = full
	usable   atomic.Bool
	maxConn  atomic.Int32
	inflight atomic.Int64
}

// NewServer returns a usable server with the given user weight.
func NewServer(id, weight int, backup bool) *Server {
	s := &Server{ID: id, Backup: backup}
	s.SetWeight(weight)
	s.usable.Store(true)
	return s
}

// SetWeight sets the user weight, clamped to 0..256. Weight 0 keeps the
// server out of load balancing (persistent traffic may still reach it).
func (s *Server) SetWeight(w int) { s.weight.Store(int32(min(max(w, 0), MaxWeight))) }

// Weight returns the user weight.
func (s *Server) Weight() int { return int(s.weight.Load()) }

// SetThrottle applies a slowstart ramp: the server balances with n
// sixteenths of its weight (HAProxy's eweight during STARTING); n of 0
// or WeightScale and more is full weight.
func (s *Server) SetThrottle(n int) {
	if n >= WeightScale {
		n = 0
	}
	s.throttle.Store(int32(max(n, 0)))
}

// EWeight is the effective weight in HAProxy's scale: the user weight
// times WeightScale, less during a slowstart ramp (at least 1 for a
// weighted server, so that it starts taking traffic at once).
func (s *Server) EWeight() int {
	w := s.Weight()
	if t := int(s.throttle.Load()); t > 0 && w > 0 {
		return max(w*t, 1)
	}
	return w * WeightScale
}

// SetUsable records whether the server may take traffic at all: not DOWN
// and not in maintenance. A draining or NOLB server stays usable (for
// persistent traffic) with weight 0.
func (s *Server) SetUsable(u bool) { s.usable.Store(u) }

// Usable reports the value last given to SetUsable.
func (s *Server) Usable() bool { return s.usable.Load() }

// SetMaxConn sets "maxconn"; 0 means unlimited.
func (s *Server) SetMaxConn(n int) { s.maxConn.Store(int32(max(n, 0))) }

// MaxConn returns "maxconn" (0 = unlimited).
func (s *Server) MaxConn() int { return int(s.maxConn.Load()) }

// Inflight returns the requests assigned to the server: being served or
// waiting in its own queue (HAProxy's served + queued).
func (s *Server) Inflight() int64 { return s.inflight.Load() }

// Acquire counts a request assigned to the server outside Pick (cookie
// persistence, a request queued on the server after ServerFull). Pair it
// with Balancer.Release.
func (s *Server) Acquire() { s.inflight.Add(1) }

// TryAcquire takes a slot only if the server is below maxconn.
func (s *Server) TryAcquire() bool {
	limit := int64(s.maxConn.Load())
	for {
		n := s.inflight.Load()
		if limit > 0 && n >= limit {
			return false
		}
		if s.inflight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *Server) release() {
	if s.inflight.Add(-1) < 0 {
		// A stray Release must not make the server look idle forever.
		s.inflight.Store(0)
	}
}

func (s *Server) hasRoom() bool {
	limit := int64(s.maxConn.Load())
	return limit == 0 || s.inflight.Load() < limit
}

// Key carries the request data the hashing algorithms need. Fill only what
// Params.Input asks for; the zero Key is right for the other algorithms.
type Key struct {
	// Src is the client address ("balance source"). An invalid address
	// (unix socket client) falls back to round robin.
	Src netip.Addr
	// URI is the request target as received ("balance uri").
	URI string
	// Value is the url_param value (see URLParamValue), the first
	// comma-separated value of the first occurrence of the hdr() header,
	// the rdp-cookie value or the "hash" sample, with HasValue set when it
	// was found. Missing (and, for hdr and rdp-cookie, empty) values fall
	// back to round robin.
	Value    string
	HasValue bool

	avoid int // index+1 of a server to avoid; 0 = none
}

// Avoiding returns k asking Pick to prefer any other server than idx, as
// HAProxy does when redispatching a request after a failed connection.
// The avoided server is still returned when it is the only candidate.
func (k Key) Avoiding(idx int) Key {
	k.avoid = idx + 1
	return k
}

// Status explains a Pick result.
type Status uint8

const (
	// OK: a slot was taken on the returned server; call Release when done.
	OK Status = iota
	// NoServer: no usable server (HAProxy's 503 "no server available").
	NoServer
	// AllFull: usable servers exist but all candidates are at maxconn;
	// queue the request in the backend and Pick again when a slot frees.
	AllFull
	// ServerFull: a hashing algorithm mapped the request to the returned
	// server, which is at maxconn. HAProxy queues on that server to keep
	// the affinity; no slot was taken.
	ServerFull
)

var statusNames = [...]string{OK: "OK", NoServer: "NoServer", AllFull: "AllFull", ServerFull: "ServerFull"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Balancer selects servers. All methods are safe for concurrent use.
type Balancer interface {
	// Pick selects a server index for a new request. With OK the slot is
	// already counted in the server's Inflight.
	Pick(k Key) (idx int, st Status)
	// Release ends a request counted by Pick (or Server.Acquire).
	Release(idx int)
	// Update re-reads the servers' weights and usability. Call it after
	// any SetWeight/SetUsable. Static algorithms follow usability changes
	// but apply weight changes only between 0 and non-zero, like HAProxy.
	Update()
}

// Option tunes New.
type Option func(*options)

type options struct {
	allBackups bool
	seed       uint64
	seeded     bool
}

// AllBackups is "option allbackups": when no active server is usable, use
// every usable backup server instead of only the first one.
func AllBackups() Option { return func(o *options) { o.allBackups = true } }

// Seed fixes the random generator of "random" (tests, reproducible runs).
func Seed(s uint64) Option { return func(o *options) { o.seed, o.seeded = s, true } }

// ErrTooManyServers is returned by New when roundrobin gets more active
// servers than it supports.
var ErrTooManyServers = errors.New("roundrobin supports at most 4095 active servers; use static-rr")

// New builds the balancer for p over servers; index i in Pick results is
// servers[i]. The slice must not change afterwards (a new backend
// definition means a new balancer).
func New(p Params, ht HashType, servers []*Server, opts ...Option) (Balancer, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	for i, s := range servers {
		if s == nil {
			return nil, fmt.Errorf("server #%d is nil", i)
		}
	}
	base := newPool(servers, o.allBackups)
	switch p.Algo {
	case RoundRobin:
		active := 0
		for _, s := range servers {
			if !s.Backup {
				active++
			}
		}
		if active > MaxRRServers {
			return nil, ErrTooManyServers
		}
		return newFWRR(base), nil
	case StaticRR:
		return newMapLB(base, p, ht), nil
	case LeastConn:
		return newLeastConn(base), nil
	case First:
		return newFirst(base), nil
	case Random:
		seed := o.seed
		if !o.seeded {
			seed = rand.Uint64()
		}
		draws := p.Draws
		if draws < 1 {
			draws = 2
		}
		return newRing(base, p, ht, draws, seed), nil
	case Source, URI, URLParam, Header, RDPCookie, HashExpr:
		if ht.Method == Consistent {
			return newRing(base, p, ht, 0, 0), nil
		}
		return newMapLB(base, p, ht), nil
	}
	return nil, fmt.Errorf("unknown algorithm %v", p.Algo)
}

// pool is what every algorithm shares: the servers and the committed view
// of which group (active, first backup, all backups) is in use.
type pool struct {
	srvs       []*Server
	ids        []int
	allBackups bool
	nAct, nBck int // usable (weight > 0) active and backup servers
	fbck       int // first usable backup when !allBackups, else -1
}

func newPool(srvs []*Server, allBackups bool) pool {
	p := pool{srvs: srvs, ids: make([]int, len(srvs)), allBackups: allBackups, fbck: -1}
	for i, s := range srvs {
		p.ids[i] = s.ID
		if p.ids[i] <= 0 {
			p.ids[i] = i + 1
		}
	}
	return p
}

// eligible is HAProxy's srv_willbe_usable: up and with a non-zero weight.
func (p *pool) eligible(i int) bool {
	s := p.srvs[i]
	return s.Usable() && s.Weight() > 0
}

// recount refreshes nAct, nBck and fbck from the servers' current state.
func (p *pool) recount() {
	p.nAct, p.nBck, p.fbck = 0, 0, -1
	for i, s := range p.srvs {
		if !p.eligible(i) {
			continue
		}
		if s.Backup {
			if p.nBck == 0 && !p.allBackups {
				p.fbck = i
			}
			p.nBck++
		} else {
			p.nAct++
		}
	}
}

// useBackup tells which group serves traffic now: active servers when any
// is usable, else backups. only >= 0 means "this single backup only".
func (p *pool) useBackup() (backup bool, only int, none bool) {
	switch {
	case p.nAct > 0:
		return false, -1, false
	case p.fbck >= 0:
		return true, p.fbck, false
	case p.nBck > 0:
		return true, -1, false
	}
	return false, -1, true
}

// take claims a slot on server i for a pick that found room for it.
func (p *pool) take(i int) (int, Status) {
	if p.srvs[i].TryAcquire() {
		return i, OK
	}
	return -1, AllFull
}

func (p *pool) release(i int) {
	if i >= 0 && i < len(p.srvs) {
		p.srvs[i].release()
	}
}

// avoidIdx decodes Key.avoid.
func (k *Key) avoidIdx() int { return k.avoid - 1 }

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
