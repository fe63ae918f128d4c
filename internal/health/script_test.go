package health

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bulwark/internal/srvstate"
	"bulwark/internal/testtool"
)

// peer is a raw-TCP fake that runs talk on every connection and counts
// them, so tests count checks rather than time.
type peer struct {
	*testtool.Server
	addr string
}

func newPeer(t *testing.T, talk func(c net.Conn)) *peer {
	t.Helper()
	s := testtool.Listen(t, func(c *testtool.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		talk(c.Conn)
	})
	return &peer{Server: s, addr: s.Addr}
}

// readN reads exactly n bytes (what the check sent).
func readN(c net.Conn, n int) []byte {
	b := make([]byte, n)
	io.ReadFull(c, b)
	return b
}

func run1(t *testing.T, s *Script, addr string) srvstate.Check {
	t.Helper()
	return Run(context.Background(), s, Target{Addr: addr, ConnectTimeout: 2 * time.Second, Timeout: 2 * time.Second})
}

func tcpScript(rules ...Rule) *Script {
	s := &Script{Kind: KindTCP, Rules: rules}
	for i := range s.Rules {
		s.Rules[i].Step = i + 1
		if e := s.Rules[i].Exp; e != nil && e.MinRecv == 0 {
			e.MinRecv = -1
		}
	}
	s.Finish()
	return s
}

func TestTCPCheckScript(t *testing.T) {
	var got atomic.Value
	p := newPeer(t, func(c net.Conn) {
		c.Write([]byte("+OK ready\r\n"))
		got.Store(string(readN(c, 6)))
		c.Write([]byte("pong\r\n"))
	})
	s := tcpScript(
		Rule{Action: Connect},
		Rule{Action: Expect, Exp: &ExpectRule{Match: MatchString, Data: []byte("+OK"), Text: "+OK"}},
		Rule{Action: Send, Data: []byte("ping\r\n")},
		Rule{Action: Expect, Exp: &ExpectRule{Match: MatchRegex, Re: regexp.MustCompile(`^pong`)}},
	)
	r := run1(t, s, p.addr)
	if r.Status != srvstate.CheckL7OK || r.Info != "(tcp-check)" {
		t.Fatalf("script: %+v", r)
	}
	if got.Load() != "ping\r\n" {
		t.Fatalf("peer received %q", got.Load())
	}
	// The second expect sees only what came after the send: a regex
	// anchored on the banner must not match the reply.
	s.Rules[3].Exp.Re = regexp.MustCompile(`^\+OK`)
	r = run1(t, s, p.addr)
	if r.Status != srvstate.CheckL7RSP || r.Info != "TCPCHK did not match content (regex) at step 4" {
		t.Fatalf("mismatch after send: %+v", r)
	}
	if n := p.Accepted(); n != 2 {
		t.Fatalf("%d connections for 2 checks", n)
	}
}

func TestTCPCheckNegationAndMinRecv(t *testing.T) {
	p := newPeer(t, func(c net.Conn) {
		c.Write([]byte("error: busy"))
		readN(c, 1)
	})
	neg := Rule{Action: Expect, Exp: &ExpectRule{Match: MatchRegex, Negate: true, Re: regexp.MustCompile(`^error`), MinRecv: 5}}
	r := run1(t, tcpScript(neg), p.addr)
	if r.Status != srvstate.CheckL7RSP || r.Info != "TCPCHK matched unwanted content (regex) at step 1" {
		t.Fatalf("negated match: %+v", r)
	}
	// "string" waits for as many bytes as the pattern; the peer closes
	// after "ok": the last read decides.
	q := newPeer(t, func(c net.Conn) { c.Write([]byte("ok")) })
	r = run1(t, tcpScript(Rule{Action: Expect, Exp: &ExpectRule{Match: MatchString, Data: []byte("okay"), Text: "okay"}}), q.addr)
	if r.Status != srvstate.CheckL7RSP || r.Info != "TCPCHK did not match content 'okay' at step 1" {
		t.Fatalf("short data: %+v", r)
	}
}

func TestTCPCheckConnectFailuresNameTheStep(t *testing.T) {
	p := newPeer(t, func(c net.Conn) {})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	_, dead, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	port := 0
	for _, c := range dead {
		port = port*10 + int(c-'0')
	}
	s := tcpScript(Rule{Action: Connect}, Rule{Action: Connect, Conn: ConnectRule{Port: port}})
	r := run1(t, s, p.addr)
	if r.Status != srvstate.CheckL4CON || r.Info != "Connection refused at step 2 of tcp-check (connect port "+dead+")" {
		t.Fatalf("second connect: %+v", r)
	}
	r = run1(t, tcpScript(Rule{Action: Send, Data: []byte("x")}), "127.0.0.1:"+dead)
	if r.Status != srvstate.CheckL4CON || r.Info != "Connection refused at initial connection step of tcp-check" {
		t.Fatalf("implicit connect: %+v", r)
	}
}

// A peer that never answers is a timeout with the expect's status; one
// that sends 10 MB is judged on the first buffer, never read to the end.
func TestTCPCheckSilentAndFloodingPeers(t *testing.T) {
	silent := newPeer(t, func(c net.Conn) { readN(c, 1) })
	s := tcpScript(Rule{Action: Expect, Exp: &ExpectRule{Match: MatchString, Data: []byte("x"), Text: "x"}})
	r := Run(context.Background(), s, Target{Addr: silent.addr, ConnectTimeout: time.Second, Timeout: 20 * time.Millisecond})
	if r.Status != srvstate.CheckL7TOUT || r.Info != "at step 1 of tcp-check (expect string 'x')" {
		t.Fatalf("silent peer: %+v", r)
	}
	var sent atomic.Int64
	flood := newPeer(t, func(c net.Conn) {
		chunk := []byte(strings.Repeat("A", 64<<10))
		for i := 0; i < 160; i++ {
			n, err := c.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	r = run1(t, tcpScript(Rule{Action: Expect, Exp: &ExpectRule{Match: MatchString, Data: []byte("PONG"), Text: "PONG"}}), flood.addr)
	if r.Status != srvstate.CheckL7RSP || r.Info != "TCPCHK did not match content 'PONG' at step 1" {
		t.Fatalf("flooding peer: %+v", r)
	}
}

func TestRedisCheck(t *testing.T) {
	for _, tc := range []struct {
		reply  string
		status srvstate.CheckStatus
		info   string
	}{
		{"+PONG\r\n", srvstate.CheckL7OK, "Redis server is ok"},
		{"-NOAUTH Authentication required.\r\n", srvstate.CheckL7STS, "-NOAUTH Authentication required."},
		{"", srvstate.CheckL7STS, "TCPCHK got an empty response at step 2"},
	} {
		var got atomic.Value
		p := newPeer(t, func(c net.Conn) {
			got.Store(string(readN(c, 14)))
			c.Write([]byte(tc.reply))
		})
		r := run1(t, Redis(), p.addr)
		if r.Status != tc.status || r.Info != tc.info {
			t.Fatalf("reply %q: %+v", tc.reply, r)
		}
		if got.Load() != "*1\r\n$4\r\nPING\r\n" {
			t.Fatalf("sent %q", got.Load())
		}
	}
}

func TestSMTPCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		talk   func(c net.Conn)
		status srvstate.CheckStatus
		code   int
		info   string
	}{
		{"ok", func(c net.Conn) {
			c.Write([]byte("220 mx ESMTP\r\n"))
			readN(c, len("HELO localhost\r\n"))
			c.Write([]byte("250-mx\r\n250 8BITMIME\r\n"))
			readN(c, 6)
			c.Write([]byte("221 mx closing\r\n"))
		}, srvstate.CheckL7OK, 221, "mx closing"},
		{"not smtp", func(c net.Conn) { c.Write([]byte("I'm not SMTP\r\n")) }, srvstate.CheckL7RSP, 0, "I'm not SMTP"},
		{"busy", func(c net.Conn) { c.Write([]byte("421 Try again later\r\n")) }, srvstate.CheckL7STS, 421, "Try again later"},
	} {
		p := newPeer(t, tc.talk)
		r := run1(t, SMTP(""), p.addr)
		if r.Status != tc.status || r.Code != tc.code || r.Info != tc.info {
			t.Fatalf("%s: %+v", tc.name, r)
		}
	}
}

// mysqlHandshake is a protocol-10 handshake packet announcing version v.
func mysqlHandshake(v string) []byte {
	body := append([]byte{10}, v...)
	body = append(body, 0)
	body = append(body, make([]byte, 30)...)
	return append([]byte{byte(len(body)), 0, 0, 0}, body...)
}

func TestMySQLCheck(t *testing.T) {
	p := newPeer(t, func(c net.Conn) { c.Write(mysqlHandshake("10.11.6-MariaDB")) })
	if r := run1(t, MySQL("", false), p.addr); r.Status != srvstate.CheckL7OK || r.Info != "10.11.6-MariaDB" {
		t.Fatalf("no user: %+v", r)
	}
	var login atomic.Value
	ok := newPeer(t, func(c net.Conn) {
		c.Write(mysqlHandshake("8.0.19"))
		hdr := readN(c, 4)
		n := int(hdr[0]) | int(hdr[1])<<8
		login.Store(string(readN(c, n)))
		c.Write([]byte{3, 0, 0, 2, 0, 0, 0})
	})
	if r := run1(t, MySQL("haproxy", false), ok.addr); r.Status != srvstate.CheckL7OK || r.Info != "8.0.19" {
		t.Fatalf("login: %+v", r)
	}
	if l, _ := login.Load().(string); !strings.Contains(l, "haproxy\x00") || l[8] != 0x21 {
		t.Fatalf("post-41 login packet %q", l)
	}
	deny := newPeer(t, func(c net.Conn) {
		c.Write(mysqlHandshake("8.0.19"))
		readN(c, 4)
		msg := "Access denied"
		c.Write(append([]byte{byte(3 + len(msg)), 0, 0, 2, 0xff, 0x15, 0x04}, msg...))
	})
	if r := run1(t, MySQL("pouet", true), deny.addr); r.Status != srvstate.CheckL7STS || r.Code != 1045 || r.Info != "Access denied" {
		t.Fatalf("denied: %+v", r)
	}
}

func TestPgSQLCheck(t *testing.T) {
	var startup atomic.Value
	ok := newPeer(t, func(c net.Conn) {
		hdr := readN(c, 4)
		startup.Store(string(readN(c, int(binary.BigEndian.Uint32(hdr))-4)))
		c.Write([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 0})
	})
	if r := run1(t, PgSQL("postgres"), ok.addr); r.Status != srvstate.CheckL7OK || r.Info != "PostgreSQL server is ok" {
		t.Fatalf("auth ok: %+v", r)
	}
	if s, _ := startup.Load().(string); s != "\x00\x03\x00\x00user\x00postgres\x00\x00" {
		t.Fatalf("startup message %q", s)
	}
	fatal := newPeer(t, func(c net.Conn) {
		readN(c, 4)
		c.Write([]byte("E\x00\x00\x00\x20SFATAL\x00"))
	})
	if r := run1(t, PgSQL("x"), fatal.addr); r.Status != srvstate.CheckL7RSP || r.Info != "FATAL" {
		t.Fatalf("error: %+v", r)
	}
	sasl := newPeer(t, func(c net.Conn) {
		readN(c, 4)
		c.Write([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 11}) // SASLContinue: not a first answer
	})
	if r := run1(t, PgSQL("x"), sasl.addr); r.Status != srvstate.CheckL7STS || r.Info != "PostgreSQL unknown error" {
		t.Fatalf("sasl: %+v", r)
	}
}

func TestLDAPCheck(t *testing.T) {
	bindResp := func(code byte) []byte {
		return []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, code, 0x04, 0x00, 0x04, 0x00}
	}
	for _, tc := range []struct {
		reply  []byte
		status srvstate.CheckStatus
		code   int
		info   string
	}{
		{bindResp(0), srvstate.CheckL7OK, 0, "Success"},
		{bindResp(49), srvstate.CheckL7STS, 49, "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9"},
		{[]byte("HTTP/1.0 400 Bad\r\n\r\n"), srvstate.CheckL7RSP, 0, "Not LDAPv3 protocol"},
		{[]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01, 0x61, 0, 0, 0, 0}, srvstate.CheckL7RSP, 0, ""},
	} {
		p := newPeer(t, func(c net.Conn) {
			readN(c, 14)
			c.Write(tc.reply)
		})
		r := run1(t, LDAP(), p.addr)
		if r.Status != tc.status || r.Code != tc.code || r.Info != tc.info {
			t.Fatalf("reply % x: %+v", tc.reply, r)
		}
	}
}

func TestSSLHelloCheck(t *testing.T) {
	alert := newPeer(t, func(c net.Conn) {
		hello := readN(c, 5)
		if hello[0] != 0x16 || hello[1] != 3 {
			return
		}
		c.Write([]byte{0x15, 3, 1, 0, 2, 2, 70})
	})
	if r := run1(t, SSLHello(), alert.addr); r.Status != srvstate.CheckL6OK {
		t.Fatalf("alert answer: %+v", r)
	}
	plain := newPeer(t, func(c net.Conn) {
		readN(c, 5)
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	})
	if r := run1(t, SSLHello(), plain.addr); r.Status != srvstate.CheckL6RSP {
		t.Fatalf("http answer: %+v", r)
	}
	if h := sslv3Hello(time.Unix(0, 0)); len(h) != 5+4+0x75 || h[3] != 0 || h[4] != 0x79 {
		t.Fatalf("hello is %d bytes, record length % x", len(h), h[3:5])
	}
}

func TestHTTPExpectMatchers(t *testing.T) {
	resp := "HTTP/1.1 202 Accepted\r\nX-Test: a, begin-value\r\nContent-Length: 11\r\n\r\nall is well"
	var req atomic.Value
	p := newPeer(t, func(c net.Conn) {
		b := make([]byte, 4096)
		n, _ := c.Read(b)
		req.Store(string(b[:n]))
		c.Write([]byte(resp))
	})
	mk := func(e *ExpectRule) *Script {
		e.MinRecv = -1
		s := &Script{Kind: KindHTTP, Rules: []Rule{
			{Action: Send, HTTP: &Request{Method: "GET", URI: "/h", Version: "HTTP/1.1", Headers: [][2]string{{"Host", "x"}}}},
			{Action: Expect, Exp: e}}}
		s.Finish()
		return s
	}
	for _, tc := range []struct {
		name   string
		e      *ExpectRule
		status srvstate.CheckStatus
		info   string
	}{
		{"status range", &ExpectRule{Match: MatchStatus, Codes: []CodeRange{{200, 202}}}, srvstate.CheckL7OK, ""},
		{"status miss", &ExpectRule{Match: MatchStatus, Codes: []CodeRange{{200, 200}}}, srvstate.CheckL7STS, "Accepted"},
		{"negated status", &ExpectRule{Match: MatchStatus, Negate: true, Codes: []CodeRange{{202, 202}}}, srvstate.CheckL7STS, "Accepted"},
		{"rstatus", &ExpectRule{Match: MatchRStatus, Re: regexp.MustCompile(`^2`)}, srvstate.CheckL7OK, ""},
		{"body string", &ExpectRule{Match: MatchString, Data: []byte("is well")}, srvstate.CheckL7OK, ""},
		{"body string miss", &ExpectRule{Match: MatchString, Data: []byte("broken")}, srvstate.CheckL7RSP, "HTTP content check did not match"},
		{"body rstring negated", &ExpectRule{Match: MatchRegex, Negate: true, Re: regexp.MustCompile(`well$`)}, srvstate.CheckL7RSP, "HTTP content check matched unwanted content"},
		{"hdr value in list", &ExpectRule{Match: MatchHeader, Header: &HeaderMatch{Name: StrMatch{Meth: "str", S: "x-test"},
			HasValue: true, Value: StrMatch{Meth: "beg", S: "begin-"}}}, srvstate.CheckL7OK, ""},
		{"fhdr whole value", &ExpectRule{Match: MatchHeader, Header: &HeaderMatch{Full: true, Name: StrMatch{Meth: "str", S: "X-TEST"},
			HasValue: true, Value: StrMatch{Meth: "beg", S: "begin-"}}}, srvstate.CheckL7RSP, "HTTP header pattern not found"},
		{"on-success and ok-status", &ExpectRule{Match: MatchStatus, Codes: []CodeRange{{202, 202}}, OK: srvstate.CheckL7OKC, OnSuccess: "drained"},
			srvstate.CheckL7OKC, "drained"},
	} {
		r := run1(t, mk(tc.e), p.addr)
		if r.Status != tc.status || r.Code != 202 || r.Info != tc.info {
			t.Fatalf("%s: %+v", tc.name, r)
		}
	}
	if got := req.Load().(string); got != "GET /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" {
		t.Fatalf("request %q", got)
	}
	// disable-on-404 makes a 404 NOLB for a running server, over the
	// expect rules.
	nf := newPeer(t, func(c net.Conn) {
		readN(c, 10)
		c.Write([]byte("HTTP/1.0 404 Not Found\r\n\r\n"))
	})
	r := Run(context.Background(), HTTPScript("GET", "/", "HTTP/1.0"), Target{Addr: nf.addr, ConnectTimeout: time.Second,
		Timeout: time.Second, DisableOn404: true, Running: true})
	if r.Status != srvstate.CheckL7OKC || r.Code != 404 {
		t.Fatalf("disable-on-404: %+v", r)
	}
	garbage := newPeer(t, func(c net.Conn) { c.Write([]byte("\x00\x01garbage\r\n\r\n")) })
	if r := run1(t, HTTPScript("GET", "/", "HTTP/1.0"), garbage.addr); r.Status != srvstate.CheckL7RSP {
		t.Fatalf("garbage: %+v", r)
	}
}

func TestAgentWords(t *testing.T) {
	r := ParseAgent("75%,maxconn:30 MAINT\tdown #going away")
	if r.Weight != 75 || r.MaxConn != 30 || r.Admin != "maint" || r.Op != "down" || r.Info != "going away" || len(r.Unknown) != 0 {
		t.Fatalf("parsed %+v", r)
	}
	r = ParseAgent("ready up bogus 12x% stopped")
	if r.Admin != "ready" || r.Op != "down" || r.Weight != -1 || strings.Join(r.Unknown, " ") != "bogus 12x%" {
		t.Fatalf("parsed %+v", r)
	}
	var said atomic.Value
	p := newPeer(t, func(c net.Conn) {
		said.Store(string(readN(c, 5)))
		c.Write([]byte("drain 50%\n"))
	})
	res, rep := ProbeAgent(context.Background(), AgentSpec{Addr: p.addr, Send: "hello", Inter: time.Second})
	// No health word: HAProxy's "no status change".
	if res.Status != srvstate.CheckChecked || rep == nil || rep.Admin != "drain" || rep.Weight != 50 || said.Load() != "hello" {
		t.Fatalf("agent: %+v %+v %q", res, rep, said.Load())
	}
}

// Agents that misbehave get HAProxy's status and description, never a
// reply applied from half a line, and the checker goes on: unknown words,
// a flood without a line end, a close in the middle of a line, silence.
func TestAgentBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		send   func(c net.Conn)
		status srvstate.CheckStatus
		info   string
		reply  bool
	}{
		{"unknown words", func(c net.Conn) { c.Write([]byte("bogus 12x% weird\n")) }, srvstate.CheckChecked, "agent reports an error : bogus", true},
		{"down with a reason", func(c net.Conn) { c.Write([]byte("DOWN #maintenance window\r\n")) }, srvstate.CheckL7STS, "via agent : DOWN (maintenance window)", true},
		{"up and an unknown word", func(c net.Conn) { c.Write([]byte("up frobnicate\n")) }, srvstate.CheckL7OK, "via agent : up (frobnicate)", true},
		{"10 MB without a line end", func(c net.Conn) {
			chunk := []byte(strings.Repeat("7", 64<<10))
			for i := 0; i < 160; i++ {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}, srvstate.CheckChecked, "Ignoring incomplete line from agent", false},
		{"close mid-line", func(c net.Conn) { c.Write([]byte("50% dr")) }, srvstate.CheckChecked, "Ignoring incomplete line from agent", false},
		{"silence", func(c net.Conn) { readN(c, 1) }, srvstate.CheckL7TOUT, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPeer(t, tc.send)
			done := make(chan struct{})
			var res srvstate.Check
			var rep *AgentReply
			go func() {
				res, rep = ProbeAgent(context.Background(), AgentSpec{Addr: p.addr, Inter: 300 * time.Millisecond})
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the agent probe is stuck")
			}
			if res.Status != tc.status || res.Info != tc.info || (rep != nil) != tc.reply {
				t.Fatalf("got %s %q reply %v, want %s %q reply %v", res.Status, res.Info, rep != nil, tc.status, tc.info, tc.reply)
			}
		})
	}
}
