package health

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"bulwark/internal/h2up"
	"bulwark/internal/socks4"
	"bulwark/internal/srvstate"
)

// bufSize bounds what a check reads, as tune.bufsize does in HAProxy: a
// peer sending a 10 MB banner fills the buffer, which then counts as the
// last read, and the matchers judge what they have.
const bufSize = 16384

// BufPool recycles the read buffers of the checks of one Checker: a
// thousand checks a second would otherwise hand the collector 16 MB a
// second.
type BufPool struct{ p sync.Pool }

func (b *BufPool) get() *[bufSize]byte {
	if v, ok := b.p.Get().(*[bufSize]byte); ok {
		return v
	}
	return new([bufSize]byte)
}

// Target is where and how one server is checked.
type Target struct {
	Addr string // host:port of the check (addr/port applied), or a unix path
	Unix bool
	// Host is the check address alone, for connect rules that change the
	// port.
	Host string
	// ConnectTimeout bounds each connect; Timeout bounds the rest of the
	// check after the connect ("timeout check", else inter).
	ConnectTimeout, Timeout time.Duration
	// TLS is check-ssl (or ssl on the server when the check uses its
	// port): connect rules with "default" handshake with it.
	TLS       *tls.Config
	SendProxy string // "v1", "v2" or "": check-send-proxy
	// Proto is "h2" when HTTP checks of the default connect speak HTTP/2
	// ("check-proto h2", else the server's "proto h2").
	Proto string
	// H2 is what an HTTP/2 check connection announces (tune.h2.*).
	H2 h2up.Config
	// State is the X-Haproxy-Server-State header of "http-check
	// send-state"; nil sends none.
	State func() string
	// DisableOn404 makes a 404 a conditional success (NOLB) while the
	// server is up: "http-check disable-on-404".
	DisableOn404 bool
	Running      bool
	// Socks4 is the server's SOCKS4 proxy; Socks4Checks makes the
	// default connect use it ("check-via-socks4").
	Socks4       string
	Socks4Checks bool
	// Server and Backend name the checked server for the Context.
	Server, Backend string
	// Bufs, when set, lends the read buffer.
	Bufs *BufPool
	// Dial replaces net.Dialer for tests; nil dials for real.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// probeRun is one execution of a script.
type probeRun struct {
	s      *Script
	t      Target
	ctx    context.Context
	start  time.Time
	conn   net.Conn
	in     []byte // what the current connection sent since the last send
	eof    bool
	tls    bool
	resp   *httpResponse
	result srvstate.Check
	unhook func() bool // releases the close-on-cancel of conn
	cx     Context
	buf    *[bufSize]byte // r.in's storage, from bufs
	raw    net.Conn       // the TCP connection under conn (TLS wraps it)
	linger bool           // close conn cleanly ("connect linger")
}

func (r *probeRun) close() {
	if r.conn != nil {
		r.unhook()
		// HAProxy ends a check connection with a reset unless the
		// connect rule says "linger": no FIN exchange, no TIME_WAIT left
		// behind by a thousand checks a second.
		if !r.linger {
			if l, ok := r.raw.(interface{ SetLinger(int) error }); ok {
				l.SetLinger(0)
			}
		}
		r.conn.Close()
		r.conn, r.raw = nil, nil
	}
}

// Run executes script s against t and returns the check's outcome with
// HAProxy's status code, code and description.
func Run(ctx context.Context, s *Script, t Target) srvstate.Check {
	r := &probeRun{s: s, t: t, ctx: ctx, start: time.Now()}
	r.cx.Server, r.cx.Backend = t.Server, t.Backend
	defer r.close()
	defer func() {
		if r.buf != nil && t.Bufs != nil {
			r.in, r.cx.Payload = nil, nil
			t.Bufs.p.Put(r.buf)
		}
	}()
	return r.exec(0)
}

// exec runs the rules of the script from index from on and returns the
// outcome. The scheduler's plain checks do the first steps (connect,
// send) and the reading themselves, then judge here with the rest.
func (r *probeRun) exec(from int) srvstate.Check {
	s := r.s
	var last *Rule
	if from > 0 {
		last = &s.Rules[from-1]
	}
	for i := from; i < len(s.Rules); i++ {
		rule := &s.Rules[i]
		var ok bool
		switch rule.Action {
		case Vars:
			rule.Do(&r.cx)
			continue
		case Connect:
			ok = r.connect(rule, i+1 == len(s.Rules) || s.Rules[i+1].Action == Send)
		case Send:
			ok = r.send(rule)
		case Expect:
			ok = r.expect(rule, r.lastIO(i))
		}
		if !ok {
			r.result.Duration = time.Since(r.start)
			return r.result
		}
		last = rule
	}
	res := srvstate.Check{Status: srvstate.CheckL7OK}
	switch {
	case last == nil || last.Action == Connect:
		res.Status = srvstate.CheckL4OK
		if r.tls {
			res.Status = srvstate.CheckL6OK
		}
	case last.Action == Expect:
		res = r.result // set by the last expect
	default:
		res.Info = "(tcp-check)"
	}
	res.Duration = time.Since(r.start)
	return res
}

// lastIO reports whether rule i is the last one that talks to the
// server (variable rules after it do not count).
func (r *probeRun) lastIO(i int) bool {
	for _, rule := range r.s.Rules[i+1:] {
		if rule.Action != Vars {
			return false
		}
	}
	return true
}

func (r *probeRun) fail(st srvstate.CheckStatus, code int, info string) bool {
	r.result = srvstate.Check{Status: st, Code: code, Info: info}
	return false
}

// where is the tcp-check wording of the failing step, "" for other kinds.
func (r *probeRun) where(rule *Rule, what string) string {
	if r.s.Kind != KindTCP {
		return ""
	}
	if rule.Step == 0 {
		return " at initial connection step of tcp-check"
	}
	s := " at step " + strconv.Itoa(rule.Step) + " of tcp-check"
	if what != "" {
		s += " (" + what + ")"
	}
	if rule.Comment != "" {
		s += " comment: '" + rule.Comment + "'"
	}
	return s
}

// connect opens the connection of rule; delack when the connect is the
// last step or a send follows (HAProxy's CONNECT_DELACK_ALWAYS).
func (r *probeRun) connect(rule *Rule, delack bool) bool {
	r.close()
	r.in, r.eof, r.resp, r.tls = r.in[:0], false, nil, false
	c := rule.Conn
	addr, netw := r.t.Addr, "tcp"
	if r.t.Unix {
		netw = "unix"
	}
	if c.Addr != "" || c.Port != 0 {
		host, port, err := net.SplitHostPort(r.t.Addr)
		if err != nil {
			host = r.t.Host
		}
		if r.t.Host != "" {
			host = r.t.Host
		}
		if c.Addr != "" {
			host = c.Addr
		}
		if c.Port != 0 {
			port = strconv.Itoa(c.Port)
		}
		addr, netw = net.JoinHostPort(host, port), "tcp"
	}
	what := "connect"
	if c.Port != 0 {
		what = "connect port " + strconv.Itoa(c.Port)
	}
	dial := r.t.Dial
	if dial == nil {
		// The connect timeout takes a context (and its timer) only when
		// the connect has to wait.
		dial = func(ctx context.Context, netw, addr string) (net.Conn, error) {
			if netw == "tcp" {
				return dialTCP(ctx, r.t.ConnectTimeout, addr, delack)
			}
			ctx, cancel := context.WithTimeout(ctx, r.t.ConnectTimeout)
			defer cancel()
			var d net.Dialer
			return d.DialContext(ctx, netw, addr)
		}
	} else {
		custom := dial
		dial = func(ctx context.Context, netw, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, r.t.ConnectTimeout)
			defer cancel()
			return custom(ctx, netw, addr)
		}
	}
	via := r.t.Socks4 != "" && netw == "tcp" && (c.ViaSocks4 || c.Default && r.t.Socks4Checks)
	target := addr
	if via {
		addr = r.t.Socks4
	}
	conn, err := dial(r.ctx, netw, addr)
	if err == nil && via {
		// The SOCKS4 handshake belongs to the connect: its failure is a
		// connection problem in HAProxy's words.
		conn.SetDeadline(time.Now().Add(r.t.ConnectTimeout))
		dst, perr := netip.ParseAddrPort(target)
		if perr != nil {
			conn.Close()
			return r.fail(srvstate.CheckL4CON, 0, "socks4 needs an IPv4 destination"+r.where(rule, what))
		}
		if serr := socks4.Connect(conn, dst); serr != nil {
			conn.Close()
			if isTimeout(serr) {
				return r.fail(srvstate.CheckL4TOUT, 0, strings.TrimSpace(r.where(rule, what)))
			}
			return r.fail(srvstate.CheckL4CON, 0, serr.Error()+r.where(rule, what))
		}
	}
	if err != nil {
		return r.connectFailed(rule, what, err)
	}
	r.conn, r.raw, r.linger = conn, conn, c.Linger
	// Stop must not wait for a slow peer: cancelling closes the socket
	// (closing twice is harmless).
	r.unhook = context.AfterFunc(r.ctx, func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(r.t.Timeout))
	proxyV := ""
	if c.SendProxy {
		proxyV = "v1"
	}
	if c.Default && r.t.SendProxy != "" {
		proxyV = r.t.SendProxy
	}
	if proxyV != "" {
		if _, err := conn.Write(proxyHeader(proxyV, conn)); err != nil {
			return r.fail(srvstate.CheckSockErr, 0, sysError(err)+r.where(rule, what))
		}
	}
	var cfg *tls.Config
	if c.Default && r.t.TLS != nil {
		cfg = r.t.TLS.Clone()
	}
	if c.SSL {
		// "connect ssl" takes the server's TLS settings when it has some;
		// otherwise there is nothing to verify against.
		cfg = &tls.Config{InsecureSkipVerify: true}
		if r.t.TLS != nil {
			cfg = r.t.TLS.Clone()
		}
	}
	if cfg != nil {
		if c.SNI != "" {
			cfg.ServerName = c.SNI
		}
		if len(c.ALPN) > 0 {
			cfg.NextProtos = c.ALPN
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(r.ctx); err != nil {
			if isTimeout(err) {
				return r.fail(srvstate.CheckL6TOUT, 0, strings.TrimSpace(r.where(rule, what)))
			}
			return r.fail(srvstate.CheckL6RSP, 0, "SSL handshake failure"+r.where(rule, what))
		}
		r.conn, r.tls = tc, true
	}
	proto := c.Proto
	if proto == "" && c.Default {
		proto = r.t.Proto
	}
	if tc, ok := r.conn.(*tls.Conn); ok && proto == "" && tc.ConnectionState().NegotiatedProtocol == "h2" {
		proto = "h2"
	}
	if proto == "h2" && r.s.Kind == KindHTTP {
		r.startH2()
	}
	return true
}

// connectFailed words a failed connect as HAProxy does.
func (r *probeRun) connectFailed(rule *Rule, what string, err error) bool {
	if isTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return r.fail(srvstate.CheckL4TOUT, 0, strings.TrimSpace(r.where(rule, what)))
	}
	var se *syncConnectError
	if errors.As(err, &se) {
		return r.fail(srvstate.CheckL4CON, 0, "General socket error ("+sysError(err)+")"+r.where(rule, what))
	}
	return r.fail(srvstate.CheckL4CON, 0, sysError(err)+r.where(rule, what))
}

// h2CheckConn is an HTTP check's stream on its own HTTP/2 connection:
// the request is written and the response read as HTTP/1.1 (h2up), the
// body up to the end of the stream.
type h2CheckConn struct {
	*h2up.Stream
	cc *h2up.Conn
}

func (c h2CheckConn) Close() error {
	c.Stream.Close()
	return c.cc.Close()
}

// startH2 turns the connection into an HTTP/2 one with one stream for
// the check. The stream's deadline replaces the socket's: the reader
// goroutine under it must not see a timeout the check has to report.
func (r *probeRun) startH2() {
	dl := time.Now().Add(r.t.Timeout)
	r.conn.SetDeadline(time.Time{})
	cfg := r.t.H2
	cc := h2up.New(r.conn, cfg)
	st, err := cc.NewStream(true)
	if err != nil {
		cc.Close()
		return
	}
	st.SetDeadline(dl)
	r.conn = h2CheckConn{Stream: st, cc: cc}
}

func (r *probeRun) send(rule *Rule) bool {
	if r.conn == nil {
		return r.fail(srvstate.CheckSockErr, 0, "no connection"+r.where(rule, "send"))
	}
	data := rule.Data
	if rule.DataFmt != nil {
		data = []byte(rule.DataFmt(&r.cx))
		if rule.Hex {
			b, err := hex.DecodeString(string(data))
			if err != nil {
				return r.fail(srvstate.CheckSockErr, 0, "invalid hexadecimal string"+r.where(rule, "send"))
			}
			data = b
		}
	}
	if rule.HTTP != nil {
		data = r.request(rule.HTTP)
	}
	// A send starts a new exchange: what came before answered the
	// previous one.
	r.in, r.resp = r.in[:0], nil
	r.cx.Payload, r.cx.Headers, r.cx.Status = nil, nil, 0
	if _, err := r.conn.Write(data); err != nil {
		return r.sendFailed(rule, err)
	}
	return true
}

// sendFailed words a failed send.
func (r *probeRun) sendFailed(rule *Rule, err error) bool {
	if isTimeout(err) {
		return r.fail(srvstate.CheckL7TOUT, 0, strings.TrimSpace(r.where(rule, "send")))
	}
	return r.fail(srvstate.CheckSockErr, 0, sysError(err)+r.where(rule, "send"))
}

// request renders an HTTP check request. "Connection: close" is added
// to HTTP/1.1 requests unless a header sets Connection (HTTP/1.0 closes
// by default and HAProxy 2.6 sends no such header then), and
// Content-Length with a body. A
// request with nothing to evaluate was rendered once by Finish.
func (r *probeRun) request(q *Request) []byte {
	if q.static != nil && r.t.State == nil {
		return q.static
	}
	state := ""
	if r.t.State != nil {
		state = r.t.State()
	}
	return q.render(&r.cx, r.t.State != nil, state)
}

// render writes q, its log-format parts evaluated against cx, with the
// X-Haproxy-Server-State header when withState.
func (q *Request) render(cx *Context, withState bool, state string) []byte {
	var b bytes.Buffer
	uri, body := q.URI, q.Body
	if q.URIFmt != nil {
		if uri = q.URIFmt(cx); uri == "" {
			uri = "/"
		}
	}
	if q.BodyFmt != nil {
		body = q.BodyFmt(cx)
	}
	b.WriteString(q.Method + " " + uri + " " + q.Version + "\r\n")
	conn := false
	for i, h := range q.Headers {
		if i < len(q.HeaderFmts) && q.HeaderFmts[i] != nil {
			h[1] = q.HeaderFmts[i](cx)
		}
		if strings.EqualFold(h[0], "connection") {
			conn = true
		}
		if strings.EqualFold(h[0], "content-length") || strings.EqualFold(h[0], "transfer-encoding") {
			continue
		}
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	if withState {
		b.WriteString("X-Haproxy-Server-State: " + state + "\r\n")
	}
	if !conn && !strings.EqualFold(q.Version, "HTTP/1.0") {
		b.WriteString("Connection: close\r\n")
	}
	if body != "" {
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.Bytes()
}

// read gets more data; false on timeout (the result is set).
func (r *probeRun) read(rule *Rule, what string) bool {
	if r.eof {
		return true
	}
	if len(r.in) >= bufSize {
		r.eof = true
		return true
	}
	if cap(r.in) < bufSize {
		if r.t.Bufs != nil {
			r.buf = r.t.Bufs.get()
		} else {
			r.buf = new([bufSize]byte)
		}
		n := r.buf[:len(r.in)]
		copy(n, r.in)
		r.in = n
	}
	n, err := r.conn.Read(r.in[len(r.in):bufSize])
	r.in = r.in[:len(r.in)+n]
	r.cx.Payload = r.in
	if err != nil {
		if isTimeout(err) {
			return r.fail(rule.Exp.Tout, 0, strings.TrimSpace(r.where(rule, what)))
		}
		r.eof = true
		if errors.Is(err, io.EOF) {
			// The peer closed first: nothing to reset (HAProxy drops its
			// linger risk once the socket is shut).
			r.linger = true
		}
		if !errors.Is(err, io.EOF) && len(r.in) == 0 {
			// An I/O error on an established connection is HAProxy's
			// "socket error", not a connection problem.
			return r.fail(srvstate.CheckSockErr, 0, sysError(err)+r.where(rule, what))
		}
	}
	return true
}

func (r *probeRun) expect(rule *Rule, last bool) bool {
	e := rule.Exp
	if r.conn == nil {
		return r.fail(srvstate.CheckSockErr, 0, "no connection"+r.where(rule, "expect"))
	}
	if r.s.Kind == KindHTTP {
		return r.expectHTTP(rule, last)
	}
	what := expectWhat(e)
	for {
		if len(r.in) == 0 && r.eof {
			info := "TCPCHK got an empty response at step " + strconv.Itoa(rule.Step)
			if rule.Comment != "" {
				info += " comment: '" + rule.Comment + "'"
			}
			return r.fail(e.Err, 0, info)
		}
		if len(r.in) > 0 {
			v, done := r.judge(e, last)
			if done {
				if v.Status != 0 {
					return r.fail(v.Status, v.Code, v.Info)
				}
				r.result = srvstate.Check{Status: e.OK, Code: v.Code, Info: v.Info}
				return true
			}
		}
		if r.eof {
			// judge had the last read and could not conclude: it did not
			// match.
			return r.failMatch(rule, false)
		}
		if !r.read(rule, what) {
			return false
		}
	}
}

// judge evaluates a tcp expect on the data so far. done false waits for
// more data.
func (r *probeRun) judge(e *ExpectRule, last bool) (Verdict, bool) {
	if e.Custom != nil {
		v, done := e.Custom(r.in, r.eof)
		if done && v.Status == 0 && e.OnSuccess != "" {
			v.Info = e.OnSuccess
		}
		if done && v.Status != 0 && e.OnError != "" && v.Info == "" {
			v.Info = e.OnError
		}
		return v, done
	}
	data, ok := r.pattern(e)
	if !ok {
		return Verdict{Status: e.Err, Info: "Failed to parse hexastring resulting of eval of a log-format string"}, true
	}
	if !r.eof {
		if (e.Match == MatchString || e.Match == MatchBinary) && len(r.in) < len(data) {
			return Verdict{}, false
		}
		if e.MinRecv > 0 && len(r.in) < e.MinRecv {
			return Verdict{}, false
		}
	}
	var match bool
	switch e.Match {
	case MatchString, MatchBinary:
		match = bytes.Contains(r.in, data)
	case MatchRegex:
		match = e.Re.Match(r.in)
	case MatchBinRegex:
		match = e.Re.MatchString(strings.ToUpper(hex.EncodeToString(r.in)))
	}
	if !match && !r.eof && e.MinRecv == -1 {
		return Verdict{}, false
	}
	if match != e.Negate {
		v := Verdict{Code: e.statusCode(r.in)}
		switch {
		case e.OnSuccessFmt != nil && last:
			v.Info = e.OnSuccessFmt(&r.cx)
		case e.OnSuccess != "":
			v.Info = e.expand(e.OnSuccess, r.in)
		case r.s.Kind == KindTCP && last:
			v.Info = "(tcp-check)"
		}
		if last {
			// A rule that is not the last one does not end the check: its
			// code would be overwritten (HAProxy reports 0 then).
			v.Code = r.code(e, v.Code)
		}
		return v, true
	}
	return Verdict{Status: e.Err, Code: r.code(e, e.statusCode(r.in)), Info: r.matchInfo(e, match)}, true
}

func (r *probeRun) failMatch(rule *Rule, match bool) bool {
	e := rule.Exp
	return r.fail(e.Err, r.code(e, e.statusCode(r.in)), r.matchInfo(e, match))
}

// pattern is the data a string or binary expect looks for: string-lf
// and binary-lf render theirs now; ok is false when binary-lf did not
// render hex digits.
func (r *probeRun) pattern(e *ExpectRule) ([]byte, bool) {
	if e.DataFmt == nil {
		return e.Data, true
	}
	s := e.DataFmt(&r.cx)
	if e.Match != MatchBinary {
		return []byte(s), true
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// code is the check code of a verdict of e: its status-code expression's
// value when it gives one, else def.
func (r *probeRun) code(e *ExpectRule, def int) int {
	if e.StatusCode != nil {
		if n, ok := e.StatusCode(&r.cx); ok {
			return n
		}
	}
	return def
}

// matchInfo is the info of a failed match: on-error, else for tcp-check
// HAProxy's generic text, else nothing; then the rule's comment, unquoted
// (HAProxy quotes it only in the connection and timeout errors).
func (r *probeRun) matchInfo(e *ExpectRule, match bool) string {
	step, comment := 0, ""
	for i := range r.s.Rules {
		if r.s.Rules[i].Exp == e {
			step, comment = r.s.Rules[i].Step, r.s.Rules[i].Comment
		}
	}
	var msg string
	switch {
	case e.OnErrorFmt != nil:
		msg = e.OnErrorFmt(&r.cx)
	case e.OnError != "":
		msg = e.expand(e.OnError, r.in)
	case r.s.Kind != KindTCP:
		return ""
	default:
		msg = "TCPCHK did not match content"
		if match {
			msg = "TCPCHK matched unwanted content"
		}
		s := " at step " + strconv.Itoa(step)
		switch {
		case e.LogFormat && e.Match == MatchString:
			msg += " (log-format string)" + s
		case e.LogFormat:
			msg += " (log-format binary)" + s
		case e.Match == MatchString:
			msg += " '" + e.Text + "'" + s
		case e.Match == MatchBinary:
			msg += " (binary)" + s
		case e.Match == MatchRegex:
			msg += " (regex)" + s
		case e.Match == MatchBinRegex:
			msg += " (binary regex)" + s
		default:
			msg += s
		}
	}
	if comment != "" {
		msg += " comment: " + comment
	}
	return msg
}

func expectWhat(e *ExpectRule) string {
	switch e.Match {
	case MatchString:
		return "expect string '" + e.Text + "'"
	case MatchBinary:
		return "expect binary '" + e.Text + "'"
	case MatchRegex:
		return "expect regex"
	case MatchBinRegex:
		return "expect binary regex"
	case MatchStatus:
		return "expect HTTP status codes"
	case MatchRStatus:
		return "expect HTTP status regex"
	case MatchHeader:
		return "expect HTTP header pattern"
	}
	return "expect custom function"
}

// statusCode is "status-code": protocol checks read a 3-digit code at
// the start of the data (SMTP), marked by StatusFromData.
func (e *ExpectRule) statusCode(data []byte) int {
	if e.Text != statusFromData || len(data) < 3 {
		return 0
	}
	n, err := strconv.Atoi(string(data[:3]))
	if err != nil {
		return 0
	}
	return n
}

// statusFromData marks the SMTP rules, whose code is the reply's first
// three digits.
const statusFromData = "\x00smtp"

// expand renders the info strings of the protocol checks, which HAProxy
// writes as log-format expressions over the response payload. Configured
// strings are literal text (the plan refuses the others).
func (e *ExpectRule) expand(s string, data []byte) string {
	switch s {
	case infoFirstLine:
		return cutCRLF(data)
	case infoSMTPText:
		if len(data) > 4 {
			return strings.TrimLeft(cutCRLF(data[4:]), " ")
		}
		return ""
	case infoPgSQLError:
		if len(data) > 6 {
			return cutNUL(data[6:])
		}
		return ""
	}
	return s
}

const (
	infoFirstLine  = "\x00payload"     // res.payload(0,0),cut_crlf
	infoSMTPText   = "\x00smtp-text"   // res.payload(4,0),ltrim(' '),cut_crlf
	infoPgSQLError = "\x00pgsql-error" // res.payload(6,0)
)

func cutCRLF(b []byte) string {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return printable(b)
}

func cutNUL(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return printable(b)
}

// printable keeps a peer's bytes out of the logs' control characters.
func printable(b []byte) string {
	if len(b) > 256 {
		b = b[:256]
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			out = append(out, '.')
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

// proxyHeader is the PROXY protocol header for a check connection.
func proxyHeader(v string, c net.Conn) []byte {
	src, _ := c.LocalAddr().(*net.TCPAddr)
	dst, _ := c.RemoteAddr().(*net.TCPAddr)
	if v == "v2" {
		h := []byte("\r\n\r\n\x00\r\nQUIT\n")
		if src == nil || dst == nil {
			return append(h, 0x20, 0x00, 0, 0) // LOCAL
		}
		s4, d4 := src.IP.To4(), dst.IP.To4()
		if s4 != nil && d4 != nil {
			h = append(h, 0x21, 0x11, 0, 12)
			h = append(h, s4...)
			h = append(h, d4...)
		} else {
			h = append(h, 0x21, 0x21, 0, 36)
			h = append(h, src.IP.To16()...)
			h = append(h, dst.IP.To16()...)
		}
		return append(h, byte(src.Port>>8), byte(src.Port), byte(dst.Port>>8), byte(dst.Port))
	}
	if src == nil || dst == nil {
		return []byte("PROXY UNKNOWN\r\n")
	}
	fam := "TCP4"
	if src.IP.To4() == nil {
		fam = "TCP6"
	}
	return []byte(fmt.Sprintf("PROXY %s %s %s %d %d\r\n", fam, src.IP, dst.IP, src.Port, dst.Port))
}
