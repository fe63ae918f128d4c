package proxy

//lint:file-ignore SA1019 golang.org/x/net/http2 is the independent HTTP/2 server (and client) these tests use on purpose.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// countingListener counts the connections accepted.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// h2cServer is Go's HTTP/2 server in clear text (prior knowledge): an
// implementation independent of Bulwark's.
func h2cServer(t testing.TB, srv *http2.Server, h http.HandlerFunc) (string, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	t.Cleanup(func() { ln.Close() })
	if srv == nil {
		srv = &http2.Server{}
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	go func() {
		for {
			c, err := cl.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
			}()
		}
	}()
	return ln.Addr().String(), cl
}

// "server ... proto h2": HTTP/1.1 and HTTP/2 clients' requests reach an
// HTTP/2 server as streams, bodies both ways, and the answers come back.
func TestH2ServerProtoH2(t *testing.T) {
	baddr, cl := h2cServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", fmt.Sprintf("%s %s %s %s host=%s conn=%q", r.Proto, r.Method, r.URL.RequestURI(), body, r.Host, r.Header.Get("Connection")))
		io.WriteString(w, "ok:"+string(body))
	})
	px, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    bind 127.0.0.1:0 proto h2
    default_backend be
backend be
    server s B proto h2
`, "B", baddr))
	// HTTP/1.1 client, keep-alive, three requests.
	c := dial(t, addr)
	defer c.Close()
	br := bufio.NewReader(c)
	for i, req := range []string{
		"GET /a?x=1 HTTP/1.1\r\nHost: example.test\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello",
		"POST /c HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	} {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, req)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := []string{"ok:", "ok:hello", "ok:abc"}[i]
		if resp.StatusCode != 200 || string(body) != want {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
		seen := resp.Header.Get("X-Seen")
		if !strings.HasPrefix(seen, "HTTP/2.0 ") || !strings.Contains(seen, "host=example.test") || !strings.Contains(seen, `conn=""`) {
			t.Fatalf("request %d: server saw %q", i, seen)
		}
	}
	if n := cl.n.Load(); n != 1 {
		t.Errorf("%d server connections for one keep-alive client, want 1", n)
	}
	// HTTP/2 client, concurrent streams: they share the server
	// connection of their client connection ("http-reuse safe").
	client := priorKnowledge()
	defer client.CloseIdleConnections()
	h2addr := px.Current().Addrs()[1].String()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := client.Post("http://"+h2addr+"/s", "text/plain", strings.NewReader(fmt.Sprint(i)))
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != fmt.Sprint("ok:", i) {
				errs <- fmt.Errorf("stream %d: %q", i, body)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := cl.n.Load(); n > 3 {
		t.Errorf("%d server connections in all, want them shared", n)
	}
}

var _ = hpack.NewDecoder
