package health

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/srvstate"
)

// AgentReply is what an agent said (CM 5.2 "agent-check"): any of a
// weight, a maxconn, an administrative state and an operational state,
// in one line of words separated by spaces, tabs or commas.
type AgentReply struct {
	// Weight is the percentage of the configured weight, -1 when not said.
	Weight int
	// MaxConn is "maxconn:N", -1 when not said.
	MaxConn int
	// Admin is "ready", "drain" or "maint"; "" when not said.
	Admin string
	// Op is "up" or "down" ("stopped" and "fail" are down); "" when not
	// said.
	Op string
	// Info is the text after "#", HAProxy's description of a down agent.
	Info string
	// Unknown holds the words Bulwark did not understand: reported, never
	// fatal, as HAProxy ignores them.
	Unknown []string
	// OpWord is the health word as the agent wrote it.
	OpWord string
}

// ParseAgent reads one agent line.
func ParseAgent(line string) AgentReply {
	r := AgentReply{Weight: -1, MaxConn: -1}
	if i := strings.IndexByte(line, '#'); i >= 0 {
		r.Info = strings.TrimSpace(line[i+1:])
		line = line[:i]
	}
	for _, w := range strings.FieldsFunc(line, func(c rune) bool { return c == ' ' || c == '\t' || c == ',' }) {
		lw := strings.ToLower(w)
		switch {
		case strings.HasSuffix(lw, "%"):
			n, err := strconv.Atoi(strings.TrimSuffix(lw, "%"))
			if err != nil || n < 0 {
				r.Unknown = append(r.Unknown, w)
				continue
			}
			r.Weight = n
		case strings.HasPrefix(lw, "maxconn:"):
			n, err := strconv.Atoi(lw[len("maxconn:"):])
			if err != nil || n < 0 {
				r.Unknown = append(r.Unknown, w)
				continue
			}
			r.MaxConn = n
		case lw == "ready" || lw == "drain" || lw == "maint":
			r.Admin = lw
		case lw == "up":
			r.Op, r.OpWord = "up", w
		case lw == "down" || lw == "stopped" || lw == "fail":
			r.Op, r.OpWord = "down", w
		default:
			r.Unknown = append(r.Unknown, w)
		}
	}
	return r
}

// AgentSpec is one server's agent.
type AgentSpec struct {
	Addr    string // host:port of the agent
	Send    string // agent-send
	Inter   time.Duration
	Timeout time.Duration // 0 = Inter
	// Follow, when set, gives Addr before each probe: the agent of a
	// server DNS moves is asked at the server's new address.
	Follow func() string
	// Prepare, when set, may change the copy of the spec a probe uses
	// (the runtime API's "set server agent-send").
	Prepare func(p *AgentSpec)
	Spread  int // "spread-checks" percent
}

// ProbeAgent asks the agent once. A connection problem is a check result
// with its status and no reply; only an answer is a reply.
func ProbeAgent(ctx context.Context, a AgentSpec) (srvstate.Check, *AgentReply) {
	start := time.Now()
	to := a.Timeout
	if to <= 0 {
		to = a.Inter
	}
	if to <= 0 {
		to = 2 * time.Second
	}
	done := func(st srvstate.CheckStatus, info string) srvstate.Check {
		return srvstate.Check{Status: st, Info: info, Duration: time.Since(start)}
	}
	d := net.Dialer{Timeout: to}
	c, err := d.DialContext(ctx, "tcp", a.Addr)
	if err != nil {
		if isTimeout(err) {
			return done(srvstate.CheckL4TOUT, ""), nil
		}
		return done(srvstate.CheckL4CON, sysError(err)), nil
	}
	defer c.Close()
	// Stop must not wait for a slow agent: cancelling closes the socket.
	defer context.AfterFunc(ctx, func() { c.Close() })()
	c.SetDeadline(start.Add(to))
	if a.Send != "" {
		if _, err := c.Write([]byte(a.Send)); err != nil {
			return done(srvstate.CheckSockErr, sysError(err)), nil
		}
	}
	// One line, bounded: an agent that floods gets judged on what fits.
	buf := make([]byte, 0, 1024)
	complete := false
	for len(buf) < cap(buf) {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if i := bytes.IndexAny(buf, "\r\n"); i >= 0 {
			buf, complete = buf[:i], true
			break
		}
		if err != nil {
			if isTimeout(err) && len(buf) == 0 {
				return done(srvstate.CheckL7TOUT, ""), nil
			}
			break
		}
	}
	if len(buf) == 0 && !complete {
		return done(srvstate.CheckL7RSP, "Ignoring empty reply from agent"), nil
	}
	if !complete {
		// HAProxy ignores a line that does not end (a flood, or a close
		// in the middle): nothing of it is applied.
		return done(srvstate.CheckChecked, "Ignoring incomplete line from agent"), nil
	}
	r := ParseAgent(string(buf))
	return done(agentStatus(&r)), &r
}

// agentStatus words an agent's reply as HAProxy does: a health word gives
// the status and "via agent : down (<description>)"; without one, an
// unknown word is "agent reports an error : <word>" and the state does
// not change.
func agentStatus(r *AgentReply) (srvstate.CheckStatus, string) {
	switch r.Op {
	case "up", "down":
		st := srvstate.CheckL7OK
		if r.Op == "down" {
			st = srvstate.CheckL7STS
		}
		msg := r.Info
		if msg == "" || r.Op == "up" {
			if len(r.Unknown) > 0 {
				msg = r.Unknown[0]
			}
		}
		word := r.OpWord
		if msg != "" {
			return st, "via agent : " + word + " (" + msg + ")"
		}
		return st, "via agent : " + word
	}
	if len(r.Unknown) > 0 {
		return srvstate.CheckChecked, "agent reports an error : " + r.Unknown[0]
	}
	return srvstate.CheckChecked, ""
}

// WatchAgent asks the agent of a server every interval and hands each
// reply to apply (which sets the weight, maxconn and states).
func (c *Checker) WatchAgent(a AgentSpec, offset time.Duration, apply func(srvstate.Check, *AgentReply)) {
	j := &job{}
	j.run = func() (time.Duration, bool) {
		p := a
		if a.Follow != nil {
			p.Addr = a.Follow()
		}
		if a.Prepare != nil {
			a.Prepare(&p)
		}
		res, r := ProbeAgent(c.ctx, p)
		if c.ctx.Err() != nil {
			return 0, false
		}
		apply(res, r)
		return Spread(a.Inter, a.Spread), true
	}
	inter := a.Inter
	if inter <= 0 {
		inter = maxTick
	}
	c.add(j, offset, inter)
}
