package proxy

import "bulwark/internal/certwatch"

// startCrtWatch reloads the generation's certificate files when they
// change ("bulwark-crt-watch", docs/extensions.md), until it stops.
func (rt *Runtime) startCrtWatch() {
	delay := rt.model.Global.Bulwark.CrtWatch
	if delay <= 0 || len(rt.stores) == 0 {
		return
	}
	w, err := certwatch.New(rt.stores, delay, rt.event)
	if err != nil {
		rt.event(err.Error())
		return
	}
	rt.crtWatch.Store(w)
	go w.Run(rt.ctx)
}
