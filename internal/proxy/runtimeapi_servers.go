package proxy

import (
	"strings"

	"bulwark/internal/balance"
	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/srvstate"
)

// "add server <be>/<name> <addr> [options]" (MG 9.3): a server created at
// run time. Its line is compiled as a configuration line would be (same
// keywords, same errors), without "default-server"; it starts in
// maintenance with its health check disabled, as in HAProxy ("enable
// server" and "enable health" bring it in). Like every runtime change it
// lives in this generation only: a reload forgets it unless the
// configuration has it.

func serverCommands() []apiCommand {
	return []apiCommand{
		{"add server", "<bk>/<srv>", "admin", "create a new server", wrap((*Runtime).apiAddServer)},
		{"del server", "<bk>/<srv>", "admin", "remove a dynamically added server", wrap((*Runtime).apiDelServer)},
	}
}

func (rt *Runtime) apiAddServer(args []string) string {
	const usage = "'server' expects <name> and <addr>[:<port>] as arguments.\n"
	if len(args) == 0 {
		return "Require 'backend/server'.\n"
	}
	bn, sn, ok := strings.Cut(args[0], "/")
	if !ok {
		return "Require 'backend/server'.\n"
	}
	b := rt.backends[bn]
	if b == nil {
		return "No such backend.\n" + unterminated
	}
	if len(args) < 2 || sn == "" {
		return usage
	}
	if !b.params.Dynamic(b.cfg.Hash) {
		return "Backend must use a dynamic load balancing to support dynamic servers.\n" + unterminated
	}
	b.addMu.Lock()
	defer b.addMu.Unlock()
	old := b.set.Load()
	for _, s := range old.live {
		if s.name == sn {
			return "Already exists a server with the same name in backend.\n"
		}
	}
	sc, pp, msg := compileServerLine(b.cfg, sn, args[1:])
	if sc == nil {
		return msg
	}
	// The line was compiled alone, so its id counts from 1: take the
	// next free one unless "id" was given.
	next := 1
	for i, o := range old.servers {
		id := o.cfg.ID
		if id == 0 {
			id = i + 1
		}
		if _, forced := sc.Opts["id"]; forced && id == sc.ID {
			return "this id is already used by server '" + o.name + "'.\n"
		}
		next = max(next, id+1)
	}
	if _, forced := sc.Opts["id"]; !forced {
		sc.ID = next
	}
	// A server added at run time starts from its own address (or libc),
	// as with init-addr libc,none.
	s, err := b.newServer(len(old.servers), sc, pp, newAddrEnv(nil, nil, nil))
	if err != nil {
		return err.Error() + "\n"
	}
	s.sslc = b.sslc
	s.pool.fds = b.fds
	s.state.SetAdmin(srvstate.Maint)
	if sc.Check {
		s.state.SetChecked(false)
	}
	lbs := make([]*balance.Server, 0, len(old.servers)+1)
	for _, o := range old.servers {
		lbs = append(lbs, o.lb)
	}
	lbs = append(lbs, s.lb)
	lb, err := balance.New(b.params, b.cfg.Hash, lbs, b.lbOpts...)
	if err != nil {
		return err.Error() + "\n"
	}
	servers := append(old.servers[:len(old.servers):len(old.servers)], s)
	live := append(old.live[:len(old.live):len(old.live)], s)
	b.set.Store(&srvSet{servers: servers, live: live, lb: lb})
	if rt.checker != nil {
		rt.watchServer(b, s, 0, 0)
	}
	return "New server registered.\n"
}

// compileServerLine compiles "server <name> <args>" for backend p through
// the configuration compiler, so that a runtime server takes the same
// keywords and gets the same errors as one in a file.
func compileServerLine(p *model.Proxy, name string, args []string) (*model.Server, *plan.Proxy, string) {
	text := "backend " + p.Name + "\n    mode " + p.Mode.String() + "\n    server " + name + " " + strings.Join(args, " ") + "\n"
	ast, ds := config.Parse("cli", []byte(text), config.LexOptions{})
	m, cds := model.Compile(ast, model.Options{})
	ds = append(ds, cds...)
	if msg := firstAlert(ds); msg != "" {
		return nil, nil, msg
	}
	pl, pds := plan.Compile(m, plan.Options{})
	if msg := firstAlert(pds); msg != "" {
		return nil, nil, msg
	}
	for _, mp := range m.Proxies {
		if mp.Name == p.Name && len(mp.Servers) == 1 {
			return mp.Servers[0], pl.Proxies[mp], ""
		}
	}
	return nil, nil, "'server' expects <name> and <addr>[:<port>] as arguments.\n"
}

func firstAlert(ds config.Diagnostics) string {
	for _, d := range ds {
		if d.Severity == config.SevAlert {
			return d.Msg + "\n"
		}
	}
	return ""
}

// apiDelServer is "del server <be>/<srv>": a server in maintenance and
// without connections leaves the backend. (HAProxy also refuses servers
// that "track", "use-server" and the like point to; Bulwark has none of
// those.)
// Its balancer slot stays (unusable) so that requests holding indices of
// other servers release the right ones.
func (rt *Runtime) apiDelServer(args []string) string {
	if len(args) != 1 {
		return "Require 'backend/server'.\n"
	}
	b, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg + unterminated
	}
	b.addMu.Lock()
	defer b.addMu.Unlock()
	if !s.state.Load().Admin.Maint() {
		return "Only servers in maintenance mode can be deleted.\n"
	}
	if s.current.Load() > 0 {
		return "Server still has connections attached to it, cannot remove it.\n"
	}
	s.pool.drop()
	s.agentOff.Store(true)
	s.removed.Store(true)
	old := b.set.Load()
	live := make([]*server, 0, len(old.live))
	for _, o := range old.live {
		if o != s {
			live = append(live, o)
		}
	}
	b.set.Store(&srvSet{servers: old.servers, live: live, lb: old.lb})
	return "Server deleted.\n" + unterminated
}
