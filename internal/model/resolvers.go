package model

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/units"
)

// Resolvers is one "resolvers" section (CM 5.3.2): where servers' names
// are resolved at run time, and how failures are held.
type Resolvers struct {
	Pos         config.Pos
	Name        string
	Nameservers []Nameserver
	// PayloadSize is "accepted_payload_size", announced with EDNS0;
	// default 512.
	PayloadSize int
	// Retries is "resolve_retries": queries sent before giving up,
	// default 3.
	Retries int
	// Resolve is "timeout resolve", the period of a name's resolution;
	// Retry is "timeout retry", the wait for an answer before sending the
	// query again. Both default to 1s.
	Resolve, Retry time.Duration
	Hold           Hold
}

// Hold are the "hold" periods. NX, Refused, Timeout and Other are how long
// after the last valid answer a failure of that kind is ignored before
// the servers go to maintenance; Valid is how long an answer serves
// "do-resolve"; Obsolete is how long a record that stopped appearing is
// kept.
type Hold struct {
	Valid, NX, Refused, Timeout, Other, Obsolete time.Duration
}

// Nameserver is one "nameserver" line (or one of /etc/resolv.conf's for
// "parse-resolv-conf").
type Nameserver struct {
	Pos  config.Pos
	Name string
	// TCP is true for a "tcp@" address: queries go over TCP.
	TCP  bool
	Addr netip.AddrPort
}

// newResolvers returns a section with HAProxy 2.6's defaults.
func newResolvers(s *config.Section) *Resolvers {
	return &Resolvers{Pos: s.Pos, Name: s.Name, PayloadSize: 512, Retries: 3,
		Resolve: time.Second, Retry: time.Second,
		Hold: Hold{Valid: 10 * time.Second, NX: 30 * time.Second, Refused: 30 * time.Second,
			Timeout: 30 * time.Second, Other: 30 * time.Second}}
}

// ResolvConf is the file "parse-resolv-conf" reads.
const ResolvConf = "/etc/resolv.conf"

func (c *compiler) resolvers(s *config.Section) {
	if s.Name == "" {
		c.ds.Alertf(s.Pos, "missing name for resolvers section.")
		return
	}
	if err := config.CheckProxyName(s.Name); err != nil {
		c.ds.Alertf(s.NamePos, "resolvers name '%s' is invalid: %v", s.Name, err)
	}
	if prev := c.m.Resolvers[s.Name]; prev != nil {
		c.ds.Alertf(s.NamePos, "resolvers '%s' has same name as another resolvers (declared at %s).", s.Name, prev.Pos)
		return
	}
	r := newResolvers(s)
	c.m.Resolvers[s.Name] = r
	seen := map[string]config.Pos{}
	addNS := func(ns Nameserver) bool {
		if p, ok := seen[ns.Name]; ok {
			c.ds.Alertf(ns.Pos, "nameserver '%s' has same name as another nameserver (declared at %s).", ns.Name, p)
			return false
		}
		seen[ns.Name] = ns.Pos
		r.Nameservers = append(r.Nameservers, ns)
		return true
	}
	for _, d := range s.Directives {
		switch d.Name {
		case "nameserver":
			if len(d.Args) < 2 {
				c.ds.Alertf(d.Pos, "'%s' expects <name> and <addr>[:<port>] as arguments.", d.Name)
				continue
			}
			if err := config.CheckProxyName(d.Arg(0)); err != nil {
				c.ds.Alertf(d.ArgPos(0), "nameserver name '%s' is invalid: %v", d.Arg(0), err)
				continue
			}
			if len(d.Args) > 2 {
				c.unsupported(d.ArgPos(2), "'nameserver %s' : server parameters ('%s') are not supported by bulwark", d.Arg(0), d.Arg(2))
			}
			ns, err := parseNameserver(d.Arg(1))
			if err != nil {
				c.ds.Alertf(d.ArgPos(1), "'%s %s' : %v", d.Name, d.Arg(0), err)
				continue
			}
			ns.Pos, ns.Name = d.Pos, d.Arg(0)
			addNS(ns)
		case "parse-resolv-conf":
			if c.opt.Audit {
				continue // the file is the deployment's, not the auditor's
			}
			nss, warns, err := readResolvConf(ResolvConf)
			for _, w := range warns {
				c.ds.Warnf(d.Pos, "%s", w)
			}
			if err != nil {
				c.ds.Alertf(d.Pos, "%v", err)
				continue
			}
			for _, ns := range nss {
				ns.Pos = d.Pos
				if _, dup := seen[ns.Name]; dup {
					c.ds.Warnf(d.Pos, "generated name for %s nameserver '%s' conflicts with another nameserver, it appears to be a duplicate and will be excluded.", ResolvConf, ns.Name)
					continue
				}
				addNS(ns)
			}
		case "accepted_payload_size":
			if len(d.Args) != 1 {
				c.ds.Alertf(d.Pos, "'%s' expects <nb> as argument.", d.Name)
				continue
			}
			n, err := strconv.Atoi(d.Arg(0))
			if err != nil || n < 12 || n > 65535 {
				c.ds.Alertf(d.ArgPos(0), "'%s' must be between %d and %d inclusive (was %s).", d.Name, 12, 65535, d.Arg(0))
				continue
			}
			r.PayloadSize = n
		case "resolve_retries":
			if len(d.Args) != 1 {
				c.ds.Alertf(d.Pos, "'%s' expects <nb> as argument.", d.Name)
				continue
			}
			// HAProxy reads it with atoi(): "abc" would mean 0, so no
			// query at all; a typo must not switch resolution off.
			n, err := strconv.Atoi(d.Arg(0))
			if err != nil || n < 1 || n > 1000 {
				c.ds.Alertf(d.ArgPos(0), "'%s' expects <nb> as argument, between 1 and 1000 (was %s).", d.Name, d.Arg(0))
				continue
			}
			r.Retries = n
		case "timeout":
			if len(d.Args) == 0 {
				c.ds.Alertf(d.Pos, "'%s' expects 'retry' or 'resolve' and <time> as arguments.", d.Name)
				continue
			}
			ev := d.Arg(0)
			if ev != "retry" && ev != "resolve" {
				c.ds.Alertf(d.ArgPos(0), "'%s' expects 'retry' or 'resolve' and <time> as arguments got '%s'.", d.Name, ev)
				continue
			}
			if len(d.Args) != 2 {
				c.ds.Alertf(d.Pos, "'%s %s' expects <time> as argument.", d.Name, ev)
				continue
			}
			t, ok := c.resolverTime(d, 1, d.Name+" "+ev)
			if !ok {
				continue
			}
			if t == 0 {
				// A zero period would spin the resolution loop.
				c.ds.Alertf(d.ArgPos(1), "'%s %s' expects a positive <time>.", d.Name, ev)
				continue
			}
			if ev == "retry" {
				r.Retry = t
			} else {
				r.Resolve = t
			}
		case "hold":
			if len(d.Args) != 2 {
				c.ds.Alertf(d.Pos, "'%s' expects an <event> and a <time> as arguments. <event> can be either 'valid', 'nx', 'refused', 'timeout', or 'other'", d.Name)
				continue
			}
			t, ok := c.resolverTime(d, 1, d.Name)
			if !ok {
				continue
			}
			h := &r.Hold
			switch d.Arg(0) {
			case "nx":
				h.NX = t
			case "other":
				h.Other = t
			case "refused":
				h.Refused = t
			case "timeout":
				h.Timeout = t
			case "valid":
				h.Valid = t
			case "obsolete":
				h.Obsolete = t
			default:
				c.ds.Alertf(d.ArgPos(0), "'%s' unknown <event>: '%s', expects either 'nx', 'timeout', 'valid', 'obsolete' or 'other'.", d.Name, d.Arg(0))
			}
		case "resolution_pool_size":
			c.ds.Alertf(d.Pos, "'%s' directive is not supported anymore (it never appeared in a stable release).", d.Name)
		default:
			if _, known := config.LookupKeyword(s.Kind, d.Name); known {
				c.unsupported(d.Pos, "'%s' is not supported by bulwark in a resolvers section", d.Name)
			}
		}
	}
	if len(r.Nameservers) == 0 && !c.opt.Audit {
		// HAProxy starts such a section and never resolves anything: every
		// server using it would stay on its start-up address unseen.
		c.ds.Alertf(s.Pos, "resolvers '%s' has no nameserver.", s.Name)
	}
}

// defaultResolvers is HAProxy's implicit "resolvers default" section: the
// nameservers of /etc/resolv.conf, made when the configuration has no
// section of that name and the file gives at least one. As in HAProxy,
// failing to make it is silent; only a reference to it is then an error.
func (c *compiler) defaultResolvers() {
	if c.opt.Audit || c.m.Resolvers["default"] != nil {
		return
	}
	nss, _, err := readResolvConf(ResolvConf)
	if err != nil || len(nss) == 0 {
		return
	}
	r := newResolvers(&config.Section{Name: "default"})
	r.Nameservers = nss
	c.m.Resolvers["default"] = r
}

func (c *compiler) resolverTime(d *config.Directive, i int, what string) (time.Duration, bool) {
	t, err := units.ParseTime(d.Arg(i))
	if err != nil {
		c.ds.Alertf(d.ArgPos(i), "'%s' : %v", what, err)
		return 0, false
	}
	if t > 2147483647*time.Millisecond {
		c.ds.Alertf(d.ArgPos(i), "timer overflow in argument <%s> to <%s>, maximum value is 2147483647 ms (~24.8 days).", d.Arg(i), what)
		return 0, false
	}
	return t, true
}

// parseNameserver reads "[udp@|tcp@|ipv4@|ipv6@]<ip>[:<port>]"; the port
// defaults to 53. Only addresses: a nameserver named by a host name would
// need a resolver to find the resolver.
func parseNameserver(s string) (Nameserver, error) {
	ns := Nameserver{}
	rest := s
	if p, r, ok := strings.Cut(s, "@"); ok {
		switch p {
		case "udp", "udp4", "udp6", "ipv4", "ipv6":
		case "tcp", "tcp4", "tcp6":
			ns.TCP = true
		default:
			return ns, fmt.Errorf("unsupported address family prefix '%s@' in '%s' (expects udp@ or tcp@)", p, s)
		}
		rest = r
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return ns, fmt.Errorf("invalid address '%s': %v", s, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return ns, fmt.Errorf("invalid address '%s': a nameserver needs an IP address", s)
	}
	n := 53
	if port != "" {
		n, err = strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return ns, fmt.Errorf("invalid port '%s' in '%s'", port, s)
		}
	}
	ns.Addr = netip.AddrPortFrom(ip.Unmap(), uint16(n))
	return ns, nil
}

// readResolvConf reads the "nameserver" lines of a resolv.conf; they are
// named after their line ("resolvconf:1" ...) as the file has no names.
// Lines it cannot use are warnings, as in HAProxy.
func readResolvConf(path string) ([]Nameserver, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to open %s: %v", path, err)
	}
	defer f.Close()
	var out []Nameserver
	var warns []string
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() && line < 10000 {
		line++
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 || fs[0] != "nameserver" {
			continue
		}
		if len(fs) < 2 {
			warns = append(warns, fmt.Sprintf("parsing [%s:%d] : nameserver line is missing address.", path, line))
			continue
		}
		host, _, _ := strings.Cut(fs[1], "%") // drop an IPv6 zone
		ip, err := netip.ParseAddr(host)
		if err != nil {
			warns = append(warns, fmt.Sprintf("parsing [%s:%d] : address '%s' could not be recognized, nameserver will be excluded.", path, line, fs[1]))
			continue
		}
		out = append(out, Nameserver{Name: "resolvconf" + ":" + strconv.Itoa(line), Addr: netip.AddrPortFrom(ip.Unmap(), 53)})
	}
	return out, warns, sc.Err()
}

// InitAddr is one method of "init-addr": "last", "libc", "none" or an IP.
type InitAddr struct {
	Method string // "last", "libc", "none" or "ip"
	IP     netip.Addr
}

// DefaultInitAddr is HAProxy's "last,libc"; with "resolvers" it is
// "last,libc,none", so a name that does not resolve at start-up does not
// stop the process (resolution at run time will find it).
func (o *ServerOptions) DefaultInitAddr() []InitAddr {
	if len(o.InitAddr) > 0 {
		return o.InitAddr
	}
	m := []InitAddr{{Method: "last"}, {Method: "libc"}}
	if o.Resolvers != "" {
		m = append(m, InitAddr{Method: "none"})
	}
	return m
}

func parseInitAddr(s string) ([]InitAddr, error) {
	var out []InitAddr
	hasIP := false
	for _, w := range strings.Split(s, ",") {
		var m InitAddr
		switch w {
		case "last", "libc", "none":
			m.Method = w
		default:
			ip, err := netip.ParseAddr(w)
			if err != nil {
				return nil, fmt.Errorf("'init-addr' : unknown init-addr method '%s', supported methods are 'libc', 'last', 'none'.", w)
			}
			if hasIP {
				return nil, fmt.Errorf("'init-addr' : initial address already specified, cannot add '%s'.", w)
			}
			hasIP = true
			m.Method, m.IP = "ip", ip.Unmap()
		}
		for _, o := range out {
			if o.Method == m.Method && m.Method != "ip" {
				return nil, fmt.Errorf("'init-addr' : '%s' is given twice", w)
			}
		}
		if len(out) >= 4 {
			return nil, fmt.Errorf("'init-addr' : too many init-addr methods when trying to add '%s'", w)
		}
		out = append(out, m)
	}
	return out, nil
}

// resolveOption compiles the DNS options of a server line; it reports
// whether name was one of them.
func (c *compiler) resolveOption(o *ServerOptions, name string, v config.Word) bool {
	switch name {
	case "resolvers":
		o.Resolvers = v.Text
	case "resolve-prefer":
		if v.Text != "ipv4" && v.Text != "ipv6" {
			c.ds.Alertf(v.Pos, "'%s' expects either ipv4 or ipv6 as argument.", name)
			return true
		}
		o.ResolvePrefer = v.Text
	case "resolve-net":
		var nets []netip.Prefix
		for _, n := range strings.Split(v.Text, ",") {
			p, err := parseNetwork(n)
			if err != nil {
				c.ds.Alertf(v.Pos, "'%s' invalid network '%s'.", name, n)
				return true
			}
			nets = append(nets, p)
		}
		if len(nets) > 32 {
			c.ds.Alertf(v.Pos, "'%s' exceed %d networks.", name, 32)
			return true
		}
		o.ResolveNets = nets
	case "resolve-opts":
		for _, w := range strings.Split(v.Text, ",") {
			switch w {
			case "allow-dup-ip":
				o.AllowDupIP = true
			case "prevent-dup-ip":
				o.AllowDupIP = false
			case "ignore-weight":
				o.IgnoreWeight = true
			default:
				c.ds.Alertf(v.Pos, "'%s' : unknown resolve-opts option '%s', supported methods are 'allow-dup-ip', 'ignore-weight', and 'prevent-dup-ip'.", name, w)
				return true
			}
		}
	case "init-addr":
		m, err := parseInitAddr(v.Text)
		if err != nil {
			c.ds.Alertf(v.Pos, "%v", err)
			return true
		}
		o.InitAddr = m
	default:
		return false
	}
	return true
}

// parseNetwork reads "10.0.0.0/8", "10.0.0.0/255.0.0.0" or an address.
func parseNetwork(s string) (netip.Prefix, error) {
	if a, m, ok := strings.Cut(s, "/"); ok {
		if ip, err := netip.ParseAddr(a); err == nil {
			if mask, err := netip.ParseAddr(m); err == nil && mask.Is4() && ip.Is4() {
				b := mask.As4()
				bits := 0
				for _, x := range b {
					for i := 7; i >= 0 && x&(1<<i) != 0; i-- {
						bits++
					}
				}
				return ip.Prefix(bits)
			}
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// serverTemplate expands "server-template <prefix> <num|range> <fqdn>[:port]
// [params*]" into the servers it stands for, <prefix>1 ... <prefix>N.
func (c *compiler) serverTemplate(p *Proxy, d *config.Directive) []*Server {
	if len(d.Args) < 3 {
		c.ds.Alertf(d.Pos, "'%s' expects <prefix> <nb | range> <addr>[:<port>] as arguments.", d.Name)
		return nil
	}
	if err := config.CheckProxyName(d.Arg(0)); err != nil {
		c.ds.Alertf(d.ArgPos(0), "character not permitted in %s prefix '%s': %v", d.Name, d.Arg(0), err)
		return nil
	}
	lo, hi, ok := parseTemplateRange(d.Arg(1))
	if !ok {
		c.ds.Alertf(d.ArgPos(1), "Wrong %s number or range arg '%s'.", d.Name, d.Arg(1))
		return nil
	}
	a, err := ParseServerAddr(d.Arg(2))
	if err != nil {
		c.ds.Alertf(d.ArgPos(2), "'%s %s' : %v", d.Name, d.Arg(0), err)
		return nil
	}
	o := p.DefaultServer
	o.Opts = make(map[string]string, len(p.DefaultServer.Opts))
	for k, v := range p.DefaultServer.Opts {
		o.Opts[k] = v
	}
	c.serverOptions(&o, d, 3, false)
	if _, ok := o.Opts["id"]; ok {
		c.ds.Alertf(d.Pos, "'id' is not allowed on '%s' (every server would have the same id)", d.Name)
	}
	out := make([]*Server, 0, hi-lo+1)
	for i := lo; i <= hi; i++ {
		sv := &Server{Pos: d.Pos, Name: d.Arg(0) + strconv.Itoa(i), Addr: a, ServerOptions: o, Template: d.Arg(0)}
		sv.Opts = o.Opts
		out = append(out, sv)
	}
	return out
}

// maxTemplateServers bounds one server-template line: a typo such as
// "1-100000" must not make a hundred thousand servers.
const maxTemplateServers = 10000

func parseTemplateRange(s string) (lo, hi int, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	x, err := strconv.Atoi(a)
	if err != nil {
		return 0, 0, false
	}
	if isRange {
		y, err := strconv.Atoi(b)
		if err != nil {
			return 0, 0, false
		}
		lo, hi = x, y
	} else {
		lo, hi = 1, x
	}
	if lo < 0 || hi < lo || hi-lo+1 > maxTemplateServers {
		return 0, 0, false
	}
	return lo, hi, true
}

// checkServerDNS checks the DNS settings of p's servers once every
// resolvers section is known (they may come after the backend).
func (c *compiler) checkServerDNS(p *Proxy) {
	for _, sv := range p.Servers {
		if sv.Resolvers != "" && c.m.Resolvers[sv.Resolvers] == nil {
			c.ds.Alertf(sv.Pos, "%s '%s', server '%s': unable to find required resolvers '%s'", p.Kind, p.Name, sv.Name, sv.Resolvers)
			continue
		}
		if sv.IsSRV() && sv.Resolvers == "" {
			c.ds.Alertf(sv.Pos, "%s '%s', server '%s': the SRV label '%s' needs a 'resolvers' section to be resolved", p.Kind, p.Name, sv.Name, sv.Addr.Host)
		}
	}
}

// FQDN is the name the server resolves, "" for an address or a socket.
func (s *Server) FQDN() string {
	if s.Addr.Net == "unix" || s.Addr.Net == "abns" || s.Addr.Host == "" {
		return ""
	}
	if _, err := netip.ParseAddr(s.Addr.Host); err == nil {
		return ""
	}
	return s.Addr.Host
}

// IsSRV reports a server named by an SRV label ("_http._tcp.example.com"):
// its addresses and ports come from SRV records.
func (s *Server) IsSRV() bool { return strings.HasPrefix(s.FQDN(), "_") }
