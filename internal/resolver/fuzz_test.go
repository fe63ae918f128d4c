package resolver

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// FuzzClassify feeds arbitrary bytes, as a nameserver could send them,
// through the response path: unpacking (miekg/dns) then Classify. Nothing
// may panic, and a valid answer only ever holds usable records.
func FuzzClassify(f *testing.F) {
	add := func(m *dns.Msg) {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(m.Question[0].Qtype))
	}
	q := new(dns.Msg)
	q.SetQuestion("app.test.", dns.TypeA)
	r := new(dns.Msg)
	r.SetReply(q)
	r.Answer = append(r.Answer,
		&dns.CNAME{Hdr: dns.RR_Header{Name: "app.test.", Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 1}, Target: "b.test."},
		&dns.A{Hdr: dns.RR_Header{Name: "b.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.ParseIP("127.0.0.2")},
		&dns.A{Hdr: dns.RR_Header{Name: "b.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.ParseIP("0.0.0.0")})
	add(r)
	s := new(dns.Msg)
	s.SetQuestion("_http._tcp.app.test.", dns.TypeSRV)
	sr := new(dns.Msg)
	sr.SetReply(s)
	sr.Answer = append(sr.Answer, &dns.SRV{Hdr: dns.RR_Header{Name: "_http._tcp.app.test.", Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 1},
		Target: "a.app.test.", Port: 80, Weight: 10})
	sr.Extra = append(sr.Extra, &dns.AAAA{Hdr: dns.RR_Header{Name: "a.app.test.", Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: 1}, AAAA: net.ParseIP("::1")})
	add(sr)
	nx := new(dns.Msg)
	nx.SetRcode(q, dns.RcodeNameError)
	add(nx)
	f.Add([]byte{0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, 'b', 'a', 'd'}, uint16(dns.TypeA))
	f.Fuzz(func(t *testing.T, b []byte, qtype uint16) {
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil {
			return
		}
		name := "app.test"
		if len(m.Question) > 0 {
			name = m.Question[0].Name
		}
		a := Classify(m, name, qtype)
		if a.Status == StatusValid {
			if len(a.Records) == 0 {
				t.Fatal("valid answer without records")
			}
			for _, r := range a.Records {
				if r.Addr.IsValid() && (r.Addr.IsUnspecified() || r.Addr.IsMulticast()) {
					t.Fatalf("unusable address kept: %s", r.Addr)
				}
			}
		}
	})
}
