package proxy

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"os"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/h1"
	"bulwark/internal/model"
	"bulwark/internal/srvstate"
	"bulwark/internal/stats"
)

// Version is reported on the stats page unless "stats hide-version".
const Version = "0.1.0-dev"

// StatsRows returns the statistics of the running configuration: for each
// proxy in order, its FRONTEND row, its servers and its BACKEND row.
func (rt *Runtime) StatsRows() []stats.Row {
	var rows []stats.Row
	fes := map[string]*frontend{}
	for _, f := range rt.frontends {
		fes[f.name] = f
	}
	for _, p := range rt.model.Proxies {
		if f := fes[p.Name]; f != nil && p.Cap&model.CapFrontend != 0 {
			r := stats.Row{Proxy: p.Name, Name: "FRONTEND", Type: 0, IID: p.ID, Scur: f.conns.Load(),
				Slim: int64(p.MaxConn), Status: "OPEN", Mode: p.Mode.String()}
			if rt.stopping.Load() {
				r.Status = "STOP"
			}
			fillCounters(&r, &f.stats)
			rows = append(rows, r)
		}
		b := rt.backends[p.Name]
		if b == nil || p.Cap&model.CapBackend == 0 {
			continue
		}
		var cur int64
		snaps := make([]srvstate.Snapshot, len(b.servers))
		now := time.Now()
		for i, s := range b.servers {
			st := s.state.Load()
			snaps[i] = st
			r := stats.Row{Proxy: p.Name, Name: s.name, Type: 2, IID: p.ID, SID: i + 1,
				Scur: s.current.Load(), Mode: p.Mode.String(), Addr: s.addr, Status: st.Status(),
				Weight: int64(st.EffectiveWeight()), UWeight: int64(st.Weight), Checked: st.Checked,
				ChkFail: st.FailedChecks, ChkDown: st.DownTransitions,
				LastChg: int64(now.Sub(st.LastChange).Seconds())}
			if st.ChecksRunning() {
				c := st.Check
				r.Check = &stats.Check{Status: c.Status.String(), Code: c.Code, HasCode: c.Status.HasCode(),
					Duration: -1, Desc: c.Status.Desc(), Last: c.Info, Rise: st.Rise, Fall: st.Fall, Health: st.Health}
				if c.Status.Finished() {
					r.Check.Duration = c.Duration.Milliseconds()
				}
			}
			if s.cfg.Backup {
				r.Bck = 1
			} else {
				r.Act = 1
			}
			cur += r.Scur
			fillCounters(&r, &s.stats)
			r.Econ = s.failed.Load()
			rows = append(rows, r)
		}
		r := stats.Row{Proxy: p.Name, Name: "BACKEND", Type: 1, IID: p.ID, Scur: cur, Qcur: b.queued.Load(),
			Mode: p.Mode.String(), Algo: b.params.String()}
		backendState(&r, b, snaps)
		fillCounters(&r, &b.stats)
		rows = append(rows, r)
	}
	return rows
}

// backendState fills the BACKEND row as HAProxy does: act and bck count
// the servers that take new traffic (not DOWN, MAINT, DRAIN or NOLB), the
// weight is that of the group in use (the active servers, else the
// backups: the first one only without "option allbackups"), and the
// backend is DOWN when that weight is 0 and it has servers.
func backendState(r *stats.Row, b *backend, snaps []srvstate.Snapshot) {
	var wact, wbck, wfirst int64
	for i, s := range b.servers {
		st := &snaps[i]
		r.UWeight += int64(st.Weight)
		w := int64(st.View().Weight)
		if w == 0 {
			continue
		}
		if s.cfg.Backup {
			if r.Bck == 0 {
				wfirst = w
			}
			r.Bck++
			wbck += w
		} else {
			r.Act++
			wact += w
		}
	}
	switch {
	case r.Act > 0:
		r.Weight = wact
	case b.cfg.Option("allbackups"):
		r.Weight = wbck
	default:
		r.Weight = wfirst
	}
	r.Status = "UP"
	if r.Weight == 0 && len(b.servers) > 0 {
		r.Status = "DOWN"
	}
}

func fillCounters(r *stats.Row, c *counters) {
	r.Stot = c.total.Load()
	r.Bin = c.bytesIn.Load()
	r.Bout = c.bytesOut.Load()
	r.Dreq = c.denied.Load()
	r.Ereq = c.errReq.Load()
	r.Eresp = c.errResp.Load()
	for i := range r.Hrsp {
		r.Hrsp[i] = c.hrsp[i].Load()
	}
}

// statsFor returns the stats settings that apply to a request on p: the
// page is enabled and the request-target starts with its URI (CM 4.2
// "stats uri": a prefix).
func statsFor(p *model.Proxy, target []byte) *model.Stats {
	st := p.Stats
	if st == nil || !st.Enabled {
		return nil
	}
	if !bytes.HasPrefix(target, []byte(st.URI)) {
		return nil
	}
	return st
}

// serveStats answers a stats request: basic authentication when "stats
// auth" is set, then the HTML page or, with ";csv" in the URI, the CSV.
func (s *httpSession) serveStats(st *model.Stats, pages errorPages, e *LogEntry) {
	e.Server = "<STATS>"
	if len(st.Auth) > 0 && !statsAuthOK(st.Auth, s.m.req.Headers) {
		realm := st.Realm
		if realm == "" {
			realm = "HAProxy Statistics"
		}
		body := pages.get(401)
		if i := indexBody(body); i >= 0 {
			body = body[i:]
		}
		s.writeResponse(401, "text/html", [][2]string{{"WWW-Authenticate", `Basic realm="` + realm + `"`}}, body, e)
		return
	}
	var buf bytes.Buffer
	rows := s.fe.rt.StatsRows()
	ctype := "text/html"
	if bytes.Contains(s.m.req.Target, []byte(";csv")) {
		stats.WriteCSV(&buf, rows, os.Getpid())
		ctype = "text/plain"
	} else {
		stats.WriteHTML(&buf, rows, stats.PageOptions{HideVersion: st.HideVersion, Version: Version,
			Refresh: st.Refresh, URI: st.URI})
	}
	s.writeResponse(200, ctype, [][2]string{{"Cache-Control", "no-cache"}}, buf.Bytes(), e)
}

// writeResponse sends a complete response generated by the proxy and
// closes the exchange.
func (s *httpSession) writeResponse(status int, ctype string, hdrs [][2]string, body []byte, e *LogEntry) {
	b := h1.AppendStatusLine(s.head[:0], 1, 1, status, []byte(reasonFor(status)))
	b = h1.AppendHeaderField(b, "content-length", strconv.Itoa(len(body)))
	b = h1.AppendHeaderField(b, "content-type", ctype)
	for _, h := range hdrs {
		b = h1.AppendHeaderField(b, h[0], h[1])
	}
	b = h1.AppendHeaderField(b, "connection", "close")
	b = append(b, '\r', '\n')
	b = append(b, body...)
	s.head = b[:0]
	s.writeRaw(b, status, e)
}

func statsAuthOK(auth []string, hs []h1.Header) bool {
	v, ok := h1.Get(hs, "authorization")
	if !ok || len(v) < 6 || !strings.EqualFold(string(v[:6]), "basic ") {
		return false
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(v[6:])))
	if err != nil {
		return false
	}
	good := 0
	for _, cred := range auth {
		good |= subtle.ConstantTimeCompare(dec, []byte(cred))
	}
	return good == 1
}
