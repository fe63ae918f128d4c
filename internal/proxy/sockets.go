package proxy

import (
	"context"
	"fmt"
	"net"

	"bulwark/internal/model"
	"bulwark/internal/plan"
)

// Socket is one listening socket a master process holds for its workers.
type Socket struct {
	// Key names the socket across generations (Options.Sockets).
	Key      string
	Listener net.Listener
}

// OpenSockets opens every listening socket the plan needs (binds of the
// enabled frontends and the stats sockets), as a master does before it
// starts a worker. A socket of have (the running generation's) with the
// same key is reused, so the kernel's queue of pending connections is never
// dropped; fd@N binds take the inherited listeners. It returns every socket
// in the plan's order and those it opened itself. On error it closes what it
// opened and returns nothing. Sockets received from another process (-x)
// are taken from adopted before binding; nil when none.
func OpenSockets(pl *plan.Plan, inherited map[int]net.Listener, have map[string]net.Listener, adopted *Adopted) (all []Socket, opened []net.Listener, err error) {
	m := pl.Model
	seen := map[string]bool{}
	defer func() {
		if err != nil {
			for _, l := range opened {
				l.Close()
			}
			all, opened = nil, nil
		}
	}()
	given := map[net.Listener]bool{}
	take := func(key string) net.Listener {
		if _, l := sameSocket(have, key, func(l net.Listener) bool { return given[l] }); l != nil {
			given[l] = true
			return l
		}
		return adopted.Take(key)
	}
	open := func(b *model.Bind, what string) error {
		ls, keys, err := listen(context.Background(), b, !m.Global.NoReusePort, inherited, take)
		if err != nil {
			return fmt.Errorf("%s (%s): %v", what, b.Pos, err)
		}
		for i, l := range ls {
			if have[keys[i]] != l {
				opened = append(opened, l)
			}
			if seen[keys[i]] {
				continue
			}
			seen[keys[i]] = true
			all = append(all, Socket{Key: keys[i], Listener: l})
		}
		return nil
	}
	for _, ss := range m.Global.StatsSocks {
		if err := open(statsSocketBind(ss), "stats socket"); err != nil {
			return nil, nil, err
		}
	}
	for _, px := range m.Frontends() {
		if px.Disabled {
			continue
		}
		for _, b := range px.Binds {
			if err := open(b, fmt.Sprintf("%s '%s'", px.Kind, px.Name)); err != nil {
				return nil, nil, err
			}
		}
	}
	return all, opened, nil
}

// statsSocketBind is the bind a "stats socket" line listens with.
func statsSocketBind(ss *model.StatsSocket) *model.Bind {
	b := &model.Bind{Pos: ss.Pos, Addrs: []model.Addr{ss.Addr}, Mode: ss.Mode, User: ss.User, Group: ss.Group,
		Opts: map[string]string{}}
	if b.Mode == 0 && ss.Addr.Net == "unix" {
		b.Mode = 0o600 // HAP-6.2: owner only unless the configuration says otherwise
	}
	return b
}
