package audit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

// probeParallel bounds concurrent probes: enough to probe ten binds well
// inside ten seconds, few enough not to look like a flood.
const probeParallel = 8

// ProbeResult is one handshake or request attempt.
type ProbeResult struct {
	Name     string // "TLSv1.0", "TLS_RSA_WITH_RC4_128_SHA", "GET /", ...
	Accepted bool   // handshake completed / response received
	Status   int    // HTTP status
	Missing  []string
	Tool     string // "go", "openssl", or "" when it could not be tried
	Err      string
	// TimedOut is set when the peer said nothing within the timeout: a
	// stall, which is not a refusal.
	TimedOut bool
}

// TLSProbe is what the handshakes against one TLS bind address found.
type TLSProbe struct {
	Pos      config.Pos
	Proxy    string
	Addr     string // host:port probed
	Answered bool
	// Stalled is set when the port accepts connections but no handshake
	// completed and some timed out: nothing can be said about what it
	// would accept or refuse.
	Stalled  bool
	Err      string
	Versions []ProbeResult
	Weak     []ProbeResult
	Reneg    ProbeResult
	// Served is the certificate observed per SNI name ("" = no SNI).
	Served []ServedCert
	bind   *model.Bind
}

// HTTPProbe is one HTTP request to a bind address.
type HTTPProbe struct {
	Pos   config.Pos
	Proxy string
	Kind  string // "headers", "trace" or "stats"
	URL   string
	ProbeResult
}

type probeTarget struct {
	pos   config.Pos
	proxy *model.Proxy
	tls   bool
	addr  string
	bind  *model.Bind
}

// probeTargets lists the bind addresses the probes may reach: only what the
// configuration binds, only local ones unless remote probing is allowed. A
// wildcard bind is reached through loopback, which it also listens on.
func probeTargets(o LiveOptions, lf *LiveFacts, procs []*model.Proxy, kinds ...string) []probeTarget {
	local := localAddrs()
	resolved := map[string][]netip.Addr{}
	var out []probeTarget
	note := func(e Evidence) {
		for _, k := range kinds {
			lf.ProbeNotes = append(lf.ProbeNotes, ProbeNote{k, e})
		}
	}
	for _, p := range procs {
		for _, b := range p.Binds {
			for _, a := range b.Addrs {
				if a.Net != "tcp" && a.Net != "tcp4" && a.Net != "tcp6" {
					continue
				}
				var ips []netip.Addr
				switch {
				case a.Wildcard() && (a.Host == "::" || a.Net == "tcp6"):
					ips = []netip.Addr{netip.IPv6Loopback()}
				case a.Wildcard():
					ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
				case strings.EqualFold(a.Host, "localhost"):
					ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
				default:
					if ip, ok := hostAddr(a); ok {
						ips = []netip.Addr{ip}
						break
					}
					var err error
					if ips, err = resolveBindHost(o, resolved, a); err != nil {
						note(ev(b.Pos, Manual, "live: %s '%s' bind %s: host name does not resolve (%s): not probed", p.Kind, p.Name, a.Raw, err))
						continue
					}
				}
				for _, ip := range ips {
					if !ip.IsLoopback() && !local[ip] && !o.ProbeRemote {
						if _, isIP := hostAddr(a); isIP || a.Wildcard() {
							note(ev(b.Pos, Manual, "live: %s '%s' bind %s is not an address of this host: not probed (--probe-remote)", p.Kind, p.Name, a.Raw))
						} else {
							note(ev(b.Pos, Manual, "live: %s '%s' bind %s resolves to %s, not an address of this host: not probed (--probe-remote)", p.Kind, p.Name, a.Raw, ip))
						}
						continue
					}
					out = append(out, probeTarget{b.Pos, p, b.SSL, netip.AddrPortFrom(ip, uint16(a.PortLow)).String(), b})
				}
			}
		}
	}
	return out
}

// bindResolveTimeout bounds one host-name lookup of a bind, so that a dead
// resolver delays the audit by seconds, not by the system's minutes.
const bindResolveTimeout = 2 * time.Second

// resolveBindHost resolves a bind's host name to the addresses its family
// allows; cache keeps one lookup per name across the binds of one listing.
func resolveBindHost(o LiveOptions, cache map[string][]netip.Addr, a model.Addr) ([]netip.Addr, error) {
	host := strings.TrimSuffix(strings.TrimPrefix(a.Host, "["), "]")
	all, ok := cache[host]
	if !ok {
		lookup := o.lookupHost
		if lookup == nil {
			lookup = func(ctx context.Context, h string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), bindResolveTimeout)
		got, err := lookup(ctx, host)
		cancel()
		if err != nil {
			return nil, errors.New(shortNetErr(err))
		}
		all = got
		cache[host] = all
	}
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, ip := range all {
		ip = ip.Unmap()
		if (a.Net == "tcp4" && !ip.Is4()) || (a.Net == "tcp6" && !ip.Is6()) || seen[ip] {
			continue
		}
		seen[ip] = true
		out = append(out, ip)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s address", a.Net)
	}
	return out, nil
}

// probeAll runs the TLS and HTTP probes of HAP-4.1, 4.2, 5.1, 5.2 and 6.1.
func probeAll(t *Target, o LiveOptions, lf *LiveFacts) {
	var tlsFEs []*model.Proxy
	for _, p := range frontends(t.Model) {
		if tlsFrontend(p) {
			tlsFEs = append(tlsFEs, p)
		}
	}
	var tlsTargets []probeTarget
	for _, pt := range probeTargets(o, lf, tlsFEs, "tls") {
		if pt.tls {
			tlsTargets = append(tlsTargets, pt)
		}
	}
	appTargets := probeTargets(o, lf, appFrontends(t.Model), "headers", "trace")
	type statsTarget struct {
		probeTarget
		uri string
	}
	var statsTargets []statsTarget
	for _, p := range statsProxies(t.Model) {
		uri := p.Stats.URI
		if uri == "" {
			uri = "/haproxy?stats"
		}
		fe := &model.Proxy{Name: p.Name, Kind: p.Kind, Binds: statsBinds(t, p)}
		for _, pt := range probeTargets(o, lf, []*model.Proxy{fe}, "stats") {
			statsTargets = append(statsTargets, statsTarget{pt, uri})
		}
	}

	lf.TLS = make([]TLSProbe, len(tlsTargets))
	lf.HTTP = make([]HTTPProbe, 2*len(appTargets)+len(statsTargets))
	sem := make(chan struct{}, probeParallel)
	var wg sync.WaitGroup
	run := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			fn()
		}()
	}
	for i, pt := range tlsTargets {
		run(func() {
			lf.TLS[i] = probeTLS(pt, o.Timeout)
			if lf.TLS[i].Answered && !lf.TLS[i].Stalled {
				lf.TLS[i].Served = probeServed(pt.addr, sniNames(bindCerts(t, pt.bind)), o.Timeout)
			}
		})
	}
	for i, pt := range appTargets {
		run(func() { lf.HTTP[2*i] = probeHTTP(pt, "headers", http.MethodGet, "/", o.Timeout) })
		run(func() { lf.HTTP[2*i+1] = probeHTTP(pt, "trace", "TRACE", "/", o.Timeout) })
	}
	for i, st := range statsTargets {
		run(func() {
			lf.HTTP[2*len(appTargets)+i] = probeHTTP(st.probeTarget, "stats", http.MethodGet, st.uri, o.Timeout)
		})
	}
	wg.Wait()
}

func dialTimeout(addr string, d time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, d)
}

// probeTLS checks reachability once, then offers each protocol version and
// each weak suite alone. A bind that accepts connections but stalls
// handshakes would otherwise cost a timeout per attempt, so the bind as a
// whole gets a budget after which the remaining attempts are not tried.
func probeTLS(pt probeTarget, timeout time.Duration) TLSProbe {
	tp := TLSProbe{Pos: pt.pos, Proxy: pt.proxy.Kind + " '" + pt.proxy.Name + "'", Addr: pt.addr, bind: pt.bind}
	c, err := dialTimeout(pt.addr, timeout)
	if err != nil {
		tp.Err = shortNetErr(err)
		return tp
	}
	c.Close()
	tp.Answered = true
	versions := []struct {
		name string
		v    uint16
	}{{"TLSv1.0", tls.VersionTLS10}, {"TLSv1.1", tls.VersionTLS11}, {"TLSv1.2", tls.VersionTLS12}, {"TLSv1.3", tls.VersionTLS13}}
	deadline := time.Now().Add(3 * timeout)
	try := func(name string, fn func() ProbeResult) ProbeResult {
		if time.Now().After(deadline) {
			return ProbeResult{Name: name, Err: "not tried: the bind stalled earlier handshakes"}
		}
		return fn()
	}
	tp.Versions = append(tp.Versions, try("SSLv3", func() ProbeResult {
		return opensslProbe(pt.addr, "SSLv3", []string{"-ssl3"}, timeout)
	}))
	for _, v := range versions {
		tp.Versions = append(tp.Versions, try(v.name, func() ProbeResult {
			return goHandshake(pt.addr, v.name, &tls.Config{MinVersion: v.v, MaxVersion: v.v}, timeout)
		}))
	}
	for _, cs := range weakGoSuites() {
		tp.Weak = append(tp.Weak, try(cs.Name, func() ProbeResult {
			return goHandshake(pt.addr, cs.Name,
				&tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{cs.ID}}, timeout)
		}))
	}
	const other = "NULL/EXPORT/anonymous/DES suites"
	tp.Weak = append(tp.Weak, try(other, func() ProbeResult {
		return opensslProbe(pt.addr, other, []string{"-tls1_2", "-cipher", "NULL:eNULL:aNULL:EXPORT:DES:LOW:@SECLEVEL=0"}, timeout)
	}))
	tp.Reneg = try("client-initiated renegotiation", func() ProbeResult { return renegotiationProbe(pt.addr, timeout) })
	if tp.Reneg.Tool == "" && tp.Reneg.Err == "" {
		tp.Reneg.Err = "not tried"
	}
	completed, stalls := false, false
	for _, r := range append(append([]ProbeResult(nil), tp.Versions...), tp.Weak...) {
		completed = completed || r.Accepted
		stalls = stalls || r.TimedOut
	}
	tp.Stalled = !completed && stalls
	return tp
}

// stallText describes a bind that accepts connections and then answers no
// handshake.
func stallText(tp TLSProbe) string {
	return fmt.Sprintf("live: %s TLS bind %s accepts connections but completed no TLS handshake (they timed out): nothing could be probed", tp.Proxy, tp.Addr)
}

// isTimeout reports whether err is a deadline: the peer said nothing.
func isTimeout(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// weakGoSuites are the suites Go's client can offer that HAP-4.2 forbids:
// RC4, 3DES, CBC, and RSA key exchange without forward secrecy.
func weakGoSuites() []*tls.CipherSuite {
	var out []*tls.CipherSuite
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		n := cs.Name
		if strings.Contains(n, "RC4") || strings.Contains(n, "3DES") || strings.Contains(n, "CBC") || strings.HasPrefix(n, "TLS_RSA_") {
			tls12 := false
			for _, v := range cs.SupportedVersions {
				tls12 = tls12 || v == tls.VersionTLS12 || v == tls.VersionTLS10
			}
			if tls12 {
				out = append(out, cs)
			}
		}
	}
	return out
}

func goHandshake(addr, name string, cfg *tls.Config, timeout time.Duration) ProbeResult {
	r := ProbeResult{Name: name, Tool: "go"}
	cfg.InsecureSkipVerify = true // the probe judges protocols, not the chain
	host, _, _ := net.SplitHostPort(addr)
	cfg.ServerName = host
	d := &net.Dialer{Timeout: timeout}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(ctx, "tcp", addr)
	if err != nil {
		r.Err, r.TimedOut = shortNetErr(err), isTimeout(ctx, err)
		return r
	}
	conn.Close()
	r.Accepted = true
	return r
}

// opensslProbe offers what Go's client cannot. When openssl is missing or
// cannot offer it, Tool stays empty and the check reports MANUAL.
func opensslProbe(addr, name string, args []string, timeout time.Duration) ProbeResult {
	r := ProbeResult{Name: name}
	if _, err := exec.LookPath("openssl"); err != nil {
		r.Err = "openssl is not installed"
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client", "-connect", net.JoinHostPort(host, port), "-servername", host}, args...)...)
	out, err := cmd.CombinedOutput()
	s := string(out)
	switch {
	case ctx.Err() != nil:
		r.Tool, r.Err, r.TimedOut = "openssl", "timed out", true
	case strings.Contains(strings.ToLower(s), "unknown option") || strings.Contains(s, "Option unknown") ||
		strings.Contains(s, "no cipher match") || strings.Contains(s, "SSL_CONF_cmd") || strings.Contains(s, "no protocols available"):
		r.Err = "this openssl cannot offer it: " + firstLine(s)
	case err == nil && strings.Contains(s, "Cipher is ") && !strings.Contains(s, "Cipher is (NONE)"):
		r.Tool, r.Accepted = "openssl", true
	default:
		r.Tool, r.Err = "openssl", "handshake refused"
	}
	return r
}

func probeHTTP(pt probeTarget, kind, method, path string, timeout time.Duration) HTTPProbe {
	scheme := "http"
	if pt.tls {
		scheme = "https"
	}
	hp := HTTPProbe{Pos: pt.pos, Proxy: pt.proxy.Kind + " '" + pt.proxy.Name + "'", Kind: kind,
		URL: scheme + "://" + pt.addr + path}
	hp.Name = method + " " + path
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
			DialContext:       (&net.Dialer{Timeout: timeout}).DialContext,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(method, hp.URL, nil)
	if err != nil {
		hp.Err = err.Error()
		return hp
	}
	req.Header.Set("User-Agent", "bulwark-audit")
	resp, err := client.Do(req)
	if err != nil {
		hp.Err = shortNetErr(err)
		return hp
	}
	resp.Body.Close()
	hp.Accepted, hp.Status, hp.Tool = true, resp.StatusCode, "go"
	if kind == "headers" {
		want := requiredHeaders
		if pt.tls {
			want = append(append([]string(nil), want...), "Strict-Transport-Security")
		}
		for _, h := range want {
			if resp.Header.Get(h) == "" {
				hp.Missing = append(hp.Missing, h)
			}
		}
	}
	return hp
}

// shortNetErr keeps the last, most specific part of a network error.
func shortNetErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		s = s[i+2:]
	}
	return s
}

func statusText(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }

func probeFailText(err string) string {
	return fmt.Sprintf("does not answer (%s)", err)
}
