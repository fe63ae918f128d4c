package proxy

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"time"

	"bulwark/internal/health"
	"bulwark/internal/srvstate"
)

// "set server <b>/<s> check-addr|check-port|agent-addr|agent-port|
// agent-send" (MG 9.3): the health check and the agent go elsewhere, or
// the agent is sent another string, from the next probe on. The changes
// live in memory, as HAProxy's do: a reload reads the configuration
// again ("show servers state" reports them, so a server-state-file keeps
// the addresses and ports).

// probeOverride is what "set server" changed; each field is taken over
// the configuration's only when its flag is set. It is replaced whole,
// never modified, so that a probe reads one consistent value.
type probeOverride struct {
	checkAddr, agentAddr       string
	checkPort, agentPort       int
	hasCheckAddr, hasCheckPort bool
	hasAgentAddr, hasAgentPort bool
	agentSend                  string
	hasAgentSend               bool
}

// updateProbes applies f to a copy of the server's overrides. Concurrent
// "set server" commands each see the other's change (the CAS loop).
func (s *server) updateProbes(f func(o *probeOverride)) {
	for {
		old := s.probes.Load()
		var n probeOverride
		if old != nil {
			n = *old
		}
		f(&n)
		if s.probes.CompareAndSwap(old, &n) {
			return
		}
	}
}

// checkPort is the port health checks use: "check-port", else "port"
// (0: the server's own).
func (s *server) checkPort() int {
	if o := s.probes.Load(); o != nil && o.hasCheckPort {
		return o.checkPort
	}
	return s.cfg.Port
}

// checkAddr is the address health checks go to ("check-addr", else
// "addr"; "" the server's).
func (s *server) checkAddr() string {
	if o := s.probes.Load(); o != nil && o.hasCheckAddr {
		return o.checkAddr
	}
	return s.cfg.CheckAddr
}

// agentAddr is the address of the agent ("agent-addr", else the
// configuration's; "" follows the server or its check address).
func (s *server) agentAddr() string {
	if o := s.probes.Load(); o != nil && o.hasAgentAddr {
		return o.agentAddr
	}
	return s.cfg.AgentAddr
}

func (s *server) agentPort() int {
	if o := s.probes.Load(); o != nil && o.hasAgentPort {
		return o.agentPort
	}
	return s.cfg.AgentPort
}

func (s *server) agentSend() string {
	if o := s.probes.Load(); o != nil && o.hasAgentSend {
		return o.agentSend
	}
	return s.cfg.AgentSend
}

// redirectCheck rewrites the address a check dials with the overrides:
// called before each check, after the configuration's own choice.
func (s *server) redirectCheck(t *health.Target) {
	o := s.probes.Load()
	if o == nil || s.unix || (!o.hasCheckAddr && !o.hasCheckPort) {
		return
	}
	host, port, err := net.SplitHostPort(t.Addr)
	if err != nil {
		host, port = t.Addr, ""
	}
	if o.hasCheckAddr {
		host = o.checkAddr
	}
	if o.hasCheckPort && o.checkPort != 0 {
		port = strconv.Itoa(o.checkPort)
	}
	if port == "" || port == "0" {
		port = strconv.Itoa(s.cfg.Addr.PortLow)
	}
	t.Addr = net.JoinHostPort(host, port)
	if o.hasCheckAddr {
		t.Host = host
	}
}

// agentTarget is where the agent of s is asked now: its address (agent's,
// else the check's, else the server's current one) and its port.
func (s *server) agentTarget() string {
	host := s.agentAddr()
	if host == "" {
		host = s.checkAddr()
	}
	if host == "" {
		if ap := s.state.Addr(); ap.IsValid() {
			host = ap.Addr().String()
		} else {
			host = s.cfg.Addr.Host
		}
	}
	return joinPort(host, s.agentPort())
}

// parseProbePort reads a port as HAProxy's "set server" does.
func parseProbePort(v string) (int, string) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, "provided port is not an integer\n" + unterminated
	}
	if n < 0 || n > 65535 {
		return 0, "provided port is invalid\n" + unterminated
	}
	return n, ""
}

// resolveProbeAddr reads an IP address, or a name resolved once now
// (HAProxy resolves "agent-addr" names when the command runs).
func resolveProbeAddr(v string) (string, bool) {
	if a, err := netip.ParseAddr(v); err == nil {
		return a.String(), true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", v)
	if err != nil || len(ips) == 0 {
		return "", false
	}
	return ips[0].Unmap().String(), true
}

// apiSetServerProbe answers the five probe words of "set server"; args
// are the command's words after "set server".
func (rt *Runtime) apiSetServerProbe(s *server, args []string) string {
	word := args[1]
	rest := args[2:]
	checked := s.state.Load().Checked
	agent := s.cfg.AgentCheck
	switch word {
	case "check-port":
		if len(rest) < 1 {
			return "set server <b>/<s> check-port requires a port.\n"
		}
		if !checked {
			return "health checks are not enabled on this server\n" + unterminated
		}
		n, msg := parseProbePort(rest[0])
		if msg != "" {
			return msg
		}
		s.updateProbes(func(o *probeOverride) { o.checkPort, o.hasCheckPort = n, true })
	case "agent-port":
		if len(rest) < 1 {
			return "set server <b>/<s> agent-port requires a port.\n"
		}
		if !agent {
			return "agent checks are not enabled on this server\n" + unterminated
		}
		n, msg := parseProbePort(rest[0])
		if msg != "" {
			return msg
		}
		s.updateProbes(func(o *probeOverride) { o.agentPort, o.hasAgentPort = n, true })
	case "check-addr", "agent-addr":
		if len(rest) < 1 {
			return "set server <b>/<s> " + word + " requires an address and optionally a port.\n"
		}
		if word == "check-addr" && !checked {
			return "health checks are not enabled on this server\n" + unterminated
		}
		if word == "agent-addr" && !agent {
			return "agent checks are not enabled on this server\n" + unterminated
		}
		addr, ok := resolveProbeAddr(rest[0])
		if !ok {
			return "invalid addr '" + rest[0] + "'\n" + unterminated
		}
		port, hasPort := 0, false
		if len(rest) >= 2 && rest[1] == "port" {
			if len(rest) < 3 {
				return "provided port is not an integer\n" + unterminated
			}
			n, msg := parseProbePort(rest[2])
			if msg != "" {
				return msg
			}
			port, hasPort = n, true
		}
		s.updateProbes(func(o *probeOverride) {
			if word == "check-addr" {
				o.checkAddr, o.hasCheckAddr = addr, true
				if hasPort {
					o.checkPort, o.hasCheckPort = port, true
				}
				return
			}
			o.agentAddr, o.hasAgentAddr = addr, true
			if hasPort {
				o.agentPort, o.hasAgentPort = port, true
			}
		})
	case "agent-send":
		if !agent {
			return "agent checks are not enabled on this server.\n"
		}
		send := ""
		if len(rest) > 0 {
			send = rest[0]
		}
		s.updateProbes(func(o *probeOverride) { o.agentSend, o.hasAgentSend = send, true })
	}
	return ""
}

// probeStateFields are the check and agent fields of "show servers
// state" for s, with the run-time changes.
func (s *server) probeStateFields(l *srvstate.StateLine) {
	l.CheckPort = s.checkPort()
	l.CheckAddr = s.checkAddr()
	l.AgentAddr = s.agentAddr()
	if s.cfg.AgentCheck {
		l.AgentPort = s.agentPort()
	}
}
