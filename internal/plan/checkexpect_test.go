package plan_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/health"
	"bulwark/internal/srvstate"
)

// rawPeer accepts connections on loopback and answers each with reply;
// with readHead it first reads a request head (an HTTP check's). It
// records what it read.
type rawPeer struct {
	addr string
	mu   sync.Mutex
	got  []string
}

func newRawPeer(t *testing.T, reply string, readHead bool) *rawPeer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &rawPeer{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if readHead {
				br := bufio.NewReader(c)
				var head strings.Builder
				for i := 0; i < 100; i++ {
					line, err := br.ReadString('\n')
					head.WriteString(line)
					if err != nil || line == "\r\n" {
						break
					}
				}
				p.mu.Lock()
				p.got = append(p.got, head.String())
				p.mu.Unlock()
			}
			c.Write([]byte(reply))
			c.Close()
		}
	}()
	return p
}

// runBackend compiles src, which must hold a backend "be", and runs its
// check once against addr as server "s".
func runBackend(t *testing.T, src, addr string) srvstate.Check {
	t.Helper()
	pl, ds := compileAny(t, "defaults\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n"+src)
	if ds.HasAlerts() {
		t.Fatalf("%s\n%v", src, ds)
	}
	s := pl.Proxies[pl.Model.Backend("be")].Check
	return health.Run(context.Background(), s, health.Target{Addr: addr, ConnectTimeout: 2 * time.Second,
		Timeout: 2 * time.Second, Server: "s", Backend: "be"})
}

// on-success, on-error and status-code of "tcp-check expect" and
// "http-check expect", against peers on loopback; the expected results are
// what HAProxy 2.6.12 logged for the same rules and answers
// ("option log-health-checks").
func TestCheckExpectFormatsAndStatusCode(t *testing.T) {
	smtp := newRawPeer(t, "220 mail.example ready here\r\n", false)
	empty := newRawPeer(t, "", false)
	busy := newRawPeer(t, "HTTP/1.1 503 Busy\r\nX-Info: hello\r\nContent-Length: 5\r\n\r\nabcde", true)
	for _, tc := range []struct {
		name, rules, addr string
		want              srvstate.Check
	}{
		{"tcp on-success and status-code from the payload", `option tcp-check
    tcp-check expect rstring ^220 on-success "ok %[be_name]/%[srv_name] [%[res.payload(0,3)]] %%" status-code "res.payload(0,3)" comment unused`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7OK, Code: 220, Info: "ok be/s [220] %"}},
		{"tcp on-error, the comment after it", `option tcp-check
    tcp-check expect string XYZ comment c1 on-error "E[%[res.payload(4,0),cut_crlf]]" status-code "res.payload(0,3)" error-status L7STS`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7STS, Code: 220, Info: "E[mail.example ready here] comment: c1"}},
		{"tcp generic failure with comment and status-code", `option tcp-check
    tcp-check expect string XYZ comment c2 error-status L7STS status-code int(5)`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7STS, Code: 5, Info: "TCPCHK did not match content 'XYZ' at step 1 comment: c2"}},
		{"tcp on-success and status-code of a rule that is not the last", `option tcp-check
    tcp-check expect string 220 on-success "first" status-code int(11)
    tcp-check expect string mail`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7OK, Code: 0, Info: "(tcp-check)"}},
		{"tcp last rule's on-success; a string status-code casts to 0", `option tcp-check
    tcp-check expect string 220 on-success "first"
    tcp-check expect string mail on-success "second %[res.payload(4,4)]" status-code "str(abc)"`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7OK, Code: 0, Info: "second mail"}},
		{"tcp empty response ignores on-error and status-code", `option tcp-check
    tcp-check expect string 220 on-error "E7" status-code int(9) error-status L7STS`,
			empty.addr, srvstate.Check{Status: srvstate.CheckL7STS, Code: 0, Info: "TCPCHK got an empty response at step 1"}},
		{"tcp error at the first of two rules", `option tcp-check
    tcp-check expect string XYZ status-code int(9) error-status L7STS
    tcp-check expect string 220`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7STS, Code: 9, Info: "TCPCHK did not match content 'XYZ' at step 1"}},
		{"http on-error over status, headers and body", `mode http
    option httpchk
    http-check expect status 200 on-error "st=%[status] h=%[res.hdr(x-info)] body=%[res.body]" status-code "int(7)"`,
			busy.addr, srvstate.Check{Status: srvstate.CheckL7STS, Code: 7, Info: "st=503 h=hello body=abcde"}},
		{"http on-success; a missing status-code sample keeps the status", `mode http
    option httpchk
    http-check expect status 503 on-success "fine %[res.hdr(x-info)]" status-code "res.hdr(nope)" comment c11`,
			busy.addr, srvstate.Check{Status: srvstate.CheckL7OK, Code: 503, Info: "fine hello"}},
		{"http success says nothing without on-success", `mode http
    option httpchk
    http-check expect status 503`,
			busy.addr, srvstate.Check{Status: srvstate.CheckL7OK, Code: 503}},
		{"http negated match with on-error and comment", `mode http
    option httpchk
    http-check expect ! status 503 on-error "E12 %[status]" status-code int(3) comment c12`,
			busy.addr, srvstate.Check{Status: srvstate.CheckL7STS, Code: 3, Info: "E12 503 comment: c12"}},
		{"http failure keeps the reason, comment unquoted", `mode http
    option httpchk
    http-check expect status 200 comment c3`,
			busy.addr, srvstate.Check{Status: srvstate.CheckL7STS, Code: 503, Info: "Busy comment: c3"}},
		{"http status-code cast from a string", `mode http
    option httpchk
    http-check expect status 503 status-code "str(-5)"`,
			busy.addr, srvstate.Check{Status: srvstate.CheckL7OK, Code: -5}},
		{"tcp string-lf from a check variable", `option tcp-check
    tcp-check set-var(check.w) str(mail)
    tcp-check expect string-lf "%[var(check.w)]"`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7OK, Info: "(tcp-check)"}},
		{"tcp string-lf miss", `option tcp-check
    tcp-check expect string-lf "nope%[str(x)]"`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7RSP, Info: "TCPCHK did not match content (log-format string) at step 1"}},
		{"tcp negated string-lf", `option tcp-check
    tcp-check expect ! string-lf "%[str(220)]"`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7RSP, Info: "TCPCHK matched unwanted content (log-format string) at step 1"}},
		{"tcp binary-lf rendered hex", `option tcp-check
    tcp-check expect binary-lf "%[str(323230)]"`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7OK, Info: "(tcp-check)"}},
		{"tcp binary-lf miss", `option tcp-check
    tcp-check expect binary-lf "%[str(3232)]FF"`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7RSP, Info: "TCPCHK did not match content (log-format binary) at step 1"}},
		{"tcp binary-lf not hex", `option tcp-check
    tcp-check expect binary-lf "%[str(ZZ)]"`,
			smtp.addr, srvstate.Check{Status: srvstate.CheckL7RSP, Info: "Failed to parse hexastring resulting of eval of a log-format string"}},
		{"http string-lf in the body", `mode http
    option httpchk
    http-check expect string-lf "%[str(bcd)]"`,
			busy.addr, srvstate.Check{Status: srvstate.CheckL7OK, Code: 503}},
		{"http string-lf miss", `mode http
    option httpchk
    http-check expect string-lf "%[str(zzz)]"`,
			busy.addr, srvstate.Check{Status: srvstate.CheckL7RSP, Code: 503, Info: "HTTP content check did not match"}},
	} {
		r := runBackend(t, "backend be\n    "+tc.rules+"\n    server s 127.0.0.1:1 check\n", tc.addr)
		if r.Status != tc.want.Status || r.Code != tc.want.Code || r.Info != tc.want.Info {
			t.Errorf("%s: got %s code %d info %q, want %s code %d info %q", tc.name, r.Status, r.Code, r.Info,
				tc.want.Status, tc.want.Code, tc.want.Info)
		}
	}
	busy.mu.Lock()
	defer busy.mu.Unlock()
	if len(busy.got) == 0 || busy.got[0] != "OPTIONS / HTTP/1.0\r\n\r\n" {
		t.Errorf("http check requests %q", busy.got)
	}
}

// Bad expressions in on-success, on-error and status-code are refused at
// their line, as HAProxy does; %-variables other than %[...] stay refused
// in checks.
func TestCheckExpectFormatErrors(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{`tcp-check expect string x on-success "%[nosuch]"`, "t.cfg:7"},
		{`tcp-check expect string x on-error "%[str(a)"`, "missing ']'"},
		{`tcp-check expect string x status-code "nosuch(1)"`, "t.cfg:7"},
		{`tcp-check expect string x on-success "%ci"`, "'%ci' is not supported here"},
	} {
		_, ds := compileAny(t, "defaults\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\nbackend be\n    option tcp-check\n    "+tc.rule+"\n    server s 127.0.0.1:1 check\n")
		if !ds.HasAlerts() || !strings.Contains(fmt.Sprint(ds), tc.want) {
			t.Errorf("%s: %v, want an alert with %q", tc.rule, ds, tc.want)
		}
	}
}

// The multiplexer of a check must suit its kind, as HAProxy 2.6.12 -c
// says: HTTP ones (h1 too) only for httpchk, "none" only for raw checks;
// a server without "check" is not judged. default-server's check-proto
// is not passed on (HAProxy 2.6 checks those servers over HTTP/1).
func TestCheckMuxProto(t *testing.T) {
	const head = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n"
	for _, tc := range []struct{ be, want string }{
		{"server s 127.0.0.1:1 check check-proto h2", "server 's' uses an incompatible MUX protocol for the selected check type"},
		{"option tcp-check\n    server s 127.0.0.1:1 check check-proto h1", "server 's' uses an incompatible MUX protocol for the selected check type"},
		{"option redis-check\n    server s 127.0.0.1:1 check check-proto h2", "server 's' uses an incompatible MUX protocol for the selected check type"},
		{"option httpchk\n    server s 127.0.0.1:1 check check-proto none", "server 's' uses an incompatible MUX protocol for the selected check type"},
		{"option tcp-check\n    tcp-check connect proto h2\n    server s 127.0.0.1:1 check", "'tcp-check connect' : 'proto' : invalid MUX protocol 'h2' for tcp-check."},
		{"option httpchk\n    http-check connect proto none\n    server s 127.0.0.1:1 check", "'http-check connect' : 'proto' : invalid MUX protocol 'none' for http-check."},
		{"option tcp-check\n    tcp-check connect proto bogus\n    server s 127.0.0.1:1 check", "unknown MUX protocol 'bogus'"},
		{"option httpchk\n    server s 127.0.0.1:1 check check-proto h2", ""},
		{"option tcp-check\n    tcp-check connect proto none\n    server s 127.0.0.1:1 check check-proto none", ""},
		{"option tcp-check\n    server s 127.0.0.1:1 check-proto h2 proto h2", ""},
		{"option tcp-check\n    server s 127.0.0.1:1 check proto h2", ""},
	} {
		_, ds := compileAny(t, head+"backend be\n    "+tc.be+"\n")
		got := fmt.Sprint(ds)
		if tc.want == "" && ds.HasAlerts() || tc.want != "" && (!ds.HasAlerts() || !strings.Contains(got, tc.want)) {
			t.Errorf("%q: %s, want %q", tc.be, got, tc.want)
		}
	}
	pl, ds := compileAny(t, head+"backend be\n    option tcp-check\n    default-server check-proto h2\n    server s 127.0.0.1:1 check\n")
	if ds.HasAlerts() || !strings.Contains(fmt.Sprint(ds), "'check-proto' on 'default-server' has no effect") {
		t.Fatalf("default-server check-proto: %v", ds)
	}
	if s := pl.Model.Backend("be").Servers[0]; s.CheckProto != "" || s.Opts["check-proto"] != "" {
		t.Fatalf("server inherited check-proto %q", s.CheckProto)
	}
}

// Rules without their option are ignored with HAProxy 2.6.12's warning
// (not for rules inherited from defaults), and still checked: a bad
// expression in them is an error at its line.
func TestIgnoredCheckRules(t *testing.T) {
	_, ds := compileAny(t, `defaults d1
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
    tcp-check expect string x
backend a from d1
    server s 127.0.0.1:1 check
backend c from d1
    option httpchk
    tcp-check expect string x
    server s 127.0.0.1:1 check
backend e from d1
    option tcp-check
    http-check expect status 200
    http-check expect status 201
    server s 127.0.0.1:1 check
backend g from d1
    http-check send-state
    http-check disable-on-404
    server s 127.0.0.1:1 check
backend h from d1
    option redis-check
    tcp-check expect string-lf "%[nosuch]"
    server s 127.0.0.1:1 check
`)
	var warns, alerts []string
	for _, d := range ds {
		if d.Severity == config.SevAlert {
			alerts = append(alerts, fmt.Sprintf("%d: %s", d.Pos.Line, d.Msg))
		} else {
			warns = append(warns, fmt.Sprintf("%d: %s", d.Pos.Line, d.Msg))
		}
	}
	want := []string{
		"11: backend 'c' uses tcp-check rules without 'option tcp-check', so the rules are ignored.",
		"15: backend 'e' uses http-check rules without 'option httpchk', so the rules are ignored.",
		"24: backend 'h' uses tcp-check rules without 'option tcp-check', so the rules are ignored.",
	}
	if strings.Join(warns, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warns, "\n"), strings.Join(want, "\n"))
	}
	if len(alerts) != 1 || !strings.HasPrefix(alerts[0], "24: 'tcp-check expect string-lf' : unknown fetch method 'nosuch'") {
		t.Errorf("alerts %q", alerts)
	}
}

// A connect after other steps needs a connect as the first step (variable
// rules and comments may come before it), as HAProxy 2.6.12 -c says.
func TestCheckConnectFirst(t *testing.T) {
	const head = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\nbackend be\n"
	const msg = "first step MUST also be a 'connect', optionally preceded by a 'set-var', an 'unset-var' or a 'comment', when there is a 'connect' step in the tcp-check ruleset."
	for _, tc := range []struct{ rules, want string }{
		{"option tcp-check\n    tcp-check send x\n    tcp-check connect port 1", "t.cfg:9: 'tcp-check connect' : " + msg},
		{"option tcp-check\n    tcp-check expect string x\n    tcp-check connect port 1", "t.cfg:9: 'tcp-check connect' : " + msg},
		{"option httpchk\n    http-check send meth GET uri /a\n    http-check expect status 200\n    http-check connect", "t.cfg:10: 'http-check connect' : " + msg},
		{"option tcp-check\n    tcp-check set-var(check.a) str(x)\n    tcp-check comment hi\n    tcp-check connect port 1\n    tcp-check send x\n    tcp-check connect port 2", ""},
		{"option httpchk GET /x\n    http-check connect\n    http-check send hdr a b\n    http-check expect status 200\n    http-check connect", ""},
	} {
		_, ds := compileAny(t, head+"    "+tc.rules+"\n    server s 127.0.0.1:1 check\n")
		var got []string
		for _, d := range ds {
			if d.Severity == config.SevAlert {
				got = append(got, fmt.Sprintf("t.cfg:%d: %s", d.Pos.Line, d.Msg))
			}
		}
		if strings.Join(got, "\n") != tc.want {
			t.Errorf("%q: alerts %q, want %q", tc.rules, got, tc.want)
		}
	}
}
