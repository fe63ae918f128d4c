package rules

import (
	"net/netip"
	"strconv"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/model"
	"bulwark/internal/units"
)

// compileSetAddr compiles set-src, set-dst, set-src-port and set-dst-port
// (CM 4.2): the expression gives the new address or port.
func compileSetAddr(c *compiler, r *model.Rule) action {
	if len(r.Args) != 1 {
		c.errf(r.Pos, r, "expects exactly 1 sample expression")
		return nil
	}
	x, err := c.set.Expr(r.Args[0].Text)
	if err != nil {
		c.errf(r.Args[0].Pos, r, "%v", err)
		return nil
	}
	a := &setAddr{x: x}
	switch r.Action {
	case "set-dst", "set-dst-port":
		a.dst = true
	}
	a.port = r.Action == "set-src-port" || r.Action == "set-dst-port"
	return a
}

type setAddr struct {
	x    *acl.Expr
	dst  bool
	port bool
}

// run sets the address and keeps the port, or sets the port and keeps the
// address. A sample that is not an address (or a port) changes nothing,
// as in HAProxy.
func (a *setAddr) run(x *Exec, r *rule, res *Result) bool {
	s, ok := a.x.Sample(x.E)
	if !ok {
		return false
	}
	cur := x.T.Src()
	if a.dst {
		cur = x.T.Dst()
	}
	if a.port {
		var p int64
		switch s.Kind {
		case acl.KindInt, acl.KindBool:
			p = s.I
		case acl.KindStr, acl.KindBin:
			n, err := strconv.ParseInt(string(s.B), 10, 64)
			if err != nil {
				return false
			}
			p = n
		default:
			return false
		}
		if p < 0 || p > 65535 {
			return false
		}
		x.T.SetAddr(a.dst, netip.AddrPortFrom(cur.Addr(), uint16(p)))
		return false
	}
	var ip netip.Addr
	switch s.Kind {
	case acl.KindIP:
		ip = s.IP
	case acl.KindStr, acl.KindBin:
		v, err := netip.ParseAddr(string(s.B))
		if err != nil {
			return false
		}
		ip = v
	default:
		return false
	}
	x.T.SetAddr(a.dst, netip.AddrPortFrom(ip.Unmap(), cur.Port()))
	return false
}

// compileSetMethod compiles "set-method <fmt>".
func compileSetMethod(c *compiler, r *model.Rule) action {
	if len(r.Args) != 1 {
		c.errf(r.Pos, r, "expects exactly 1 argument")
		return nil
	}
	f := c.format(r, r.Args[0])
	if f == nil {
		return nil
	}
	return &setMethod{f: f}
}

type setMethod struct{ f *acl.Format }

// run replaces the method; a value that is not a token (RFC 9110 §9.1)
// is a failed rewrite.
func (a *setMethod) run(x *Exec, r *rule, res *Result) bool {
	v := x.render(a.f)
	if !validToken(string(v)) {
		return x.fail(res, false)
	}
	x.T.SetMethod(v)
	return false
}

// compileSetTimeout compiles "set-timeout server|tunnel <timeout>|<expr>"
// (CM 4.2): the stream's server or tunnel timeout, in milliseconds for
// an expression.
func compileSetTimeout(c *compiler, r *model.Rule) action {
	a := r.Args
	if len(a) != 2 || a[0].Text != "server" && a[0].Text != "tunnel" {
		c.errf(r.Pos, r, "expects 'server' or 'tunnel' followed by a timeout or an expression")
		return nil
	}
	if c.p.Cap&model.CapBackend == 0 {
		c.errf(r.Pos, r, "is only available for proxies with backend capability")
		return nil
	}
	st := &setTimeout{tunnel: a[0].Text == "tunnel"}
	if d, err := units.ParseTime(a[1].Text); err == nil {
		if d <= 0 {
			c.errf(a[1].Pos, r, "timeout must be non-null")
			return nil
		}
		st.d = d
		return st
	}
	x, err := c.set.Expr(a[1].Text)
	if err != nil {
		c.errf(a[1].Pos, r, "%v", err)
		return nil
	}
	st.x = x
	return st
}

type setTimeout struct {
	tunnel bool
	d      time.Duration
	x      *acl.Expr
}

func (a *setTimeout) run(x *Exec, r *rule, res *Result) bool {
	d := a.d
	if a.x != nil {
		s, ok := a.x.Sample(x.E)
		if !ok {
			return false
		}
		ms := s.I
		if s.Kind == acl.KindStr || s.Kind == acl.KindBin {
			n, err := strconv.ParseInt(string(s.B), 10, 64)
			if err != nil {
				return false
			}
			ms = n
		} else if s.Kind != acl.KindInt {
			return false
		}
		if ms <= 0 {
			return false
		}
		d = time.Duration(ms) * time.Millisecond
	}
	x.T.SetTimeout(a.tunnel, d)
	return false
}

// compileWaitForBody compiles "wait-for-body time <time> [at-least <bytes>]".
func compileWaitForBody(c *compiler, r *model.Rule) action {
	a := r.Args
	w := &waitBody{}
	for i := 0; i < len(a); i++ {
		if i+1 >= len(a) {
			c.errf(a[i].Pos, r, "'%s' expects a value", a[i].Text)
			return nil
		}
		switch a[i].Text {
		case "time":
			d, err := units.ParseTime(a[i+1].Text)
			if err != nil || d <= 0 {
				c.errf(a[i+1].Pos, r, "invalid time '%s'", a[i+1].Text)
				return nil
			}
			w.d = d
		case "at-least":
			n, err := units.ParseSize(a[i+1].Text)
			if err != nil {
				c.errf(a[i+1].Pos, r, "invalid size '%s'", a[i+1].Text)
				return nil
			}
			w.atLeast = int64(n)
		default:
			c.errf(a[i].Pos, r, "expects 'time' or 'at-least', found '%s'", a[i].Text)
			return nil
		}
		i++
	}
	if w.d == 0 {
		c.errf(r.Pos, r, "'time' is mandatory")
		return nil
	}
	return w
}

type waitBody struct {
	d       time.Duration
	atLeast int64
}

// run answers 408 (504 on a response) when the time ran out first, as
// HAProxy does.
func (a *waitBody) run(x *Exec, r *rule, res *Result) bool {
	if x.T.WaitBody(a.d, a.atLeast) {
		return false
	}
	res.Verdict, res.Status, res.Errorfile = Deny, 408, true
	if x.E.Response {
		res.Status = 504
	}
	return true
}
