package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// wireRec keeps the first bytes a connection read, where a peer's hello
// sits in the clear: the test's own reading of the ServerHello (or
// ClientHello), independent of the proxy's.
type wireRec struct {
	net.Conn
	mu     sync.Mutex
	in     []byte
	prefix []byte // written with the first write (a PROXY header)
}

func (c *wireRec) Write(p []byte) (int, error) {
	if c.prefix != nil {
		b := append(c.prefix, p...)
		c.prefix = nil
		if _, err := c.Conn.Write(b); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *wireRec) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if len(c.in) < 512 {
		c.in = append(c.in, p[:n]...)
	}
	c.mu.Unlock()
	return n, err
}

// helloFields reads random and session id from the first record of b, a
// hello in one record (no HelloRetryRequest in these tests).
func helloFields(t *testing.T, b []byte) (random, sid string) {
	t.Helper()
	if len(b) < 44 || b[0] != 22 || (b[5] != 1 && b[5] != 2) {
		t.Fatalf("no hello in %x", b)
	}
	n := int(b[43])
	return strings.ToUpper(hex.EncodeToString(b[11:43])), strings.ToUpper(hex.EncodeToString(b[44 : 44+n]))
}

// keyLog is a KeyLogWriter that keeps its lines.
type keyLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (k *keyLog) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.buf.Write(p)
}

// secret returns the client random and the secret of label, as logged.
func (k *keyLog) secret(label string) (random, secret string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, l := range strings.Split(k.buf.String(), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == label {
			return f[1], f[2]
		}
	}
	return "", ""
}

// The client connection's randoms, session id, master key and (with
// tune.ssl.keylog on) TLS 1.3 traffic secrets, compared with what a Go
// client logged of the same handshake and read of the ServerHello.
func TestClientHandshakeFetches(t *testing.T) {
	crt, pool := writeCert(t, "www.bulwark.test")
	front := `
frontend fe
    bind 127.0.0.1:0 ssl crt CRT ACCEPT
    http-request return status 200 hdr X-R "%[ssl_fc_client_random,hex]|%[ssl_fc_server_random,hex]|%[ssl_fc_session_id,hex]|%[ssl_fc_session_key,hex]|%[ssl_fc_protocol_hello_id]" hdr X-S "%[ssl_fc_client_handshake_traffic_secret]|%[ssl_fc_server_handshake_traffic_secret]|%[ssl_fc_client_traffic_secret_0]|%[ssl_fc_server_traffic_secret_0]|%[ssl_fc_client_early_traffic_secret]|%[ssl_fc_early_exporter_secret]"
`
	for _, tc := range []struct {
		name   string
		keylog bool
		ver    uint16
		proxy  bool // accept-proxy, the header in the ClientHello's segment
	}{{"tls13", true, tls.VersionTLS13, false}, {"tls12", true, tls.VersionTLS12, false}, {"tls13-off", false, tls.VersionTLS13, false},
		{"tls12-off", false, tls.VersionTLS12, false}, {"tls13-proxy", true, tls.VersionTLS13, true}, {"tls12-proxy", true, tls.VersionTLS12, true}} {
		t.Run(tc.name, func(t *testing.T) {
			// ssl_fc_protocol_hello_id needs the ClientHello captured, as
			// in HAProxy; the other fetches do not.
			global, hello := "global\n    tune.ssl.keylog on\n    tune.ssl.capture-buffer-size 64\n", "771"
			if !tc.keylog {
				global, hello = "", ""
			}
			accept := ""
			if tc.proxy {
				accept = "accept-proxy"
			}
			_, addr := startProxy(t, sub(global+baseDefaults+front, "CRT", crt, "ACCEPT", accept))
			raw, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			rec := &wireRec{Conn: raw}
			if tc.proxy {
				rec.prefix = []byte("PROXY TCP4 192.0.2.1 192.0.2.2 1234 443\r\n")
			}
			kl := &keyLog{}
			c := tls.Client(rec, &tls.Config{ServerName: "www.bulwark.test", RootCAs: pool, MaxVersion: tc.ver, KeyLogWriter: kl})
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			rec.mu.Lock()
			srvRandom, sid := helloFields(t, rec.in)
			rec.mu.Unlock()
			var want []string
			var secrets string
			if tc.ver == tls.VersionTLS13 {
				cr, _ := kl.secret("CLIENT_HANDSHAKE_TRAFFIC_SECRET")
				// crypto/tls has no TLS 1.3 session key to give.
				want = []string{strings.ToUpper(cr), srvRandom, sid, "", hello}
				if len(sid) != 64 {
					t.Errorf("TLS 1.3 echoes the client's 32-byte legacy session id, got %q", sid)
				}
				if tc.keylog {
					var s []string
					for _, l := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} {
						_, v := kl.secret(l)
						s = append(s, v)
					}
					secrets = strings.Join(s, "|") + "||"
				} else {
					secrets = "|||||"
				}
			} else {
				cr, master := kl.secret("CLIENT_RANDOM")
				if !tc.keylog {
					master = ""
				}
				// A full TLS 1.2 handshake that gets a ticket has no
				// session id, as with OpenSSL.
				want = []string{strings.ToUpper(cr), srvRandom, sid, strings.ToUpper(master), hello}
				secrets = "|||||"
			}
			if got := resp.Header.Get("X-R"); got != strings.Join(want, "|") || want[0] == "" {
				t.Errorf("X-R %q\nwant %q", got, strings.Join(want, "|"))
			}
			if got := resp.Header.Get("X-S"); got != secrets {
				t.Errorf("X-S %q\nwant %q", got, secrets)
			}
		})
	}
}

// The server connection's randoms, session id and master key: a Go TLS
// server logs its keys and the test reads the ClientHello it received.
func TestServerHandshakeFetches(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	pair, err := tls.LoadX509KeyPair(crt, crt)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		ver    uint16
		keylog bool
	}{{"tls12", tls.VersionTLS12, true}, {"tls13", tls.VersionTLS13, true}, {"tls12-off", tls.VersionTLS12, false}} {
		t.Run(tc.name, func(t *testing.T) {
			kl := &keyLog{}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			recs := make(chan *wireRec, 4)
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					rec := &wireRec{Conn: c}
					recs <- rec
					go func() {
						tc := tls.Server(rec, &tls.Config{Certificates: []tls.Certificate{pair}, MaxVersion: tc.ver, KeyLogWriter: kl})
						defer tc.Close()
						tc.SetDeadline(time.Now().Add(5 * time.Second))
						if _, err := http.ReadRequest(bufio.NewReader(tc)); err != nil {
							return
						}
						tc.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
					}()
				}
			}()
			global := ""
			if tc.keylog {
				global = "global\n    tune.ssl.keylog on\n"
			}
			_, addr := startProxy(t, sub(global+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-response set-header X-B "%[ssl_bc_client_random,hex]|%[ssl_bc_server_random,hex]|%[ssl_bc_session_id,hex]|%[ssl_bc_session_key,hex]"
    default_backend be
backend be
    server s SRV ssl verify none
`, "SRV", l.Addr().String()))
			resp := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
			var rec *wireRec
			select {
			case rec = <-recs:
			case <-time.After(5 * time.Second):
				t.Fatal("the server saw no connection")
			}
			rec.mu.Lock()
			cliRandom, _ := helloFields(t, rec.in)
			rec.mu.Unlock()
			label := "CLIENT_RANDOM"
			if tc.ver == tls.VersionTLS13 {
				label = "SERVER_TRAFFIC_SECRET_0"
			}
			logged, master := kl.secret(label)
			if !strings.EqualFold(logged, cliRandom) {
				t.Fatalf("the key log's client random %s is not the ClientHello's %s", logged, cliRandom)
			}
			if tc.ver == tls.VersionTLS13 || !tc.keylog {
				master = ""
			}
			got := ""
			for _, line := range strings.Split(resp, "\r\n") {
				if v, ok := strings.CutPrefix(line, "X-B: "); ok {
					got = v
				}
			}
			f := strings.Split(got, "|")
			if len(f) != 4 || f[0] != cliRandom || len(f[1]) != 64 || f[1] == f[0] || f[3] != strings.ToUpper(master) {
				t.Errorf("X-B %q: want client random %s, a server random, master %q", got, cliRandom, master)
			}
			// Go's client sends a random legacy session id, which a TLS
			// 1.3 server echoes; a full TLS 1.2 handshake has none.
			if tc.ver == tls.VersionTLS13 && len(f) == 4 && len(f[2]) != 64 || tc.ver == tls.VersionTLS12 && len(f) == 4 && f[2] != "" {
				t.Errorf("session id %q", f[2])
			}
		})
	}
}
