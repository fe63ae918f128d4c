package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"bulwark/internal/acl"
	"bulwark/internal/model"
)

// compileSetGPT0 compiles "sc-set-gpt0(<sc>) <int>|<expr>" (CM 4.2).
func compileSetGPT0(c *compiler, r *model.Rule) action {
	slot := 0
	if r.ActionArg != "" {
		v, err := strconv.Atoi(r.ActionArg)
		if err != nil || v < 0 || v > 2 {
			c.errf(r.Pos, r, "invalid stick counter '%s' (expects 0, 1 or 2)", r.ActionArg)
			return nil
		}
		slot = v
	}
	return c.setGPT(r, slot, 0, true)
}

// compileSetGPT compiles "sc-set-gpt(<idx>,<sc>) <int>|<expr>": element
// idx of the tracked entry's gpt array.
func compileSetGPT(c *compiler, r *model.Rule) action {
	idx, slot, ok := c.elemSlot(r, "gpt")
	if !ok {
		return nil
	}
	return c.setGPT(r, slot, idx, false)
}

// elemSlot parses the "<idx>,<sc-id>" of sc-inc-gpc and sc-set-gpt. An
// index past the table's array makes the action do nothing at run time,
// as in HAProxy, which checks it only then.
func (c *compiler) elemSlot(r *model.Rule, what string) (idx, slot int, ok bool) {
	form := fmt.Sprintf("%s(<%s ID>,<Track ID>)", r.Action, strings.ToUpper(what))
	i, s, found := strings.Cut(r.ActionArg, ",")
	n, err := strconv.ParseInt(i, 10, 64)
	if !found || err != nil {
		c.errf(r.Pos, r, "missing %s ID in '%s(%s)' (expects %s)", what, r.Action, r.ActionArg, form)
		return 0, 0, false
	}
	if n < 0 || n > math.MaxInt32 {
		n = -1
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > 2 {
		c.errf(r.Pos, r, "invalid stick counter '%s' in '%s(%s)' (expects 0, 1 or 2: %s)", s, r.Action, r.ActionArg, form)
		return 0, 0, false
	}
	return int(n), v, true
}

func (c *compiler) setGPT(r *model.Rule, slot, idx int, legacy bool) action {
	if len(r.Args) != 1 {
		c.errf(r.Pos, r, "expects exactly 1 argument (an integer or a sample expression)")
		return nil
	}
	g := &setGPT0{slot: slot, idx: idx, legacy: legacy}
	if n, err := strconv.ParseInt(r.Args[0].Text, 10, 64); err == nil {
		if n < 0 || n > 1<<32-1 {
			c.errf(r.Args[0].Pos, r, "value '%s' is out of range", r.Args[0].Text)
			return nil
		}
		g.v = uint32(n)
		return g
	}
	x, err := c.set.Expr(r.Args[0].Text)
	if err != nil {
		c.errf(r.Args[0].Pos, r, "%v", err)
		return nil
	}
	g.x = x
	return g
}

// setGPT0 is sc-set-gpt0 (legacy) or sc-set-gpt (element idx).
type setGPT0 struct {
	slot   int
	idx    int
	legacy bool
	v      uint32
	x      *acl.Expr
}

func (a *setGPT0) run(x *Exec, r *rule, res *Result) bool {
	ref := x.T.Tracked(a.slot)
	if !ref.Valid() {
		return false
	}
	v := a.v
	if a.x != nil {
		s, ok := a.x.Sample(x.E)
		if !ok || s.Kind != acl.KindInt && s.Kind != acl.KindBool || s.I < 0 {
			return false
		}
		v = uint32(s.I)
	}
	if a.legacy {
		ref.SetGPT0(v)
	} else {
		ref.SetGPT(a.idx, v)
	}
	return false
}

// compileSilentDrop compiles "silent-drop": the connection closes with no
// response. HAProxy also keeps the client from seeing the close (a TTL of
// 1 on the reset); Bulwark's client sees it, which the warning says.
func compileSilentDrop(c *compiler, r *model.Rule) action {
	if len(r.Args) > 0 {
		c.errf(r.Args[0].Pos, r, "unexpected argument '%s'", r.Args[0].Text)
		return nil
	}
	c.ds.Warnf(r.Pos, "'%s silent-drop' closes the connection without a response, but the client sees the close (bulwark does not hide it as HAProxy does)", r.Keyword)
	return verdictAction(Reject)
}

// compileSockOpt compiles set-mark and set-tos: a mark or TOS value for
// the packets sent to the client; set-nice, which has no counterpart in
// Go's scheduler, is accepted with a warning.
func compileSockOpt(c *compiler, r *model.Rule) action {
	if len(r.Args) != 1 {
		c.errf(r.Pos, r, "expects exactly 1 argument")
		return nil
	}
	n, err := strconv.ParseInt(r.Args[0].Text, 0, 64)
	if err != nil {
		c.errf(r.Args[0].Pos, r, "invalid value '%s'", r.Args[0].Text)
		return nil
	}
	switch r.Action {
	case "set-nice":
		if n < -1024 || n > 1024 {
			c.errf(r.Args[0].Pos, r, "nice value must be between -1024 and 1024")
			return nil
		}
		c.ds.Warnf(r.Pos, "'%s set-nice' has no effect in bulwark (Go schedules goroutines without priorities)", r.Keyword)
		return nopAction{}
	case "set-tos":
		if n < 0 || n > 255 {
			c.errf(r.Args[0].Pos, r, "TOS value must be between 0 and 255")
			return nil
		}
	default:
		if n < 0 || n > 1<<32-1 {
			c.errf(r.Args[0].Pos, r, "mark value out of range")
			return nil
		}
	}
	return &sockOpt{mark: r.Action == "set-mark", v: int(n)}
}

type nopAction struct{}

func (nopAction) run(*Exec, *rule, *Result) bool { return false }

type sockOpt struct {
	mark bool
	v    int
}

// run sets the option on the client connection; Linux needs
// CAP_NET_ADMIN for a mark, and without it nothing changes, as in HAProxy.
func (a *sockOpt) run(x *Exec, r *rule, res *Result) bool {
	x.T.SetSockOpt(a.mark, a.v)
	return false
}
