package model

import (
	"os"
	"strings"

	"bulwark/internal/config"
	"bulwark/internal/stick"
)

// PeersSection is a "peers" section. Bulwark keeps its tables on the local
// node, as a single HAProxy does; it does not replicate them to the other
// peers (start-up says so with a warning).
type PeersSection struct {
	Pos      config.Pos
	Name     string
	Peers    []Peer
	Tables   []PeersTable
	Disabled bool
	// Local is the peer that names this process (-L, else the host
	// name); nil when none does, and HAProxy then drops the section.
	Local *Peer
}

// Peer is one "peer" or "server" line.
type Peer struct {
	Pos  config.Pos
	Name string
	Addr string // empty for "server NAME" (the local peer in 2.5+ syntax)
}

// PeersTable is a "table" line: a stick table named "<peers>/<table>".
type PeersTable struct {
	Pos  config.Pos
	Name string   // qualified: "<peers>/<table>"
	Args []string // as for "stick-table"
}

// localPeerName is what HAProxy calls the local peer: -L (which the CLI
// passes as HAPROXY_LOCALPEER), else the host name.
func localPeerName() string {
	if n := os.Getenv("HAPROXY_LOCALPEER"); n != "" {
		return n
	}
	h, _ := os.Hostname()
	return h
}

func (c *compiler) peers(s *config.Section) {
	for _, prev := range c.m.Peers {
		if prev.Name == s.Name {
			c.ds.Alertf(s.Pos, "Parsing [%s:%d]: peers section '%s' has the same name as another peers section declared at %s:%d.",
				s.Pos.File, s.Pos.Line, s.Name, prev.Pos.File, prev.Pos.Line)
			return
		}
	}
	ps := &PeersSection{Pos: s.Pos, Name: s.Name}
	c.m.Peers = append(c.m.Peers, ps)
	local := localPeerName()
	sawPeer, sawBind := false, false
	for _, d := range s.Directives {
		switch d.Name {
		case "peer", "server":
			if len(d.Args) == 0 {
				c.ds.Alertf(d.Pos, "'%s' expects <name> [<addr>:<port>] as arguments", d.Name)
				continue
			}
			if d.Name == "peer" {
				if sawBind {
					c.ds.Alertf(d.Pos, "mixing \"peer\" and \"bind\" line is forbidden")
					continue
				}
				sawPeer = true
			}
			p := Peer{Pos: d.Pos, Name: d.Arg(0)}
			if len(d.Args) > 1 {
				p.Addr = d.Arg(1)
				if _, err := ParseServerAddr(p.Addr); err != nil {
					c.ds.Alertf(d.ArgPos(1), "'%s %s' : %v", d.Name, p.Name, err)
					continue
				}
			} else if d.Name == "peer" {
				c.ds.Alertf(d.Pos, "'peer %s' expects <addr>:<port>", p.Name)
				continue
			}
			for _, q := range ps.Peers {
				if q.Name == p.Name {
					c.ds.Alertf(d.Pos, "peer '%s' already declared at %s", p.Name, q.Pos)
				}
			}
			ps.Peers = append(ps.Peers, p)
		case "bind":
			if sawPeer {
				c.ds.Alertf(d.Pos, "mixing \"peer\" and \"bind\" line is forbidden")
				continue
			}
			sawBind = true
		case "default-bind", "default-server", "log":
			// Connection settings for replication, which Bulwark does
			// not do: read and kept for the auditor.
		case "table":
			c.peersTable(ps, d)
		case "disabled":
			ps.Disabled = true
		case "enabled":
			ps.Disabled = false
		}
	}
	for i := range ps.Peers {
		if ps.Peers[i].Name == local || (ps.Peers[i].Addr == "" && sawBind) {
			ps.Local = &ps.Peers[i]
		}
	}
	if ps.Local == nil && !ps.Disabled && len(ps.Peers) > 0 {
		c.ds.Warnf(s.Pos, "Removing incomplete section 'peers %s' (no peer named '%s').", s.Name, local)
		return
	}
	if (len(ps.Peers) > 1 || sawBind) && !ps.Disabled {
		// Other peers, or a bind to be reached by them: nothing will be
		// exchanged, which must not go unsaid.
		c.ds.Warnf(s.Pos, "peers section '%s': no replication yet: bulwark keeps its stick tables on this node only (they survive reloads)", s.Name)
	}
}

func (c *compiler) peersTable(ps *PeersSection, d *config.Directive) {
	if len(d.Args) == 0 {
		c.ds.Alertf(d.Pos, "'table' expects a table name")
		return
	}
	args := d.Texts()[1:]
	if _, err := stick.ParseTableSpec(args); err != nil {
		c.ds.Alertf(d.Pos, "table: %v", err)
		return
	}
	name := ps.Name + "/" + d.Arg(0)
	for _, t := range ps.Tables {
		if t.Name == name {
			c.ds.Alertf(d.Pos, "table '%s' already declared at %s", name, t.Pos)
			return
		}
	}
	ps.Tables = append(ps.Tables, PeersTable{Pos: d.Pos, Name: name, Args: args})
}

// checkPeersRefs checks "stick-table … peers NAME" against the sections,
// with HAProxy's message.
func (c *compiler) checkPeersRefs() {
	for _, p := range c.m.Proxies {
		if p.StickTable == nil {
			continue
		}
		name := ""
		for i, a := range p.StickTable.Args {
			if a == "peers" && i+1 < len(p.StickTable.Args) {
				name = p.StickTable.Args[i+1]
			}
		}
		if name == "" || strings.Contains(name, "/") {
			continue
		}
		found := false
		for _, ps := range c.m.Peers {
			found = found || ps.Name == name
		}
		if !found {
			c.ds.Alertf(p.StickTable.Pos, "Proxy '%s': unable to find sync peers '%s'.", p.Name, name)
		}
	}
}
