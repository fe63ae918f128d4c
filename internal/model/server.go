package model

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/units"
)

func defaultServerOptions() ServerOptions {
	return ServerOptions{Inter: 2 * time.Second, Rise: 2, Fall: 3, Weight: 1, Opts: map[string]string{},
		PoolMaxConn: DefaultPoolMaxConn, PoolPurgeDelay: 5 * time.Second}
}

// serverFlags take no value.
var serverFlags = map[string]bool{
	"check": true, "backup": true, "disabled": true, "enabled": true, "ssl": true, "no-ssl": true,
	"check-ssl": true, "no-check-ssl": true, "send-proxy": true, "send-proxy-v2": true,
	"no-send-proxy": true, "no-send-proxy-v2": true, "agent-check": true, "no-agent-check": true,
	"no-check": true, "no-backup": true, "check-send-proxy": true, "no-tls-tickets": true,
	"tls-tickets": true, "no-sslv3": true, "no-tlsv10": true, "no-tlsv11": true, "no-tlsv12": true,
	"no-tlsv13": true, "force-tlsv12": true, "force-tlsv13": true, "non-stick": true, "stick": true,
	"send-proxy-v2-ssl": true, "send-proxy-v2-ssl-cn": true, "no-verifyhost": true, "allow-0rtt": true,
	"check-via-socks4": true, "socks4": false, "ws": false, "no-ssl-reuse": true, "ssl-reuse": true,
	"force-sslv3": true, "force-tlsv10": true, "force-tlsv11": true, "tfo": true,
}

var serverValued = map[string]bool{
	"inter": true, "fastinter": true, "downinter": true, "rise": true, "fall": true, "weight": true,
	"maxconn": true, "maxqueue": true, "minconn": true, "slowstart": true, "port": true, "addr": true,
	"verify": true, "verifyhost": true, "sni": true, "ca-file": true, "crl-file": true, "crt": true,
	"ciphers": true, "ciphersuites": true, "alpn": true, "proto": true, "cookie": true, "id": true,
	"track": true, "observe": true, "error-limit": true, "on-error": true, "on-marked-down": true,
	"on-marked-up": true, "agent-port": true, "agent-inter": true, "agent-send": true,
	"agent-addr": true, "redir": true, "init-addr": true, "resolvers": true, "resolve-prefer": true,
	"resolve-net": true, "resolve-opts": true, "source": true, "usesrc": true, "namespace": true,
	"proxy-v2-options": true, "check-alpn": true, "check-proto": true, "check-sni": true,
	"ssl-min-ver": true, "ssl-max-ver": true, "pool-max-conn": true, "pool-purge-delay": true,
	"pool-low-conn": true, "max-reuse": true, "tcp-ut": true, "npn": true,
	"socks4": true, "ws": true,
	"log-proto": true,
}

var unsupportedServerOpts = map[string]bool{
	"max-reuse": true, "namespace": true,
	"npn": true, "redir": true,
	"track": true, "tcp-ut": true, "ws": true, "allow-0rtt": true,
	"log-proto": true, "tfo": true,
	"force-sslv3": true, "force-tlsv10": true, "force-tlsv11": true,
	"minconn": true,
}

func (c *compiler) server(p *Proxy, d *config.Directive) *Server {
	if len(d.Args) < 2 {
		c.ds.Alertf(d.Pos, "'server' expects <name> and <addr>[:<port>] as arguments")
		return nil
	}
	if err := config.CheckProxyName(d.Arg(0)); err != nil {
		c.ds.Alertf(d.ArgPos(0), "server name '%s' is invalid: %v", d.Arg(0), err)
	}
	a, err := ParseServerAddr(c.expandAddrEnv(d.Arg(1)))
	if err != nil {
		c.ds.Alertf(d.ArgPos(1), "'server %s' : %v", d.Arg(0), err)
		return nil
	}
	sv := &Server{Pos: d.Pos, Name: d.Arg(0), Addr: a}
	sv.ServerOptions = p.DefaultServer
	sv.Opts = make(map[string]string, len(p.DefaultServer.Opts))
	for k, v := range p.DefaultServer.Opts {
		sv.Opts[k] = v
	}
	c.serverOptions(&sv.ServerOptions, d, 2, false)
	if id, ok := sv.Opts["id"]; ok {
		sv.ID, _ = strconv.Atoi(id)
	}
	return sv
}

func (c *compiler) serverOptions(o *ServerOptions, d *config.Directive, start int, isDefault bool) {
	args := d.Args
	for i := start; i < len(args); i++ {
		w := args[i]
		name := w.Text
		if serverFlags[name] {
			if KeywordSupport(FamilyServer, name) == Unsupported {
				c.unsupported(w.Pos, "server option '%s' is not supported by bulwark", name)
			}
			o.Opts[name] = ""
			switch name {
			case "check":
				o.Check = true
			case "no-check":
				o.Check = false
			case "backup":
				o.Backup = true
			case "no-backup":
				o.Backup = false
			case "disabled":
				o.Disabled = true
			case "enabled":
				o.Disabled = false
			case "ssl":
				o.SSL = true
			case "no-ssl":
				o.SSL = false
			case "check-ssl":
				o.CheckSSL = true
			case "no-check-ssl":
				o.CheckSSL = false
			case "check-send-proxy":
				o.CheckSendProxy = true
			case "check-via-socks4":
				o.CheckViaSocks4 = true
			case "agent-check":
				o.AgentCheck = true
			case "no-agent-check":
				o.AgentCheck = false
			case "send-proxy":
				o.SendProxy = "v1"
			case "send-proxy-v2", "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn":
				o.SendProxy = "v2"
			case "no-send-proxy", "no-send-proxy-v2":
				o.SendProxy = ""
			}
			continue
		}
		if !serverValued[name] {
			c.ds.Alertf(w.Pos, "'%s %s' unknown keyword '%s'", d.Name, d.Arg(0), name)
			continue
		}
		if i+1 >= len(args) {
			c.ds.Alertf(w.Pos, "'%s' expects an argument", name)
			return
		}
		v := args[i+1]
		i++
		if KeywordSupport(FamilyServer, name) == Unsupported {
			c.unsupported(w.Pos, "server option '%s' is not supported by bulwark", name)
		}
		o.Opts[name] = v.Text
		if c.resolveOption(o, name, v) {
			continue
		}
		switch name {
		case "usesrc":
			if err := checkUseSrc(v.Text); err != nil {
				c.unsupported(v.Pos, "'usesrc %s' %v", v.Text, err)
				continue
			}
			o.UseSrc = v.Text
			continue
		case "addr":
			// A port given with the address is ignored: the check port is
			// "port", else the server's.
			o.CheckAddr = ExpandAddrEnv(v.Text)
			if a, err := ParseServerAddr(o.CheckAddr); err == nil && a.Host != "" {
				o.CheckAddr = a.Host
			}
		case "check-sni":
			o.CheckSNI = v.Text
		case "check-alpn":
			o.CheckALPN = v.Text
		case "proto", "check-proto":
			// The multiplexers of servers: h1 and h2 (internal/h2up).
			if !muxProtos[v.Text] {
				c.ds.Alertf(v.Pos, "'%s %s' : '%s' :  unknown MUX protocol '%s'.", d.Name, d.Arg(0), name, v.Text)
				continue
			}
			// check-proto none is the raw connection of a tcp-check (the
			// plan refuses it for an httpchk).
			if v.Text != "h1" && v.Text != "h2" && (v.Text != "fcgi" || name != "proto") && (v.Text != "none" || name != "check-proto") {
				c.unsupported(v.Pos, "'%s %s' is not supported by bulwark (h1 and h2 are, and fcgi for proto, none for check-proto)", name, v.Text)
				continue
			}
			switch {
			case name == "proto":
				o.Proto, o.ProtoPos = v.Text, v.Pos
			case isDefault:
				// HAProxy 2.6.12 does not pass check-proto on from
				// default-server: its servers' checks keep their own
				// protocol (an httpchk speaks HTTP/1), so it is kept off
				// here too, said aloud.
				delete(o.Opts, name)
				c.ds.Warnf(w.Pos, "'check-proto' on 'default-server' has no effect: HAProxy 2.6 does not pass it on to the servers; set it on each 'server' line")
			default:
				o.CheckProto, o.CheckProtoPos = v.Text, v.Pos
			}
		case "agent-port":
			n, err := strconv.Atoi(v.Text)
			if err != nil || n < 1 || n > 65535 {
				c.ds.Alertf(v.Pos, "'agent-port' expects a port between 1 and 65535")
				continue
			}
			o.AgentPort = n
		case "agent-addr":
			o.AgentAddr = v.Text
		case "agent-send":
			o.AgentSend = v.Text
		case "agent-inter":
			t, err := units.ParseTime(v.Text)
			if err != nil || t == 0 {
				c.ds.Alertf(v.Pos, "'agent-inter' expects a positive delay in milliseconds")
				continue
			}
			o.AgentInter = t
		case "observe":
			if v.Text != "none" && v.Text != "layer4" && v.Text != "layer7" {
				c.ds.Alertf(v.Pos, "'observe' expects one of 'none', 'layer4', 'layer7' but got '%s'", v.Text)
				continue
			}
			o.Observe = v.Text
		case "error-limit":
			n, err := strconv.Atoi(v.Text)
			if err != nil || n < 1 {
				c.ds.Alertf(v.Pos, "'error-limit' expects an integer argument > 0 (got '%s')", v.Text)
				continue
			}
			o.ErrorLimit = n
		case "on-error":
			switch v.Text {
			case "fastinter", "fail-check", "sudden-death", "mark-down":
			default:
				c.ds.Alertf(v.Pos, "'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got '%s'", v.Text)
				continue
			}
			o.OnError = v.Text
		case "socks4":
			a, err := ParseServerAddr(v.Text)
			if err != nil || a.Net != "tcp" && a.Net != "tcp4" || a.PortLow == 0 {
				c.ds.Alertf(v.Pos, "'socks4' : invalid address '%s' (expects <ipv4>:<port>)", v.Text)
				continue
			}
			o.Socks4 = a.Host + ":" + strconv.Itoa(a.PortLow)
		case "on-marked-down":
			if v.Text != "shutdown-sessions" {
				c.ds.Alertf(v.Pos, "'on-marked-down' expects 'shutdown-sessions' but got '%s'", v.Text)
				continue
			}
			o.OnMarkedDown = v.Text
		case "on-marked-up":
			if v.Text != "shutdown-backup-sessions" {
				c.ds.Alertf(v.Pos, "'on-marked-up' expects 'shutdown-backup-sessions' but got '%s'", v.Text)
				continue
			}
			o.OnMarkedUp = v.Text
		case "proxy-v2-options":
			if _, err := ParseProxyV2Options(v.Text); err != nil {
				c.ds.Alertf(v.Pos, "%v", err)
			}
		case "inter", "fastinter", "downinter", "slowstart":
			t, err := units.ParseTime(v.Text)
			if err != nil {
				c.ds.Alertf(v.Pos, "'%s' : %v", name, err)
				continue
			}
			if t == 0 && name != "slowstart" {
				c.ds.Alertf(v.Pos, "'%s' expects a positive delay in milliseconds", name)
				continue
			}
			switch name {
			case "inter":
				o.Inter = t
			case "fastinter":
				o.FastInter = t
			case "downinter":
				o.DownInter = t
			default:
				o.SlowStart = t
			}
		case "rise", "fall":
			n, err := strconv.Atoi(v.Text)
			if err != nil || n <= 0 {
				c.ds.Alertf(v.Pos, "'%s' has to be > 0", name)
				continue
			}
			if name == "rise" {
				o.Rise = n
			} else {
				o.Fall = n
			}
		case "weight":
			n, err := strconv.Atoi(v.Text)
			if err != nil || n < 0 || n > 256 {
				c.ds.Alertf(v.Pos, "weight of server must be between 0 and 256 (got '%s')", v.Text)
				continue
			}
			o.Weight = n
		case "maxconn", "maxqueue":
			n, err := strconv.Atoi(v.Text)
			if err != nil || n < 0 {
				c.ds.Alertf(v.Pos, "'%s' expects a non-negative integer (got '%s')", name, v.Text)
				continue
			}
			if name == "maxconn" {
				o.MaxConn = n
			} else {
				o.MaxQueue = n
			}
		case "port":
			n, err := strconv.Atoi(v.Text)
			if err != nil || n < 1 || n > 65535 {
				c.ds.Alertf(v.Pos, "'port' expects a port between 1 and 65535")
				continue
			}
			o.Port = n
		case "verify":
			if v.Text != "none" && v.Text != "required" {
				c.ds.Alertf(v.Pos, "'verify' expects 'none' or 'required'")
				continue
			}
			o.Verify = v.Text
		case "pool-max-conn", "pool-low-conn":
			// HAProxy reads these with atoi(), so "abc" silently means 0
			// (no reuse at all); a typo must not change behaviour unseen.
			n, err := strconv.Atoi(v.Text)
			lo := -1
			if name == "pool-low-conn" {
				lo = 0
			}
			if err != nil || n < lo || n > 1<<30 {
				c.ds.Alertf(v.Pos, "'%s' expects an integer >= %d (got '%s')", name, lo, v.Text)
				continue
			}
			if name == "pool-max-conn" {
				o.PoolMaxConn = n
			} else {
				o.PoolLowConn = n
			}
		case "pool-purge-delay":
			t, err := units.ParseTime(v.Text)
			if err != nil {
				c.ds.Alertf(v.Pos, "'%s' : %v", name, err)
				continue
			}
			o.PoolPurgeDelay = t
		case "sni":
			o.SNI = v.Text
		case "source":
			if err := checkSource(v.Text); err != nil {
				c.ds.Alertf(v.Pos, "'source' : %v", err)
				continue
			}
			o.Source = v.Text
		case "ssl-min-ver", "ssl-max-ver":
			if !tlsVersions[v.Text] {
				c.ds.Alertf(v.Pos, "'%s' : unknown version '%s'", name, v.Text)
			}
		case "id":
			if isDefault {
				c.ds.Alertf(w.Pos, "'id' is not allowed on 'default-server'")
			}
		}
	}
}

// checkUseSrc accepts the "usesrc" modes Bulwark runs: the client's
// address ("clientip") or address and port ("client"), as the source of
// connections to the server (transparent proxying, IP_TRANSPARENT).
func checkUseSrc(v string) error {
	if v == "client" || v == "clientip" {
		return nil
	}
	return fmt.Errorf("is not supported by bulwark (only 'client' and 'clientip')")
}

// checkSource reads the address of "source": an IP with an optional
// single port. Port ranges and "usesrc" (transparent proxying, which needs
// TPROXY) are refused.
func checkSource(s string) error {
	if _, err := netip.ParseAddr(s); err == nil {
		return nil
	}
	_, err := netip.ParseAddrPort(s)
	if err != nil {
		if strings.Contains(s, "-") {
			return fmt.Errorf("port ranges in '%s' are not supported by bulwark", s)
		}
		return fmt.Errorf("invalid address '%s' (expects <ip>[:<port>])", s)
	}
	return nil
}
