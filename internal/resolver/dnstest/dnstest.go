// Package dnstest is a DNS server for tests: it listens on 127.0.0.1 at
// one random port over UDP and TCP (github.com/miekg/dns's server) and
// answers from a zone the test changes while it runs, including answers
// no good nameserver sends (truncated, malformed, pointing at 0.0.0.0).
package dnstest

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// SRV is one SRV record of an Entry; Addr, when set, is sent in the
// additional section for Target.
type SRV struct {
	Target             string
	Port, Weight, Prio uint16
	Addr               string
}

// Entry is how the server answers one name.
type Entry struct {
	Rcode int // dns.RcodeSuccess (0) unless set
	A     []string
	AAAA  []string
	SRV   []SRV
	CNAME string // answered before the A/AAAA records, owned by the name
	// Truncate sets the TC bit.
	Truncate bool
	// Raw, when set, is sent instead of an answer: the first two bytes
	// are replaced by the query's ID when it is long enough.
	Raw []byte
	// Drop sends nothing (the client times out).
	Drop bool
	TTL  uint32
}

// Server is a running test DNS server.
type Server struct {
	Addr    string // 127.0.0.1:port, UDP and TCP
	mu      sync.Mutex
	zone    map[string]Entry
	queries atomic.Int64
	udp     *dns.Server
	tcp     *dns.Server
}

// Start serves until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{zone: map[string]Entry{}}
	var pc net.PacketConn
	var l net.Listener
	var err error
	// The UDP and TCP ports must match; a port taken on one side is
	// tried again, a bounded number of times.
	for i := 0; i < 20; i++ {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("dnstest: no port free on UDP and TCP: %v", err)
	}
	s.Addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: l, Handler: h}
	started := make(chan struct{}, 2)
	s.udp.NotifyStartedFunc = func() { started <- struct{}{} }
	s.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go s.udp.ActivateAndServe()
	go s.tcp.ActivateAndServe()
	for i := 0; i < 2; i++ {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("dnstest: server did not start")
		}
	}
	t.Cleanup(func() {
		s.udp.Shutdown()
		s.tcp.Shutdown()
	})
	return s
}

// Set makes the server answer name (without the final dot) with e.
func (s *Server) Set(name string, e Entry) {
	s.mu.Lock()
	s.zone[strings.ToLower(dns.Fqdn(name))] = e
	s.mu.Unlock()
}

// Queries is how many queries the server received.
func (s *Server) Queries() int64 { return s.queries.Load() }

func (s *Server) serve(w dns.ResponseWriter, q *dns.Msg) {
	s.queries.Add(1)
	if len(q.Question) != 1 {
		return
	}
	qn := strings.ToLower(q.Question[0].Name)
	s.mu.Lock()
	e, ok := s.zone[qn]
	s.mu.Unlock()
	if e.Drop {
		return
	}
	if e.Raw != nil {
		b := append([]byte(nil), e.Raw...)
		if len(b) >= 2 {
			b[0], b[1] = byte(q.Id>>8), byte(q.Id)
		}
		w.Write(b)
		return
	}
	m := new(dns.Msg)
	m.SetReply(q)
	m.Truncated = e.Truncate
	if !ok {
		m.Rcode = dns.RcodeNameError
		w.WriteMsg(m)
		return
	}
	m.Rcode = e.Rcode
	ttl := e.TTL
	if ttl == 0 {
		ttl = 1
	}
	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	owner := q.Question[0].Name
	if e.CNAME != "" {
		m.Answer = append(m.Answer, &dns.CNAME{Hdr: hdr(owner, dns.TypeCNAME), Target: dns.Fqdn(e.CNAME)})
		owner = dns.Fqdn(e.CNAME)
	}
	switch q.Question[0].Qtype {
	case dns.TypeA:
		for _, a := range e.A {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr(owner, dns.TypeA), A: net.ParseIP(a)})
		}
	case dns.TypeAAAA:
		for _, a := range e.AAAA {
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(owner, dns.TypeAAAA), AAAA: net.ParseIP(a)})
		}
	case dns.TypeSRV:
		for _, r := range e.SRV {
			m.Answer = append(m.Answer, &dns.SRV{Hdr: hdr(owner, dns.TypeSRV), Target: dns.Fqdn(r.Target),
				Port: r.Port, Weight: r.Weight, Priority: r.Prio})
			if r.Addr != "" {
				ip := net.ParseIP(r.Addr)
				if ip.To4() != nil {
					m.Extra = append(m.Extra, &dns.A{Hdr: hdr(dns.Fqdn(r.Target), dns.TypeA), A: ip})
				} else {
					m.Extra = append(m.Extra, &dns.AAAA{Hdr: hdr(dns.Fqdn(r.Target), dns.TypeAAAA), AAAA: ip})
				}
			}
		}
	}
	w.WriteMsg(m)
}
