package proxy

import (
	"strconv"
	"time"

	"bulwark/internal/model"
)

// ACME challenges (bulwark-acme, docs/extensions.md) are answered by
// Bulwark's own listeners: see package acme.

// startACME starts the certificate manager once the listeners that answer
// its challenges are bound and serving.
func (rt *Runtime) startACME() {
	if rt.acme == nil {
		return
	}
	var httpAddr, tlsAddr string
	for _, fe := range rt.frontends {
		for _, bl := range fe.listeners {
			switch {
			case len(bl.bind.ACME) > 0 && tlsAddr == "":
				tlsAddr = bl.Addr().String()
			case !bl.bind.SSL && httpAddr == "" && fe.cfg.Mode == model.ModeHTTP:
				httpAddr = bl.Addr().String()
			}
		}
	}
	rt.acme.Start(rt.ctx, httpAddr, tlsAddr, rt.opts.Event)
}

// acmeChallenge answers an HTTP-01 validation request before any rule
// runs (a "deny" meant for users must not block the CA) and reports
// whether it did.
func (s *httpSession) acmeChallenge(e *LogEntry) bool {
	mgr := s.fe.rt.acme
	if mgr == nil || s.tlsOn {
		return false
	}
	req := &s.m.req
	body, ok := mgr.ServeHTTPChallenge(string(req.Method), string(req.Host), string(req.Target), s.client.String())
	if !ok {
		return false
	}
	resp := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) +
		"\r\nConnection: close\r\n\r\n" + string(body)
	s.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	n, _ := s.c.Write([]byte(resp))
	e.Status = 200
	e.BytesOut += int64(n)
	return true
}
