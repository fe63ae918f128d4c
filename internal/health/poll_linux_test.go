package health

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"bulwark/internal/srvstate"
	"bulwark/internal/testtool"
)

// watchOnce runs one check of script against addr through a Checker and
// returns its result: plain scripts run on the scheduler's poller.
func watchOnce(t *testing.T, script *Script, addr string) srvstate.Check {
	t.Helper()
	return watchTarget(t, script, addr, Target{})
}

// watchTarget is watchOnce with the rest of the target.
func watchTarget(t *testing.T, script *Script, addr string, target Target) srvstate.Check {
	t.Helper()
	c := New()
	got := make(chan srvstate.Check, 1)
	st := srvstate.New(srvstate.Config{Weight: 1, Checked: true})
	c.Watch(Spec{Addr: addr, Inter: time.Hour, Timeout: 300 * time.Millisecond, Connect: 300 * time.Millisecond, Script: script, Target: target,
		OnResult: func(_, after srvstate.Snapshot) {
			select {
			case got <- after.Check:
			default:
			}
		}}, 0, st, nil)
	if c.pl == nil {
		t.Fatal("no poller")
	}
	defer c.Stop()
	select {
	case r := <-got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no result in 5 s")
	}
	return srvstate.Check{}
}

// recorder is a peer that runs talk on each connection once the
// request's head came (no check here sends a body), and keeps what each
// connection sent.
type recorder struct {
	*testtool.Server
	addr string
}

func newRecorder(t *testing.T, talk func(c net.Conn, req []byte)) *recorder {
	t.Helper()
	s := testtool.Listen(t, func(c *testtool.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		req, _ := c.ReadUntil("\r\n\r\n")
		talk(c.Conn, req)
	})
	return &recorder{Server: s, addr: s.Addr}
}

func (r *recorder) last() string { return r.Last() }

// The scheduler's poller runs plain connect and HTTP checks itself; for
// every way a server can answer, its result and the request it sends are
// those of the engine that runs every other check (Run).
func TestPlainChecksMatchTheEngine(t *testing.T) {
	write := func(parts ...string) func(c net.Conn, _ []byte) {
		return func(c net.Conn, _ []byte) {
			for i, p := range parts {
				if i > 0 {
					time.Sleep(30 * time.Millisecond)
				}
				c.Write([]byte(p))
			}
		}
	}
	peers := []struct {
		name string
		talk func(c net.Conn, req []byte)
	}{
		{"200 and close", write("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nok\n")},
		{"503", write("HTTP/1.0 503 Service Unavailable\r\n\r\n")},
		{"404", write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")},
		{"answer in three writes", write("HTTP/1.1 200 O", "K\r\nContent-Length: 5\r\n\r\n", "hello")},
		{"complete by its length, left open", func(c net.Conn, _ []byte) {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
			time.Sleep(time.Second)
		}},
		{"no length, left open", func(c net.Conn, _ []byte) {
			c.Write([]byte("HTTP/1.1 200 OK\r\n\r\npartial"))
			time.Sleep(time.Second)
		}},
		{"silent", func(c net.Conn, _ []byte) { time.Sleep(time.Second) }},
		{"closes without a word", func(net.Conn, []byte) {}},
		{"not HTTP", write("SSH-2.0-OpenSSH_9.2\r\n")},
		{"head cut by the close", write("HTTP/1.0 200 OK\r\nX-A: b")},
		{"reset", func(c net.Conn, _ []byte) { c.(*net.TCPConn).SetLinger(0) }},
		{"flood", write("HTTP/1.0 200 OK\r\nX-Long: " + strings.Repeat("a", 3*bufSize))},
	}
	expectBody := &Script{Kind: KindHTTP, Rules: []Rule{
		{Action: Send, HTTP: &Request{Method: "GET", URI: "/health", Version: "HTTP/1.1", Headers: [][2]string{{"Host", "h"}}}},
		{Action: Expect, Exp: &ExpectRule{Match: MatchStatus, Codes: []CodeRange{{200, 200}}, MinRecv: -1}},
		{Action: Expect, Exp: &ExpectRule{Match: MatchString, Data: []byte("hello"), MinRecv: -1}},
	}}
	expectBody.Finish()
	lingerTCP := &Script{Kind: KindTCP, Rules: []Rule{{Action: Connect, Conn: ConnectRule{Default: true, Linger: true}}}}
	lingerTCP.Finish()
	scripts := []struct {
		name string
		s    *Script
		kind plainKind
	}{
		{"connect", TCPConnect(), plainConnect},
		{"tcp-check connect linger", lingerTCP, plainConnect},
		{"httpchk", HTTPScript("GET", "/health", "HTTP/1.0"), plainHTTP},
		{"http-check expects", expectBody, plainHTTP},
	}
	for _, sc := range scripts {
		if k := kindOf(sc.s); k != sc.kind {
			t.Fatalf("%s: kind %d, want %d", sc.name, k, sc.kind)
		}
		for _, p := range peers {
			if sc.kind == plainConnect && p.name != "200 and close" {
				continue
			}
			rec := newRecorder(t, p.talk)
			want := Run(context.Background(), sc.s, Target{Addr: rec.addr, ConnectTimeout: 300 * time.Millisecond, Timeout: 300 * time.Millisecond})
			wantReq := rec.last()
			got := watchOnce(t, sc.s, rec.addr)
			gotReq := rec.last()
			if got.Status != want.Status || got.Code != want.Code || got.Info != want.Info {
				t.Errorf("%s, %s: poller %s %d %q, engine %s %d %q", sc.name, p.name, got.Status, got.Code, got.Info,
					want.Status, want.Code, want.Info)
			}
			if sc.kind == plainHTTP && gotReq != wantReq {
				t.Errorf("%s, %s: poller sent %q, engine %q", sc.name, p.name, gotReq, wantReq)
			}
		}
	}
}

// The connect failures of the poller's checks are worded as the engine's:
// refused, a connect call that fails, a handshake that never ends.
func TestPlainConnectFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	// A listener whose accept queue is full drops the SYNs that come
	// next: the connect stays in progress until its timeout.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	full := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	filled := false
	for i := 0; i < 8 && !filled; i++ {
		c, err := net.DialTimeout("tcp", full, 200*time.Millisecond)
		if err != nil {
			filled = true
			break
		}
		defer c.Close()
	}
	if !filled {
		t.Fatal("could not fill the accept queue")
	}
	for _, tc := range []struct {
		name, addr string
		status     srvstate.CheckStatus
		info       string
	}{
		{"refused", closed, srvstate.CheckL4CON, "Connection refused"},
		{"broadcast", "255.255.255.255:11111", srvstate.CheckL4CON, "General socket error ("},
		{"accept queue full", full, srvstate.CheckL4TOUT, ""},
	} {
		for _, s := range []*Script{TCPConnect(), HTTPScript("GET", "/", "HTTP/1.0")} {
			want := Run(context.Background(), s, Target{Addr: tc.addr, ConnectTimeout: 300 * time.Millisecond, Timeout: 300 * time.Millisecond})
			got := watchOnce(t, s, tc.addr)
			if got.Status != tc.status || !strings.HasPrefix(got.Info, tc.info) || want.Status != got.Status || want.Info != got.Info {
				t.Errorf("%s, kind %d: poller %s %q, engine %s %q, want %s %q", tc.name, s.Kind, got.Status, got.Info, want.Status, want.Info,
					tc.status, tc.info)
			}
		}
	}
}

// The poller's connect checks delay the handshake's last ACK and end with
// a reset, as the engine's do: the server never accepts them.
func TestPlainConnectCheckIsNeverAccepted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < 3; i++ {
		if r := watchOnce(t, TCPConnect(), l.Addr().String()); r.Status != srvstate.CheckL4OK {
			t.Fatalf("connect check: %s %q", r.Status, r.Info)
		}
	}
	tl := l.(*net.TCPListener)
	tl.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if c, err := tl.Accept(); err == nil {
		c.Close()
		t.Fatal("the server accepted a connect-only check of the poller")
	}
}

// Checks with TLS or a PROXY header on the default connection are not
// plain: the engine runs them, handshake and header first.
func TestPlainChecksLeaveTLSAndProxyToTheEngine(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "check"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := testtool.ListenOn(t, l, func(c *testtool.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, ok := c.ReadUntil("\n"); ok {
			c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n"))
		}
	})
	tlsTarget := Target{TLS: &tls.Config{InsecureSkipVerify: true}}
	if r := watchTarget(t, TCPConnect(), srv.Addr, tlsTarget); r.Status != srvstate.CheckL6OK {
		t.Errorf("connect check with TLS: %s %q, want L6OK", r.Status, r.Info)
	}
	if r := watchTarget(t, HTTPScript("GET", "/", "HTTP/1.0"), srv.Addr, tlsTarget); r.Status != srvstate.CheckL7OK {
		t.Errorf("HTTP check with TLS: %s %q, want L7OK", r.Status, r.Info)
	}
	rec := newRecorder(t, func(c net.Conn, _ []byte) { c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n")) })
	if r := watchTarget(t, HTTPScript("GET", "/", "HTTP/1.0"), rec.addr, Target{SendProxy: "v1"}); r.Status != srvstate.CheckL7OK {
		t.Errorf("HTTP check with send-proxy: %s %q", r.Status, r.Info)
	}
	if got := rec.last(); !strings.HasPrefix(got, "PROXY TCP4 127.0.0.1 127.0.0.1 ") {
		t.Errorf("send-proxy check sent %q, want the PROXY header first", got)
	}
}
