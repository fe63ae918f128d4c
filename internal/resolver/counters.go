package resolver

import (
	"fmt"
	"io"
	"sync/atomic"
)

// Counters are one nameserver's, as "show resolvers" reports them.
type Counters struct {
	Sent, SndError, Valid, Update, CNAME, CNAMEError, AnyErr, NX, Timeout,
	Refused, Other, Invalid, TooBig, Truncated, Outdated atomic.Int64
}

// counterOf is the counter an answer's classification bumps.
func (c *Counters) count(a Answer, cname bool) {
	switch a.Status {
	case StatusValid:
		c.Valid.Add(1)
		if cname {
			c.CNAME.Add(1)
		}
	case StatusNX:
		c.NX.Add(1)
	case StatusRefused:
		c.Refused.Add(1)
	case StatusTimeout:
		c.Timeout.Add(1)
	default:
		switch a.counter {
		case "truncated":
			c.Truncated.Add(1)
		case "invalid":
			c.Invalid.Add(1)
		case "any_err":
			c.AnyErr.Add(1)
		default:
			c.Other.Add(1)
		}
	}
}

// Updated counts an address change a nameserver's answer caused; from is
// Answer.From ("<resolvers>/<nameserver>").
func (s *Section) Updated(from string) {
	for i, ns := range s.cfg.Nameservers {
		if s.cfg.Name+"/"+ns.Name == from {
			s.counters[i].Update.Add(1)
		}
	}
}

// WriteCounters writes the section as "show resolvers" does.
func (s *Section) WriteCounters(w io.Writer) {
	fmt.Fprintf(w, "Resolvers section %s\n", s.cfg.Name)
	for i, ns := range s.cfg.Nameservers {
		c := &s.counters[i]
		fmt.Fprintf(w, " nameserver %s:\n", ns.Name)
		for _, f := range []struct {
			name string
			v    *atomic.Int64
		}{{"sent", &c.Sent}, {"snd_error", &c.SndError}, {"valid", &c.Valid}, {"update", &c.Update},
			{"cname", &c.CNAME}, {"cname_error", &c.CNAMEError}, {"any_err", &c.AnyErr}, {"nx", &c.NX},
			{"timeout", &c.Timeout}, {"refused", &c.Refused}, {"other", &c.Other}, {"invalid", &c.Invalid},
			{"too_big", &c.TooBig}, {"truncated", &c.Truncated}, {"outdated", &c.Outdated}} {
			fmt.Fprintf(w, "  %-12s %d\n", f.name+":", f.v.Load())
		}
	}
}
