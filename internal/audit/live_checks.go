package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"bulwark/internal/config"
)

// procsOrProblem returns a WARN result when no process could be observed,
// so that a wrong --pid is a clear finding rather than a silent PASS.
func procsOrProblem(lf *LiveFacts) (Result, bool) {
	if lf.ProcProblem != "" || len(lf.Procs) == 0 {
		why := lf.ProcProblem
		if why == "" {
			why = "no process found"
		}
		return Result{Verdict: Warn, Summary: "live: " + why,
			Evidence: []Evidence{ev(config.Pos{}, Warn, "live (%s): %s; process checks not done", lf.How, why)}}, false
	}
	return Result{}, true
}

func procLabel(p Proc) string {
	role := "worker"
	if !p.Worker {
		role = "master"
	}
	return fmt.Sprintf("PID %d (%s, %s)", p.PID, role, p.Comm)
}

// liveNonRoot judges HAP-2.1. Every process that serves traffic (a worker:
// no child of the same binary) must have real, effective, saved and
// filesystem UID and GID all non-zero. A master may stay root: in HAProxy's
// master-worker mode it only re-executes and supervises workers, and it
// needs root to rebind privileged ports on reload.
func liveNonRoot(t *Target, lf *LiveFacts) Result {
	if r, ok := procsOrProblem(lf); !ok {
		return r
	}
	var evs []Evidence
	for _, p := range lf.Procs {
		root := p.UID[0] == 0 || p.UID[1] == 0 || p.UID[2] == 0 || p.GID[0] == 0 || p.GID[1] == 0 || p.GID[2] == 0
		ids := fmt.Sprintf("uid %d/%d/%d gid %d/%d/%d (real/effective/saved)", p.UID[0], p.UID[1], p.UID[2], p.GID[0], p.GID[1], p.GID[2])
		switch {
		case !root:
			evs = append(evs, ev(config.Pos{}, Pass, "live: %s runs as %s", procLabel(p), ids))
		case p.Worker:
			evs = append(evs, ev(config.Pos{}, Fail, "live: %s runs with root IDs: %s", procLabel(p), ids))
		default:
			evs = append(evs, ev(config.Pos{}, Pass, "live: %s is root, accepted for a master whose workers are not", procLabel(p)))
		}
	}
	return summarize(evs, "live: no serving process runs as root", "live: a serving process runs as root")
}

// liveChroot judges HAP-2.2 from each worker's /proc/PID/root.
func liveChroot(t *Target, lf *LiveFacts) Result {
	if r, ok := procsOrProblem(lf); !ok {
		return r
	}
	want := t.Model.Global.Chroot
	if want != "" {
		if abs, err := filepath.EvalSymlinks(want); err == nil {
			want = abs
		}
		want = filepath.Clean(want)
	}
	var evs []Evidence
	for _, p := range lf.Procs {
		if !p.Worker {
			continue
		}
		switch {
		case p.Root == "":
			evs = append(evs, ev(config.Pos{}, Manual, "live: %s root directory unreadable (%s): run as root", procLabel(p), p.Err))
		case want == "" && p.Root == "/":
			evs = append(evs, ev(config.Pos{}, Fail, "live: %s is not chrooted (root is /)", procLabel(p)))
		case want == "":
			evs = append(evs, ev(config.Pos{}, Warn, "live: %s runs in %s although no chroot is configured", procLabel(p), p.Root))
		case filepath.Clean(p.Root) == want:
			evs = append(evs, ev(config.Pos{}, Pass, "live: %s is chrooted to %s", procLabel(p), p.Root))
		default:
			evs = append(evs, ev(config.Pos{}, Fail, "live: %s root is %s, not the configured chroot %s", procLabel(p), p.Root, want))
		}
	}
	return summarize(evs, "live: workers run in the configured chroot", "live: workers are not in the configured chroot")
}

// liveListeners judges HAP-3.1 on the sockets the processes really hold.
func liveListeners(t *Target, lf *LiveFacts) Result {
	if r, ok := procsOrProblem(lf); !ok {
		return r
	}
	var evs []Evidence
	if lf.SocketsErr != "" {
		evs = append(evs, ev(config.Pos{}, Manual, "live: sockets not readable: %s (run as root)", lf.SocketsErr))
	}
	for _, l := range lf.Listeners {
		if l.Addr.Addr().IsUnspecified() {
			evs = append(evs, ev(config.Pos{}, Fail, "live: PID %d listens on wildcard %s", l.PID, l.Addr))
		} else {
			evs = append(evs, ev(config.Pos{}, Pass, "live: PID %d listens on %s", l.PID, l.Addr))
		}
	}
	if len(evs) == 0 {
		if !configBindsTCP(t) {
			// Nothing is configured to listen (Debian's stock file):
			// no socket is the expected state, not a finding.
			return skip("live: no listening socket, and the configuration binds none")
		}
		return Result{Verdict: Warn, Summary: "live: the configured binds are not listening",
			Evidence: []Evidence{ev(config.Pos{}, Warn, "live: the processes hold no listening TCP socket although the configuration binds addresses")},
			Fix:      "Check that the running process uses this configuration (reload it, or audit the file it was started with)."}
	}
	return summarize(evs, "live: every listening socket is on a specific address", "live: listening on wildcard addresses")
}

// liveRuntimeSocket judges the file side of HAP-6.2: the runtime API
// socket on disk must not be reachable by other users.
func liveRuntimeSocket(t *Target, lf *LiveFacts) Result {
	var evs []Evidence
	for _, s := range t.Model.Global.StatsSocks {
		if s.Addr.Net != "unix" {
			continue
		}
		st, err := os.Stat(s.Addr.Path)
		if err != nil {
			evs = append(evs, ev(s.Pos, Warn, "live: runtime socket %s: %s", s.Addr.Path, shortErr(err)))
			continue
		}
		mode := st.Mode().Perm()
		owner := ""
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			owner = fmt.Sprintf(" owner %d:%d", sys.Uid, sys.Gid)
		}
		switch {
		case mode&0o007 != 0:
			evs = append(evs, ev(s.Pos, Fail, "live: runtime socket %s mode %04o%s: other users can connect", s.Addr.Path, mode, owner))
		default:
			evs = append(evs, ev(s.Pos, Pass, "live: runtime socket %s mode %04o%s", s.Addr.Path, mode, owner))
		}
	}
	if len(evs) == 0 {
		return skip("live: no unix runtime socket configured")
	}
	return summarize(evs, "live: runtime socket closed to other users", "live: runtime socket open to other users")
}

func liveTrustedSource(t *Target, lf *LiveFacts) Result {
	if r, ok := procsOrProblem(lf); !ok {
		return r
	}
	evs := make([]Evidence, len(lf.Binary.Evidence))
	for i, e := range lf.Binary.Evidence {
		// Marked as live like every observation of the running
		// deployment: the binary facts are gathered without the prefix.
		if !strings.HasPrefix(e.Text, "live") {
			e.Text = "live: " + e.Text
		}
		evs[i] = e
	}
	r := summarize(evs, "live: binary "+lf.Binary.Path+" comes from a trusted source", "live: binary origin not established")
	if r.Verdict == Manual {
		r.Summary = "live: binary origin needs a person"
	}
	return r
}

// luaUsed reports whether the configuration uses what a build feature
// provides; features that nothing can use are judged by their directives.
func featureUsed(t *Target, feature string) (used bool, known bool) {
	var keys []string
	switch feature {
	case "LUA":
		keys = []string{"lua-load", "lua-load-per-thread", "lua."}
	case "OT":
		keys = []string{"opentracing"}
	case "PROMEX":
		keys = []string{"prometheus-exporter"}
	case "51DEGREES":
		keys = []string{"51degrees"}
	case "DEVICEATLAS":
		keys = []string{"deviceatlas"}
	case "WURFL":
		keys = []string{"wurfl"}
	default:
		return false, false
	}
	for _, s := range t.Config.Sections {
		for _, d := range s.Directives {
			text := d.Name + " " + strings.Join(d.Texts(), " ")
			for _, k := range keys {
				if strings.Contains(text, k) {
					return true, true
				}
			}
		}
	}
	return false, true
}

func liveFeatures(t *Target, lf *LiveFacts) Result {
	if t.Product != ProductHAProxy {
		return skip("live: Bulwark has no optional build features (no Lua, SPOE or tracing)")
	}
	if r, ok := procsOrProblem(lf); !ok {
		return r
	}
	if lf.Features == nil {
		return manual("live: %s", lf.FeaturesErr)
	}
	var evs []Evidence
	for _, f := range []string{"LUA", "OT", "PROMEX", "51DEGREES", "DEVICEATLAS", "WURFL"} {
		if !lf.Features[f] {
			continue
		}
		if used, _ := featureUsed(t, f); used {
			evs = append(evs, ev(config.Pos{}, Pass, "live: +%s built in and used by the configuration", f))
		} else {
			evs = append(evs, ev(config.Pos{}, Warn, "live: +%s built in but the configuration does not use it (inert until something loads it)", f))
		}
	}
	if len(evs) == 0 {
		return Result{Verdict: Pass, Summary: "live: no optional feature built in",
			Evidence: []Evidence{ev(config.Pos{}, Pass, "live: 'haproxy -vv' lists no Lua, OpenTracing, Prometheus or device-detection module")}}
	}
	r := summarize(evs, "live: every optional built-in feature is used", "live: binary has features the configuration does not use")
	if r.Verdict == Warn {
		// The configuration has nothing to remove: the feature is in the
		// binary, and the guide prefers distro packages to custom builds.
		r.Fix = "Nothing in the configuration uses these features, so there is nothing to remove from it: prefer a distro package built without them where one exists (the guide advises against custom builds), and keep lua-load and the like out of the configuration."
	}
	return r
}

// configBindsTCP reports whether any proxy of the configuration binds a
// TCP address (not only unix sockets).
func configBindsTCP(t *Target) bool {
	for _, p := range frontends(t.Model) {
		for _, b := range p.Binds {
			for _, a := range b.Addrs {
				if !isSocketNet(a) {
					return true
				}
			}
		}
	}
	return false
}

// withNotesOf wraps a probe check so that it reports unprobed binds.
func withNotesOf(fn func(*Target, *LiveFacts) Result, kind string) func(*Target, *LiveFacts) Result {
	return func(t *Target, lf *LiveFacts) Result { return withNotes(fn(t, lf), lf, kind) }
}

// withNotes adds the binds of kind that were not probed; with no probe at
// all they make the live half MANUAL rather than SKIP.
func withNotes(r Result, lf *LiveFacts, kind string) Result {
	var notes []Evidence
	for _, n := range lf.ProbeNotes {
		if n.Kind == kind {
			notes = append(notes, n.Evidence)
		}
	}
	if len(notes) == 0 {
		return r
	}
	if r.Verdict == Skip {
		return Result{Verdict: Manual, Summary: "live: binds not probed (not local, or not an IP)", Evidence: notes}
	}
	r.Evidence = append(r.Evidence, notes...)
	if r.Verdict == Pass {
		r.Verdict = Manual
		r.Summary += "; some binds were not probed"
	}
	return r
}

// liveTLSVersions judges HAP-4.1: TLS 1.0/1.1 (and SSLv3) must be refused,
// TLS 1.2 and 1.3 accepted.
func liveTLSVersions(t *Target, lf *LiveFacts) Result {
	if len(lf.TLS) == 0 {
		return skip("live: no local TLS bind to probe")
	}
	var evs []Evidence
	for _, tp := range lf.TLS {
		if !tp.Answered {
			evs = append(evs, ev(tp.Pos, Warn, "live: %s TLS bind %s %s", tp.Proxy, tp.Addr, probeFailText(tp.Err)))
			continue
		}
		if tp.Stalled {
			evs = append(evs, ev(tp.Pos, Warn, "%s", stallText(tp)))
			continue
		}
		tls10Refused := false
		for _, r := range tp.Versions {
			if r.Name == "TLSv1.0" && r.Tool != "" && !r.Accepted {
				tls10Refused = true
			}
		}
		for _, r := range tp.Versions {
			old := r.Name == "SSLv3" || r.Name == "TLSv1.0" || r.Name == "TLSv1.1"
			switch {
			case r.Tool == "" && r.Name == "SSLv3" && tls10Refused:
				// A minimum version that refuses TLS 1.0 refuses SSLv3 too.
				evs = append(evs, ev(tp.Pos, Pass, "live: %s %s: SSLv3 not offered (%s); implied refused since TLSv1.0 is", tp.Proxy, tp.Addr, r.Err))
			case r.Tool == "":
				evs = append(evs, ev(tp.Pos, Manual, "live: %s %s: %s not probed (%s)", tp.Proxy, tp.Addr, r.Name, r.Err))
			case r.TimedOut:
				evs = append(evs, ev(tp.Pos, Manual, "live: %s %s: the %s handshake timed out: neither accepted nor refused", tp.Proxy, tp.Addr, r.Name))
			case old && r.Accepted:
				evs = append(evs, ev(tp.Pos, Fail, "live: %s %s accepts %s", tp.Proxy, tp.Addr, r.Name))
			case old:
				evs = append(evs, ev(tp.Pos, Pass, "live: %s %s refuses %s", tp.Proxy, tp.Addr, r.Name))
			case r.Name == "TLSv1.2" && !r.Accepted:
				evs = append(evs, ev(tp.Pos, Fail, "live: %s %s refuses TLSv1.2 (%s)", tp.Proxy, tp.Addr, r.Err))
			case !r.Accepted:
				evs = append(evs, ev(tp.Pos, Warn, "live: %s %s refuses %s (%s)", tp.Proxy, tp.Addr, r.Name, r.Err))
			default:
				evs = append(evs, ev(tp.Pos, Pass, "live: %s %s accepts %s", tp.Proxy, tp.Addr, r.Name))
			}
		}
	}
	return summarize(evs, "live: TLS binds accept only TLS 1.2 and 1.3", "live: TLS protocol probes found problems")
}

// liveWeakCiphers judges HAP-4.2 by offering each weak suite alone.
func liveWeakCiphers(t *Target, lf *LiveFacts) Result {
	if len(lf.TLS) == 0 {
		return skip("live: no local TLS bind to probe")
	}
	var evs []Evidence
	for _, tp := range lf.TLS {
		if !tp.Answered {
			evs = append(evs, ev(tp.Pos, Warn, "live: %s TLS bind %s %s", tp.Proxy, tp.Addr, probeFailText(tp.Err)))
			continue
		}
		if tp.Stalled {
			evs = append(evs, ev(tp.Pos, Warn, "%s", stallText(tp)))
			continue
		}
		var accepted, untried []string
		refused := 0
		for _, r := range tp.Weak {
			switch {
			case r.Tool == "":
				untried = append(untried, r.Name+" ("+r.Err+")")
			case r.TimedOut:
				untried = append(untried, r.Name+" (handshake timed out)")
			case r.Accepted:
				accepted = append(accepted, r.Name)
			default:
				refused++
			}
		}
		if len(accepted) > 0 {
			evs = append(evs, ev(tp.Pos, Fail, "live: %s %s accepts weak suites offered alone: %s", tp.Proxy, tp.Addr, strings.Join(accepted, ", ")))
		} else {
			evs = append(evs, ev(tp.Pos, Pass, "live: %s %s refuses all %d weak suites offered alone", tp.Proxy, tp.Addr, refused))
		}
		for _, u := range untried {
			evs = append(evs, ev(tp.Pos, Manual, "live: %s %s: %s not probed", tp.Proxy, tp.Addr, u))
		}
		evs = append(evs, renegEvidence(tp))
	}
	r := summarize(evs, "live: no weak suite and no client-initiated renegotiation accepted", "live: weak cipher suites or renegotiation accepted")
	if r.Verdict == Manual {
		r.Verdict, r.Summary = Pass, "live: no weak suite accepted (what Go/openssl could not try needs a person)"
	}
	return r
}

func httpProbes(lf *LiveFacts, kind string) []HTTPProbe {
	var out []HTTPProbe
	for _, p := range lf.HTTP {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

func liveHeaders(t *Target, lf *LiveFacts) Result {
	return judgeHTTP(lf, "headers", "live: no local HTTP bind to probe",
		"live: responses carry the security headers", "live: responses lack security headers",
		func(p HTTPProbe) Evidence {
			if len(p.Missing) > 0 {
				return ev(p.Pos, Fail, "live: GET %s (%s) lacks %s", p.URL, statusText(p.Status), strings.Join(p.Missing, ", "))
			}
			return ev(p.Pos, Pass, "live: GET %s (%s) carries the security headers", p.URL, statusText(p.Status))
		})
}

func liveTrace(t *Target, lf *LiveFacts) Result {
	return judgeHTTP(lf, "trace", "live: no local HTTP bind to probe",
		"live: TRACE is refused", "live: TRACE is not refused",
		func(p HTTPProbe) Evidence {
			if p.Status == 403 || p.Status == 405 {
				return ev(p.Pos, Pass, "live: TRACE %s refused with %s", p.URL, statusText(p.Status))
			}
			return ev(p.Pos, Fail, "live: TRACE %s answered %s (expected 403 or 405)", p.URL, statusText(p.Status))
		})
}

func liveStats(t *Target, lf *LiveFacts) Result {
	return judgeHTTP(lf, "stats", "live: no local stats page to probe",
		"live: stats page asks for credentials", "live: stats page open without credentials",
		func(p HTTPProbe) Evidence {
			if p.Status == 401 || p.Status == 403 {
				return ev(p.Pos, Pass, "live: stats %s without credentials → %s", p.URL, statusText(p.Status))
			}
			return ev(p.Pos, Fail, "live: stats %s without credentials → %s (expected 401)", p.URL, statusText(p.Status))
		})
}

// judgeHTTP turns the HTTP probes of one kind into a result: a probe that
// got no answer is a warning, the others are judged by judge.
func judgeHTTP(lf *LiveFacts, kind, none, pass, fail string, judge func(HTTPProbe) Evidence) Result {
	ps := httpProbes(lf, kind)
	if len(ps) == 0 {
		return skip("%s", none)
	}
	var evs []Evidence
	for _, p := range ps {
		if !p.Accepted {
			evs = append(evs, ev(p.Pos, Warn, "live: %s %s %s", p.Proxy, p.URL, probeFailText(p.Err)))
			continue
		}
		evs = append(evs, judge(p))
	}
	return summarize(evs, pass, fail)
}

// renegEvidence judges the renegotiation probe of one bind.
func renegEvidence(tp TLSProbe) Evidence {
	r := tp.Reneg
	switch {
	case r.Tool == "":
		return ev(tp.Pos, Manual, "live: %s %s: renegotiation not probed (%s)", tp.Proxy, tp.Addr, r.Err)
	case r.Accepted:
		return ev(tp.Pos, Fail, "live: %s %s accepts client-initiated renegotiation (openssl s_client -tls1_2, 'R')", tp.Proxy, tp.Addr)
	case strings.Contains(r.Name, "TLS 1.2 refused"):
		return ev(tp.Pos, Pass, "live: %s %s refuses TLS 1.2, so it cannot be renegotiated (%s)", tp.Proxy, tp.Addr, r.Err)
	default:
		return ev(tp.Pos, Pass, "live: %s %s refuses client-initiated renegotiation (%s)", tp.Proxy, tp.Addr, r.Err)
	}
}
