package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/units"
)

// DefaultGlobal is the global section of a configuration that sets nothing.
func DefaultGlobal() Global { return newGlobal() }

func newGlobal() Global {
	return Global{UID: -1, GID: -1, MaxReloads: -1, BufSize: 16384, MaxHdr: 101, StatsMaxConn: 10,
		PoolLowFDRatio: 20, PoolHighFDRatio: 25, SSL: SSLDefaults{ServerVerify: "required"},
		SSLCacheSize: 20000, SSLLifetime: 300 * time.Second,
		H2: H2Tune{HeaderTableSize: 4096, InitialWindowSize: 65535, MaxConcurrentStreams: 100, MaxFrameSize: 16384}}
}

// globalIgnored are global keywords that tune HAProxy internals; Bulwark
// accepts them because they change nothing it would do differently.
var globalIgnored = set()

// globalNoEffect tune HAProxy internals; accepted with a warning.
var globalNoEffect = set("tune.ssl.default-dh-param", "tune.maxaccept",
	"cpu-map",
	"tune.ssl.maxrecord", "quiet", "tune.idletimer",
	// Idle server connections are shared by all goroutines: there are no
	// threads to keep them apart.
	"tune.idle-pool.shared")

// rangeArg reads a global's one integer argument within [lo, hi].
func (c *compiler) rangeArg(d *config.Directive, lo, hi int) (int, bool) {
	if len(d.Args) != 1 {
		c.ds.Alertf(d.Pos, "'%s' expects an integer argument", d.Name)
		return 0, false
	}
	n, err := strconv.Atoi(d.Arg(0))
	if err != nil || n < lo || n > hi {
		c.ds.Alertf(d.ArgPos(0), "'%s' expects an integer between %d and %d, got '%s'", d.Name, lo, hi, d.Arg(0))
		return 0, false
	}
	return n, true
}

// argsAtMost reports whether d has at most n arguments, with HAProxy's
// alert on the first one past them.
func (c *compiler) argsAtMost(d *config.Directive, n int) bool {
	if len(d.Args) <= n {
		return true
	}
	c.ds.Alertf(d.ArgPos(n), "'%s' cannot handle unexpected argument '%s'.", d.Name, d.Arg(n))
	return false
}

func (c *compiler) global(s *config.Section) {
	g := &c.m.Global
	if !g.Pos.IsValid() {
		g.Pos = s.Pos
	}
	for _, d := range s.Directives {
		g.Directives = append(g.Directives, d)
		switch d.Name {
		case "user", "group", "chroot", "pidfile":
			if len(d.Args) != 1 {
				c.ds.Alertf(d.Pos, "'%s' expects exactly one argument", d.Name)
				continue
			}
			switch d.Name {
			case "user":
				g.User = d.Arg(0)
			case "group":
				g.Group = d.Arg(0)
			case "chroot":
				g.Chroot = d.Arg(0)
			default:
				g.PidFile = d.Arg(0)
			}
		case "uid", "gid":
			n, err := strconv.Atoi(d.Arg(0))
			if err != nil || n < 0 || len(d.Args) != 1 {
				c.ds.Alertf(d.Pos, "'%s' expects an integer argument", d.Name)
				continue
			}
			if d.Name == "uid" {
				g.UID = n
			} else {
				g.GID = n
			}
		case "maxconn":
			g.MaxConn = c.intArg(d, 0, 1<<30)
		case "nbthread":
			g.NbThread = c.intArg(d, 0, 4096)
			if g.NbThread == 0 && len(d.Args) > 0 {
				c.ds.Alertf(d.ArgPos(0), "'nbthread' must be > 0")
			}
		case "daemon":
			g.Daemon = true
		case "noreuseport":
			g.NoReusePort = true
		case "nosplice":
			if c.argsAtMost(d, 0) {
				g.NoSplice = true
			}
		case "maxpipes":
			if c.argsAtMost(d, 1) {
				g.MaxPipes = c.intArg(d, 0, 1<<30)
			}
		case "mworker-max-reloads":
			if len(d.Args) != 1 {
				c.ds.Alertf(d.Pos, "'%s' expects an integer argument", d.Name)
				continue
			}
			n, err := strconv.Atoi(d.Arg(0))
			if err != nil || n < 0 {
				c.ds.Alertf(d.ArgPos(0), "'%s' : invalid value %s, must be >= 0", d.Name, d.Arg(0))
				continue
			}
			g.MaxReloads = n
		case "master-worker":
			// As "-W"; "no-exit-on-failure" keeps the master when a
			// worker fails.
			g.MasterWorker = true
			switch {
			case len(d.Args) == 0:
			case len(d.Args) == 1 && d.Arg(0) == "no-exit-on-failure":
				g.NoExitOnFailure = true
			default:
				c.ds.Alertf(d.Pos, "'master-worker' only supports 'no-exit-on-failure' option")
			}
		case "server-state-file":
			g.ServerStateFile = d.Arg(0)
		case "server-state-base":
			g.ServerStateBase = d.Arg(0)
		case "spread-checks":
			if n, ok := c.rangeArg(d, 0, 50); ok {
				g.SpreadChecks = n
			}
		case "max-spread-checks":
			if t, err := units.ParseTime(d.Arg(0)); err != nil || len(d.Args) != 1 {
				c.ds.Alertf(d.Pos, "'max-spread-checks' expects a delay")
			} else {
				g.MaxSpreadChecks = t
			}
		case "crt-base":
			g.CrtBase = d.Arg(0)
		case "ca-base":
			g.CABase = d.Arg(0)
		case "log-tag":
			g.LogTag = d.Arg(0)
		case "log-send-hostname":
			g.LogSendHostname, g.LogHostname = true, d.Arg(0)
		case "zero-warning":
			g.ZeroWarn = true
		case "hard-stop-after":
			if t, err := units.ParseTime(d.Arg(0)); err != nil {
				c.ds.Alertf(d.ArgPos(0), "'hard-stop-after' : %v", err)
			} else {
				g.HardStop = t
			}
		case "tune.ssl.capture-buffer-size", "tune.ssl.capture-cipherlist-size":
			if n, ok := c.rangeArg(d, 0, 1<<16); ok {
				g.SSLCaptureSize = n
			}
		case "tune.ssl.cachesize":
			if n, ok := c.rangeArg(d, 0, 1<<24); ok {
				g.SSLCacheSize = n
			}
		case "tune.ssl.lifetime":
			// Seconds unless a unit is given, as HAProxy reads it.
			if len(d.Args) != 1 {
				c.ds.Alertf(d.Pos, "'%s' expects a time argument", d.Name)
			} else if t, err := units.ParseTimeUnit(d.Arg(0), time.Second); err != nil {
				c.ds.Alertf(d.ArgPos(0), "'%s' : %v", d.Name, err)
			} else {
				g.SSLLifetime = t
			}
		case "tune.ssl.keylog":
			// CM 3.2: the secret fetches (ssl_fc_*_traffic_secret*)
			// give samples only with it on.
			switch {
			case len(d.Args) == 1 && d.Arg(0) == "on":
				g.SSLKeyLog = true
			case len(d.Args) == 1 && d.Arg(0) == "off":
				g.SSLKeyLog = false
			default:
				c.ds.Alertf(d.Pos, "'%s' expects either 'on' or 'off' but got '%s'.", d.Name, strings.Join(argTexts(d.Args), " "))
			}
		case "tune.bufsize":
			n := c.intArg(d, 0, 1<<28)
			if n < 1024 && len(d.Args) > 0 {
				c.ds.Alertf(d.ArgPos(0), "'tune.bufsize' must be at least 1024")
				continue
			}
			g.BufSize = n
		case "tune.pool-low-fd-ratio", "tune.pool-high-fd-ratio":
			if n, ok := c.rangeArg(d, 0, 100); ok {
				if d.Name == "tune.pool-low-fd-ratio" {
					g.PoolLowFDRatio = n
				} else {
					g.PoolHighFDRatio = n
				}
			}
		case "no-memory-trimming":
			if c.argsAtMost(d, 0) {
				g.NoMemoryTrimming = true
			}
		case "ulimit-n":
			if n, ok := c.rangeArg(d, 1, 1<<30); ok {
				g.UlimitN = n
			}
		case "setenv", "presetenv", "unsetenv", "resetenv":
			if (d.Name == "setenv" || d.Name == "presetenv") && len(d.Args) != 2 {
				c.ds.Alertf(d.Pos, "'%s' expects <name> <value>", d.Name)
				continue
			}
			if d.Name == "unsetenv" && len(d.Args) == 0 {
				c.ds.Alertf(d.Pos, "'unsetenv' expects at least one name")
				continue
			}
			op := EnvOp{Op: d.Name}
			for _, a := range d.Args {
				op.Args = append(op.Args, a.Text)
			}
			g.EnvOps = append(g.EnvOps, op)
		case "tune.http.maxhdr":
			if n, ok := c.rangeArg(d, 1, 32767); ok {
				g.MaxHdr = n
			}
		case "tune.comp.maxlevel":
			if n, ok := c.rangeArg(d, 1, 9); ok {
				g.CompMaxLevel = n
			}
		case "tune.h2.header-table-size":
			if n, ok := c.rangeArg(d, 0, 65535); ok {
				g.H2.HeaderTableSize = n
			}
		case "tune.h2.initial-window-size":
			if n, ok := c.rangeArg(d, 0, 1<<31-1); ok {
				g.H2.InitialWindowSize = n
			}
		case "tune.h2.max-concurrent-streams":
			if n, ok := c.rangeArg(d, 1, 1<<31-1); ok {
				g.H2.MaxConcurrentStreams = n
			}
		case "tune.h2.max-frame-size":
			if n, ok := c.rangeArg(d, 16384, 1<<24-1); ok {
				g.H2.MaxFrameSize = n
			}
		case "tune.maxrewrite":
			g.MaxRewrite = c.intArg(d, 0, 1<<28)
		case "log":
			c.log(&g.Logs, d)
		case "stats":
			c.globalStats(g, d)
		case "ssl-default-bind-ciphers":
			g.SSL.BindCiphers = d.Arg(0)
		case "ssl-default-bind-ciphersuites":
			g.SSL.BindCipherSuites = d.Arg(0)
		case "ssl-default-bind-curves":
			g.SSL.BindCurves = d.Arg(0)
		case "ssl-default-bind-options":
			g.SSL.BindOptions = append(g.SSL.BindOptions, c.sslOptions(d)...)
		case "ssl-default-server-ciphers":
			g.SSL.ServerCiphers = d.Arg(0)
		case "ssl-default-server-ciphersuites":
			g.SSL.ServerSuites = d.Arg(0)
		case "ssl-default-server-options":
			g.SSL.ServerOptions = append(g.SSL.ServerOptions, c.sslOptions(d)...)
		case "ssl-server-verify":
			if d.Arg(0) != "none" && d.Arg(0) != "required" {
				c.ds.Alertf(d.ArgPos(0), "'ssl-server-verify' expects 'none' or 'required'")
				continue
			}
			g.SSL.ServerVerify = d.Arg(0)
		case "ssl-dh-param-file":
			g.SSL.DHParamFile = d.Arg(0)
		case "node":
			g.Node = d.Arg(0)
		case "set-var", "set-var-fmt":
			c.globalVar(g, d)
		case "expose-experimental-directives":
			g.Experimental = true
		case "description":
			g.Description = strings.Join(argTexts(d.Args), " ")
		default:
			if strings.HasPrefix(d.Name, "bulwark-") {
				c.bulwarkGlobal(g, d)
				continue
			}
			if globalNoEffect[d.Name] {
				c.noEffect(d.Pos, "'%s'", d.Name)
				continue
			}
			if _, known := config.LookupKeyword(s.Kind, d.Name); globalIgnored[d.Name] || !known {
				continue
			}
			c.unsupported(d.Pos, "'%s' is not supported by bulwark", d.Name)
		}
	}
}

var sslOptionWords = set("no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13",
	"no-tls-tickets", "force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12",
	"force-tlsv13", "prefer-client-ciphers", "ssl-min-ver", "ssl-max-ver")

func (c *compiler) sslOptions(d *config.Directive) []string {
	var out []string
	for i := 0; i < len(d.Args); i++ {
		w := d.Args[i]
		if !sslOptionWords[w.Text] {
			c.ds.Alertf(w.Pos, "'%s' : unknown option '%s'", d.Name, w.Text)
			continue
		}
		if w.Text == "ssl-min-ver" || w.Text == "ssl-max-ver" {
			if i+1 >= len(d.Args) || !tlsVersions[d.Args[i+1].Text] {
				c.ds.Alertf(w.Pos, "'%s' : '%s' expects SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3", d.Name, w.Text)
				continue
			}
			out = append(out, w.Text+" "+d.Args[i+1].Text)
			i++
			continue
		}
		out = append(out, w.Text)
	}
	return out
}

func (c *compiler) globalStats(g *Global, d *config.Directive) {
	switch d.Arg(0) {
	case "socket":
		if len(d.Args) < 2 {
			c.ds.Alertf(d.Pos, "'stats socket' expects an address or a path")
			return
		}
		a, err := ParseBindAddr(d.Arg(1))
		if err != nil {
			c.ds.Alertf(d.ArgPos(1), "'stats socket' : %v", err)
			return
		}
		ss := &StatsSocket{Pos: d.Pos, Addr: a, Level: "operator", Opts: map[string]string{}}
		b := &Bind{Opts: map[string]string{}}
		c.bindOptions(b, d.Args[2:], d.Arg(1))
		if b.Proto != "" && muxProtos[b.Proto] && !bindProtoUsable(ModeTCP, b.Proto) {
			// The CLI is a TCP-mode listener in HAProxy: only "none" fits.
			c.ds.Alertf(b.ProtoPos, "frontend 'GLOBAL' : MUX protocol '%s' is not usable for 'bind %s' at [%s]", b.Proto, d.Arg(1), d.Pos)
		}
		ss.Opts = b.Opts
		ss.Mode, ss.User, ss.Group, ss.MaxConn = b.Mode, b.User, b.Group, b.MaxConn
		_, ss.ExposeFD = b.Opts["expose-fd"]
		if lv, ok := b.Opts["level"]; ok {
			if lv != "user" && lv != "operator" && lv != "admin" {
				c.ds.Alertf(d.Pos, "'stats socket' : 'level' expects 'user', 'operator' or 'admin'")
			}
			ss.Level = lv
		}
		g.StatsSocks = append(g.StatsSocks, ss)
	case "timeout":
		t, err := units.ParseTimeUnit(d.Arg(1), 1e9)
		if err != nil {
			c.ds.Alertf(d.ArgPos(1), "'stats timeout' : %v", err)
			return
		}
		g.StatsTimeout = t
	case "maxconn":
		n, err := strconv.Atoi(d.Arg(1))
		if err != nil || n <= 0 {
			c.ds.Alertf(d.ArgPos(1), "'stats maxconn' expects a positive integer")
			return
		}
		g.StatsMaxConn = n
	case "bind-process":
		c.noEffect(d.Pos, "'stats %s'", d.Arg(0))
	default:
		c.ds.Alertf(d.ArgPos(0), "'stats' in 'global' section expects 'socket', 'maxconn' or 'timeout'")
	}
}

var logFacilities = set("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
	"cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2",
	"local3", "local4", "local5", "local6", "local7")

var logLevels = set("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")

var logFormats = set("local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw")

func (c *compiler) log(dst *[]LogTarget, d *config.Directive) {
	if len(d.Args) == 0 {
		c.ds.Alertf(d.Pos, "'log' expects either <address[:port]> and <facility> or 'global' as arguments")
		return
	}
	if d.Arg(0) == "global" {
		if len(d.Args) > 1 {
			c.ds.Alertf(d.ArgPos(1), "'log global' does not take arguments")
		}
		*dst = append(*dst, LogTarget{Pos: d.Pos, Global: true})
		return
	}
	lt := LogTarget{Pos: d.Pos, Target: ExpandAddrEnv(d.Arg(0)), Len: 1024, Format: "local"}
	rest := d.Args[1:]
	for len(rest) >= 2 {
		switch rest[0].Text {
		case "len":
			n, err := strconv.Atoi(rest[1].Text)
			if err != nil || n < 80 || n > 65535 {
				c.ds.Alertf(rest[1].Pos, "'log' : 'len' expects a value between 80 and 65535")
			}
			lt.Len = n
		case "format":
			if !logFormats[rest[1].Text] {
				c.ds.Alertf(rest[1].Pos, "'log' : unknown log format '%s'", rest[1].Text)
			}
			lt.Format = rest[1].Text
		case "sample":
			ls, err := parseLogSample(rest[1].Text)
			if err != nil {
				c.ds.Alertf(rest[1].Pos, "'log' : %v", err)
			}
			lt.Sample = ls
		default:
			goto facility
		}
		rest = rest[2:]
	}
facility:
	if len(rest) == 0 {
		c.ds.Alertf(d.Pos, "'log' expects <facility> after the address")
		return
	}
	if !logFacilities[rest[0].Text] {
		c.ds.Alertf(rest[0].Pos, "unknown log facility '%s'", rest[0].Text)
		return
	}
	lt.Facility = rest[0].Text
	if len(rest) > 1 {
		if !logLevels[rest[1].Text] {
			c.ds.Alertf(rest[1].Pos, "unknown optional log level '%s'", rest[1].Text)
			return
		}
		lt.Level = rest[1].Text
	}
	if len(rest) > 2 {
		if !logLevels[rest[2].Text] {
			c.ds.Alertf(rest[2].Pos, "unknown optional minimum log level '%s'", rest[2].Text)
			return
		}
		lt.MinLevel = rest[2].Text
	}
	if len(rest) > 3 {
		c.ds.Alertf(rest[3].Pos, "'log' : too many arguments")
	}
	for _, pfx := range []string{"ring@", "fd@"} {
		if strings.HasPrefix(lt.Target, pfx) {
			c.unsupported(d.Pos, "'log %s...' targets are not supported by bulwark (use a UDP or TCP address, a unix socket, stdout or stderr)", pfx)
		}
	}
	*dst = append(*dst, lt)
}

func (c *compiler) stats(p *Proxy, d *config.Directive) {
	if p.Stats == nil {
		p.Stats = &Stats{Pos: d.Pos, URI: "/haproxy?stats"}
	}
	st := p.Stats
	switch d.Arg(0) {
	case "enable":
		st.Enabled = true
	case "uri":
		st.URI, st.Enabled = d.Arg(1), true
	case "realm":
		st.Realm, st.Enabled = d.Arg(1), true
	case "auth":
		if !strings.Contains(d.Arg(1), ":") {
			c.ds.Alertf(d.ArgPos(1), "'stats auth' expects <user>:<password>")
			return
		}
		st.Auth, st.Enabled = append(st.Auth, d.Arg(1)), true
	case "hide-version":
		st.HideVersion, st.Enabled = true, true
	case "refresh":
		t, err := units.ParseTimeUnit(d.Arg(1), 1e9)
		if err != nil {
			c.ds.Alertf(d.ArgPos(1), "'stats refresh' : %v", err)
			return
		}
		st.Refresh, st.Enabled = t, true
	case "admin":
		cd, ok := c.cond(p, d.Args[1:], d.Pos)
		if !ok {
			return
		}
		if cd == nil {
			c.ds.Alertf(d.Pos, "'stats admin' requires either 'if' or 'unless' followed by a condition")
			return
		}
		st.AdminConds, st.Enabled = append(st.AdminConds, cd), true
	case "http-request":
		if r := c.rule(p, d, "stats http-request", 1); r != nil {
			st.Rules = append(st.Rules, r)
		}
	case "scope":
		if d.Arg(1) == "" {
			c.ds.Alertf(d.Pos, "'stats scope' needs a proxy name")
			return
		}
		st.Scopes, st.Enabled = append(st.Scopes, d.Arg(1)), true
	case "show-node":
		st.ShowNode, st.Node, st.Enabled = true, d.Arg(1), true
	case "show-desc":
		st.ShowDesc, st.Desc, st.Enabled = true, strings.Join(argTexts(d.Args[1:]), " "), true
	case "show-legends":
		st.ShowLegends, st.Enabled = true, true
	case "show-modules":
		st.ShowModules, st.Enabled = true, true
	case "bind-process":
		c.unsupported(d.Pos, "'stats %s' is not supported by bulwark", d.Arg(0))
	case "disable":
		st.Enabled = false
	default:
		c.ds.Alertf(d.ArgPos(0), "'stats' expects 'admin', 'auth', 'enable', 'hide-version', 'http-request', 'realm', 'refresh', 'scope', 'show-desc', 'show-legends', 'show-modules', 'show-node' or 'uri' (got '%s')", d.Arg(0))
	}
}

func (c *compiler) userlist(s *config.Section) {
	if prev, ok := c.m.Userlists[s.Name]; ok {
		c.ds.Alertf(s.Pos, "userlist '%s' has the same name as another userlist declared at %s", s.Name, prev.Pos)
		return
	}
	ul := &Userlist{Pos: s.Pos, Name: s.Name, Groups: map[string][]string{}}
	c.m.Userlists[s.Name] = ul
	for _, d := range s.Directives {
		switch d.Name {
		case "group":
			if len(d.Args) == 0 {
				c.ds.Alertf(d.Pos, "'group' expects a name")
				continue
			}
			var users []string
			if len(d.Args) >= 3 && d.Arg(1) == "users" {
				users = strings.Split(d.Arg(2), ",")
			}
			ul.Groups[d.Arg(0)] = users
		case "user":
			if len(d.Args) < 3 {
				c.ds.Alertf(d.Pos, "'user' expects <name> password|insecure-password <pass> [groups ...]")
				continue
			}
			u := &User{Pos: d.Pos, Name: d.Arg(0)}
			for i := 1; i+1 < len(d.Args); i += 2 {
				switch d.Arg(i) {
				case "password":
					u.Password = d.Arg(i + 1)
				case "insecure-password":
					u.Password, u.Insecure = d.Arg(i+1), true
				case "groups":
					u.Groups = strings.Split(d.Arg(i+1), ",")
				default:
					c.ds.Alertf(d.ArgPos(i), "'user' : unexpected keyword '%s'", d.Arg(i))
				}
			}
			ul.Users = append(ul.Users, u)
		default:
			c.ds.Alertf(d.Pos, "unknown keyword '%s' in 'userlist' section", d.Name)
		}
	}
}

// argTexts are the texts of words.
func argTexts(ws []config.Word) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Text
	}
	return out
}

// parseLogSample reads "<ranges>:<sample_size>", ranges being "n" or
// "lo-hi" separated by commas, numbered from 1, within the size.
func parseLogSample(v string) (*LogSample, error) {
	rs, sz, ok := strings.Cut(v, ":")
	if !ok {
		return nil, fmt.Errorf("'sample' expects '<ranges>:<sample_size>', got '%s'", v)
	}
	size, err := strconv.Atoi(sz)
	if err != nil || size <= 0 {
		return nil, fmt.Errorf("invalid sample size '%s' in 'sample %s'", sz, v)
	}
	ls := &LogSample{Size: size}
	for _, r := range strings.Split(rs, ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a <= 0 || b < a {
			return nil, fmt.Errorf("invalid range '%s' in 'sample %s' (the limits cannot be null and are numbered from 1)", r, v)
		}
		if b > size {
			return nil, fmt.Errorf("sample size %d is smaller than the range '%s' in 'sample %s'", size, r, v)
		}
		ls.Ranges = append(ls.Ranges, [2]int{a, b})
	}
	return ls, nil
}

// globalVar compiles "set-var <name> <expr>" and "set-var-fmt <name>
// <fmt>" of the global section: CM 3.1 allows only process-wide
// variables there.
func (c *compiler) globalVar(g *Global, d *config.Directive) {
	if len(d.Args) != 2 {
		what := "a sample expression"
		if d.Name == "set-var-fmt" {
			what = "a log-format string"
		}
		c.ds.Alertf(d.Pos, "'%s' : expects a variable name and %s.", d.Name, what)
		return
	}
	name := d.Arg(0)
	if !strings.HasPrefix(name, "proc.") {
		c.ds.Alertf(d.ArgPos(0), "'%s' : only process-wide variables (\"proc.\" scope) may be set in the global section, not '%s'.", d.Name, name)
		return
	}
	g.Vars = append(g.Vars, GlobalVar{Pos: d.Pos, Name: name, Text: d.Arg(1), Fmt: d.Name == "set-var-fmt"})
}
