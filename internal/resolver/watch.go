package resolver

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"
)

// Result is what a watcher receives after each resolution of its name.
type Result struct {
	Answer
	// LastValid is when the name last resolved, or when watching began if
	// it never did: the "hold" periods count from it.
	LastValid time.Time
	// At is when the resolution ended.
	At time.Time
	// Cached is true for an earlier answer handed to a new watcher, and
	// for every watcher of a name but the first (the "DNS cache" of
	// HAProxy's logs).
	Cached bool
}

// Resolution is one name resolved every "timeout resolve" for everyone
// watching it: servers with the same name and resolvers share it, as in
// HAProxy. Every delivery comes from its one goroutine, in order.
type Resolution struct {
	sec *Section
	k   key

	mu        sync.Mutex
	subs      map[int]*sub
	next      int
	cancel    context.CancelFunc // nil until started
	kick      chan struct{}
	now       chan struct{} // resolve at once (Trigger)
	lastValid time.Time
	last      *Result
	seen      map[recKey]seenRec // records of valid answers, for "hold obsolete"
}

type sub struct {
	fn      func(Result)
	pending bool // has not received anything yet
}

type recKey struct {
	addr   string
	target string
	port   uint16
}

type seenRec struct {
	rec Record
	at  time.Time
	ord int // first appearance, to keep the answer order stable
}

// Watch calls fn with every resolution of name for qtype (dns.TypeA,
// TypeAAAA, TypeSRV) until the returned stop is called; a new watcher of a
// name already resolved gets the last result first. fn runs on the
// resolution's goroutine and must not call stop of the same name.
func (s *Section) Watch(name string, qtype uint16, fn func(Result)) (stop func()) {
	k := key{strings.ToLower(strings.TrimSuffix(name, ".")), qtype}
	s.mu.Lock()
	r := s.names[k]
	if r == nil {
		r = &Resolution{sec: s, k: k, subs: map[int]*sub{}, kick: make(chan struct{}, 1), now: make(chan struct{}, 1),
			lastValid: time.Now(), seen: map[recKey]seenRec{}}
		s.names[k] = r
	}
	r.mu.Lock()
	id := r.next
	r.next++
	r.subs[id] = &sub{fn: fn, pending: true}
	r.mu.Unlock()
	if s.ctx != nil {
		r.start(s.ctx)
	}
	s.mu.Unlock()
	r.poke()
	return func() { s.unwatch(r, id) }
}

// Trigger resolves a watched name at once instead of at the end of its
// period: HAProxy does so when a server's health check times out, as the
// server may have moved.
func (s *Section) Trigger(name string, qtype uint16) {
	k := key{strings.ToLower(strings.TrimSuffix(name, ".")), qtype}
	s.mu.Lock()
	r := s.names[k]
	s.mu.Unlock()
	if r == nil {
		return
	}
	select {
	case r.now <- struct{}{}:
	default:
	}
}

func (s *Section) unwatch(r *Resolution, id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.mu.Lock()
	delete(r.subs, id)
	empty := len(r.subs) == 0
	cancel := r.cancel
	if empty {
		r.cancel = nil
	}
	r.mu.Unlock()
	if empty {
		if cancel != nil {
			cancel()
		}
		if s.names[r.k] == r {
			delete(s.names, r.k)
		}
	}
}

// start runs the resolution under ctx once; the section's lock is held.
func (r *Resolution) start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil || len(r.subs) == 0 {
		return
	}
	ctx, r.cancel = context.WithCancel(ctx)
	go r.run(ctx)
}

func (r *Resolution) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Resolution) run(ctx context.Context) {
	t := time.NewTimer(0) // the first resolution at once
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			r.deliver(nil)
			continue
		case <-r.now:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		case <-t.C:
		}
		a := r.sec.Query(ctx, r.k.name, r.k.qtype)
		if ctx.Err() != nil {
			return
		}
		res := r.record(a, time.Now())
		r.deliver(&res)
		t.Reset(r.sec.cfg.Resolve)
	}
}

// record folds an answer into the resolution's memory: a valid answer
// moves LastValid; SRV and address records that stopped appearing stay
// "hold obsolete" longer.
func (r *Resolution) record(a Answer, now time.Time) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.Status == StatusValid {
		r.lastValid = now
		in := make(map[recKey]bool, len(a.Records))
		for _, rec := range a.Records {
			k := recKey{rec.Addr.String(), rec.Target, rec.Port}
			in[k] = true
			old, ok := r.seen[k]
			ord := len(r.seen) + len(in)
			if ok {
				ord = old.ord
			}
			r.seen[k] = seenRec{rec: rec, at: now, ord: ord}
		}
		var old []seenRec
		for k, sr := range r.seen {
			if in[k] {
				continue
			}
			if now.Sub(sr.at) > r.sec.cfg.Hold.Obsolete || len(r.seen) > maxRecords {
				delete(r.seen, k)
				continue
			}
			old = append(old, sr)
		}
		sort.Slice(old, func(i, j int) bool { return old[i].ord < old[j].ord })
		keep := append([]Record(nil), a.Records...)
		for _, sr := range old {
			keep = append(keep, sr.rec)
		}
		a.Records = keep
	}
	res := Result{Answer: a, LastValid: r.lastValid, At: now}
	r.last = &res
	return res
}

// maxRecords bounds what a resolution remembers for "hold obsolete".
const maxRecords = 1024

// deliver hands res to every watcher; with nil, the last result to the
// watchers that have had nothing yet.
func (r *Resolution) deliver(res *Result) {
	r.mu.Lock()
	var fns []func(Result)
	send := res
	if res == nil {
		if r.last == nil {
			r.mu.Unlock()
			return
		}
		c := *r.last
		c.Cached = true
		send = &c
	}
	ids := make([]int, 0, len(r.subs))
	for id := range r.subs {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		if s := r.subs[id]; res != nil || s.pending {
			s.pending = false
			fns = append(fns, s.fn)
		}
	}
	r.mu.Unlock()
	// As in HAProxy, the first watcher gets the answer from its
	// nameserver and the others the same answer "from the cache": the
	// logs say "by dns/ns1" once and "by DNS cache" for the rest.
	for i, fn := range fns {
		a := *send
		if i > 0 {
			a.Cached = true
		}
		fn(a)
	}
}
