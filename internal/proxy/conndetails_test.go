package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// "source" picks the local address of server connections: the server's
// own, else the backend's.
func TestSourceAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	peers := make(chan string, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			peers <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			}()
		}
	}()
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    use_backend own if { path /own }
    default_backend be
backend be
    source 127.0.0.3
    server s B
backend own
    source 127.0.0.3
    server s B source 127.0.0.2
`, "B", l.Addr().String()))
	for _, tc := range []struct{ path, want string }{{"/", "127.0.0.3"}, {"/own", "127.0.0.2"}} {
		if out := rawRequest(t, addr, "GET "+tc.path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3*time.Second); statusOf(out) != 200 {
			t.Fatalf("%s: %q", tc.path, out)
		}
		if got := <-peers; got != tc.want {
			t.Fatalf("%s: server saw a connection from %s, want %s", tc.path, got, tc.want)
		}
	}
}

// "option http-pretend-keepalive" in server-close mode: the server is not
// told the connection closes, and it is closed after the response anyway.
func TestPretendKeepAlive(t *testing.T) {
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    option http-server-close
    option http-pretend-keepalive
    server s B
backend plain
    option http-server-close
    server s B
`, "B", b.addr))
	rc := newRawClient(t, addr)
	for i := 0; i < 2; i++ {
		if st, _, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second); err != nil || st != 200 {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
	}
	got := b.received()
	if strings.Contains(strings.ToLower(got), "connection: close") {
		t.Fatalf("server was told the connection closes:\n%s", got)
	}
	conns := b.Accepted()
	if conns != 2 {
		t.Fatalf("%d server connections for 2 requests in server-close mode", conns)
	}
}

// "option http-use-proxy-header": a proxied (absolute-form) request's
// Proxy-Connection decides whether the client connection stays open.
func TestUseProxyHeader(t *testing.T) {
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	cfg := `
frontend fe
    bind 127.0.0.1:0
    OPTION
    default_backend be
backend be
    server s B
`
	for _, tc := range []struct {
		option, req string
		closes      bool
	}{
		{"option http-use-proxy-header", "GET http://x/ HTTP/1.1\r\nHost: x\r\nProxy-Connection: close\r\n\r\n", true},
		{"option http-use-proxy-header", "GET / HTTP/1.1\r\nHost: x\r\nProxy-Connection: close\r\n\r\n", false},
		{"", "GET http://x/ HTTP/1.1\r\nHost: x\r\nProxy-Connection: close\r\n\r\n", false},
	} {
		_, addr := startProxy(t, sub(baseDefaults+cfg, "B", b.addr, "OPTION", tc.option))
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(c, tc.req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.Close != tc.closes {
			t.Errorf("%q with %q: Connection: close = %v", tc.req, tc.option, resp.Close)
		}
	}
}
