package proxy

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// batchConn, once batch is set, holds what is written until flush, so that
// several TLS records leave in one write and reach the proxy in one read.
type batchConn struct {
	net.Conn
	batch bool
	buf   []byte
}

func (b *batchConn) Write(p []byte) (int, error) {
	if !b.batch {
		return b.Conn.Write(p)
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *batchConn) flush() error {
	_, err := b.Conn.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// Idle TLS keep-alive connections park too (without their goroutine), come
// back when the client sends, and expire with "timeout http-keep-alive".
// A request whose TLS record reached the proxy together with the previous
// one (so that crypto/tls holds it, where the parker cannot see it) is
// answered at once: the connection parks only after a read on it timed
// out, which leaves no whole record in crypto/tls. Had it parked with the
// record inside crypto/tls, the request would wait for a byte that never
// comes and the connection would close at the keep-alive timeout: the
// client would read an end of stream.
func TestIdleTLSSessionsPark(t *testing.T) {
	b := newTestServer(t, "b", nil)
	crt, pool := writeCert(t, "www.example.test")
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT alpn http/1.1
    timeout http-keep-alive 2s
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt))
	rt := px.Current()
	if rt.parker == nil {
		t.Skip("epoll parking unavailable")
	}
	const n = 5
	type client struct {
		bc *batchConn
		tc *tls.Conn
		br *bufio.Reader
	}
	cs := make([]client, n)
	for i := range cs {
		raw := dial(t, addr)
		defer raw.Close()
		bc := &batchConn{Conn: raw}
		tc := tls.Client(bc, &tls.Config{RootCAs: pool, ServerName: "www.example.test"})
		cs[i] = client{bc: bc, tc: tc, br: bufio.NewReader(tc)}
	}
	// send writes k requests, one TLS record each, in one socket write.
	send := func(i, k int) {
		c := cs[i]
		c.tc.SetDeadline(time.Now().Add(10 * time.Second))
		for j := 0; j < k; j++ {
			if _, err := io.WriteString(c.tc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatalf("conn %d: %v", i, err)
			}
		}
		if err := c.bc.flush(); err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		for j := 0; j < k; j++ {
			resp, err := http.ReadResponse(c.br, nil)
			if err != nil {
				t.Fatalf("conn %d, response %d of %d: %v", i, j+1, k, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("conn %d: status %d", i, resp.StatusCode)
			}
		}
	}
	for i := range cs {
		cs[i].tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := cs[i].tc.Handshake(); err != nil {
			t.Fatalf("conn %d: handshake: %v", i, err)
		}
		cs[i].bc.batch = true
		send(i, 1)
	}
	waitFor(t, func() bool { return rt.parker.count() == n }, "all idle TLS sessions parked")
	// Parked, each still holds its slots, its place among the sessions
	// ("show sess", a hard stop) and among the TLS sessions ("show info"
	// CurrSslConns).
	if got := clientsOpen(px); got != n {
		t.Errorf("%d client connections counted while parked, want %d", got, n)
	}
	if got := rt.sslc.cur.Load(); got != n {
		t.Errorf("%d TLS sessions counted while parked, want %d", got, n)
	}
	registered := 0
	rt.conns.Range(func(net.Conn, *sessInfo) bool { registered++; return true })
	if got := registered; got != n {
		t.Errorf("%d connections registered while parked, want %d", got, n)
	}
	for i := range cs {
		send(i, 2) // woken by the parker; the second record arrives with the first
	}
	waitFor(t, func() bool { return rt.parker.count() == n }, "TLS sessions parked again")
	for i := range cs {
		send(i, 1)
	}
	waitFor(t, func() bool { return rt.parker.count() == 0 }, "parked TLS sessions expired")
	waitFor(t, func() bool { return clientsOpen(px) == 0 && rt.sslc.cur.Load() == 0 }, "the expired sessions to give back their slots")
	cs[0].tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := cs[0].br.ReadByte(); err == nil {
		t.Fatal("expired TLS connection still open")
	}
	if got := b.hits.Load(); got != 4*n {
		t.Fatalf("server saw %d requests, want %d", got, 4*n)
	}
}
