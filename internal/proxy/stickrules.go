package proxy

import (
	"fmt"
	"strconv"

	"bulwark/internal/acl"
	"bulwark/internal/plan"
	"bulwark/internal/stick"
)

// Stickiness ("stick match|on|store-request|store-response"): a stick
// table entry keyed by a sample remembers the server that served it, by
// its "id" (server_id) and by its name or address after the table's
// srvkey (server_key), and later requests with the same key go there;
// as in HAProxy, server_key is looked at first, so an entry survives
// servers renumbered across a reload. Cookie persistence, when it chose a server, takes precedence, as
// in HAProxy where the cookie is processed first.

// stickKey evaluates rule r's condition and key.
func (s *httpSession) stickKey(r *plan.StickRule) (stick.Key, bool) {
	s.eval.Reset()
	if r.Cond != nil && !r.Cond.Match(s.eval) {
		return stick.Key{}, false
	}
	s.eval.Reset()
	smp, ok := r.Key.Sample(s.eval)
	if !ok {
		return stick.Key{}, false
	}
	return acl.SampleKey(smp)
}

// stickMatch runs the match and on rules: the first entry naming a server
// that may take the request (running, or kept by "option persist" or
// force-persist) directs it there.
func (s *httpSession) stickMatch(be *backend) {
	st := &s.ck
	if len(be.stick) == 0 || st.direct >= 0 || st.ignore {
		return
	}
	now := s.Now()
	for i := range be.stick {
		r := &be.stick[i]
		if r.Kind != "match" && r.Kind != "on" {
			continue
		}
		k, ok := s.stickKey(r)
		if !ok {
			continue
		}
		ref, ok := r.Table.Lookup(k, now)
		if !ok {
			continue
		}
		slots := be.slots()
		j := -1
		if key, ok := ref.ServerKey(); ok {
			byAddr := r.Table.Spec().SrvKey == "addr"
			for i, sv := range slots {
				if !sv.removed.Load() && (byAddr && srvKeyAddr(sv) == key || !byAddr && sv.name == key) {
					j = i
					break
				}
			}
		}
		if j < 0 {
			id, ok := ref.Get(stick.DTServerID, now)
			if !ok {
				continue
			}
			for i, sv := range slots {
				if !sv.removed.Load() && int64(sv.cfg.ID) == int64(int32(uint32(id))) {
					j = i
					break
				}
			}
		}
		if j >= 0 && (slots[j].running() || be.cfg.Option("persist") || st.force) {
			st.direct = j
			return
		}
	}
}

// srvKeyAddr is a server's key for "srvkey addr": its current address
// and port as HAProxy writes them ("10.0.0.1:80", "::1:80", a port map
// as "10.0.0.1:+1000"), a unix server's path; "" without an address.
func srvKeyAddr(sv *server) string {
	if sv.unix {
		return sv.addr
	}
	ap := sv.state.Addr()
	if !ap.IsValid() {
		return ""
	}
	a := sv.cfg.Addr
	if a.PortDelta || ap.Port() == 0 {
		off := a.PortLow
		if a.Raw != "" && containsMinusPort(a.Raw) {
			off = -off
		}
		return ap.Addr().String() + ":" + fmt.Sprintf("%+d", off)
	}
	return ap.Addr().String() + ":" + strconv.Itoa(int(ap.Port()))
}

// stickStore records srv in the entries of the store rules of one side
// (request: store-request and on, once the server is known; response:
// store-response).
func (s *httpSession) stickStore(be *backend, srv *server, response bool) {
	if len(be.stick) == 0 || srv == nil || s.ck.ignore {
		return
	}
	if _, ok := srv.cfg.Opts["non-stick"]; ok {
		return
	}
	now := s.Now()
	for i := range be.stick {
		r := &be.stick[i]
		want := r.Kind == "store-request" || r.Kind == "on"
		if response {
			want = r.Kind == "store-response"
		}
		if !want {
			continue
		}
		k, ok := s.stickKey(r)
		if !ok {
			continue
		}
		ref, err := r.Table.GetOrCreate(k, now)
		if err != nil {
			continue
		}
		ref.SetServerID(int32(srv.cfg.ID))
		if r.Table.Spec().SrvKey == "addr" {
			if key := srvKeyAddr(srv); key != "" {
				ref.SetServerKey(key)
			}
		} else {
			ref.SetServerKey(srv.name)
		}
		ref.Release(now)
	}
}
