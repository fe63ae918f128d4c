package logging

import (
	"fmt"
	"sync/atomic"
	"time"

	"bulwark/internal/model"
	"bulwark/internal/proxy"
)

// Logger routes each frontend's entries to its log targets in its format.
type Logger struct {
	fronts map[string]*frontLog
	sinks  []*Sink
}

type frontLog struct {
	sinks []*Sink
	http  bool // httplog (or HTTP mode default) vs tcplog
}

// New opens the log targets of every frontend of m. "log global" expands
// to the global section's targets.
func New(m *model.Model) (*Logger, error) {
	l := &Logger{fronts: map[string]*frontLog{}}
	open := map[string]*Sink{}
	get := func(t model.LogTarget) (*Sink, error) {
		k := fmt.Sprintf("%s|%s|%s|%s|%d", t.Target, t.Facility, t.Level, t.Format, t.Len)
		if s, ok := open[k]; ok {
			return s, nil
		}
		format := t.Format
		if m.Global.LogSendHostname && format == "local" {
			// CM 3.1: log-send-hostname switches the default to RFC 3164
			// with the host name.
			format = "rfc3164"
		}
		s, err := Open(Target{Addr: t.Target, Facility: t.Facility, Level: t.Level, Format: format, Len: t.Len,
			Tag: m.Global.LogTag, Hostname: m.Global.LogHostname})
		if err != nil {
			return nil, fmt.Errorf("%s: log %s: %v", t.Pos, t.Target, err)
		}
		open[k] = s
		l.sinks = append(l.sinks, s)
		return s, nil
	}
	for _, p := range m.Frontends() {
		fl := &frontLog{http: p.Mode == model.ModeHTTP && !p.Option("tcplog")}
		for _, t := range p.Logs {
			targets := []model.LogTarget{t}
			if t.Global {
				targets = m.Global.Logs
			}
			for _, gt := range targets {
				s, err := get(gt)
				if err != nil {
					l.Close()
					return nil, err
				}
				fl.sinks = append(fl.sinks, s)
			}
		}
		l.fronts[p.Name] = fl
	}
	return l, nil
}

// Log renders e and sends it to its frontend's targets.
func (l *Logger) Log(e *proxy.LogEntry) {
	fl := l.fronts[e.Frontend]
	if fl == nil || len(fl.sinks) == 0 || e.Level == "silent" {
		return
	}
	var buf [512]byte
	var line []byte
	if e.HTTP && fl.http {
		line = AppendHTTPLog(buf[:0], e)
	} else {
		line = AppendTCPLog(buf[:0], e)
	}
	now := time.Now()
	level := e.Level
	if level == "" {
		level = "info"
	}
	for _, s := range fl.sinks {
		s.Send(level, line, now)
	}
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

// Swap installs l; the previous logger is closed a little later, once
// in-flight lines have been written.
func (s *Switch) Swap(l *Logger) {
	old := s.cur.Swap(l)
	time.AfterFunc(5*time.Second, old.Close)
}

// Close closes the current logger.
func (s *Switch) Close() { s.cur.Load().Close() }
