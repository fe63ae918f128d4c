package proxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"bulwark/internal/model"
	"bulwark/internal/resolver"
	"bulwark/internal/rules"
	"bulwark/internal/srvstate"
)

// This file gives servers their addresses: once at start-up ("init-addr")
// and, for servers with "resolvers", at run time from DNS answers. The
// address lives in the server's srvstate, so the dialer, the checks, the
// stats and the runtime API all read the same one; resolution runs on
// the resolver's goroutines, never on the data path.

// addrEnv is what finding start-up addresses needs from the Build.
type addrEnv struct {
	// last is "init-addr last": the address the running generation (or
	// the previous worker) has for this server, when it resolves the
	// same name.
	last func(backend, server, fqdn string) (netip.AddrPort, bool)
	// saved is "init-addr last" from the backend's server-state file,
	// with the port saved there; nil without one.
	saved func(backend, server string) (netip.AddrPort, bool)
	// libc memoizes the system resolver per name: a server-template of a
	// hundred slots asks once.
	libc map[string][]netip.Addr
	// lookup is the system resolver ("libc"); tests replace it.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// warn reports a fallback HAProxy warns about.
	warn func(msg string)
}

func newAddrEnv(old *Runtime, saved func(be, srv string) (netip.AddrPort, bool), warn func(string)) *addrEnv {
	e := &addrEnv{libc: map[string][]netip.Addr{}, warn: warn,
		lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}}
	e.last = old.runningAddr
	e.saved = saved
	return e
}

// runningAddr is the address the running generation rt has for server
// srv of backend be. Only an address DNS keeps up to date is worth
// keeping: a name resolved once by libc is resolved again by a reload, as
// a new HAProxy process would.
func (rt *Runtime) runningAddr(be, srv, fqdn string) (netip.AddrPort, bool) {
	if rt == nil {
		return netip.AddrPort{}, false
	}
	b := rt.backends[be]
	if b == nil {
		return netip.AddrPort{}, false
	}
	for _, s := range b.srvs() {
		if s.name == srv && s.cfg.FQDN() == fqdn && s.cfg.Resolvers != "" {
			a := s.state.Addr()
			return a, a.IsValid()
		}
	}
	return netip.AddrPort{}, false
}

// stateFQDN is the name a server starts with in its state: an SRV slot
// has none until a record gives it a target (HAProxy's "(null)").
func stateFQDN(c *model.Server) string {
	if c.IsSRV() {
		return ""
	}
	return c.FQDN()
}

// fixedPort is the port of a server written with one, 0 for a server
// that takes the client's (absent or +N/-N).
func fixedPort(a model.Addr) uint16 {
	if a.PortLow != 0 && !a.PortDelta {
		return uint16(a.PortLow)
	}
	return 0
}

// initialAddr is the address s starts with. A name goes through the
// "init-addr" methods in order: "last" (the address it had before a
// reload), "libc" (the system resolver), "none" (start in maintenance,
// waiting for run-time resolution) or a fixed IP. An SRV label starts
// with none: only its records give it one.
func (e *addrEnv) initialAddr(be string, sc *model.Server) (netip.AddrPort, error) {
	port := fixedPort(sc.Addr)
	if ip, err := netip.ParseAddr(sc.Addr.Host); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), port), nil
	}
	fqdn := sc.FQDN()
	if sc.IsSRV() {
		if a, ok := e.lastAddr(be, sc.Name, fqdn, 0); ok {
			return a, nil
		}
		return netip.AddrPort{}, nil
	}
	failed := false
	for _, m := range sc.DefaultInitAddr() {
		switch m.Method {
		case "last":
			if a, ok := e.lastAddr(be, sc.Name, fqdn, port); ok {
				return a, nil
			}
		case "libc":
			if ip, ok := e.libcAddr(fqdn, sc.ResolvePrefer); ok {
				return netip.AddrPortFrom(ip, port), nil
			}
			failed = true
		case "none":
			if failed && e.warn != nil {
				e.warn(fmt.Sprintf("could not resolve address '%s', disabling server.", fqdn))
			}
			return netip.AddrPort{}, nil
		case "ip":
			if failed && e.warn != nil {
				e.warn(fmt.Sprintf("could not resolve address '%s', falling back to configured address.", fqdn))
			}
			return netip.AddrPortFrom(m.IP, port), nil
		}
	}
	if !failed {
		// Only "last" was tried (HAProxy 2.6.12's words for it).
		return netip.AddrPort{}, fmt.Errorf("no method found to resolve address '%s'", fqdn)
	}
	return netip.AddrPort{}, fmt.Errorf("could not resolve address '%s'", fqdn)
}

// lastAddr is "init-addr last": the running generation's address, else
// the state file's, whose port gives way to one in the configuration.
func (e *addrEnv) lastAddr(be, srv, fqdn string, port uint16) (netip.AddrPort, bool) {
	if e.last != nil {
		if a, ok := e.last(be, srv, fqdn); ok {
			return a, true
		}
	}
	if e.saved == nil {
		return netip.AddrPort{}, false
	}
	a, ok := e.saved(be, srv)
	if ok && port != 0 {
		a = netip.AddrPortFrom(a.Addr(), port)
	}
	return a, ok
}

// libcAddr is the system resolver's address for host: IPv4 first, as a
// server reached by a name such as "localhost" was before, unless
// "resolve-prefer ipv6" asks otherwise.
func (e *addrEnv) libcAddr(host, prefer string) (netip.Addr, bool) {
	addrs, ok := e.libc[host]
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		found, err := e.lookup(ctx, host)
		cancel()
		if err != nil {
			found = nil
		}
		for i := range found {
			found[i] = found[i].Unmap()
		}
		addrs = found
		e.libc[host] = addrs
	}
	if len(addrs) == 0 {
		return netip.Addr{}, false
	}
	for _, a := range addrs {
		if a.Is4() == (prefer != "ipv6") {
			return a, true
		}
	}
	return addrs[0], true
}

// dialCache holds the dial string of one address, so a connection to an
// unchanged address formats nothing.
type dialCache struct {
	ap  netip.AddrPort
	str string
}

// fixedDial returns "ip:port" for ap, formatted once per address.
func (s *server) fixedDial(ap netip.AddrPort) string {
	if c := s.dialStr.Load(); c != nil && c.ap == ap {
		return c.str
	}
	c := &dialCache{ap: ap, str: ap.String()}
	s.dialStr.Store(c)
	return c.str
}

// addrText is the server's address as the stats show it: "ip:port", the
// IP alone for a server that takes the client's port, "" without one.
func (s *server) addrText(st *srvstate.Snapshot) string {
	if s.unix {
		return s.addr
	}
	if !st.Addr.IsValid() {
		return ""
	}
	if st.Addr.Port() == 0 {
		return st.Addr.Addr().String()
	}
	return s.fixedDial(st.Addr)
}

// startDNS starts the resolvers sections and the watches of the servers
// that use them.
func (rt *Runtime) startDNS() {
	if len(rt.dns) == 0 {
		return
	}
	for _, sec := range rt.dns {
		sec.Start(rt.ctx)
	}
	for _, b := range rt.backends {
		groups := map[string]*srvGroup{}
		for _, s := range b.srvs() {
			sec := rt.dns[s.cfg.Resolvers]
			if sec == nil || s.cfg.FQDN() == "" {
				continue
			}
			if s.cfg.IsSRV() {
				k := s.cfg.Resolvers + " " + s.cfg.FQDN()
				g := groups[k]
				if g == nil {
					g = &srvGroup{rt: rt, b: b, sec: sec, label: s.cfg.FQDN(), items: map[*server]resolver.Record{},
						stops: map[*server]func(){}}
					groups[k] = g
				}
				g.slots = append(g.slots, s)
				continue
			}
			b.dnsMu.Lock()
			rt.watchName(b, s, sec, s.cfg.FQDN())
			b.dnsMu.Unlock()
		}
		for _, g := range groups {
			g.sec.Watch(g.label, dns.TypeSRV, g.apply)
		}
	}
}

// watchName resolves name for server s from now on (b.dnsMu held),
// ending the watch of the name it resolved before, if any.
func (rt *Runtime) watchName(b *backend, s *server, sec *resolver.Section, name string) {
	if s.dnsStop != nil {
		s.dnsStop()
	}
	port := fixedPort(s.cfg.Addr)
	s.dnsStop = sec.Watch(name, queryType(s.cfg), func(r resolver.Result) {
		b.dnsMu.Lock()
		defer b.dnsMu.Unlock()
		// An answer for a name the server no longer resolves ("set
		// server ... fqdn" meanwhile) is stale.
		if s.state.Load().FQDN != name {
			return
		}
		rt.applyName(b, s, sec, name, port, r)
	})
}

// apiSetFQDN is "set server <b>/<s> fqdn <name>": the server resolves
// another name from now on, answered in HAProxy's words.
func (rt *Runtime) apiSetFQDN(args []string) string {
	if len(args) < 3 || args[2] == "" {
		return "set server <b>/<s> fqdn requires a FQDN.\n"
	}
	b, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg
	}
	sec := rt.dns[s.cfg.Resolvers]
	if sec == nil || s.unix {
		return "set server <b>/<s> fqdn failed because no resolution is configured.\n"
	}
	if s.cfg.IsSRV() {
		return "set server <b>/<s> fqdn failed because SRV resolution is configured.\n"
	}
	name := strings.ToLower(strings.TrimSuffix(args[2], "."))
	if _, ok := dns.IsDomainName(name); !ok || len(name) > 253 || strings.HasPrefix(name, "_") || strings.ContainsAny(name, " /\\") {
		return "invalid fqdn '" + args[2] + "' by 'stats socket command'\n"
	}
	b.dnsMu.Lock()
	defer b.dnsMu.Unlock()
	before, _ := s.state.SetFQDN(name)
	if before.FQDN == name {
		return "no need to change the FDQN by 'stats socket command'\n"
	}
	out := fmt.Sprintf("%s/%s changed its FQDN from %s to %s by 'stats socket command'", b.name, s.name, before.FQDN, name)
	rt.event(out + ".")
	rt.proxyLog(b.name, "notice", out+".")
	rt.watchName(b, s, sec, name)
	return out + "\n"
}

func queryType(c *model.Server) uint16 {
	if c.ResolvePrefer == "ipv4" {
		return dns.TypeA
	}
	return dns.TypeAAAA
}

// hold is the "hold" period of a failure status.
func hold(c *model.Resolvers, st resolver.Status) time.Duration {
	switch st {
	case resolver.StatusNX:
		return c.Hold.NX
	case resolver.StatusRefused:
		return c.Hold.Refused
	case resolver.StatusTimeout:
		return c.Hold.Timeout
	}
	return c.Hold.Other
}

// applyName applies one resolution of name to s (b.dnsMu held): a valid
// answer gives it an address, not one another server of the backend
// resolving the same name has (unless "allow-dup-ip"), and takes it out of
// maintenance; a failure is ignored until the "hold" of its kind has
// passed since the last valid answer, then the server goes to
// maintenance.
func (rt *Runtime) applyName(b *backend, s *server, sec *resolver.Section, name string, port uint16, r resolver.Result) {
	cur := s.state.Load()
	if r.Status == resolver.StatusValid {
		ch := resolver.Choice{Prefer: s.cfg.ResolvePrefer, Nets: s.cfg.ResolveNets, Cur: cur.Addr.Addr()}
		if !s.cfg.AllowDupIP {
			ch.Used = func(a netip.Addr) bool { return b.addrUsed(s, name, a) }
		}
		ip, ok := resolver.Pick(r.Records, ch)
		if !ok {
			rt.dnsMaint(b, s, "No IP for server")
			return
		}
		by := r.From
		if r.Cached || by == "" {
			by = "DNS cache"
		}
		if rt.setAddr(b, s, netip.AddrPortFrom(ip, port), by) && !r.Cached {
			sec.Updated(r.From)
		}
		rt.dnsReady(b, s)
		return
	}
	if r.At.Sub(r.LastValid) < hold(sec.Config(), r.Status) {
		return
	}
	rt.dnsMaint(b, s, r.Status.Cause())
}

// addrUsed reports whether another server of b resolving name has a.
func (b *backend) addrUsed(s *server, name string, a netip.Addr) bool {
	for _, o := range b.srvs() {
		if o == s || o.cfg.AllowDupIP {
			continue
		}
		st := o.state.Load()
		if st.FQDN == name && st.Addr.Addr() == a {
			return true
		}
	}
	return false
}

// setAddr moves s to a and logs it as HAProxy does ("be/s changed its IP
// from A to B by resolvers/nameserver").
// It reports whether the IP changed.
func (rt *Runtime) setAddr(b *backend, s *server, a netip.AddrPort, by string) bool {
	before, after := s.state.SetAddr(a)
	if before.Addr != after.Addr {
		// HAProxy derives a dynamic cookie from the address and port:
		// a moved server gets a new one (IP or port alike).
		b.dynMu.Lock()
		b.applyDynamicCookie(s)
		b.dynMu.Unlock()
	}
	if before.Addr.Addr() == after.Addr.Addr() {
		return false // nothing, or the port alone (SRV): HAProxy logs IP changes only
	}
	old := "(none)"
	if before.Addr.IsValid() {
		old = before.Addr.Addr().String()
	}
	msg := fmt.Sprintf("%s/%s changed its IP from %s to %s by %s.", b.name, s.name, old, after.Addr.Addr(), by)
	rt.event(msg)
	rt.proxyLog(b.name, "notice", msg)
	return true
}

// dnsMaint puts s in maintenance for resolution, without an address.
func (rt *Runtime) dnsMaint(b *backend, s *server, cause string) {
	if cur := s.state.Load(); cur.Admin&srvstate.AdminRMaint != 0 {
		return
	}
	before, after := s.state.SetResolution(cause)
	s.state.SetAddr(netip.AddrPort{})
	rt.stateChanged(b, s, before, after)
}

// dnsReady takes s out of maintenance for resolution.
func (rt *Runtime) dnsReady(b *backend, s *server) {
	if cur := s.state.Load(); cur.Admin&srvstate.AdminRMaint == 0 {
		return
	}
	msg := fmt.Sprintf("Server %s/%s administratively READY thanks to valid DNS answer.", b.name, s.name)
	rt.event(msg)
	rt.proxyLog(b.name, "notice", msg)
	before, after := s.state.SetResolution("")
	rt.stateChanged(b, s, before, after)
}

// srvGroup is the servers of a backend filled from one SRV label (a
// server-template's slots): each SRV record takes a slot, a slot keeps its
// record while the record stays, and slots without one wait in
// maintenance.
type srvGroup struct {
	rt    *Runtime
	b     *backend
	sec   *resolver.Section
	label string
	slots []*server
	items map[*server]resolver.Record // the record each busy slot serves
	// stops end the A/AAAA watch of a slot's target when the SRV answer
	// gave no address for it. items and stops change under b.dnsMu only.
	stops map[*server]func()
}

func srvKey(r resolver.Record) string { return r.Target + ":" + strconv.Itoa(int(r.Port)) }

// apply applies one SRV resolution to the slots.
func (g *srvGroup) apply(r resolver.Result) {
	b := g.b
	b.dnsMu.Lock()
	defer b.dnsMu.Unlock()
	if r.Status != resolver.StatusValid {
		if r.At.Sub(r.LastValid) < hold(g.sec.Config(), r.Status) {
			return
		}
		for _, s := range g.slots {
			g.release(s, r.Status.Cause())
		}
		return
	}
	recs := append([]resolver.Record(nil), r.Records...)
	// Lower priority values first (RFC 2782); the answer order otherwise.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Priority < recs[j].Priority })
	want := map[string]resolver.Record{}
	var order []string
	for _, rec := range recs {
		k := srvKey(rec)
		if _, dup := want[k]; !dup {
			want[k] = rec
			order = append(order, k)
		}
	}
	taken := map[string]bool{}
	for _, s := range g.slots {
		it, busy := g.items[s]
		if !busy {
			continue
		}
		if rec, ok := want[srvKey(it)]; ok {
			taken[srvKey(it)] = true
			g.fill(s, rec, r)
			continue
		}
		g.release(s, "entry removed from SRV record")
	}
	free := 0
	for _, k := range order {
		if taken[k] {
			continue
		}
		for free < len(g.slots) {
			if _, busy := g.items[g.slots[free]]; !busy {
				break
			}
			free++
		}
		if free == len(g.slots) {
			break // more records than slots: the rest wait
		}
		g.fill(g.slots[free], want[k], r)
		free++
	}
}

// fill makes slot s serve rec (b.dnsMu held).
func (g *srvGroup) fill(s *server, rec resolver.Record, r resolver.Result) {
	rt, b := g.rt, g.b
	old, had := g.items[s]
	g.items[s] = rec
	if !had || old.Target != rec.Target {
		before, _ := s.state.SetFQDN(rec.Target)
		if before.FQDN != rec.Target {
			from := before.FQDN
			if from == "" {
				from = "(null)"
			}
			msg := fmt.Sprintf("%s/%s changed its FQDN from %s to %s by 'SRV record'", b.name, s.name, from, rec.Target)
			rt.event(msg)
			rt.proxyLog(b.name, "notice", msg)
		}
	}
	if !s.cfg.IgnoreWeight {
		// SRV weights are 0..65535, HAProxy's 0..256; 0 stays 0.
		s.state.SetWeight((int(rec.Weight) + 255) / 256)
	}
	if rec.Addr.IsValid() {
		g.stopTarget(s)
		rt.setAddr(b, s, netip.AddrPortFrom(rec.Addr, rec.Port), "DNS additional record")
		rt.dnsReady(b, s)
		return
	}
	if had && old.Target == rec.Target && old.Port == rec.Port && !old.Addr.IsValid() {
		return // its target is watched already
	}
	g.stopTarget(s)
	name, port := rec.Target, rec.Port
	stop := g.sec.Watch(name, queryType(s.cfg), func(tr resolver.Result) {
		b.dnsMu.Lock()
		defer b.dnsMu.Unlock()
		// A late answer for a target the slot no longer serves is stale.
		if cur, ok := g.items[s]; !ok || cur.Target != name || cur.Port != port {
			return
		}
		rt.applyName(b, s, g.sec, name, port, tr)
	})
	g.stops[s] = stop
}

// release empties slot s: it goes to maintenance without an address.
func (g *srvGroup) release(s *server, cause string) {
	delete(g.items, s)
	g.stopTarget(s)
	g.rt.dnsMaint(g.b, s, cause)
}

func (g *srvGroup) stopTarget(s *server) {
	stop := g.stops[s]
	delete(g.stops, s)
	if stop != nil {
		stop()
	}
}

// dnsSections builds the running resolvers sections of m.
func dnsSections(m *model.Model) map[string]*resolver.Section {
	if len(m.Resolvers) == 0 {
		return nil
	}
	out := make(map[string]*resolver.Section, len(m.Resolvers))
	for name, r := range m.Resolvers {
		out[name] = resolver.New(r)
	}
	return out
}

// dnsLookup answers "do-resolve" with the generation's sections.
type dnsLookup map[string]*resolver.Section

func (d dnsLookup) Lookup(ctx context.Context, resolvers, name, family string) (netip.Addr, bool) {
	sec := d[resolvers]
	if sec == nil {
		return netip.Addr{}, false
	}
	return sec.Lookup(ctx, name, family)
}

// lookup is the do-resolve resolver of rules, nil without resolvers.
func (rt *Runtime) lookup() rules.Resolver {
	if len(rt.dns) == 0 {
		return nil
	}
	return dnsLookup(rt.dns)
}

// importAddr applies "init-addr last" with the address the previous
// worker had for s, when s resolves the same name and "last" comes first
// among its methods (the default "last,libc" does).
func (s *server) importAddr(cs carriedServer) {
	if cs.Addr == "" || cs.FQDN != s.cfg.FQDN() || s.cfg.Resolvers == "" {
		return
	}
	if m := s.cfg.DefaultInitAddr(); len(m) == 0 || m[0].Method != "last" {
		return
	}
	a, err := netip.ParseAddrPort(cs.Addr)
	if err != nil {
		return
	}
	s.state.SetAddr(a)
	if cur := s.state.Load(); cur.Admin&srvstate.AdminRMaint != 0 {
		s.state.SetResolution("")
	}
}

// apiShowResolvers is "show resolvers [<id>]": every nameserver's counters.
func (rt *Runtime) apiShowResolvers(args []string) string {
	var b strings.Builder
	if len(args) > 0 {
		sec := rt.dns[args[0]]
		if sec == nil {
			return "Can't find that resolvers section\n"
		}
		sec.WriteCounters(&b)
		return b.String()
	}
	names := make([]string, 0, len(rt.dns))
	for n := range rt.dns {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rt.dns[n].WriteCounters(&b)
	}
	return b.String()
}

// checkResolves resolves the name of s at once when its health check
// timed out connecting (CM 5.3.1: the server may have a new address).
func (rt *Runtime) checkResolves(s *server, after srvstate.Snapshot) {
	if after.Check.Status != srvstate.CheckL4TOUT || after.FQDN == "" {
		return
	}
	if sec := rt.dns[s.cfg.Resolvers]; sec != nil {
		sec.Trigger(after.FQDN, queryType(s.cfg))
	}
}

// apiSetAddr is "set server <b>/<s> addr <ip> [port <port>]": the operator
// moves the server, through the same state DNS writes, in HAProxy's
// words ("IP changed from '127.0.0.2' to '127.0.0.3', port changed from
// '80' to '81' by 'stats socket command'"). It also ends a maintenance
// for resolution, as HAProxy does. Port maps (+N/-N) are refused.
func (rt *Runtime) apiSetAddr(args []string) string {
	if len(args) < 3 || args[2] == "" {
		return "set server <b>/<s> addr requires an address and optionally a port.\n"
	}
	b, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg
	}
	ip, err := netip.ParseAddr(args[2])
	if err != nil {
		return "Invalid addr '" + args[2] + "'\n"
	}
	ip = ip.Unmap()
	if s.unix {
		return "Update for the current server address family is only supported through configuration file\n"
	}
	b.dnsMu.Lock()
	defer b.dnsMu.Unlock()
	cur := s.state.Addr()
	port := cur.Port()
	var out strings.Builder
	if cur.IsValid() && cur.Addr() == ip {
		out.WriteString("no need to change the addr")
	} else {
		old := "(none)"
		if cur.IsValid() {
			old = cur.Addr().String()
		}
		fmt.Fprintf(&out, "IP changed from '%s' to '%s'", old, ip)
	}
	if len(args) >= 5 && args[3] == "port" {
		p := args[4]
		if strings.HasPrefix(p, "+") || strings.HasPrefix(p, "-") {
			return "port maps ('+N', '-N') are only supported through the configuration file in bulwark\n"
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "problem converting port '" + p + "' to an int\n"
		}
		if uint16(n) == port {
			out.WriteString(", no need to change the port")
		} else {
			fmt.Fprintf(&out, ", port changed from '%d' to '%d'", port, n)
			port = uint16(n)
		}
	}
	out.WriteString(" by 'stats socket command'\n")
	rt.setAddr(b, s, netip.AddrPortFrom(ip, port), "stats socket command")
	if st := s.state.Load(); st.Admin&srvstate.AdminRMaint != 0 {
		before, after := s.state.SetResolution("")
		rt.stateChanged(b, s, before, after)
	}
	return out.String()
}
