package logging

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"bulwark/internal/ecslog"
	"bulwark/internal/logfmt"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
	"bulwark/internal/stats"
)

// Logger routes each frontend's entries to its log targets in its format.
type Logger struct {
	fronts map[string]*frontLog
	// procs are the targets of every proxy, backends included, for
	// health-check and server state messages.
	procs map[string][]*Sink
	sinks []*Sink
}

type frontLog struct {
	sinks []*Sink
	// samp is parallel to sinks: the "sample" clause of the log line
	// the sink came from, nil to take every line.
	samp []*sampler
	// sepErrors is "option log-separate-errors".
	sepErrors bool
	// http and tcp are the plan's compiled formats for HTTP transactions
	// and other sessions.
	http, tcp *logfmt.Format
	// sd is log-format-sd, rendered for the rfc5424 targets only.
	sd     *logfmt.Format
	sd5424 bool // some target is rfc5424
	// errFmt is error-log-format, for connections that failed before a
	// request; nil without one.
	errFmt  *logfmt.Format
	ctx     lineCtx
	counter atomic.Uint64
	// json is "bulwark-log-json": ECS JSON lines (package ecslog).
	json bool
}

// New opens the log targets of every frontend of the plan and takes their
// compiled formats. "log global" expands to the global section's targets.
func New(pl *plan.Plan) (*Logger, error) {
	m := pl.Model
	host, _ := os.Hostname()
	if m.Global.LogHostname != "" {
		host = m.Global.LogHostname
	}
	l := &Logger{fronts: map[string]*frontLog{}, procs: map[string][]*Sink{}}
	// One sampler per "log" line: a "log global" shares the global
	// line's counter between the proxies, as HAProxy's one logger does.
	samplers := map[*model.LogTarget]*sampler{}
	samplerOf := func(t *model.LogTarget) *sampler {
		if t.Sample == nil {
			return nil
		}
		if sp := samplers[t]; sp != nil {
			return sp
		}
		sp := &sampler{cfg: t.Sample}
		samplers[t] = sp
		return sp
	}
	open := map[string]*Sink{}
	get := func(t model.LogTarget) (*Sink, error) {
		k := fmt.Sprintf("%s|%s|%s|%s|%s|%d", t.Target, t.Facility, t.Level, t.MinLevel, t.Format, t.Len)
		if s, ok := open[k]; ok {
			return s, nil
		}
		format := t.Format
		if m.Global.LogSendHostname && format == "local" {
			// CM 3.1: log-send-hostname switches the default to RFC 3164
			// with the host name.
			format = "rfc3164"
		}
		s, err := Open(Target{Addr: t.Target, Facility: t.Facility, Level: t.Level, MinLevel: t.MinLevel, Format: format, Len: t.Len,
			Tag: m.Global.LogTag, Hostname: m.Global.LogHostname, SendHostname: m.Global.LogSendHostname,
			OctetCount: m.Global.Bulwark.LogFraming == "octet-count"})
		if err != nil {
			return nil, fmt.Errorf("%s: log %s: %v", t.Pos, t.Target, err)
		}
		open[k] = s
		l.sinks = append(l.sinks, s)
		return s, nil
	}
	// getAll opens the sinks of a "log" list ("log global" stands for the
	// global targets) as the event targets of key.
	getAll := func(key string, logs []model.LogTarget) error {
		for i := range logs {
			targets := logs[i : i+1]
			if logs[i].Global {
				targets = m.Global.Logs
			}
			for _, t := range targets {
				s, err := get(t)
				if err != nil {
					l.Close()
					return err
				}
				l.procs[key] = append(l.procs[key], s)
			}
		}
		return nil
	}
	for _, p := range m.Frontends() {
		fl := &frontLog{ctx: lineCtx{pid: os.Getpid(), hostname: host}, json: p.LogJSON,
			sepErrors: p.Option("log-separate-errors")}
		if pp := pl.Proxies[p]; pp != nil && pp.Log != nil {
			fl.http, fl.tcp, fl.sd, fl.errFmt = pp.Log.HTTP, pp.Log.TCP, pp.Log.SD, pp.Log.Error
		}
		if fl.http == nil {
			fl.http = logfmt.MustParse(logfmt.HTTPLog, logfmt.Options{HTTP: true, MergeSpaces: true})
			fl.tcp = logfmt.MustParse(logfmt.TCPLog, logfmt.Options{MergeSpaces: true})
		}
		for i := range p.Logs {
			targets := p.Logs[i : i+1]
			if p.Logs[i].Global {
				targets = m.Global.Logs
			}
			for j := range targets {
				s, err := get(targets[j])
				if err != nil {
					l.Close()
					return nil, err
				}
				fl.sinks = append(fl.sinks, s)
				fl.sd5424 = fl.sd5424 || s.t.Format == "rfc5424"
				fl.samp = append(fl.samp, samplerOf(&targets[j]))
			}
		}
		l.fronts[p.Name] = fl
		l.procs[p.Name] = fl.sinks
	}
	for _, p := range m.Backends() {
		if p.Cap&model.CapFrontend != 0 {
			continue // a listen section: done above
		}
		if err := getAll(p.Name, p.Logs); err != nil {
			return nil, err
		}
	}
	// An application's "log-stderr" lines: the STDERR of its servers.
	for _, app := range m.FCGIApps {
		if err := getAll(proxy.FCGILogKey(app.Name), app.LogStderr); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Event sends msg at level to the log targets of proxy (health checks
// and server state changes, which HAProxy logs through the backend's
// "log" lines).
func (l *Logger) Event(proxy, level, msg string) {
	now := time.Now()
	for _, s := range l.procs[proxy] {
		s.Send(level, []byte(msg), now)
	}
}

// Log renders e and sends it to its frontend's targets.
func (l *Logger) Log(e *proxy.LogEntry) {
	fl := l.fronts[e.Frontend]
	if fl == nil || len(fl.sinks) == 0 || e.Level == "silent" {
		return
	}
	var buf [512]byte
	f := fl.tcp
	if e.HTTP {
		f = fl.http
	}
	if e.ConnError && fl.errFmt != nil {
		f = fl.errFmt
	}
	var line, sd []byte
	lc := fl.ctx
	lc.counter = fl.counter.Add(1) - 1
	if fl.json {
		line = ecslog.Append(buf[:0], e)
	} else {
		line = render(buf[:0], f, e, &lc)
	}
	if fl.sd != nil && fl.sd5424 {
		var sdBuf [256]byte
		sd = render(sdBuf[:0], fl.sd, e, &lc)
	}
	now := time.Now()
	level := e.Level
	if level == "" {
		level = "info"
		if fl.sepErrors && failed(e) {
			level = "err"
		}
	}
	for i, s := range fl.sinks {
		if sp := fl.samp[i]; sp != nil && !sp.take() {
			continue
		}
		s.SendSD(level, sd, line, now)
	}
}

// Sinks returns the logger's targets, each once.
func (l *Logger) Sinks() []*Sink { return l.sinks }

// failed says whether "option log-separate-errors" raises e to "err":
// errors, timeouts, retries, redispatches or a 5xx status (CM 4.2).
func failed(e *proxy.LogEntry) bool {
	return e.Status >= 500 || e.Retries > 0 || len(e.Term) > 0 && e.Term[0] != '-'
}

// sampler counts the lines a "log ... sample" line is offered.
type sampler struct {
	cfg *model.LogSample
	n   atomic.Uint64
}

// take reports whether the next line is in one of the ranges of its
// period.
func (s *sampler) take() bool {
	pos := int((s.n.Add(1)-1)%uint64(s.cfg.Size)) + 1
	for _, r := range s.cfg.Ranges {
		if pos >= r[0] && pos <= r[1] {
			return true
		}
	}
	return false
}

// Close closes every target.
func (l *Logger) Close() {
	for _, s := range l.sinks {
		s.Close()
	}
}

// Switch is a Logger that a reload can replace while sessions log.
type Switch struct {
	cur atomic.Pointer[Logger]
}

// NewSwitch starts with l.
func NewSwitch(l *Logger) *Switch {
	s := &Switch{}
	s.cur.Store(l)
	return s
}

// Log sends e through the current logger.
func (s *Switch) Log(e *proxy.LogEntry) { s.cur.Load().Log(e) }

// Event sends a proxy's message through the current logger.
func (s *Switch) Event(proxy, level, msg string) { s.cur.Load().Event(proxy, level, msg) }

// Swap installs l; the previous logger is closed a little later, once
// in-flight lines have been written. The counters of a target that both
// log to go on from the old logger's.
func (s *Switch) Swap(l *Logger) {
	prev := map[string]*Sink{}
	for _, sk := range s.cur.Load().sinks {
		prev[sk.Key()] = sk
	}
	for _, sk := range l.sinks {
		if o := prev[sk.Key()]; o != nil {
			sk.adopt(o)
			delete(prev, sk.Key())
		}
	}
	old := s.cur.Swap(l)
	time.AfterFunc(5*time.Second, old.Close)
}

// Close closes the current logger.
func (s *Switch) Close() { s.cur.Load().Close() }

// Stats returns the totals of the current logger's targets, in the order
// of the configuration.
func (s *Switch) Stats() []stats.LogTarget {
	var out []stats.LogTarget
	for _, sk := range s.cur.Load().sinks {
		sent, dropped := sk.Counters().Totals()
		out = append(out, stats.LogTarget{Target: sk.t.Addr, Sent: sent, Dropped: dropped})
	}
	return out
}
