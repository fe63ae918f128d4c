package proxy

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bulwark/internal/model"
	"bulwark/internal/srvstate"
)

// stateLine is server s of backend p as "show servers state" prints it
// (format version 1), the same line a server-state file holds.
func (rt *Runtime) stateLine(p *model.Proxy, be *backend, i int, s *server, now time.Time) srvstate.StateLine {
	st := s.state.Load()
	id, forced := s.cfg.ID, 0
	if id == 0 {
		id = i + 1
	}
	if _, ok := s.cfg.Opts["id"]; ok {
		forced = 1 // "id" written on the server line
	}
	// The address is the resolved one (none yet for a name that did not
	// resolve), the FQDN the name it comes from.
	addr, fqdn, port, srvrec := "", st.FQDN, int(st.Addr.Port()), ""
	if st.Addr.IsValid() {
		addr = st.Addr.Addr().String()
	}
	if s.cfg.IsSRV() {
		srvrec = s.cfg.FQDN()
	}
	if s.unix {
		addr, port = s.addr, 0
	}
	l := srvstate.StateLine{BackendID: p.ID, Backend: be.name, ServerID: id, Server: s.name, Addr: addr, SRVRecord: srvrec,
		Op: st.StateOp(), Admin: st.Admin, UWeight: st.Weight, IWeight: st.InitialWeight,
		SinceChange: int64(now.Sub(st.LastChange).Seconds()), CheckStatus: st.Check.Status,
		CheckResult: st.Check.Status.Result(), Health: st.Health, CheckState: st.CheckState(),
		ServerForcedID: forced, FQDN: fqdn, Port: port, UseSSL: b2i(s.tls != nil)}
	s.probeStateFields(&l)
	return l
}

// stateFilePath is the file backend p loads its servers' state from
// ("load-server-state-from-file"), "" for none: the global
// "server-state-file", or with "local" the backend's
// "server-state-file-name" (its name by default); relative names are
// under "server-state-base".
func stateFilePath(g *model.Global, p *model.Proxy) string {
	var name string
	switch p.LoadServerState {
	case "global":
		name = g.ServerStateFile
	case "local":
		name = p.ServerStateFileName
		if name == "" {
			name = p.Name
		}
	default:
		return ""
	}
	if name == "" {
		return ""
	}
	if !strings.HasPrefix(name, "/") && g.ServerStateBase != "" {
		name = filepath.Join(g.ServerStateBase, name)
	}
	return name
}

// readStateFiles reads the server-state file of every backend that asks
// for one, each file once. A missing or bad file is a warning: the
// servers start from the configuration.
func (rt *Runtime) readStateFiles() map[string]srvstate.StateFile {
	files := map[string]srvstate.StateFile{}
	for _, p := range rt.model.Backends() {
		path := stateFilePath(&rt.model.Global, p)
		if _, seen := files[path]; path == "" || seen {
			continue
		}
		files[path] = rt.readStateFile(path)
	}
	return files
}

// savedLine is the saved state of server srv of backend be, from the file
// that backend loads.
func (rt *Runtime) savedLine(be, srv string) (srvstate.StateLine, bool) {
	p := rt.model.Backend(be)
	if p == nil {
		return srvstate.StateLine{}, false
	}
	path := stateFilePath(&rt.model.Global, p)
	if path == "" {
		return srvstate.StateLine{}, false
	}
	return rt.stateFiles[path].Lookup(be, srv)
}

// stateAddr is "init-addr last" from a state file: the address and port
// saved for the server, whatever name it was resolved from (HAProxy
// 2.6.12 applies it even when the server's name changed since).
func (rt *Runtime) stateAddr(be, srv string) (netip.AddrPort, bool) {
	l, ok := rt.savedLine(be, srv)
	if !ok {
		return netip.AddrPort{}, false
	}
	ip, err := netip.ParseAddr(l.Addr)
	if err != nil || l.Port < 0 || l.Port > 65535 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(l.Port)), true
}

// loadServerState applies the server-state files of the backends that
// ask for one, before any check runs, as HAProxy does at startup.
func (rt *Runtime) loadServerState() {
	now := time.Now()
	for _, p := range rt.model.Backends() {
		be := rt.backends[p.Name]
		if be == nil {
			continue
		}
		for _, s := range be.srvs() {
			if l, ok := rt.savedLine(be.name, s.name); ok {
				s.state.Restore(l, now)
			}
		}
	}
}

func (rt *Runtime) readStateFile(path string) srvstate.StateFile {
	fh, err := os.Open(path)
	if err != nil {
		rt.event("Can't open server state file '" + path + "': " + err.Error())
		return nil
	}
	defer fh.Close()
	f, errs := srvstate.ParseStateFile(fh)
	for _, e := range errs {
		rt.event("server-state file '" + path + "': " + e.Error())
	}
	return f
}
