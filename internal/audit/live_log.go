package audit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

// LogProbe is the outcome of HAP-7.1's live check: whether a log line
// arrived for one probe request.
type LogProbe struct {
	Evidence
	Done bool // false when there was nothing to try
}

// udpLogTarget parses a syslog target that is a UDP address ("1.2.3.4:514",
// "udp@[::1]:514", or an address without a port).
func udpLogTarget(target string) (netip.AddrPort, bool) {
	s := target
	if rest, ok := strings.CutPrefix(s, "udp@"); ok {
		s = rest
	} else if rest, ok := strings.CutPrefix(s, "udp4@"); ok {
		s = rest
	} else if rest, ok := strings.CutPrefix(s, "udp6@"); ok {
		s = rest
	} else if strings.Contains(s, "@") || strings.HasPrefix(s, "/") || s == "stdout" || s == "stderr" {
		return netip.AddrPort{}, false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), 514), true
	}
	return netip.AddrPort{}, false
}

// probeLogLine binds the configured UDP log target itself, for as long as
// one probe request and the probe timeout take, and waits for a datagram.
// It never takes the address from a running syslog daemon: when the port
// is already bound the check is left to a person.
func probeLogLine(t *Target, o LiveOptions, lf *LiveFacts) LogProbe {
	logs := t.Model.Global.Logs
	if len(logs) == 0 {
		return LogProbe{}
	}
	var tgt model.LogTarget
	var ap netip.AddrPort
	found := false
	for _, l := range logs {
		if a, ok := udpLogTarget(l.Target); ok {
			tgt, ap, found = l, a, true
			break
		}
	}
	manualAt := func(pos config.Pos, format string, args ...any) LogProbe {
		return LogProbe{Evidence: ev(pos, Manual, format, args...), Done: true}
	}
	if !found {
		return manualAt(logs[0].Pos, "live: log target %s is not a UDP address: check that a line arrives there for a request", logs[0].Target)
	}
	if !ap.Addr().IsLoopback() && !localAddrs()[ap.Addr()] {
		return manualAt(tgt.Pos, "live: log target %s is on another host: check there that lines arrive", tgt.Target)
	}
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return manualAt(tgt.Pos, "live: log target %s is already bound by another process (a syslog daemon?): check its output for a request line (%s)", tgt.Target, shortNetErr(err))
	}
	defer pc.Close()
	var target *probeTarget
	for _, pt := range probeTargets(o, &LiveFacts{}, appFrontends(t.Model)) {
		if logsTo(pt.proxy) {
			target = &pt
			break
		}
	}
	if target == nil {
		return manualAt(tgt.Pos, "live: no local HTTP bind of a logging frontend to send a probe request to")
	}
	path := "/bulwark-audit-log-probe-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	hp := probeHTTP(*target, "log", http.MethodGet, path, o.Timeout)
	if !hp.Accepted {
		return manualAt(target.pos, "live: probe request %s failed (%s): log line not checked", hp.URL, hp.Err)
	}
	buf := make([]byte, 8192)
	deadline := time.Now().Add(o.Timeout)
	got := ""
	for {
		pc.SetReadDeadline(deadline)
		n, _, err := pc.ReadFromUDP(buf)
		if err != nil {
			break
		}
		line := string(buf[:n])
		if strings.Contains(line, path) {
			got = line
			break
		}
		if got == "" {
			got = line
		}
	}
	switch {
	case strings.Contains(got, path):
		return LogProbe{Evidence: ev(tgt.Pos, Pass, "live: a log line for GET %s arrived at %s", hp.URL, ap), Done: true}
	case got != "":
		return LogProbe{Evidence: ev(tgt.Pos, Pass, "live: a log line arrived at %s after GET %s (it does not show the path: %q)", ap, hp.URL, truncate(got, 80)), Done: true}
	default:
		return LogProbe{Evidence: ev(tgt.Pos, Warn, "live: no log line arrived at %s within %s of GET %s", ap, o.Timeout, hp.URL), Done: true}
	}
}

// logsTo reports whether a frontend sends its traffic logs anywhere.
func logsTo(p *model.Proxy) bool { return len(p.Logs) > 0 }

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// liveLogLine judges the live half of HAP-7.1.
func liveLogLine(t *Target, lf *LiveFacts) Result {
	lp := lf.LogProbe
	if !lp.Done {
		return skip("live: no global log target to observe")
	}
	r := summarize([]Evidence{lp.Evidence}, "live: a log line arrives for a probe request", "live: no log line seen for a probe request")
	if r.Verdict == Manual {
		r.Summary = fmt.Sprintf("live: log delivery needs a person (%s)", strings.TrimPrefix(lp.Text, "live: "))
	}
	return r
}
