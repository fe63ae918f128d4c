// Package resolver runs the "resolvers" sections of a configuration
// (CM 5.3): it asks the nameservers for a name's A, AAAA or SRV records as
// HAProxy 2.6 does and keeps names resolved periodically for the servers
// that watch them. The DNS wire format is github.com/miekg/dns's; this
// package only decides what an answer means.
//
// Resolution runs on goroutines of its own, one per watched name: the
// data path only reads the address a server holds (srvstate), it never
// waits for DNS, except "do-resolve", which asks for a name on purpose.
package resolver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"bulwark/internal/model"
)

// Status is a resolution's outcome, in HAProxy's classes: each failure
// class has its "hold" period.
type Status uint8

const (
	StatusNone    Status = iota // not resolved yet
	StatusValid                 // records found
	StatusNX                    // NXDOMAIN
	StatusRefused               // REFUSED
	StatusTimeout               // no nameserver answered in time
	StatusOther                 // anything else: malformed, truncated, no record, SERVFAIL...
)

func (s Status) String() string {
	switch s {
	case StatusValid:
		return "valid"
	case StatusNX:
		return "nx"
	case StatusRefused:
		return "refused"
	case StatusTimeout:
		return "timeout"
	case StatusOther:
		return "other"
	}
	return "none"
}

// Cause is the reason HAProxy gives when the status takes a server to
// maintenance ("Server be/s is going DOWN for maintenance (DNS NX
// status)").
func (s Status) Cause() string {
	switch s {
	case StatusNX:
		return "DNS NX status"
	case StatusRefused:
		return "DNS refused status"
	case StatusTimeout:
		return "DNS timeout status"
	}
	return "unspecified DNS error"
}

// Record is one usable answer record: an address (A, AAAA), or an SRV
// record with the address its additional section gave, if any.
type Record struct {
	Addr netip.Addr
	// SRV fields; Target is "" for A and AAAA records.
	Target                 string
	Port, Weight, Priority uint16
}

// Answer is the outcome of one resolution.
type Answer struct {
	Status  Status
	Records []Record
	// From names the nameserver of a valid answer: "<resolvers>/<nameserver>".
	From string
	// Detail says what was wrong with an invalid answer, for logs and
	// tests ("truncated", "no usable address: 0.0.0.0").
	Detail string
	// counter names the "show resolvers" counter of an invalid answer.
	counter string
}

// Section is one running "resolvers" section.
type Section struct {
	cfg *model.Resolvers
	// exchange sends one query to one nameserver; tests replace it.
	exchange func(ctx context.Context, m *dns.Msg, ns model.Nameserver) (*dns.Msg, error)

	// counters are the nameservers', in Nameservers order.
	counters []Counters

	mu       sync.Mutex
	names    map[key]*Resolution
	ctx      context.Context // set by Start: resolutions run until it ends
	cache    map[key]cached  // do-resolve answers, kept "hold valid"
	inflight map[key]*flight // do-resolve queries under way
	expired  time.Time       // the cache's last expiry scan
}

type key struct {
	name  string
	qtype uint16
}

type cached struct {
	ans Answer
	at  time.Time
}

// New returns the running form of a resolvers section. Nothing is sent
// before Start.
func New(cfg *model.Resolvers) *Section {
	s := &Section{cfg: cfg, names: map[key]*Resolution{}, cache: map[key]cached{}, inflight: map[key]*flight{},
		counters: make([]Counters, len(cfg.Nameservers))}
	s.exchange = s.send
	return s
}

// Name is the section's name.
func (s *Section) Name() string { return s.cfg.Name }

// Config is the section's configuration.
func (s *Section) Config() *model.Resolvers { return s.cfg }

// Start lets the section resolve until ctx ends: names watched before
// start begin now, later ones at once.
func (s *Section) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx = ctx
	for _, r := range s.names {
		r.start(ctx)
	}
}

// send is one exchange with one nameserver over its transport; the
// payload size is announced with EDNS0, as HAProxy does.
func (s *Section) send(ctx context.Context, m *dns.Msg, ns model.Nameserver) (*dns.Msg, error) {
	c := &dns.Client{Net: "udp", UDPSize: uint16(max(s.cfg.PayloadSize, dns.MinMsgSize)), Timeout: s.cfg.Retry}
	if ns.TCP {
		c.Net = "tcp"
	}
	r, _, err := c.ExchangeContext(ctx, m, ns.Addr.String())
	return r, err
}

// Query resolves name once with HAProxy's sequence (CM 5.3.2): the query
// goes to every nameserver at once and the first valid answer wins; when
// all fail (but for timeouts), the other address family is asked at once;
// then the preferred type again, up to "resolve_retries" queries, "timeout
// retry" apart. qtype is dns.TypeA, dns.TypeAAAA or dns.TypeSRV.
func (s *Section) Query(ctx context.Context, name string, qtype uint16) Answer {
	pref, cur := qtype, qtype
	last := Answer{Status: StatusTimeout, Detail: "no nameserver answered"}
	for try := 0; try < s.cfg.Retries; {
		start := time.Now()
		a := s.round(ctx, name, cur)
		if a.Status == StatusValid {
			return a
		}
		if ctx.Err() != nil {
			return last
		}
		// HAProxy keeps the last error; an empty answer of the fallback
		// type must not hide why the preferred type failed.
		if !(cur != pref && a.Detail == noRecord && last.Status == StatusOther) {
			last = a
		}
		if a.Status != StatusTimeout && cur == pref && pref != dns.TypeSRV {
			// The fallback to the other family is not a try of its own.
			cur = otherFamily(pref)
			continue
		}
		cur = pref
		try++
		if try == s.cfg.Retries {
			break
		}
		// A nameserver that fails fast must not make the resolver spin:
		// the next query waits for the end of the retry period.
		if d := s.cfg.Retry - time.Since(start); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return last
			}
		}
	}
	return last
}

const noRecord = "no expected record"

func otherFamily(t uint16) uint16 {
	if t == dns.TypeA {
		return dns.TypeAAAA
	}
	return dns.TypeA
}

// round sends one query to every nameserver and waits up to "timeout
// retry" for the first valid answer. Without one it returns the last
// error received (HAProxy keeps only the last), or a timeout when nobody
// answered.
func (s *Section) round(ctx context.Context, name string, qtype uint16) Answer {
	nss := s.cfg.Nameservers
	if len(nss) == 0 {
		return Answer{Status: StatusTimeout, Detail: "no nameserver"}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Retry)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(uint16(max(s.cfg.PayloadSize, dns.MinMsgSize)), false)
	type reply struct {
		ans Answer
	}
	// Buffered for every nameserver, so a late reply never blocks a
	// goroutine once the round is over.
	ch := make(chan reply, len(nss))
	for i, ns := range nss {
		q := m.Copy()
		q.Id = dns.Id()
		c := &s.counters[i]
		c.Sent.Add(1)
		go func() {
			r, err := s.exchange(ctx, q, ns)
			if err != nil {
				if ctx.Err() != nil || isTimeout(err) {
					c.Timeout.Add(1)
					ch <- reply{Answer{Status: StatusTimeout, Detail: err.Error()}}
					return
				}
				if isNetError(err) {
					// A nameserver that is not there (port unreachable)
					// did not answer: HAProxy sees a timeout too.
					c.SndError.Add(1)
					ch <- reply{Answer{Status: StatusTimeout, Detail: "send error: " + err.Error()}}
					return
				}
				c.Invalid.Add(1)
				ch <- reply{Answer{Status: StatusOther, Detail: "invalid response: " + err.Error()}}
				return
			}
			a := Classify(r, name, qtype)
			a.From = s.cfg.Name + "/" + ns.Name
			c.count(a, hasCNAME(r))
			ch <- reply{a}
		}()
	}
	last := Answer{Status: StatusTimeout, Detail: "no nameserver answered"}
	gotError := false
	for range nss {
		select {
		case r := <-ch:
			if r.ans.Status == StatusValid {
				return r.ans
			}
			if r.ans.Status != StatusTimeout || !gotError {
				last = r.ans
				gotError = gotError || r.ans.Status != StatusTimeout
			}
		case <-ctx.Done():
			return last
		}
	}
	return last
}

type timeouter interface{ Timeout() bool }

// isNetError tells a socket error (ICMP unreachable, connection refused
// over TCP) from an answer that did not unpack.
func isNetError(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}

func hasCNAME(r *dns.Msg) bool {
	for _, rr := range r.Answer {
		if _, ok := rr.(*dns.CNAME); ok {
			return true
		}
	}
	return false
}

func isTimeout(err error) bool {
	t, ok := err.(timeouter)
	return ok && t.Timeout()
}

// Classify reads an answer to the query (name, qtype): the status and the
// usable records. A CNAME chain inside the answer is followed. Addresses
// no server can be reached at (0.0.0.0, ::, multicast, broadcast) are
// dropped: an answer with nothing else is invalid, never a server
// pointing at "any address".
func Classify(r *dns.Msg, name string, qtype uint16) Answer {
	if r == nil {
		return Answer{Status: StatusOther, Detail: "empty response"}
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return Answer{Status: StatusNX, Detail: "NXDOMAIN"}
	case dns.RcodeRefused:
		return Answer{Status: StatusRefused, Detail: "REFUSED"}
	default:
		return Answer{Status: StatusOther, Detail: "rcode " + dns.RcodeToString[r.Rcode], counter: "other"}
	}
	if r.Truncated {
		return Answer{Status: StatusOther, Detail: "truncated", counter: "truncated"}
	}
	if !r.Response {
		return Answer{Status: StatusOther, Detail: "not a response", counter: "invalid"}
	}
	want := dns.Fqdn(name)
	if len(r.Question) != 1 || !strings.EqualFold(r.Question[0].Name, want) || r.Question[0].Qtype != qtype {
		return Answer{Status: StatusOther, Detail: "wrong question in response", counter: "invalid"}
	}
	// Names that stand for the one asked: the name and its CNAME targets,
	// bounded so a loop of CNAMEs ends.
	names := map[string]bool{strings.ToLower(want): true}
	for range 8 {
		grew := false
		for _, rr := range r.Answer {
			if c, ok := rr.(*dns.CNAME); ok && names[strings.ToLower(c.Hdr.Name)] && !names[strings.ToLower(c.Target)] {
				names[strings.ToLower(c.Target)] = true
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	var out []Record
	var dropped []string
	for _, rr := range r.Answer {
		if !names[strings.ToLower(rr.Header().Name)] {
			continue
		}
		switch v := rr.(type) {
		case *dns.A:
			if qtype != dns.TypeA {
				continue
			}
			if ip, ok := usable(v.A); ok {
				out = append(out, Record{Addr: ip})
			} else {
				dropped = append(dropped, v.A.String())
			}
		case *dns.AAAA:
			if qtype != dns.TypeAAAA {
				continue
			}
			if ip, ok := usable(v.AAAA); ok {
				out = append(out, Record{Addr: ip})
			} else {
				dropped = append(dropped, v.AAAA.String())
			}
		case *dns.SRV:
			if qtype != dns.TypeSRV || v.Target == "." || v.Target == "" || v.Port == 0 {
				continue
			}
			out = append(out, Record{Target: strings.TrimSuffix(strings.ToLower(v.Target), "."),
				Port: v.Port, Weight: v.Weight, Priority: v.Priority})
		}
	}
	if qtype == dns.TypeSRV {
		for i := range out {
			out[i].Addr = additional(r.Extra, out[i].Target)
		}
	}
	if len(out) == 0 {
		if len(dropped) > 0 {
			return Answer{Status: StatusOther, Detail: "no usable address: " + strings.Join(dropped, ", "), counter: "invalid"}
		}
		return Answer{Status: StatusOther, Detail: noRecord, counter: "any_err"}
	}
	return Answer{Status: StatusValid, Records: out}
}

// additional finds the address an SRV answer's additional section gives
// for target (HAProxy uses it instead of resolving the target).
func additional(extra []dns.RR, target string) netip.Addr {
	t := dns.Fqdn(target)
	for _, rr := range extra {
		if !strings.EqualFold(rr.Header().Name, t) {
			continue
		}
		var ip []byte
		switch v := rr.(type) {
		case *dns.A:
			ip = v.A
		case *dns.AAAA:
			ip = v.AAAA
		default:
			continue
		}
		if a, ok := usable(ip); ok {
			return a
		}
	}
	return netip.Addr{}
}

func usable(b []byte) (netip.Addr, bool) {
	ip, ok := netip.AddrFromSlice(b)
	if !ok {
		return ip, false
	}
	ip = ip.Unmap()
	if ip.IsUnspecified() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return ip, false
	}
	return ip, true
}

// Lookup is "do-resolve": the first address of name, preferring family
// ("ipv4" or "ipv6", default ipv6 as HAProxy), from an answer at most
// "hold valid" old, resolving when there is none. The caller waits.
func (s *Section) Lookup(ctx context.Context, name, family string) (netip.Addr, bool) {
	qt := uint16(dns.TypeAAAA)
	if family == "ipv4" {
		qt = dns.TypeA
	}
	k := key{strings.ToLower(name), qt}
	s.mu.Lock()
	c, ok := s.cache[k]
	if !ok || time.Since(c.at) > s.cfg.Hold.Valid {
		// Requests asking for the same name at once share one query.
		f := s.inflight[k]
		if f == nil {
			f = &flight{done: make(chan struct{})}
			if len(s.inflight) < maxCache {
				s.inflight[k] = f
			}
			s.mu.Unlock()
			f.c = cached{ans: s.Query(ctx, name, qt), at: time.Now()}
			s.mu.Lock()
			if s.inflight[k] == f {
				delete(s.inflight, k)
			}
			// Only valid answers are kept: a failure is asked again by
			// the next request rather than held for "hold valid".
			if f.c.ans.Status == StatusValid {
				s.store(k, f.c)
			}
			s.mu.Unlock()
			close(f.done)
		} else {
			s.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return netip.Addr{}, false
			}
		}
		c = f.c
	} else {
		s.mu.Unlock()
	}
	if c.ans.Status != StatusValid {
		return netip.Addr{}, false
	}
	best := c.ans.Records[0].Addr
	for _, r := range c.ans.Records {
		if (qt == dns.TypeA) == r.Addr.Is4() {
			return r.Addr, true
		}
	}
	return best, true
}

// maxCache bounds the do-resolve cache: its names come from requests.
const maxCache = 10000

// flight is one do-resolve query others wait for.
type flight struct {
	done chan struct{}
	c    cached // set before done closes
}

// store keeps a valid answer; the lock is held. A full cache drops what
// is older than "hold valid", at most once a second so that a flood of
// new names does not scan it for each; still full, the answer is not
// kept.
func (s *Section) store(k key, c cached) {
	if len(s.cache) >= maxCache && time.Since(s.expired) > time.Second {
		s.expired = time.Now()
		for k, c := range s.cache {
			if time.Since(c.at) > s.cfg.Hold.Valid {
				delete(s.cache, k)
			}
		}
	}
	if len(s.cache) < maxCache {
		s.cache[k] = c
	}
}
