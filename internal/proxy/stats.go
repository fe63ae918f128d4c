package proxy

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/url"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"bulwark/internal/h1"
	"bulwark/internal/model"
	"bulwark/internal/srvstate"
	"bulwark/internal/stats"
)

// Version is reported on the stats page unless "stats hide-version".
const Version = "0.1.0-dev"

// ReleaseDate is "show info" Release_date.
const ReleaseDate = "2026/12/01"

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func secsSince(now time.Time, ms int64) int64 {
	if ms == 0 {
		return -1
	}
	return max(now.UnixMilli()-ms, 0) / 1000
}

// StatsRows returns the statistics of the running configuration: for each
// proxy in order, its FRONTEND row, its servers and its BACKEND row. Every
// server field is read from the server's one state (srvstate), so the
// page, the CLI and the exporter show the same truth.
func (rt *Runtime) StatsRows() []stats.Row {
	var rows []stats.Row
	fes := map[string]*frontend{}
	for _, f := range rt.frontends {
		fes[f.name] = f
	}
	now := time.Now()
	nowMs := rt.clock.NowMs()
	for _, p := range rt.model.Proxies {
		if f := fes[p.Name]; f != nil && p.Cap&model.CapFrontend != 0 {
			r := stats.Row{Proxy: p.Name, Name: "FRONTEND", Type: stats.TypeFrontend, IID: p.ID, Scur: f.conns.Load(),
				Slim: int64(f.gate.limit()), Status: "OPEN", Mode: p.Mode.String(), Throttle: -1}
			if f.gate.isPaused() {
				r.Status = "PAUSED"
			}
			if rt.stopping.Load() {
				r.Status = "STOP"
			}
			fillCounters(&r, &f.stats, now, nowMs)
			c := &f.stats
			r.ReqRate, r.ReqRateMax = c.reqRate.Read(nowMs), c.reqRate.Max()
			r.ConnRate, r.ConnRateMax, r.ConnTot = c.connRate.Read(nowMs), c.connRate.Max(), c.connTot.Load()
			r.Intercepted = c.intercep.Load()
			r.H1 = c.h1.read()
			r.H2 = c.h2.Values()
			r.SSL = c.ssl.read()
			rows = append(rows, r)
		}
		b := rt.backends[p.Name]
		if b == nil || p.Cap&model.CapBackend == 0 {
			continue
		}
		var cur int64
		// One load of the server set: "add server" may swap it meanwhile.
		srvs := b.srvs()
		snaps := make([]srvstate.Snapshot, len(srvs))
		var downtime int64
		for i, s := range srvs {
			st := s.state.Load()
			snaps[i] = st
			sid := s.cfg.ID
			if sid == 0 {
				sid = i + 1
			}
			r := stats.Row{Proxy: p.Name, Name: s.name, Type: stats.TypeServer, IID: p.ID, SID: sid,
				Scur: s.current.Load(), Mode: p.Mode.String(), Addr: s.addrText(&st), Status: st.Status(), Cookie: s.cookieValue(),
				Weight: int64(st.EffectiveWeight()), UWeight: int64(st.Weight), Checked: st.Checked,
				ChkFail: st.FailedChecks, ChkDown: st.DownTransitions,
				LastChg: int64(now.Sub(st.LastChange).Seconds()), Downtime: int64(st.DownFor(now).Seconds()),
				Backup: s.cfg.Backup, Throttle: throttle(st, s.state.SlowStart(), now), Slim: int64(s.lb.MaxConn()), Qlimit: int64(s.cfg.MaxQueue)}
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
			fillCounters(&r, &s.stats, now, nowMs)
			r.Econ = s.failed.Load()
			r.IdleCur = int64(s.pool.len())
			r.SSL = s.stats.ssl.read()
			rows = append(rows, r)
		}
		r := stats.Row{Proxy: p.Name, Name: "BACKEND", Type: stats.TypeBackend, IID: p.ID, Scur: cur, Qcur: b.queued.Load(),
			Mode: p.Mode.String(), Algo: b.params.String(), Throttle: -1}
		if p.Cookie != nil {
			r.Cookie = p.Cookie.Name
		}
		backendState(&r, b, snaps)
		fillCounters(&r, &b.stats, now, nowMs)
		for i := range snaps {
			r.Econ += srvs[i].failed.Load()
		}
		if r.Status == "DOWN" {
			downtime = int64(now.Sub(rt.start).Seconds())
		}
		r.Downtime = downtime
		r.LastChg = int64(now.Sub(rt.start).Seconds())
		// The backend's server connections are not counted by the h1
		// module yet: its connection gauges stay 0 (docs/console.md).
		r.H1 = b.stats.h1.read()
		r.H2 = b.stats.h2.Values()
		for _, s := range srvs {
			x := s.stats.ssl.read()
			r.SSL.Sess += x.Sess
			r.SSL.Reused += x.Reused
			r.SSL.Failed += x.Failed
		}
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
	// uweight sums the user weights of the same group, as HAProxy's
	// backend row does.
	var wact, wbck, wfirst, uact, ubck, ufirst int64
	// The set only grows: its first len(snaps) servers are those of snaps.
	for i, s := range b.srvs()[:len(snaps)] {
		st := &snaps[i]
		w := int64(st.View().Weight)
		if w == 0 {
			continue
		}
		if s.cfg.Backup {
			if r.Bck == 0 {
				wfirst, ufirst = w, int64(st.Weight)
			}
			r.Bck++
			wbck += w
			ubck += int64(st.Weight)
		} else {
			r.Act++
			wact += w
			uact += int64(st.Weight)
		}
	}
	switch {
	case r.Act > 0:
		r.Weight, r.UWeight = wact, uact
	case b.cfg.Option("allbackups"):
		r.Weight, r.UWeight = wbck, ubck
	default:
		r.Weight, r.UWeight = wfirst, ufirst
	}
	r.Status = "UP"
	if r.Weight == 0 && len(b.srvs()) > 0 {
		r.Status = "DOWN"
	}
}

func fillCounters(r *stats.Row, c *counters, now time.Time, nowMs int64) {
	r.Stot = c.total.Load()
	r.Bin = c.bytesIn.Load()
	r.Bout = c.bytesOut.Load()
	r.Dreq = c.denied.Load()
	r.Ereq = c.errReq.Load()
	r.Eresp = c.errResp.Load()
	r.ReqTot = c.reqTot.Load()
	r.Lbtot = c.lbtot.Load()
	r.CliAbrt, r.SrvAbrt = c.cliAbrt.Load(), c.srvAbrt.Load()
	r.Wretr = c.retries.Load()
	r.Wrew = c.wrew.Load()
	r.Rate, r.RateMax = c.rate.Read(nowMs), c.rate.Max()
	r.Smax = max(c.smax.Load(), r.Scur)
	r.Qmax = max(c.qmax.Load(), r.Qcur)
	r.LastSess = secsSince(now, c.lastSess.Load())
	n := c.timed.Load()
	r.Qtime, r.Ctime, r.Rtime, r.Ttime = c.qtime.Read(n), c.ctime.Read(n), c.rtime.Read(n), c.ttime.Read(n)
	r.QtimeMax, r.CtimeMax, r.RtimeMax, r.TtimeMax = c.qtime.Max(), c.ctime.Max(), c.rtime.Max(), c.ttime.Max()
	for i := range r.Hrsp {
		r.Hrsp[i] = c.hrsp[i].Load()
	}
}

// StatsInfo is the process information of "show info" and the page.
func (rt *Runtime) StatsInfo() *stats.Info {
	g := &rt.model.Global
	in := &stats.Info{Name: "Bulwark", Version: Version, ReleaseDate: ReleaseDate, Nbthread: runtime.GOMAXPROCS(0),
		Pid: os.Getpid(), Start: rt.start, Now: time.Now(), Maxconn: int64(rt.gate.limit()), HardMaxconn: int64(g.MaxConn),
		Stopping: rt.stopping.Load(), Tasks: int64(runtime.NumGoroutine()), Listeners: int64(len(rt.listeners))}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		in.UlimitN, in.Maxsock = int64(lim.Cur), int64(lim.Cur)
	}
	if in.Maxconn == 0 {
		// Unlimited in Bulwark; HAProxy derives it from the fd limit.
		in.Maxconn, in.HardMaxconn = in.UlimitN, in.UlimitN
	}
	if !rt.pipes.off {
		in.MaxPipes = rt.pipes.max
	}
	in.PipesUsed = rt.pipes.used.Load()
	in.Node, in.Description = g.Node, g.Description
	if h, err := os.Hostname(); err == nil && in.Node == "" {
		in.Node = h
	}
	nowMs := rt.clock.NowMs()
	for _, f := range rt.frontends {
		in.CurrConns += f.conns.Load()
		in.CumConns += f.stats.connTot.Load()
		in.CumReq += f.stats.reqTot.Load()
		in.TotalBytesOut += f.stats.bytesOut.Load()
		in.SessRate += f.stats.rate.Read(nowMs)
	}
	in.Jobs = in.CurrConns + in.Listeners
	if rt.opts.LogStats != nil {
		for _, l := range rt.opts.LogStats() {
			in.DroppedLogs += int64(l.Dropped)
		}
	}
	in.ConnRate, in.MaxConnRate = rt.connRate.Read(nowMs), rt.connRate.Max()
	in.MaxSessRate = in.MaxConnRate
	in.ConnRateLimit, in.SessRateLimit = rt.connLimit.Load(), rt.sessLimit.Load()
	rt.sslc.fillInfo(in, nowMs, 0)
	in.BytesOutRate = rt.out32.Read(nowMs) * 32
	fillRuntimeInfo(in)
	in.IdlePct = rt.idlePct.sample(in.Now, rt.start, in.Nbthread)
	return in
}

// fillRuntimeInfo reads the Go runtime's numbers for HAProxy's pool and
// run-queue fields.
func fillRuntimeInfo(in *stats.Info) {
	ms := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/sched/goroutines/runnable:goroutines"}}
	metrics.Read(ms)
	val := func(i int) int64 {
		if ms[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(ms[i].Value.Uint64())
	}
	in.PoolUsed = val(0)
	in.PoolAlloc = in.PoolUsed + val(1)
	in.RunQueue = val(2)
}

// idleSampler is Idle_pct: the share of the CPU capacity (GOMAXPROCS
// threads) the process did not use between two samples at least a second
// apart, the first one since the process started.
type idleSampler struct {
	mu   sync.Mutex
	at   time.Time
	cpu  time.Duration
	last int64
}

func (s *idleSampler) sample(now, start time.Time, threads int) int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 100
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at.IsZero() {
		s.at, s.last = start, 100
	}
	wall := now.Sub(s.at)
	if wall < time.Second && s.at != start {
		return s.last
	}
	if wall > 0 && threads > 0 {
		busy := float64(cpu-s.cpu) / float64(wall) / float64(threads)
		s.last = int64(100 - min(max(busy, 0), 1)*100 + 0.5)
	}
	s.at, s.cpu = now, cpu
	return s.last
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

// statsQuery is what the URI after "stats uri" asks for. HAProxy reads
// ";csv", ";json", ";norefresh", ";up", ";st=<code>" and "scope=<name>"
// anywhere after the prefix, with ';' or '?' or '&' before them.
type statsQuery struct {
	csv, json, schema, norefresh, up bool
	bulwark                          bool // ";bulwark": the Bulwark-only counters as JSON
	st, scope                        string
	hasScope                         bool
}

func parseStatsQuery(rest string) statsQuery {
	var q statsQuery
	for _, part := range strings.FieldsFunc(rest, func(r rune) bool { return r == ';' || r == '?' || r == '&' }) {
		switch {
		case part == "csv":
			q.csv = true
		case part == "json":
			q.json = true
		case part == "json-schema":
			q.schema = true
		case part == "bulwark":
			q.bulwark = true
		case part == "norefresh":
			q.norefresh = true
		case part == "up":
			q.up = true
		case strings.HasPrefix(part, "st="):
			q.st = part[3:]
		case strings.HasPrefix(part, "scope="):
			v, err := url.QueryUnescape(part[6:])
			if err == nil {
				q.scope, q.hasScope = v, v != ""
			}
		}
	}
	return q
}

// scoped keeps the rows of the proxies the page may show: "stats scope"
// of the configuration ("." is the serving proxy), then the request's
// scope, both exact names as in HAProxy.
func scoped(rows []stats.Row, conf []string, self, want string) []stats.Row {
	if len(conf) == 0 && want == "" {
		return rows
	}
	allowed := func(name string) bool {
		if len(conf) == 0 {
			return true
		}
		for _, c := range conf {
			if c == name || c == "." && name == self {
				return true
			}
		}
		return false
	}
	out := rows[:0:0]
	for _, r := range rows {
		if allowed(r.Proxy) && (want == "" || r.Proxy == want) {
			out = append(out, r)
		}
	}
	return out
}

// serveStats answers a stats request: basic authentication when "stats
// auth" is set, the admin actions of a POST when "stats admin" allows
// them, then the HTML page, the CSV or the JSON.
func (s *httpSession) serveStats(st *model.Stats, px *model.Proxy, pages errorPages, e *LogEntry) bool {
	e.Server = "<STATS>"
	if len(st.Auth) > 0 && !statsAuthOK(st.Auth, s.m.req.Headers) {
		realm := st.Realm
		if realm == "" {
			realm = "HAProxy Statistics"
		}
		body := pages.raw(401)
		if i := indexBody(body); i >= 0 {
			body = body[i:]
		}
		return s.answer(401, "text/html", [][2]string{{"WWW-Authenticate", `Basic realm="` + realm + `"`}}, body, e)
	}
	rt := s.fe.rt
	q := parseStatsQuery(string(s.m.req.Target[len(st.URI):]))
	admin := false
	if r := rt.rules[px]; r != nil {
		for _, c := range r.statsAdmin {
			s.eval.Reset()
			if c.Match(s.eval) {
				admin = true
				break
			}
		}
	}
	if string(s.m.req.Method) == "POST" {
		code := "DENY"
		if admin {
			code = s.statsAction(px, rt)
		} else if s.m.req.Framing() != h1.FramingNone {
			s.rd.Body().Discard()
		}
		loc := st.URI
		if q.hasScope {
			loc += ";scope=" + url.QueryEscape(q.scope)
		}
		if q.norefresh {
			loc += ";norefresh"
		}
		if q.up {
			loc += ";up"
		}
		loc += ";st=" + code
		return s.answer(303, "text/plain", [][2]string{{"Location", loc}}, nil, e)
	}
	rows := scoped(rt.StatsRows(), st.Scopes, px.Name, q.scope)
	if q.up {
		kept := rows[:0]
		for _, r := range rows {
			if r.Type == stats.TypeServer && (strings.HasPrefix(r.Status, "DOWN") || strings.HasPrefix(r.Status, "MAINT")) {
				continue
			}
			kept = append(kept, r)
		}
		rows = kept
	}
	var buf bytes.Buffer
	ctype := "text/html; charset=utf-8"
	switch {
	case q.csv:
		stats.WriteCSV(&buf, rows, st.ShowLegends)
		ctype = "text/plain"
	case q.bulwark:
		stats.WriteBulwarkJSON(&buf, rt.BulwarkStats())
		ctype = "application/json"
	case q.schema:
		buf.WriteString(stats.SchemaJSON)
		ctype = "application/json"
	case q.json:
		stats.WriteJSON(&buf, rows, st.ShowLegends)
		ctype = "application/json"
	default:
		o := stats.PageOptions{HideVersion: st.HideVersion, Version: Version, Refresh: st.Refresh, URI: st.URI,
			ShowLegends: st.ShowLegends, ShowModules: st.ShowModules, Admin: admin, Token: rt.statsToken,
			Scope: q.scope, HideDown: q.up, Status: q.st, Info: rt.StatsInfo(), Bulwark: rt.BulwarkStats()}
		if q.norefresh {
			o.Refresh = 0
		}
		if st.ShowNode {
			o.Node = st.Node
			if o.Node == "" {
				o.Node = o.Info.Node
			}
		}
		if st.ShowDesc {
			o.Desc = st.Desc
			if o.Desc == "" {
				o.Desc = o.Info.Description
			}
		}
		stats.WriteHTML(&buf, rows, o)
	}
	return s.answer(200, ctype, [][2]string{{"Cache-Control", "no-cache"}}, buf.Bytes(), e)
}

// maxActionBody bounds the body of an admin POST: a form naming servers,
// HAProxy refuses what does not fit its buffer too (EXCD).
const maxActionBody = 64 << 10

// statsAction applies an admin POST of the page: "s=<server>" (repeated),
// "action=<ready|drain|maint|hrunn|hnolb|hdown>", "b=<#id|name>". It
// answers HAProxy's ";st=" code.
func (s *httpSession) statsAction(px *model.Proxy, rt *Runtime) string {
	req := &s.m.req
	if req.Framing() == h1.FramingNone {
		return "ERRP"
	}
	body, err := io.ReadAll(io.LimitReader(s.rd.Body(), maxActionBody+1))
	if err != nil {
		return "ERRP"
	}
	if len(body) > maxActionBody {
		return "EXCD"
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "ERRP"
	}
	if !statsCSRF(req.Headers, form.Get("token"), rt.statsToken) {
		return "DENY"
	}
	b := rt.backendRef(form.Get("b"))
	action := form.Get("action")
	if b == nil {
		return "ERRP"
	}
	var apply func(*server) (srvstate.Snapshot, srvstate.Snapshot)
	switch action {
	case "ready", "drain", "maint":
		a, _ := srvstate.ParseAdminState(action)
		apply = func(sv *server) (srvstate.Snapshot, srvstate.Snapshot) { return sv.state.SetAdmin(a) }
	case "hrunn", "hnolb", "hdown":
		op := map[string]srvstate.Op{"hrunn": srvstate.Running, "hnolb": srvstate.Stopping, "hdown": srvstate.Stopped}[action]
		apply = func(sv *server) (srvstate.Snapshot, srvstate.Snapshot) { return sv.state.SetHealth(op) }
	default:
		return "ERRP"
	}
	names := form["s"]
	if len(names) == 0 {
		return "NONE"
	}
	done, missed := 0, 0
	for _, n := range names {
		sv := b.serverNamed(n)
		if sv == nil {
			missed++
			continue
		}
		before, after := apply(sv)
		rt.stateChanged(b, sv, before, after)
		done++
	}
	switch {
	case missed == 0:
		return "DONE"
	case done == 0:
		return "NONE"
	}
	return "PART"
}

// statsCSRF guards the admin actions against cross-site form posts. A
// browser always says where a form comes from (Origin, or Sec-Fetch-Site
// in the Fetch standard): a cross-site post is refused, and a browser's
// post must carry the token of the page it was loaded from. Clients that
// are no browser (curl, HAProxy's own tests) send neither header and no
// token, as with HAProxy; they are not a CSRF vector.
func statsCSRF(hs []h1.Header, token, want string) bool {
	host, _ := h1.Get(hs, "host")
	browser := false
	if v, ok := h1.Get(hs, "sec-fetch-site"); ok {
		browser = true
		if sv := string(v); sv != "same-origin" && sv != "none" {
			return false
		}
	}
	if v, ok := h1.Get(hs, "origin"); ok {
		browser = true
		u, err := url.Parse(string(v))
		if err != nil || string(v) == "null" || !strings.EqualFold(u.Host, string(host)) {
			return false
		}
	}
	if token != "" || browser {
		return subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
	}
	return true
}

// backendRef finds a backend by "#<id>" or by name.
func (rt *Runtime) backendRef(ref string) *backend {
	if id, ok := strings.CutPrefix(ref, "#"); ok {
		n, err := strconv.Atoi(id)
		if err != nil {
			return nil
		}
		for _, p := range rt.model.Proxies {
			if p.ID == n {
				return rt.backends[p.Name]
			}
		}
		return nil
	}
	return rt.backends[ref]
}

// serverNamed finds a server by name or "#<id>".
func (b *backend) serverNamed(name string) *server {
	id, byID := strings.CutPrefix(name, "#")
	for i, s := range b.srvs() {
		if !byID && s.name == name {
			return s
		}
		if byID {
			sid := s.cfg.ID
			if sid == 0 {
				sid = i + 1
			}
			if strconv.Itoa(sid) == id {
				return s
			}
		}
	}
	return nil
}

// serveService answers a request handed to a built-in service by
// "http-request use-service".
func (s *httpSession) serveService(name string, e *LogEntry) bool {
	e.Server = "<PROMEX>"
	rt := s.fe.rt
	opt := stats.PromOptions{Scopes: map[string]bool{}, Bulwark: rt.BulwarkStats()}
	if _, query, ok := strings.Cut(string(s.m.req.Target), "?"); ok {
		vals, _ := url.ParseQuery(query)
		for _, sc := range vals["scope"] {
			opt.Scopes[sc] = true
		}
		_, opt.NoMaint = vals["no-maint"]
		if len(vals["scope"]) > 0 && len(opt.Scopes) == 1 && opt.Scopes[""] {
			// "scope=" alone selects nothing but the process metrics'
			// absence: HAProxy then exports nothing.
			opt.Scopes = map[string]bool{"none": true}
		}
	}
	var buf bytes.Buffer
	if err := stats.WriteProm(&buf, rt.StatsRows(), rt.StatsInfo(), rt.tableStats(), opt); err != nil {
		s.sendError(500, e)
		return false
	}
	return s.answer(200, stats.PromContentType, [][2]string{{"Cache-Control", "no-cache"}}, buf.Bytes(), e)
}

// answer sends a response generated by the proxy (stats page, exporter)
// and keeps the connection for the next request when the client wants it
// and the request body was read to its end; it reports whether it did.
func (s *httpSession) answer(status int, ctype string, hdrs [][2]string, body []byte, e *LogEntry) bool {
	req := &s.m.req
	keep := req.KeepAlive && !s.fe.rt.stopping.Load() && s.fe.connLevel < 2 &&
		(req.Framing() == h1.FramingNone || s.rd.Body().Done())
	if !keep {
		s.writeResponse(status, ctype, hdrs, body, e)
		return false
	}
	b := h1.AppendStatusLine(s.head[:0], 1, 1, status, []byte(reasonFor(status)))
	b = h1.AppendHeaderField(b, "content-length", strconv.Itoa(len(body)))
	b = h1.AppendHeaderField(b, "content-type", ctype)
	for _, h := range hdrs {
		b = h1.AppendHeaderField(b, h[0], h[1])
	}
	if req.Major == 1 && req.Minor == 0 {
		b = h1.AppendHeaderField(b, "connection", "keep-alive")
	}
	b = append(b, '\r', '\n')
	b = append(b, body...)
	s.head = b[:0]
	s.writeRaw(b, status, e)
	return true
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

// tableStats lists the stick tables for the exporter, in configuration
// order.
func (rt *Runtime) tableStats() []stats.TableStat {
	var out []stats.TableStat
	for _, p := range rt.model.Proxies {
		t := rt.tables[p.Name]
		if t == nil {
			continue
		}
		typ := ""
		if args := p.StickTable.Args; len(args) > 1 && args[0] == "type" {
			typ = args[1]
		}
		out = append(out, stats.TableStat{Name: t.Name(), Type: typ, Size: int64(t.Spec().Size), Used: int64(t.Used())})
	}
	return out
}

// throttle is the stats "throttle" column: the progress of a slowstart
// ramp in percent, -1 (empty) when the server is not warming up.
func throttle(st srvstate.Snapshot, slow time.Duration, now time.Time) int64 {
	if st.WarmStart.IsZero() || slow <= 0 {
		return -1
	}
	return int64(now.Sub(st.WarmStart) * 100 / slow)
}
