package model

import (
	"fmt"

	"bulwark/internal/config"
)

// Options tunes compilation.
type Options struct {
	// Audit compiles as much as possible for the auditor: directives that
	// Bulwark does not run are kept silently instead of being errors.
	Audit bool
}

// CodeUnsupported marks diagnostics about directives that HAProxy accepts
// but Bulwark does not run; the auditor drops them.
const CodeUnsupported = "unsupported"

// compiler carries the state of one compilation.
type compiler struct {
	opt      Options
	ds       config.Diagnostics
	m        *Model
	defaults map[string]*config.Section
	// chains caches defaultsChain per defaults section: every proxy after a
	// defaults section inherits the same chain, and rebuilding it per proxy
	// showed in profiles of large configurations. It is cleared whenever a
	// defaults section is registered, since a redefined name can change
	// the chain of a section that refers to it.
	chains map[*config.Section]*chain
	// backends and tables index the proxies by name once all are known,
	// so that cross-references do not scan every proxy per reference.
	backends map[string]*Proxy
	tables   map[string]bool
	// serverHint is the number of server lines of the proxy being
	// compiled, to size its Servers slice once.
	serverHint int
}

// chain is what a proxy inherits from a defaults section.
type chain struct {
	dirs  []*config.Directive
	rules bool // see defaultsHaveRules
	// l5 and tcpRsp mark the rule sets HAProxy refuses to inherit on one
	// side: connection/session rules run before any backend exists, and
	// tcp-response content rules only run in a backend.
	l5, tcpRsp bool
}

// Compile builds the Model from the AST. It always returns a Model (for the
// auditor), with every diagnostic found.
func Compile(cfg *config.Config, opt Options) (*Model, config.Diagnostics) {
	c := &compiler{opt: opt, m: &Model{Files: cfg.Files, Userlists: map[string]*Userlist{}, Resolvers: map[string]*Resolvers{}},
		defaults: map[string]*config.Section{}, chains: map[*config.Section]*chain{}}
	c.m.Global = newGlobal()
	var lastDefaults *config.Section
	// A defaults section used implicitly by a proxy and explicitly by
	// another triggers HAProxy's warning; track both uses.
	usedImplicit := map[*config.Section]bool{}
	usedExplicit := map[*config.Section]bool{}
	mixReported := map[*config.Section]bool{}
	seenNonGlobal := false
	// Rules in a defaults section are prepended to one side only: HAProxy
	// refuses a defaults section with rules used by both a frontend-capable
	// and a backend-capable proxy, and by a listen.
	ruleUsers := map[*config.Section]Cap{}
	id := 0
	for _, s := range cfg.Sections {
		switch s.Kind {
		case config.KindGlobal:
			if seenNonGlobal {
				// HAProxy accepts a late global section; its settings
				// still apply process-wide.
				c.ds.Noticef(s.Pos, "'global' section after other sections")
			}
			c.global(s)
			continue
		case config.KindDefaults:
			seenNonGlobal = true
			if s.Name != "" {
				if prev, ok := c.defaults[s.Name]; ok {
					c.ds.Alertf(s.NamePos, "defaults section '%s' has the same name as another defaults section declared at %s", s.Name, prev.Pos)
				}
				c.defaults[s.Name] = s
				clear(c.chains)
			}
			if s.From != "" {
				if d := c.resolveFrom(s); d != nil {
					usedExplicit[d] = true
					if c.defaultsHaveRules(d) {
						c.ds.Alertf(s.Pos, "a defaults section cannot inherit from a defaults section defining TCP/HTTP rules (defaults section at %s:%d).", d.Pos.File, d.Pos.Line)
					}
				}
			}
			c.checkDefaults(s)
			lastDefaults = s
			continue
		case config.KindFrontend, config.KindBackend, config.KindListen:
			seenNonGlobal = true
			id++
			var def *config.Section
			if s.From != "" {
				def = c.resolveFrom(s)
				if def != nil {
					usedExplicit[def] = true
				}
			} else if lastDefaults != nil {
				def = lastDefaults
				usedImplicit[def] = true
			}
			// HAProxy 2.6 reports this as an [ALERT] at the proxy that
			// makes the second kind of use, yet "-c" still exits 0; a
			// warning keeps that verdict (and --strict makes it fatal).
			if def != nil && def.Name != "" && usedExplicit[def] && usedImplicit[def] && !mixReported[def] {
				mixReported[def] = true
				c.ds.Warnf(s.Pos, "defaults section '%s' (declared at %s:%d) is explicitly referenced by another proxy and implicitly used here. To avoid any ambiguity don't mix both usage. Add a last defaults section not explicitly used or always use explicit references", def.Name, def.Pos.File, def.Pos.Line)
			}
			p := c.proxy(s, def, id)
			c.m.Proxies = append(c.m.Proxies, p)
			if def != nil && c.defaultsHaveRules(def) {
				ch := c.chainOf(def)
				switch {
				case s.Kind == config.KindListen:
					c.ds.Alertf(s.Pos, "a listen section cannot inherit from a defaults section defining TCP/HTTP rules.")
				case s.Kind == config.KindBackend && ch.l5:
					c.ds.Alertf(s.Pos, "a backend section cannot inherit from a defaults section defining 'tcp-request connection' or 'tcp-request session' rules (defaults section at %s:%d).", def.Pos.File, def.Pos.Line)
				case s.Kind == config.KindFrontend && ch.tcpRsp:
					c.ds.Alertf(s.Pos, "a frontend section cannot inherit from a defaults section defining 'tcp-response content' rules (defaults section at %s:%d).", def.Pos.File, def.Pos.Line)
				case ruleUsers[def]&^p.Cap != 0:
					c.ds.Alertf(s.Pos, "frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules (defaults section at %s:%d).", def.Pos.File, def.Pos.Line)
				}
				ruleUsers[def] |= p.Cap
			}
		case config.KindUserlist:
			seenNonGlobal = true
			c.userlist(s)
		case config.KindPeers:
			seenNonGlobal = true
			c.peers(s)
		case config.KindCache:
			seenNonGlobal = true
			c.cacheSection(s)
		case config.KindFCGIApp:
			seenNonGlobal = true
			c.fcgiApp(s)
		case config.KindResolvers:
			seenNonGlobal = true
			c.resolvers(s)
		case config.KindProgram:
			seenNonGlobal = true
			c.program(s)
		case config.KindHTTPErrors:
			seenNonGlobal = true
			c.httpErrors(s)
		default:
			seenNonGlobal = true
			c.m.Unrun = append(c.m.Unrun, s)
			c.unsupported(s.Pos, "'%s' section is not supported by bulwark", s.Kind)
		}
	}
	c.checkNames()
	c.crossRefs()
	c.defaultResolvers()
	for _, p := range c.m.Proxies {
		c.checkServerDNS(p)
	}
	if len(c.m.Global.StatsSocks) > 0 {
		// HAProxy's CLI frontend ("GLOBAL") takes proxy id 1 when a stats
		// socket is declared; the iid of the stats, "show servers state"
		// and the stats page's "b=#<id>" count from 2 then.
		for _, p := range c.m.Proxies {
			p.ID++
		}
	}
	c.explicitIDs()
	return c.m, c.ds
}

// explicitIDs gives the proxies with an "id" line that id and numbers
// the others, in declaration order, with the smallest ids left free (from
// where automatic numbering starts), as HAProxy does.
func (c *compiler) explicitIDs() {
	used := map[int]*Proxy{}
	explicit := false
	for _, p := range c.m.Proxies {
		if p.ExplicitID == 0 {
			continue
		}
		explicit = true
		if q := used[p.ExplicitID]; q != nil {
			c.ds.Alertf(p.Pos, "%s '%s' has the same ID (%d) as %s '%s' declared at %s:%d", p.Kind, p.Name, p.ExplicitID, q.Kind, q.Name, q.Pos.File, q.Pos.Line)
			continue
		}
		used[p.ExplicitID] = p
	}
	if !explicit {
		return
	}
	next := 1
	if len(c.m.Global.StatsSocks) > 0 {
		next = 2
	}
	for _, p := range c.m.Proxies {
		if p.ExplicitID != 0 {
			p.ID = p.ExplicitID
			continue
		}
		for used[next] != nil {
			next++
		}
		p.ID = next
		next++
	}
}

func (c *compiler) unsupported(pos config.Pos, format string, args ...any) {
	if c.opt.Audit {
		return
	}
	msg := fmt.Sprintf(format, args...)
	// A keyword refused twice on one line ("tfo tfo") is one error.
	for i := len(c.ds) - 1; i >= 0 && c.ds[i].Pos.Line == pos.Line && c.ds[i].Pos.File == pos.File; i-- {
		if c.ds[i].Msg == msg && c.ds[i].Code == CodeUnsupported {
			return
		}
	}
	c.ds = append(c.ds, config.Diagnostic{Pos: pos, Severity: config.SevAlert, Msg: msg, Code: CodeUnsupported})
}

// noEffect warns about a directive Bulwark accepts but that changes
// nothing in it (HAProxy internals such as tuning knobs): never silent.
func (c *compiler) noEffect(pos config.Pos, format string, args ...any) {
	if c.opt.Audit {
		return
	}
	c.ds = append(c.ds, config.Diagnostic{Pos: pos, Severity: config.SevWarning,
		Msg: fmt.Sprintf(format, args...) + " has no effect in bulwark", Code: "no-effect"})
}

func (c *compiler) resolveFrom(s *config.Section) *config.Section {
	d, ok := c.defaults[s.From]
	if !ok {
		c.ds.Alertf(s.FromPos, "%s '%s': unable to find defaults section '%s'", s.Kind, s.Name, s.From)
		return nil
	}
	if d == s {
		c.ds.Alertf(s.FromPos, "defaults section '%s' cannot inherit from itself", s.Name)
		return nil
	}
	if d.Name == "" {
		c.ds.Alertf(s.FromPos, "'from' must designate a named defaults section")
		return nil
	}
	return d
}

// defaultsChain returns the directives a proxy inherits: those of every
// defaults section of the "from" chain, outermost first.
func (c *compiler) defaultsChain(d *config.Section) []*config.Directive {
	return c.chainOf(d).dirs
}

func (c *compiler) chainOf(d *config.Section) *chain {
	if ch, ok := c.chains[d]; ok {
		return ch
	}
	var secs []*config.Section
	seen := map[*config.Section]bool{}
	for x := d; x != nil && !seen[x]; {
		seen[x] = true
		secs = append(secs, x)
		if x.From == "" {
			break
		}
		x = c.defaults[x.From]
	}
	ch := &chain{}
	for i := len(secs) - 1; i >= 0; i-- {
		ch.dirs = append(ch.dirs, secs[i].Directives...)
	}
	for _, x := range ch.dirs {
		if d.Name == "" {
			// Rules are refused in an anonymous defaults section (config
			// check): like HAProxy, which never adds them, report nothing
			// more about who inherits them.
			break
		}
		switch x.Name {
		case "http-request", "http-response", "http-after-response":
			ch.rules = true
		case "tcp-request", "tcp-response":
			if x.Arg(0) != "inspect-delay" {
				ch.rules = true
			}
			switch {
			case x.Name == "tcp-request" && (x.Arg(0) == "connection" || x.Arg(0) == "session"):
				ch.l5 = true
			case x.Name == "tcp-response" && x.Arg(0) == "content":
				ch.tcpRsp = true
			}
		}
	}
	c.chains[d] = ch
	return ch
}

// checkDefaults compiles a defaults section on its own, so that errors in it
// are reported once, at its lines, even when no proxy uses it.
func (c *compiler) checkDefaults(s *config.Section) {
	p := newProxy(s, 0)
	p.Cap = CapDefaults | CapFrontend | CapBackend
	c.serverHint = 0
	// Only the section's own lines are checked here: lines inherited
	// through "from" were checked at their own section.
	own := make(map[*config.Directive]bool, len(s.Directives))
	for _, d := range s.Directives {
		own[d] = true
	}
	for _, d := range c.defaultsChain(s) {
		quiet := c.ds
		c.proxyDirective(p, s, d, false)
		if !own[d] {
			c.ds = quiet
		}
	}
	c.checkDefaultsRuleArgs(p)
}

// defaultsHaveRules reports whether a defaults section, with what it
// inherits, carries tcp-request/tcp-response/http-* rules.
func (c *compiler) defaultsHaveRules(d *config.Section) bool {
	return c.chainOf(d).rules
}

func newProxy(s *config.Section, id int) *Proxy {
	p := &Proxy{Name: s.Name, Kind: s.Kind, Pos: s.Pos, ID: id, Retries: 3, RetryOn: RetryConnFailure, Redispatch: -2,
		Options: map[string]bool{}, OptionArgs: map[string]*config.Directive{},
		ErrorFiles: map[int]string{}}
	switch s.Kind {
	case config.KindFrontend:
		p.Cap = CapFrontend
	case config.KindBackend:
		p.Cap = CapBackend
	case config.KindListen:
		p.Cap = CapFrontend | CapBackend
	}
	p.DefaultServer = defaultServerOptions()
	return p
}

func (c *compiler) proxy(s *config.Section, def *config.Section, id int) *Proxy {
	p := newProxy(s, id)
	// Sizing the slices up front matters with thousands of proxies; a proxy
	// without directives or servers keeps nil slices, as before.
	var inherited []*config.Directive
	if def != nil {
		inherited = c.defaultsChain(def)
	}
	if n := len(inherited) + len(s.Directives); n > 0 {
		p.Directives = make([]*config.Directive, 0, n)
	}
	c.serverHint = 0
	for _, d := range s.Directives {
		if d.Name == "server" {
			c.serverHint++
		}
	}
	if def != nil {
		p.Defaults = def.Name
		// Inherited directives were already checked at their defaults
		// section; here they are applied quietly, and those that do not fit
		// this proxy's capability are skipped, as HAProxy does.
		quiet := c.ds
		for _, d := range inherited {
			c.proxyDirective(p, s, d, true)
		}
		c.ds = quiet
		if p.Cap&CapBackend != 0 && len(p.Captures) > 0 {
			c.ds.Alertf(s.Pos, "backend or defaults sections cannot inherit from a defaults section defining capptures (defaults section at %s:%d).", def.Pos.File, def.Pos.Line)
		}
	}
	for _, d := range s.Directives {
		c.proxyDirective(p, s, d, false)
	}
	c.dispatchServer(p)
	c.transparentServer(p)
	c.finishProxy(p)
	return p
}

// dispatchServer turns "dispatch <addr>" into the backend's one server
// (named "dispatch"), which it is when no server line exists (CM 4.2).
func (c *compiler) dispatchServer(p *Proxy) {
	d := p.dispatch
	if d == nil {
		return
	}
	if len(p.Servers) > 0 {
		c.ds.Warnf(d.Pos, "'dispatch' is ignored as %s '%s' has servers", p.Kind, p.Name)
		return
	}
	sd := &config.Directive{Pos: d.Pos, Name: "server", Args: []config.Word{{Pos: d.Pos, Text: "dispatch"}, d.Args[0]}}
	if sv := c.server(p, sd); sv != nil {
		p.Servers = append(p.Servers, sv)
	}
}

// transparentServer gives a backend with "option transparent" and no
// server the one server that stands for the client's destination: its
// connections go to the address the client connected to (the original
// one when netfilter redirected it), as HAProxy's do when no server is
// picked (CM 4 "option transparent"). A backend with servers balances
// over them.
func (c *compiler) transparentServer(p *Proxy) {
	if !p.Option("transparent") || p.Cap&CapBackend == 0 || len(p.Servers) > 0 {
		return
	}
	pos := p.Pos
	sd := &config.Directive{Pos: pos, Name: "server", Args: []config.Word{{Pos: pos, Text: "transparent"}, {Pos: pos, Text: "0.0.0.0:0"}}}
	if sv := c.server(p, sd); sv != nil {
		sv.ToDst = true
		p.Servers = append(p.Servers, sv)
	}
}

func (c *compiler) checkNames() {
	type key struct {
		name string
		cap  Cap
	}
	seen := map[key]*Proxy{}
	for _, p := range c.m.Proxies {
		for _, cp := range []Cap{CapFrontend, CapBackend} {
			if p.Cap&cp == 0 {
				continue
			}
			k := key{p.Name, cp}
			if prev, ok := seen[k]; ok && prev != p {
				c.ds.Alertf(p.Pos, "%s '%s' has the same name as %s '%s' declared at %s", p.Kind, p.Name, prev.Kind, prev.Name, prev.Pos)
				break
			}
			seen[k] = p
		}
	}
}

// crossRefs checks references between sections once every proxy is known.
func (c *compiler) crossRefs() {
	c.backends = make(map[string]*Proxy)
	c.tables = make(map[string]bool)
	for _, p := range c.m.Proxies {
		// The first backend of a name wins, as Model.Backend's scan does.
		if _, dup := c.backends[p.Name]; p.Cap&CapBackend != 0 && !dup {
			c.backends[p.Name] = p
		}
		if p.StickTable != nil {
			c.tables[p.Name] = true
		}
	}
	for _, ps := range c.m.Peers {
		for _, t := range ps.Tables {
			c.tables[t.Name] = true
		}
	}
	c.checkPeersRefs()
	c.checkCacheRefs()
	c.checkFCGIRefs()
	for _, p := range c.m.Proxies {
		if p.Cap&CapFrontend != 0 {
			for _, ub := range p.UseBackends {
				if !ub.Dynamic {
					c.checkBackendRef(p, "use_backend", ub.Backend, ub.Pos)
				}
			}
			// A default_backend is never a log-format: HAProxy 2.6 looks
			// "be_%[...]" up as a name, and refuses it.
			if p.DefaultBackend != "" {
				c.checkBackendRef(p, "default_backend", p.DefaultBackend, p.DefBackendPos)
			}
		}
		c.checkTableRefs(p)
	}
}

func (c *compiler) checkBackendRef(fe *Proxy, kw, name string, pos config.Pos) {
	be := c.backends[name]
	if be == nil {
		c.ds.Alertf(pos, "Proxy '%s': unable to find required %s: '%s'", fe.Name, kw, name)
		return
	}
	// A tcp frontend may hand a connection to an http backend (HAProxy
	// upgrades the stream), not the other way round.
	if fe.Mode == ModeHTTP && be.Mode == ModeTCP {
		c.ds.Alertf(pos, "http %s '%s' (%s) tries to use incompatible tcp backend '%s' (%s) in a '%s' rule (see 'mode')", fe.Kind, fe.Name, fe.Pos, name, be.Pos, kw)
	}
}
