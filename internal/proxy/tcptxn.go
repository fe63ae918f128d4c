package proxy

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/h1"
	"bulwark/internal/stick"
)

// tcpTxn is the rule view of a TCP-mode session: addresses, stick
// counters, the inspected data and the TLS state of its connections;
// HTTP fetches find nothing.
type tcpTxn struct {
	// tlsConns is empty until the connection rules have run (clientConn)
	// and gets the server side once connected (serverConn).
	tlsConns
	fe       *frontend
	src, dst netip.AddrPort
	// fcSrc and fcDst are the connection's addresses once the
	// connection rules have run (fcSet); until then src and dst are.
	fcSrc, fcDst netip.AddrPort
	fcSet        bool
	tracked      [3]stick.Ref
	vars         map[string]acl.Sample
	hdrs         []h1.Header
	be           *backend
	srv          *server // the server connected to, once chosen
	level        string
	// sni is the TLS bind's server name, or the one of a ClientHello
	// the content rules inspected in the clear (req.ssl_sni); tlsOn is
	// true on a TLS bind once the connection rules have run.
	sni       []byte
	tlsOn     bool
	conn      net.Conn // the client connection (PROXY header fetches); nil for h2
	expectPP  bool     // "tcp-request connection expect-proxy" ran
	expectCIP bool     // "tcp-request connection expect-netscaler-cip" ran
	payload   []byte   // the client's first bytes, when inspected
	// resPayload is the server's data while tcp-response content rules
	// inspect it.
	resPayload []byte
	// ent is the session's log entry: the server connection's outcome.
	ent *LogEntry
	// lastRule is the rule that ended a content rule list (last_rule_file);
	// Line 0 while none has.
	lastRule config.Pos
	// act is what set-priority-* set; capReq the request capture slots.
	act    streamActs
	capReq [][]byte
}

func (t *tcpTxn) Src() netip.AddrPort { return t.src }
func (t *tcpTxn) Dst() netip.AddrPort { return t.dst }

// ConnSrc and ConnDst serve fc_src and fc_dst.
func (t *tcpTxn) ConnSrc() netip.AddrPort {
	if t.fcSet {
		return t.fcSrc
	}
	return t.src
}
func (t *tcpTxn) ConnDst() netip.AddrPort {
	if t.fcSet {
		return t.fcDst
	}
	return t.dst
}

func (t *tcpTxn) SetLastRule(pos config.Pos)    { t.lastRule = pos }
func (t *tcpTxn) LastRule() (config.Pos, bool)  { return t.lastRule, t.lastRule.Line > 0 }
func (t *tcpTxn) Method() []byte                { m, _, _, _, _ := requestLine(t.payload); return m }
func (t *tcpTxn) Target() []byte                { _, u, _, _, _ := requestLine(t.payload); return u }
func (t *tcpTxn) Version() (int, int)           { _, _, ma, mi, _ := requestLine(t.payload); return ma, mi }
func (t *tcpTxn) IsHTTP() bool                  { return false }
func (t *tcpTxn) ReqHeaders() []h1.Header       { return nil }
func (t *tcpTxn) RespHeaders() []h1.Header      { return nil }
func (t *tcpTxn) Status() int                   { return 0 }
func (t *tcpTxn) TLS() (bool, []byte)           { return t.tlsOn, t.sni }
func (t *tcpTxn) Now() int64                    { return t.fe.rt.clock.NowMs() }
func (t *tcpTxn) Tracked(n int) stick.Ref       { return t.tracked[n] }
func (t *tcpTxn) SetTracked(n int, r stick.Ref) { t.tracked[n] = r }
func (t *tcpTxn) Var(name string) (acl.Sample, bool) {
	if acl.IsProcVar(name) {
		return t.fe.rt.procVars.Get(name)
	}
	v, ok := t.vars[name]
	return v, ok
}
func (t *tcpTxn) SetVar(name string, v acl.Sample) {
	if acl.IsProcVar(name) {
		t.fe.rt.procVars.Set(name, v)
		return
	}
	if t.vars == nil {
		t.vars = map[string]acl.Sample{}
	}
	v.B = append([]byte(nil), v.B...)
	t.vars[name] = v
}
func (t *tcpTxn) Env() acl.Env             { return runtimeEnv{t.fe.rt, t.fe.name, t.be} }
func (t *tcpTxn) CacheHit() (bool, string) { return false, "" }

// The cache actions exist only in http-request and http-response.
func (t *tcpTxn) CacheUse(string)                    {}
func (t *tcpTxn) CacheStore(string)                  {}
func (t *tcpTxn) HeaderList(bool) *[]h1.Header       { return &t.hdrs }
func (t *tcpTxn) SetTarget([]byte)                   {}
func (t *tcpTxn) SetMethod([]byte)                   {}
func (t *tcpTxn) SetTimeout(bool, time.Duration)     {}
func (t *tcpTxn) WaitBody(time.Duration, int64) bool { return true }
func (t *tcpTxn) SetAddr(dst bool, ap netip.AddrPort) {
	if dst {
		t.dst = ap
	} else {
		t.src = ap
	}
}
func (t *tcpTxn) SetStatus(int, []byte)       {}
func (t *tcpTxn) SetLogLevel(l string)        { t.level = l }
func (t *tcpTxn) SetSockOpt(mark bool, v int) { setSockOpt(t.conn, mark, v) }

// clientConn gives the fetches the client connection once the
// connection rules are done: on a TLS bind its handshake is over then,
// as it is in HAProxy only after "tcp-request connection".
func (t *tcpTxn) clientConn(c net.Conn) {
	t.cconn, t.cliTLS = c, tlsStateOf(c)
	if on, sni := connTLS(c); on {
		t.tlsOn, t.sni = true, sni
	}
}

// serverConn gives the fetches the connected server's TLS state
// (ssl_bc_*, ssl_s_*).
func (t *tcpTxn) serverConn(sc net.Conn) {
	t.srvTLS, t.srvHS = tlsStateOf(sc), handshakeInfo(sc)
}

func (t *tcpTxn) release() {
	now := t.Now()
	for i := range t.tracked {
		if t.tracked[i].Valid() {
			t.tracked[i].Release(now)
		}
	}
}

// ReqPayload serves the req.rdp_cookie fetches.
func (t *tcpTxn) ReqPayload() []byte { return t.payload }

// ResPayload serves the res.payload and res.len fetches.
func (t *tcpTxn) ResPayload() []byte { return t.resPayload }

// requestLine reads an HTTP/1 request line at the start of the bytes a
// TCP session inspected ("METHOD SP target SP HTTP/d.d CRLF"), so that
// the HTTP fetches of tcp-request content rules (req.proto_http, method,
// path) see what the client sent, as in HAProxy, where they parse the
// buffer. The HTTP/2 preface reads as "PRI * HTTP/2.0". ok is false for
// anything else, or a line not complete yet.
func requestLine(b []byte) (method, target []byte, major, minor int, ok bool) {
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		return nil, nil, 0, 0, false
	}
	line := bytes.TrimSuffix(b[:end], []byte("\r"))
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 {
		return nil, nil, 0, 0, false
	}
	method, target, ver := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	for _, c := range method {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return nil, nil, 0, 0, false
		}
	}
	if bytes.IndexByte(target, ' ') >= 0 || len(ver) != 8 || string(ver[:5]) != "HTTP/" || ver[6] != '.' ||
		ver[5] < '0' || ver[5] > '9' || ver[7] < '0' || ver[7] > '9' {
		return nil, nil, 0, 0, false
	}
	return method, target, int(ver[5] - '0'), int(ver[7] - '0'), true
}
