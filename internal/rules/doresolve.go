package rules

import (
	"context"
	"net/netip"
	"strings"

	"bulwark/internal/acl"
	"bulwark/internal/model"
)

// Resolver answers "do-resolve" with the running "resolvers" sections.
type Resolver interface {
	// Lookup resolves name in the section called resolvers, preferring
	// family ("ipv4", "ipv6" or ""); false on any failure.
	Lookup(ctx context.Context, resolvers, name, family string) (netip.Addr, bool)
}

// doResolve is "do-resolve(<var>,<resolvers>[,ipv4|ipv6]) <expr>": the
// session waits for the resolution of the expression's string and the
// variable gets the address; on any failure the variable is not set.
type doResolve struct {
	name, resolvers, family string
	x                       *acl.Expr
}

func compileDoResolve(c *compiler, r *model.Rule) action {
	usage := func() action {
		c.ds.Alertf(r.Pos, "'%s %s' : Can't parse '%s(%s)'. Expects 'do-resolve(<varname>,<resolvers>[,<options>]) <expr>'. Available options are 'ipv4' and 'ipv6'",
			r.Keyword, r.Action, r.Action, r.ActionArg)
		return nil
	}
	parts := strings.Split(r.ActionArg, ",")
	if len(parts) < 2 || len(parts) > 3 || parts[1] == "" {
		return usage()
	}
	a := &doResolve{name: parts[0], resolvers: parts[1]}
	if len(parts) == 3 {
		if parts[2] != "ipv4" && parts[2] != "ipv6" {
			return usage()
		}
		a.family = parts[2]
	}
	if err := checkVar(a.name); err != nil {
		c.errf(r.Pos, r, "%v", err)
		return nil
	}
	if c.opt.Resolvers != nil && !c.opt.Resolvers(a.resolvers) {
		c.errf(r.Pos, r, "Can't find resolvers section '%s' for do-resolve action", a.resolvers)
		return nil
	}
	if len(r.Args) != 1 {
		c.errf(r.Pos, r, "expects exactly 1 sample expression")
		return nil
	}
	x, err := c.set.Expr(r.Args[0].Text)
	if err != nil {
		c.errf(r.Args[0].Pos, r, "%v", err)
		return nil
	}
	a.x = x
	return a
}

func (a *doResolve) run(x *Exec, r *rule, res *Result) bool {
	if x.DNS == nil {
		return false
	}
	s, ok := a.x.Sample(x.E)
	if !ok || len(s.B) == 0 || len(s.B) > 253 {
		return false
	}
	name := string(s.B)
	ctx := x.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	ip, ok := x.DNS.Lookup(ctx, a.resolvers, name, a.family)
	if ok {
		x.T.SetVar(a.name, acl.Sample{Kind: acl.KindIP, IP: ip})
	}
	return false
}
