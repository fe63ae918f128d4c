package audit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
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

// unixLogTarget parses a syslog target that is a unix datagram socket
// ("/dev/log", "unix@/run/log.sock").
func unixLogTarget(target string) (string, bool) {
	if p, ok := strings.CutPrefix(target, "unix@"); ok {
		return p, p != ""
	}
	if strings.HasPrefix(target, "/") {
		return target, true
	}
	return "", false
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
	sock := ""
	found := false
	for _, l := range logs {
		if a, ok := udpLogTarget(l.Target); ok {
			tgt, ap, found = l, a, true
			break
		}
		if p, ok := unixLogTarget(l.Target); ok {
			tgt, sock, found = l, p, true
			break
		}
	}
	manualAt := func(pos config.Pos, format string, args ...any) LogProbe {
		return LogProbe{Evidence: ev(pos, Manual, format, args...), Done: true}
	}
	if !found {
		return manualAt(logs[0].Pos, "live: log target %s is neither a UDP address nor a unix socket: check that a line arrives there for a request", logs[0].Target)
	}
	var pc net.PacketConn
	where := ap.String()
	if sock != "" {
		// A unix datagram socket that exists belongs to a syslog daemon
		// (/dev/log): never taken over. One that does not is created for
		// the probe and removed afterwards.
		if _, err := os.Lstat(sock); err == nil {
			return manualAt(tgt.Pos, "live: log socket %s exists (a syslog daemon?): check its output for a request line", sock)
		}
		uc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
		if err != nil {
			return manualAt(tgt.Pos, "live: cannot listen on log socket %s: %s", sock, shortNetErr(err))
		}
		defer os.Remove(sock)
		// Writable by the proxy's user, whoever that is; the socket
		// exists only for the probe.
		os.Chmod(sock, 0o666)
		pc, where = uc, sock
	} else {
		if !ap.Addr().IsLoopback() && !localAddrs()[ap.Addr()] {
			return manualAt(tgt.Pos, "live: log target %s is on another host: check there that lines arrive", tgt.Target)
		}
		uc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
		if err != nil {
			return manualAt(tgt.Pos, "live: log target %s is already bound by another process (a syslog daemon?): check its output for a request line (%s)", tgt.Target, shortNetErr(err))
		}
		pc = uc
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
		n, _, err := pc.ReadFrom(buf)
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
		return LogProbe{Evidence: ev(tgt.Pos, Pass, "live: a log line for GET %s arrived at %s", hp.URL, where), Done: true}
	case got != "" && !pathLogged(target.proxy):
		// Other traffic (other probes' handshake errors, clients) logs
		// too: only the probe's own line proves that requests are
		// logged; the format may also leave the path out.
		return LogProbe{Evidence: ev(tgt.Pos, Manual, "live: lines arrived at %s after GET %s, but none shows its path (%q): check that requests are logged with their request line", where, hp.URL, truncate(got, 80)), Done: true}
	case got != "":
		// The format logs the request line, so the probe's line would
		// show its path: what arrived is other traffic's.
		return LogProbe{Evidence: ev(tgt.Pos, Warn, "live: no log line for GET %s arrived at %s within %s (only other lines: %q)", hp.URL, where, o.Timeout, truncate(got, 80)), Done: true}
	default:
		return LogProbe{Evidence: ev(tgt.Pos, Warn, "live: no log line arrived at %s within %s of GET %s", where, o.Timeout, hp.URL), Done: true}
	}
}

// requestTag matches the log-format tags that carry the path: %r, %HU,
// %HP, with or without a {+Q}-style prefix.
var requestTag = regexp.MustCompile(`%(\{[^}]*\})?(r|HU|HP)\b`)

// pathLogged reports whether p's log format shows the request line, so
// that the probe's own line can be recognised by its path.
func pathLogged(p *model.Proxy) bool {
	if p.LogFormat != "" {
		return requestTag.MatchString(p.LogFormat)
	}
	return p.Option("httplog") || p.Option("httpslog")
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
