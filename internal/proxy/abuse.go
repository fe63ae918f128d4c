package proxy

import (
	"strings"

	"bulwark/internal/abuse"
	"bulwark/internal/model"
)

// newAbuse builds the abuse detector of a generation (nil when no
// bulwark-abuse-* threshold is set). Its alerts are message entries at
// level "alert" (Options.ProxyLog): a frontend's go to that frontend's
// log targets, a server's (flapping) to its backend's.
func newAbuse(rt *Runtime, m *model.Model) *abuse.Detector {
	if !m.Global.Bulwark.Abuse.Enabled() {
		return nil
	}
	return abuse.New(m.Global.Bulwark.Abuse, func(a abuse.Alert) {
		// A client's alert goes to its frontend's log targets, a server's
		// to its backend's, at level alert, like HAProxy's own alerts.
		target := a.Frontend
		if target == "" {
			target = a.Backend
		}
		if target == "" {
			target, _, _ = strings.Cut(a.Source, "/")
		}
		rt.proxyLog(target, "alert", a.Line())
		rt.event(a.Line())
	})
}

// Abuse returns the generation's abuse detector, nil when disabled.
func (rt *Runtime) Abuse() *abuse.Detector { return rt.abuse }
