// Package abuse raises alerts on abuse patterns (HAP-7.3): too many 4xx/5xx
// responses to one client address, or from one frontend or backend (the
// alert names the top clients), too many requests of one client denied by
// rules, too many failed TLS handshakes from one client address, a server
// that changes state too often (flapping).
//
// Each threshold is "count events within window" (bulwark-abuse-*
// directives). Crossing it writes one alert line, not one per event; the
// alert clears with a second line once the rate has fallen below the
// threshold. Rates use HAProxy's sliding estimate over two periods (the
// previous period's count weighted by how much of it still overlaps the
// window, plus the current one), so memory per key is constant.
package abuse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"time"

	"bulwark/internal/model"
)

// Kind names what is counted.
type Kind string

// The kinds of alert.
const (
	HTTPErrors  Kind = "http-errors"
	ProxyErrors Kind = "proxy-errors"
	Denied      Kind = "denied"
	TLSFailures Kind = "tls-failures"
	// BindTLSFailures counts a bind's failed handshakes, all clients.
	BindTLSFailures Kind = "bind-tls-failures"
	Flaps           Kind = "server-flaps"
)

// maxKeys bounds the tracked keys per kind: a flood from many addresses
// must not grow memory without limit. Beyond it, new keys are not
// tracked until a sweep frees room (counted in Untracked).
const maxKeys = 65536

// Alert is one alert or clear.
type Alert struct {
	Kind      Kind          `json:"kind"`
	Frontend  string        `json:"frontend,omitempty"`
	Backend   string        `json:"backend,omitempty"` // proxy-errors of a backend
	Bind      string        `json:"bind,omitempty"`    // bind-tls-failures
	Source    string        `json:"source"`            // client address, proxy, or backend/server
	Count     int           `json:"count"`             // events in the window
	Threshold int           `json:"threshold"`
	Window    time.Duration `json:"window_ns"`
	Clear     bool          `json:"clear"`
	Time      time.Time     `json:"time"`
	// Top are the clients with the most events in the window, most
	// first (proxy-errors only).
	Top []ClientCount `json:"top,omitempty"`
}

// ClientCount is one client address and its events.
type ClientCount struct {
	Addr  string `json:"addr"`
	Count int    `json:"count"`
}

// Line renders a as one log line.
func (a Alert) Line() string {
	what := "ALERT"
	if a.Clear {
		what = "CLEAR"
	}
	fe := a.Frontend
	if fe == "" {
		fe = "-"
	}
	s := fmt.Sprintf("bulwark abuse %s: kind=%s frontend=%s", what, a.Kind, fe)
	if a.Backend != "" {
		s += " backend=" + a.Backend
	}
	if a.Bind != "" {
		s += " bind=" + a.Bind
	}
	s += fmt.Sprintf(" source=%s count=%d threshold=%d window=%s", a.Source, a.Count, a.Threshold, a.Window)
	if len(a.Top) > 0 {
		s += " top="
		for i, c := range a.Top {
			if i > 0 {
				s += ","
			}
			s += fmt.Sprintf("%s:%d", c.Addr, c.Count)
		}
	}
	return s
}

type key struct {
	kind     Kind
	frontend string
	backend  string
	bind     string
	source   string
}

// counter is a two-period sliding rate.
type counter struct {
	start     time.Time // of the current period
	cur, prev int
	alerting  bool
	// clients count events per client address in the current and the
	// previous period (proxy-errors), each at most maxClients addresses:
	// beyond, new addresses are not counted until the period rolls.
	clients, prevClients map[string]int
}

// maxClients bounds the addresses tracked per proxy for the top list.
const maxClients = 256

// topN is how many clients an alert names.
const topN = 5

// top returns the clients with the most events over both periods.
func (c *counter) top() []ClientCount {
	sum := map[string]int{}
	for a, n := range c.prevClients {
		sum[a] += n
	}
	for a, n := range c.clients {
		sum[a] += n
	}
	out := make([]ClientCount, 0, len(sum))
	for a, n := range sum {
		out = append(out, ClientCount{a, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Addr < out[j].Addr
	})
	if len(out) > topN {
		out = out[:topN]
	}
	return out
}

// rate returns the estimated count over the last window at now.
func (c *counter) rate(now time.Time, w time.Duration) int {
	c.roll(now, w)
	elapsed := now.Sub(c.start)
	frac := 1 - float64(elapsed)/float64(w)
	if frac < 0 {
		frac = 0
	}
	return c.cur + int(float64(c.prev)*frac+0.5)
}

func (c *counter) roll(now time.Time, w time.Duration) {
	for now.Sub(c.start) >= w {
		if now.Sub(c.start) >= 2*w {
			c.prev, c.cur = 0, 0
			c.start = now
			if c.clients != nil {
				c.clients, c.prevClients = map[string]int{}, nil
			}
			return
		}
		c.prev, c.cur = c.cur, 0
		c.start = c.start.Add(w)
		if c.clients != nil {
			c.clients, c.prevClients = map[string]int{}, c.clients
		}
	}
}

// Detector counts events and emits alerts; safe for concurrent use.
type Detector struct {
	set  model.Abuse
	emit func(Alert)
	// Now is the clock; tests replace it to move time without sleeping.
	Now func() time.Time

	mu        sync.Mutex
	counters  map[key]*counter
	perKind   map[Kind]int
	untracked uint64
	raised    map[Kind]uint64 // alerts (not clears) emitted

	hooks   chan Alert // to the webhook sender
	client  *http.Client
	dropped uint64
}

// New returns a detector for set; emit receives every alert and clear
// (the proxy writes it to the log targets at level alert).
func New(set model.Abuse, emit func(Alert)) *Detector {
	d := &Detector{set: set, emit: emit, Now: time.Now, counters: map[key]*counter{}, perKind: map[Kind]int{},
		raised: map[Kind]uint64{}}
	if set.Webhook != "" {
		d.hooks = make(chan Alert, 256)
		d.client = &http.Client{Timeout: 5 * time.Second}
	}
	return d
}

// Run sends webhooks and sweeps (to clear alerts whose rate fell without
// further events) until ctx ends.
func (d *Detector) Run(ctx context.Context) {
	tick := d.sweepEvery()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.Sweep()
		case a := <-d.hooks:
			d.post(ctx, a)
		}
	}
}

// sweepEvery is a fraction of the shortest window, so that a clear is
// written soon after the rate falls.
func (d *Detector) sweepEvery() time.Duration {
	min := time.Duration(0)
	for _, t := range []model.Threshold{d.set.HTTPErrors, d.set.ProxyErrors, d.set.Denied, d.set.TLSFailures, d.set.BindTLSFailures, d.set.Flaps} {
		if t.Count > 0 && (min == 0 || t.Window < min) {
			min = t.Window
		}
	}
	if min == 0 {
		return time.Minute
	}
	if min/4 < 100*time.Millisecond {
		return 100 * time.Millisecond
	}
	return min / 4
}

func (d *Detector) post(ctx context.Context, a Alert) {
	b, _ := json.Marshal(a)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.set.Webhook, bytes.NewReader(b))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return
	}
	resp.Body.Close()
}

// HTTPStatus counts a response status sent to src by frontend.
func (d *Detector) HTTPStatus(frontend string, src netip.Addr, status int) {
	if status < 400 || d.set.HTTPErrors.Count == 0 || !src.IsValid() {
		return
	}
	d.event(key{HTTPErrors, frontend, "", "", src.Unmap().String()}, d.set.HTTPErrors, "")
}

// Response counts one finished request or session of frontend (and
// backend, empty when none was chosen) for client src: its status for
// http-errors and proxy-errors, and whether a rule denied it for denied.
func (d *Detector) Response(frontend, backend string, src netip.Addr, status int, denied bool) {
	if !src.IsValid() {
		return
	}
	client := src.Unmap().String()
	if status >= 400 {
		if d.set.HTTPErrors.Count > 0 {
			d.event(key{HTTPErrors, frontend, "", "", client}, d.set.HTTPErrors, "")
		}
		if d.set.ProxyErrors.Count > 0 {
			d.event(key{ProxyErrors, frontend, "", "", frontend}, d.set.ProxyErrors, client)
			if backend != "" {
				d.event(key{ProxyErrors, "", backend, "", backend}, d.set.ProxyErrors, client)
			}
		}
	}
	if denied && d.set.Denied.Count > 0 {
		d.event(key{Denied, frontend, "", "", client}, d.set.Denied, "")
	}
}

// TLSFailure counts a failed handshake from src on a bind of frontend.
func (d *Detector) TLSFailure(frontend, bind string, src netip.Addr) {
	if !src.IsValid() {
		return
	}
	client := src.Unmap().String()
	if d.set.TLSFailures.Count > 0 {
		d.event(key{TLSFailures, frontend, "", "", client}, d.set.TLSFailures, "")
	}
	if d.set.BindTLSFailures.Count > 0 {
		d.event(key{BindTLSFailures, frontend, "", bind, bind}, d.set.BindTLSFailures, client)
	}
}

// ServerChange counts a state change of backend/server.
func (d *Detector) ServerChange(backend, server string) {
	if d.set.Flaps.Count == 0 {
		return
	}
	d.event(key{Flaps, "", "", "", backend + "/" + server}, d.set.Flaps, "")
}

// event counts one event of k; client, when not empty, is counted for
// the alert's top list.
func (d *Detector) event(k key, th model.Threshold, client string) {
	now := d.Now()
	d.mu.Lock()
	c := d.counters[k]
	if c == nil {
		if d.perKind[k.kind] >= maxKeys {
			d.untracked++
			d.mu.Unlock()
			return
		}
		c = &counter{start: now}
		if client != "" {
			c.clients = map[string]int{}
		}
		d.counters[k] = c
		d.perKind[k.kind]++
	}
	c.roll(now, th.Window)
	c.cur++
	if _, ok := c.clients[client]; client != "" && (ok || len(c.clients) < maxClients) {
		c.clients[client]++
	}
	r := c.rate(now, th.Window)
	var out *Alert
	if !c.alerting && r >= th.Count {
		c.alerting = true
		out = &Alert{Kind: k.kind, Frontend: k.frontend, Backend: k.backend, Bind: k.bind, Source: k.source, Count: r, Threshold: th.Count,
			Window: th.Window, Time: now}
		if c.clients != nil {
			out.Top = c.top()
		}
	}
	d.mu.Unlock()
	if out != nil {
		d.send(*out)
	}
}

// Sweep clears alerts whose rate fell below their threshold and forgets
// idle keys.
func (d *Detector) Sweep() {
	now := d.Now()
	var out []Alert
	d.mu.Lock()
	for k, c := range d.counters {
		th := d.threshold(k.kind)
		r := c.rate(now, th.Window)
		if c.alerting && r < th.Count {
			c.alerting = false
			out = append(out, Alert{Kind: k.kind, Frontend: k.frontend, Backend: k.backend, Bind: k.bind, Source: k.source, Count: r,
				Threshold: th.Count, Window: th.Window, Clear: true, Time: now})
		}
		if !c.alerting && r == 0 {
			delete(d.counters, k)
			d.perKind[k.kind]--
		}
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	for _, a := range out {
		d.send(a)
	}
}

func (d *Detector) threshold(k Kind) model.Threshold {
	switch k {
	case HTTPErrors:
		return d.set.HTTPErrors
	case ProxyErrors:
		return d.set.ProxyErrors
	case Denied:
		return d.set.Denied
	case TLSFailures:
		return d.set.TLSFailures
	case BindTLSFailures:
		return d.set.BindTLSFailures
	}
	return d.set.Flaps
}

// send emits a and queues its webhook without ever blocking the caller
// (the data path): a full queue drops the webhook, counted.
func (d *Detector) send(a Alert) {
	if !a.Clear {
		d.mu.Lock()
		d.raised[a.Kind]++
		d.mu.Unlock()
	}
	if d.emit != nil {
		d.emit(a)
	}
	if d.hooks != nil {
		select {
		case d.hooks <- a:
		default:
			d.mu.Lock()
			d.dropped++
			d.mu.Unlock()
		}
	}
}

// Raised returns the alerts emitted per kind (clears not counted).
func (d *Detector) Raised() map[string]uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]uint64, len(d.raised))
	for k, n := range d.raised {
		out[string(k)] = n
	}
	return out
}

// Active returns the number of raised alerts not yet cleared.
func (d *Detector) Active() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.counters {
		if c.alerting {
			n++
		}
	}
	return n
}
