package h2up

//lint:file-ignore SA1019 golang.org/x/net/http2's server is the independent HTTP/2 implementation these tests use on purpose.

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// goServer is Go's own HTTP/2 server in clear text (prior knowledge), an
// implementation independent of this package.
func goServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	srv := &http2.Server{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
		}
	}()
	return ln.Addr().String()
}

func dial(t *testing.T, addr string, cfg Config) *Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	h := New(c, cfg)
	t.Cleanup(func() { h.Close() })
	return h
}

func exchange(t *testing.T, h *Conn, req string) string {
	t.Helper()
	st, err := h.NewStream(false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(st, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(st)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(resp.Status + "|" + string(body))
	for k, v := range resp.Trailer {
		b.WriteString("|" + k + "=" + strings.Join(v, ","))
	}
	return b.String()
}

func TestH2upGoServer(t *testing.T) {
	addr := goServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+" "+r.URL.RequestURI()+" "+r.Host+" "+r.Header.Get("X-A")+" "+r.Proto+" te="+r.Header.Get("Te"))
		if r.URL.Path == "/grpc" {
			w.Header().Set("Trailer", "Grpc-Status")
			w.Write(b)
			w.Header().Set("Grpc-Status", "7")
			return
		}
		w.Write([]byte("got:" + string(b) + ":" + r.Trailer.Get("X-T")))
	})
	h := dial(t, addr, Config{})
	if got := exchange(t, h, "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\nConnection: keep-alive\r\n\r\n"); got != "200 OK|got::" {
		t.Errorf("GET: %q", got)
	}
	if got := exchange(t, h, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"); got != "200 OK|got:hello:" {
		t.Errorf("POST: %q", got)
	}
	got := exchange(t, h, "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\nTE: trailers\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: tv\r\n\r\n")
	if got != "200 OK|got:abcde:tv" {
		t.Errorf("chunked POST: %q", got)
	}
	got = exchange(t, h, "POST /grpc HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nTE: trailers\r\n\r\nhi")
	if got != "200 OK|hi|Grpc-Status=7" {
		t.Errorf("trailers: %q", got)
	}
	if n := h.Streams(); n != 4 {
		t.Errorf("streams %d, want 4 on one connection", n)
	}
	if a := h.Active(); a != 0 {
		t.Errorf("active %d after all closed", a)
	}
}

// Streams opened in one order and written in the other: the ids go in
// the order of the HEADERS (a lower id sent after a higher one is a
// closed stream to the server, which then ends the connection).
func TestH2upStreamIDsInSendOrder(t *testing.T) {
	addr := goServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
	h := dial(t, addr, Config{})
	a, err := h.NewStream(false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.NewStream(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		st   *Stream
		path string
	}{{b, "/b"}, {a, "/a"}} {
		c.st.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c.st, "GET "+c.path+" HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c.st), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != c.path {
			t.Fatalf("%s: %q", c.path, body)
		}
		c.st.Close()
	}
}
