package model

import (
	"strconv"
	"strings"

	"bulwark/internal/config"
)

// bindFlags take no value; bindValued take exactly one word.
var bindFlags = map[string]bool{
	"ssl": true, "strict-sni": true, "no-tls-tickets": true, "prefer-client-ciphers": true,
	"accept-proxy": true, "transparent": true, "v4v6": true, "v6only": true, "defer-accept": true,
	"tfo": true, "no-sslv3": true, "no-tlsv10": true, "no-tlsv11": true, "no-tlsv12": true,
	"no-tlsv13": true, "force-tlsv12": true, "force-tlsv13": true, "allow-0rtt": true,
	"no-ca-names": true, "generate-certificates": true,
	"quic-force-retry": true, "accept-netscaler-cip": false, "force-sslv3": true,
	"force-tlsv10": true, "force-tlsv11": true,
}

var bindValued = map[string]bool{
	"crt": true, "crt-list": true, "alpn": true, "npn": true, "ciphers": true, "ciphersuites": true,
	"curves": true, "ecdhe": true, "ca-file": true, "crl-file": true, "verify": true,
	"ssl-min-ver": true, "ssl-max-ver": true, "maxconn": true, "backlog": true, "name": true,
	"id": true, "mode": true, "user": true, "group": true, "uid": true, "gid": true,
	"interface": true, "mss": true, "nice": true, "process": true, "thread": true,
	"tls-ticket-keys": true, "ca-ignore-err": true, "crt-ignore-err": true, "level": true,
	"severity-output": true, "expose-fd": true, "tcp-ut": true, "namespace": true,
	"proto": true, "ca-sign-file": true,
	"ca-sign-pass": true, "ca-verify-file": true, "accept-netscaler-cip": true,
	"shards": true, "bulwark-acme": true,
}

// unsupportedBindOpts are accepted by HAProxy but not run by Bulwark.
var unsupportedBindOpts = map[string]bool{
	"v4v6": true, "v6only": true, "mss": true,
	"npn": true, "generate-certificates": true, "ca-sign-file": true, "ca-sign-pass": true,
	"namespace": true, "interface": true,
	"quic-force-retry": true, "force-sslv3": true, "force-tlsv10": true,
	"force-tlsv11": true, "allow-0rtt": true, "tcp-ut": true, "tfo": true, "nice": true,
	"process": true, "thread": true, "shards": true,
}

// bindNoEffect are bind options that only tune HAProxy internals.
var bindNoEffect = map[string]bool{
	"defer-accept": true, "backlog": true, "id": true, "name": false,
	"severity-output": true,
}

// muxProtos are the names "proto" knows (HAProxy 2.6's "haproxy -vv"
// list); which of them a bind may use depends on its proxy's mode.
var muxProtos = map[string]bool{"h1": true, "h2": true, "none": true, "fcgi": true}

// bindProtoUsable reports whether a bind of a proxy in mode m may force
// proto: the HTTP multiplexers in HTTP mode, the pass-through in TCP
// mode; "fcgi" is a server-side one only.
func bindProtoUsable(m Mode, proto string) bool {
	if m == ModeHTTP {
		return proto == "h1" || proto == "h2"
	}
	return proto == "none"
}

var tlsVersions = map[string]bool{"SSLv3": true, "TLSv1.0": true, "TLSv1.1": true, "TLSv1.2": true, "TLSv1.3": true}

func (c *compiler) bind(d *config.Directive) *Bind {
	if len(d.Args) == 0 {
		c.ds.Alertf(d.Pos, "'bind' expects [addr1]:port1[-end1]{,[addr]:port[-end]}... as arguments")
		return nil
	}
	b := &Bind{Pos: d.Pos, Opts: map[string]string{}}
	for _, part := range strings.Split(c.expandAddrEnv(d.Arg(0)), ",") {
		a, err := ParseBindAddr(part)
		if err != nil {
			c.ds.Alertf(d.ArgPos(0), "'bind %s' : %v", d.Arg(0), err)
			return nil
		}
		b.Addrs = append(b.Addrs, a)
	}
	c.bindOptions(b, d.Args[1:], d.Arg(0))
	return b
}

// bindSupport reports a bind option the registry does not call
// implemented.
func (c *compiler) bindSupport(w config.Word) {
	switch KeywordSupport(FamilyBind, w.Text) {
	case Unsupported:
		c.unsupported(w.Pos, "bind option '%s' is not supported by bulwark", w.Text)
	case NoEffect:
		c.noEffect(w.Pos, "bind option '%s'", w.Text)
	}
}

func (c *compiler) bindOptions(b *Bind, args []config.Word, what string) {
	for i := 0; i < len(args); i++ {
		w := args[i]
		name := w.Text
		switch {
		case bindFlags[name]:
			b.Opts[name] = ""
			if name == "ssl" {
				b.SSL = true
			}
			c.bindSupport(w)
			continue
		case bindValued[name]:
		default:
			c.ds.Alertf(w.Pos, "'bind %s' unknown keyword '%s'", what, name)
			continue
		}
		if i+1 >= len(args) {
			c.ds.Alertf(w.Pos, "'bind %s' : '%s' expects an argument", what, name)
			return
		}
		v := args[i+1]
		i++
		c.bindSupport(w)
		switch name {
		case "expose-fd":
			// What it gives (the listening sockets, to "_getsocks") is a
			// runtime API matter: on a frontend's bind it does nothing, as
			// in HAProxy.
			if v.Text != "listeners" {
				c.ds.Alertf(v.Pos, "'bind %s' : '%s' only supports 'listeners' (got '%s')", what, name, v.Text)
			}
		case "crt":
			b.Certs = append(b.Certs, v.Text)
		case "crt-list":
			b.CrtList = append(b.CrtList, v.Text)
		case "alpn":
			b.ALPN = strings.Split(v.Text, ",")
		case "proto":
			// Whether the name suits the proxy's mode is known once the
			// section is read (finishProxy), as in HAProxy.
			if !muxProtos[v.Text] {
				c.ds.Alertf(v.Pos, "'bind %s' : 'proto' : unknown MUX protocol '%s'", what, v.Text)
			}
			b.Proto, b.ProtoPos = v.Text, v.Pos
		case "maxconn":
			n, err := strconv.Atoi(v.Text)
			if err != nil || n < 0 {
				c.ds.Alertf(v.Pos, "'bind %s' : 'maxconn' expects a non-negative integer", what)
			}
			b.MaxConn = n
		case "ssl-min-ver", "ssl-max-ver":
			if !tlsVersions[v.Text] {
				c.ds.Alertf(v.Pos, "'bind %s' : '%s' : unknown version '%s' (expects SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3)", what, name, v.Text)
			}
		case "verify":
			if v.Text != "none" && v.Text != "optional" && v.Text != "required" {
				c.ds.Alertf(v.Pos, "'bind %s' : 'verify' expects 'none', 'optional' or 'required'", what)
			}
		case "mode":
			m, err := strconv.ParseUint(v.Text, 8, 32)
			if err != nil {
				c.ds.Alertf(v.Pos, "'bind %s' : 'mode' expects an octal file mode", what)
			}
			b.Mode = uint32(m)
		case "accept-netscaler-cip":
			m, err := strconv.ParseUint(v.Text, 10, 32)
			if err != nil {
				c.ds.Alertf(v.Pos, "'bind %s' : '%s' expects a magic number (an unsigned 32-bit integer), got '%s'", what, name, v.Text)
			}
			b.NetScaler, b.NetScalerMagic = true, uint32(m)
		case "user":
			b.User = v.Text
		case "group":
			b.Group = v.Text
		case "name":
			b.Name = v.Text
		case "bulwark-acme":
			c.bulwarkBindACME(b, v, what)
		}
		b.Opts[name] = v.Text
	}
	if (len(b.Certs) > 0 || len(b.CrtList) > 0) && !b.SSL {
		// HAProxy loads the certificates but serves clear text; this is
		// almost always a mistake.
		c.ds.Warnf(args[0].Pos, "'bind %s' has certificates but no 'ssl' keyword: it will serve clear text", what)
	}
	if b.SSL && len(b.Certs) == 0 && len(b.CrtList) == 0 && len(b.ACME) == 0 {
		c.ds.Alertf(args[0].Pos, "'bind %s' : 'ssl' requires a certificate ('crt', 'crt-list' or 'bulwark-acme')", what)
	}
	if len(b.ACME) > 0 && (!b.SSL || len(b.Certs) > 0 || len(b.CrtList) > 0) {
		c.ds.Alertf(args[0].Pos, "'bind %s' : 'bulwark-acme' needs 'ssl' and replaces 'crt'/'crt-list'", what)
	}
}
