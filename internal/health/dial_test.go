package health

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"bulwark/internal/srvstate"
)

// A connect refused by the connect call itself (no route to a broadcast
// address) is HAProxy's "General socket error (...)"; one refused by the
// peer is the plain error.
func TestConnectErrorWording(t *testing.T) {
	r := Run(context.Background(), TCPConnect(), Target{Addr: "255.255.255.255:11111", ConnectTimeout: time.Second, Timeout: time.Second})
	if r.Status != srvstate.CheckL4CON || !strings.HasPrefix(r.Info, "General socket error (") {
		t.Fatalf("broadcast: %s %q, want L4CON General socket error (...)", r.Status, r.Info)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r = Run(context.Background(), TCPConnect(), Target{Addr: addr, ConnectTimeout: time.Second, Timeout: time.Second})
	if r.Status != srvstate.CheckL4CON || r.Info != "Connection refused" {
		t.Fatalf("closed port: %s %q", r.Status, r.Info)
	}
}

// check-via-socks4: the default connect goes through the SOCKS4 proxy,
// which is asked for the server's address; a denial is a connection
// problem in HAProxy's words.
func TestSocks4Check(t *testing.T) {
	for _, tc := range []struct {
		answer byte
		status srvstate.CheckStatus
		info   string
	}{{0x5A, srvstate.CheckL7OK, ""}, {0x5B, srvstate.CheckL4CON, "SOCKS4 Proxy deny the request"}} {
		asked := make(chan []byte, 1)
		proxy := newPeer(t, func(c net.Conn) {
			asked <- readN(c, 16)
			c.Write([]byte{0, tc.answer, 0, 0, 0, 0, 0, 0})
			if tc.answer == 0x5A {
				readN(c, 10)
				c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n"))
			}
		})
		r := Run(context.Background(), HTTPScript("GET", "/", "HTTP/1.0"), Target{Addr: "127.0.0.1:39579",
			Socks4: proxy.addr, Socks4Checks: true, ConnectTimeout: 2 * time.Second, Timeout: 2 * time.Second})
		if r.Status != tc.status || r.Info != tc.info {
			t.Errorf("answer %#x: %s %q, want %s %q", tc.answer, r.Status, r.Info, tc.status, tc.info)
		}
		if got := <-asked; string(got) != "\x04\x01\x9a\x9b\x7f\x00\x00\x01HAProxy\x00" {
			t.Errorf("socks request %q", got)
		}
	}
}

// The first checks start spread over the smallest interval of at least a
// second, capped by max-spread-checks; spread-checks moves each interval
// by at most its percentage.
func TestOffsetsAndSpread(t *testing.T) {
	got := Offsets([]time.Duration{time.Second, 2 * time.Second, 100 * time.Millisecond, time.Second}, 0)
	want := []time.Duration{0, 500 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("offsets %v, want %v", got, want)
		}
	}
	got = Offsets([]time.Duration{time.Second, time.Second}, 100*time.Millisecond)
	if got[1] != 50*time.Millisecond {
		t.Fatalf("capped offsets %v", got)
	}
	seen := map[bool]bool{}
	for i := 0; i < 1000; i++ {
		d := Spread(time.Second, 10)
		if d < 900*time.Millisecond || d > 1100*time.Millisecond {
			t.Fatalf("spread interval %v outside 10%%", d)
		}
		seen[d > time.Second] = true
	}
	if !seen[true] || !seen[false] || Spread(time.Second, 0) != time.Second {
		t.Fatal("spread is not both ways, or applies at 0")
	}
}

// A check that ends at its connect delays the handshake's last ACK, as
// HAProxy does: the reset that closes it reaches a server that never
// completed the handshake, so the server's accept queue stays empty. A
// check with a send after its connect sends the ACK with the request,
// and the server accepts it as usual.
func TestConnectOnlyCheckIsNeverAccepted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tl := l.(*net.TCPListener)
	target := Target{Addr: l.Addr().String(), ConnectTimeout: time.Second, Timeout: time.Second}
	for i := 0; i < 3; i++ {
		if r := Run(context.Background(), TCPConnect(), target); r.Status != srvstate.CheckL4OK {
			t.Fatalf("connect check: %s %q", r.Status, r.Info)
		}
	}
	tl.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if c, err := tl.Accept(); err == nil {
		c.Close()
		t.Fatal("the server accepted a connect-only check: the last ACK of the handshake was sent")
	}
	// The HTTP check's request completes the handshake.
	got := make(chan string, 1)
	go func() {
		tl.SetDeadline(time.Now().Add(2 * time.Second))
		c, err := tl.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 512)
		n, _ := c.Read(b)
		c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n"))
		got <- string(b[:n])
	}()
	if r := Run(context.Background(), HTTPScript("GET", "/", "HTTP/1.0"), target); r.Status != srvstate.CheckL7OK {
		t.Fatalf("http check: %s %q", r.Status, r.Info)
	}
	if req := <-got; !strings.HasPrefix(req, "GET / HTTP/1.0\r\n") {
		t.Fatalf("server read %q", req)
	}
}

// The raw connect builds IPv4 and IPv6 socket addresses itself: both
// reach their listener, and a closed port of each is refused.
func TestConnectCheckIPv4AndIPv6(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		host := "127.0.0.1"
		if network == "tcp6" {
			host = "[::1]"
		}
		l, err := net.Listen(network, host+":0")
		if err != nil {
			t.Skipf("%s loopback: %v", network, err)
		}
		addr := l.Addr().String()
		if r := Run(context.Background(), TCPConnect(), Target{Addr: addr, ConnectTimeout: time.Second, Timeout: time.Second}); r.Status != srvstate.CheckL4OK {
			t.Errorf("%s %s: %s %q, want L4OK", network, addr, r.Status, r.Info)
		}
		l.Close()
		if r := Run(context.Background(), TCPConnect(), Target{Addr: addr, ConnectTimeout: time.Second, Timeout: time.Second}); r.Status != srvstate.CheckL4CON || r.Info != "Connection refused" {
			t.Errorf("%s %s closed: %s %q, want L4CON refused", network, addr, r.Status, r.Info)
		}
	}
}

// A check sends its first data straight from the socket, before the
// poller knows it; what does not fit the send buffer goes through the
// poller: a send of 8 MB to a peer that reads it all arrives whole.
func TestLargeSendArrivesWhole(t *testing.T) {
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	same := make(chan bool, 1)
	p := newPeer(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got := readN(c, len(big))
		same <- string(got) == string(big)
		c.Write([]byte("ok\n"))
	})
	s := tcpScript(Rule{Action: Send, Data: big},
		Rule{Action: Expect, Exp: &ExpectRule{Match: MatchString, Data: []byte("ok"), Text: "ok"}})
	r := Run(context.Background(), s, Target{Addr: p.addr, ConnectTimeout: 5 * time.Second, Timeout: 5 * time.Second})
	if r.Status != srvstate.CheckL7OK {
		t.Fatalf("check: %s %q", r.Status, r.Info)
	}
	if !<-same {
		t.Fatal("the peer did not receive the 8 MB as sent")
	}
}
