package audit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
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

// logReceiver collects the lines that reach a log target the audit bound
// for one probe.
type logReceiver struct {
	where string // what the evidence names: address or socket path
	lines chan string
	close func()
	// extra is added to the probe timeout: a stream forwarder (HAProxy's
	// ring, Bulwark's TCP sink) reconnects on its own schedule and
	// delivers what it buffered meanwhile.
	extra time.Duration
}

// tcpReconnectWait bounds how long a TCP log probe waits, beyond the probe
// timeout, for the proxy's forwarder to (re)connect: HAProxy retries a
// ring's server about every second.
const tcpReconnectWait = 3 * time.Second

// maxSyslogFrame bounds one received syslog message; longer input ends the
// connection (no proxy sends lines of that size by default).
const maxSyslogFrame = 64 << 10

// tcpLogTarget parses a syslog target that is a TCP address ("tcp@1.2.3.4:514",
// "tcp4@...", "tcp6@[::1]:6514").
func tcpLogTarget(target string) (netip.AddrPort, bool) {
	for _, pfx := range []string{"tcp@", "tcp4@", "tcp6@"} {
		if rest, ok := strings.CutPrefix(target, pfx); ok {
			if ap, err := netip.ParseAddrPort(rest); err == nil {
				return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
			}
			if ip, err := netip.ParseAddr(strings.Trim(rest, "[]")); err == nil {
				return netip.AddrPortFrom(ip.Unmap(), 514), true
			}
			return netip.AddrPort{}, false
		}
	}
	return netip.AddrPort{}, false
}

// ringLogTarget follows "ring@NAME" to the ring section's first server: a
// TCP syslog receiver, framed as its log-proto says (HAProxy's default
// "legacy" is one message per line; "octet-count" prefixes the length).
func ringLogTarget(t *Target, target string) (ap netip.AddrPort, proto string, ok bool, why string) {
	name, isRing := strings.CutPrefix(target, "ring@")
	if !isRing {
		return ap, "", false, ""
	}
	for _, s := range t.Config.Sections {
		if s.Kind != config.KindRing || s.Name != name {
			continue
		}
		for _, d := range s.Directives {
			if d.Name != "server" {
				continue
			}
			proto = "legacy"
			for i := 2; i < len(d.Args); i++ {
				if d.Args[i].Text == "log-proto" {
					proto = d.Arg(i + 1)
				}
			}
			addr := d.Arg(1)
			for _, pfx := range []string{"tcp@", "tcp4@", "tcp6@", "ipv4@", "ipv6@"} {
				addr = strings.TrimPrefix(addr, pfx)
			}
			if a, err := netip.ParseAddrPort(addr); err == nil {
				return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), proto, true, ""
			}
			return ap, "", false, fmt.Sprintf("ring '%s' forwards to %s, not an IP address and port", name, d.Arg(1))
		}
		return ap, "", false, fmt.Sprintf("ring '%s' has no server: its lines stay in memory ('show events')", name)
	}
	return ap, "", false, fmt.Sprintf("no ring section '%s'", name)
}

// readSyslogFrames splits a TCP syslog stream into messages (RFC 6587):
// octet counting ("LEN SP MSG") when a frame starts with a digit,
// otherwise non-transparent framing (one message per LF). It stops at the
// first malformed or oversized frame.
func readSyslogFrames(r io.Reader, emit func(string)) {
	br := bufio.NewReaderSize(r, 4096)
	for {
		b, err := br.Peek(1)
		if err != nil {
			return
		}
		if b[0] >= '0' && b[0] <= '9' {
			n := 0
			for digits := 0; ; digits++ {
				c, err := br.ReadByte()
				if err != nil {
					return
				}
				if c == ' ' && digits > 0 {
					break
				}
				if c < '0' || c > '9' || digits >= 6 {
					return
				}
				n = n*10 + int(c-'0')
			}
			if n == 0 || n > maxSyslogFrame {
				return
			}
			msg := make([]byte, n)
			if _, err := io.ReadFull(br, msg); err != nil {
				return
			}
			emit(string(msg))
			continue
		}
		var line []byte
		for {
			part, err := br.ReadSlice('\n')
			line = append(line, part...)
			if len(line) > maxSyslogFrame {
				return
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil {
				if len(line) > 0 {
					emit(string(line))
				}
				return
			}
			break
		}
		emit(strings.TrimRight(string(line), "\r\n"))
	}
}

// listenTCPLog accepts the proxy's forwarder connections on ap for the
// probe and passes on every message they carry.
func listenTCPLog(ap netip.AddrPort) (*logReceiver, error) {
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	rc := &logReceiver{where: "tcp@" + ap.String(), lines: make(chan string, 64), extra: tcpReconnectWait}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	done := make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			go readSyslogFrames(c, func(m string) {
				select {
				case rc.lines <- m:
				case <-done:
				}
			})
		}
	}()
	rc.close = func() {
		close(done)
		l.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}
	return rc, nil
}

// listenPacketLog passes on the datagrams that reach pc.
func listenPacketLog(pc net.PacketConn, where string, cleanup func()) *logReceiver {
	rc := &logReceiver{where: where, lines: make(chan string, 64)}
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 8192)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			select {
			case rc.lines <- string(buf[:n]):
			case <-done:
				return
			}
		}
	}()
	rc.close = func() {
		close(done)
		pc.Close()
		if cleanup != nil {
			cleanup()
		}
	}
	return rc
}

// probeLogLine binds the configured log target itself (a UDP address, a
// unix datagram socket, or a TCP address, directly or through a ring's
// server), for as long as one probe request and the probe timeout take,
// and waits for the request's line. It never takes the address from a
// running syslog daemon: when the port or socket is already taken the
// check is left to a person.
func probeLogLine(t *Target, o LiveOptions, lf *LiveFacts) LogProbe {
	logs := t.Model.Global.Logs
	if len(logs) == 0 {
		return LogProbe{}
	}
	manualAt := func(pos config.Pos, format string, args ...any) LogProbe {
		return LogProbe{Evidence: ev(pos, Manual, format, args...), Done: true}
	}
	var tgt model.LogTarget
	var ap netip.AddrPort
	network, sock, ringWhy := "", "", ""
	for _, l := range logs {
		if a, ok := udpLogTarget(l.Target); ok {
			tgt, ap, network = l, a, "udp"
			break
		}
		if p, ok := unixLogTarget(l.Target); ok {
			tgt, sock, network = l, p, "unixgram"
			break
		}
		if a, ok := tcpLogTarget(l.Target); ok {
			tgt, ap, network = l, a, "tcp"
			break
		}
		if a, _, ok, why := ringLogTarget(t, l.Target); ok {
			tgt, ap, network = l, a, "tcp"
			break
		} else if why != "" && ringWhy == "" {
			ringWhy = fmt.Sprintf("%s: %s", l.Target, why)
		}
	}
	if network == "" {
		if ringWhy != "" {
			return manualAt(logs[0].Pos, "live: log target %s: check that a line arrives there for a request", ringWhy)
		}
		return manualAt(logs[0].Pos, "live: log target %s is neither a UDP or TCP address nor a unix socket: check that a line arrives there for a request", logs[0].Target)
	}
	var rc *logReceiver
	switch network {
	case "unixgram":
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
		// Writable by the proxy's user, whoever that is; the socket
		// exists only for the probe.
		os.Chmod(sock, 0o666)
		rc = listenPacketLog(uc, sock, func() { os.Remove(sock) })
	default:
		if !ap.Addr().IsLoopback() && !localAddrs()[ap.Addr()] {
			return manualAt(tgt.Pos, "live: log target %s is on another host: check there that lines arrive", tgt.Target)
		}
		var err error
		if network == "tcp" {
			rc, err = listenTCPLog(ap)
		} else {
			var uc *net.UDPConn
			if uc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap)); err == nil {
				rc = listenPacketLog(uc, ap.String(), nil)
			}
		}
		if err != nil {
			return manualAt(tgt.Pos, "live: log target %s is already bound by another process (a syslog daemon?): check its output for a request line (%s)", tgt.Target, shortNetErr(err))
		}
	}
	defer rc.close()
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
	wait := o.Timeout + rc.extra
	timer := time.NewTimer(wait)
	defer timer.Stop()
	got := ""
	where := rc.where
wait:
	for {
		select {
		case line := <-rc.lines:
			if strings.Contains(line, path) {
				got = line
				break wait
			}
			if got == "" {
				got = line
			}
		case <-timer.C:
			break wait
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
		return LogProbe{Evidence: ev(tgt.Pos, Warn, "live: no log line for GET %s arrived at %s within %s (only other lines: %q)", hp.URL, where, wait, truncate(got, 80)), Done: true}
	default:
		return LogProbe{Evidence: ev(tgt.Pos, Warn, "live: no log line arrived at %s within %s of GET %s", where, wait, hp.URL), Done: true}
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
