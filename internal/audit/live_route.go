package audit

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"bulwark/internal/config"
)

// hostNet answers the two questions HAP-3.2 asks of this host; tests
// replace it with a fixed network.
type hostNet interface {
	// ifaceOf names the interface that holds ip ("" when none does).
	ifaceOf(ip netip.Addr) string
	// source is the address the kernel would send from to reach dst.
	source(dst netip.AddrPort) (netip.Addr, error)
}

type realNet struct{}

func (realNet) ifaceOf(ip netip.Addr) string {
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if pn, ok := a.(*net.IPNet); ok {
				if x, ok := netip.AddrFromSlice(pn.IP); ok && x.Unmap() == ip {
					return i.Name
				}
			}
		}
	}
	return ""
}

// source "connects" a UDP socket, which sends nothing but makes the kernel
// choose the route and source address.
func (realNet) source(dst netip.AddrPort) (netip.Addr, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// RouteFact is how this host reaches one server address, and which
// client-facing binds share that interface.
type RouteFact struct {
	Pos    config.Pos // the server line
	Server string     // "backend 'b' server 's'"
	Addr   netip.Addr
	Src    netip.Addr
	Iface  string
	// SharedWith lists the non-loopback binds on the same interface.
	SharedWith []string
	Err        string
}

// RouteFacts are the HAP-3.2 observations; Skip is set when the check does
// not apply (only loopback binds or servers).
type RouteFacts struct {
	Routes []RouteFact
	Notes  []Evidence
	Skip   string
	// OtherNetns is set when the proxy runs in another network namespace
	// than the audit: this host's routes are then not the proxy's.
	OtherNetns string
}

// otherNetns compares the network namespace of the first process with the
// audit's own; "" when they are the same or either is unreadable.
func otherNetns(procRoot string, procs []Proc) string {
	if len(procs) == 0 {
		return ""
	}
	mine, err1 := os.Readlink(filepath.Join(procRoot, "self", "ns", "net"))
	theirs, err2 := os.Readlink(filepath.Join(procRoot, strconv.Itoa(procs[0].PID), "ns", "net"))
	if err1 != nil || err2 != nil || mine == theirs {
		return ""
	}
	return fmt.Sprintf("PID %d runs in network namespace %s, the audit in %s", procs[0].PID, theirs, mine)
}

// gatherRoutes compares the interface of every client-facing bind with the
// interface the kernel uses to reach every server.
func gatherRoutes(t *Target, hn hostNet) RouteFacts {
	var rf RouteFacts
	bindIfaces := map[string][]string{} // interface -> binds on it
	wildcard := []string{}
	nBinds := 0
	for _, p := range frontends(t.Model) {
		for _, b := range p.Binds {
			for _, a := range b.Addrs {
				if isLoopback(a) || (a.Net != "tcp" && a.Net != "tcp4" && a.Net != "tcp6" && a.Net != "udp" && a.Net != "udp4" && a.Net != "udp6" && a.Net != "quic4" && a.Net != "quic6") {
					continue
				}
				nBinds++
				label := fmt.Sprintf("%s '%s' bind %s (%s)", p.Kind, p.Name, a.Raw, b.Pos)
				if a.Wildcard() {
					wildcard = append(wildcard, label)
					continue
				}
				ip, ok := hostAddr(a)
				if !ok {
					rf.Notes = append(rf.Notes, ev(b.Pos, Manual, "live: %s: host is not an IP address, interface not compared", label))
					continue
				}
				ifc := hn.ifaceOf(ip)
				if ifc == "" {
					rf.Notes = append(rf.Notes, ev(b.Pos, Manual, "live: %s: %s is not an address of this host, interface not compared", label, ip))
					continue
				}
				bindIfaces[ifc] = append(bindIfaces[ifc], label)
			}
		}
	}
	if nBinds == 0 {
		rf.Skip = "live: every bind is loopback or a local socket; nothing faces clients"
		return rf
	}
	seen := map[netip.AddrPort]bool{}
	for _, p := range t.Model.Backends() {
		for _, sv := range p.Servers {
			if isSocketNet(sv.Addr) {
				continue
			}
			who := fmt.Sprintf("%s '%s' server '%s'", p.Kind, p.Name, sv.Name)
			ip, ok := hostAddr(sv.Addr)
			if !ok {
				rf.Notes = append(rf.Notes, ev(sv.Pos, Manual, "live: %s address %s is not an IP address, route not checked", who, sv.Addr.Raw))
				continue
			}
			if ip.IsLoopback() {
				continue
			}
			port := sv.Addr.PortLow
			if port == 0 {
				port = 80 // the route does not depend on the port
			}
			dst := netip.AddrPortFrom(ip, uint16(port))
			if seen[dst] {
				continue
			}
			seen[dst] = true
			f := RouteFact{Pos: sv.Pos, Server: who, Addr: ip}
			src, err := hn.source(dst)
			if err != nil {
				f.Err = shortNetErr(err)
				rf.Routes = append(rf.Routes, f)
				continue
			}
			f.Src, f.Iface = src, hn.ifaceOf(src)
			f.SharedWith = append(append([]string(nil), wildcard...), bindIfaces[f.Iface]...)
			sort.Strings(f.SharedWith)
			rf.Routes = append(rf.Routes, f)
		}
	}
	if len(rf.Routes) == 0 && len(rf.Notes) == 0 {
		rf.Skip = "live: every server is on loopback or a local socket"
	}
	return rf
}

// liveNetworkSeparation judges the live half of HAP-3.2.
func liveNetworkSeparation(t *Target, lf *LiveFacts) Result {
	rf := lf.Routes
	if rf.OtherNetns != "" {
		return Result{Verdict: Manual, Summary: "live: the proxy runs in another network namespace",
			Evidence: []Evidence{ev(config.Pos{}, Manual, "live: %s: routes and interfaces were not compared; run the audit inside it (nsenter --net --target PID bulwark audit ...)", rf.OtherNetns)}}
	}
	if rf.Skip != "" {
		return skip("%s", rf.Skip)
	}
	evs := append([]Evidence(nil), rf.Notes...)
	for _, r := range rf.Routes {
		switch {
		case r.Err != "":
			evs = append(evs, ev(r.Pos, Manual, "live: %s (%s): no route found (%s)", r.Server, r.Addr, r.Err))
		case len(r.SharedWith) > 0:
			evs = append(evs, ev(r.Pos, Warn, "live: %s (%s) is reached through %s (source %s), the interface of client-facing %s",
				r.Server, r.Addr, ifaceLabel(r.Iface), r.Src, strings.Join(r.SharedWith, ", ")))
		default:
			evs = append(evs, ev(r.Pos, Pass, "live: %s (%s) is reached through %s (source %s), no client-facing bind there",
				r.Server, r.Addr, ifaceLabel(r.Iface), r.Src))
		}
	}
	r := summarize(evs, "live: servers are reached through interfaces no client-facing bind uses", "live: servers share an interface with client-facing binds")
	if r.Verdict == Manual {
		r.Summary = "live: no shared interface seen, but some binds or servers could not be compared"
	}
	return r
}

func ifaceLabel(name string) string {
	if name == "" {
		return "an unknown interface"
	}
	return "interface " + name
}
