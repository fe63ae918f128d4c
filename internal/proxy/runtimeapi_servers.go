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
		return "No such backend.\n"
	}
	if len(args) < 2 || sn == "" {
		return usage
	}
	if !b.params.Dynamic(b.cfg.Hash) {
		return "Backend must use a dynamic load balancing to support dynamic servers.\n"
	}
	b.addMu.Lock()
	defer b.addMu.Unlock()
	old := b.set.Load()
	for _, s := range old.servers {
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
	s, err := b.newServer(len(old.servers), sc, pp)
	if err != nil {
		return err.Error() + "\n"
	}
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
	b.set.Store(&srvSet{servers: servers, lb: lb})
	if rt.checker != nil {
		rt.watchServer(b, s, 0)
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
