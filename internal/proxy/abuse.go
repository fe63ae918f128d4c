package proxy

import (
	"bulwark/internal/abuse"
	"bulwark/internal/model"
)

// newAbuse builds the abuse detector of a generation (nil when no
// bulwark-abuse-* threshold is set). Its alerts are message entries at
// level "alert": a frontend's go to that frontend's log targets, a
// server's (flapping) to every target once.
func newAbuse(rt *Runtime, m *model.Model) *abuse.Detector {
	if !m.Global.Bulwark.Abuse.Enabled() {
		return nil
	}
	return abuse.New(m.Global.Bulwark.Abuse, func(a abuse.Alert) {
		if rt.opts.Log != nil {
			rt.opts.Log(&LogEntry{Frontend: a.Frontend, Level: "alert", Status: -1, Msg: a.Line()})
		}
		rt.event(a.Line())
	})
}

// Abuse returns the generation's abuse detector, nil when disabled.
func (rt *Runtime) Abuse() *abuse.Detector { return rt.abuse }
