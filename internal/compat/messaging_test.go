package compat

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/h1"
	"bulwark/internal/logging"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
)

// messagingCases are sent, byte for byte, to Debian's HAProxy 2.6 and to
// Bulwark with every h1.Relax opt-out on (the mode meant to behave as
// HAProxy does). The backend answers by path (see recorder).
var messagingCases = []struct{ name, raw string }{
	{"cl and te", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 31\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"},
	{"te in 1.0", "POST /ok HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	{"te trailers", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTE: trailers, gzip\r\n\r\n0\r\n\r\n"},
	{"te gzip", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTE: gzip\r\n\r\n0\r\n\r\n"},
	{"te trailers q", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTE: trailers;q=0.5\r\n\r\n0\r\n\r\n"},
	{"gzip then chunked", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
	{"gzip field then chunked field", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	{"chunked twice", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"},
	{"chunked then gzip", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"},
	{"gzip only", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 0\r\n\r\n"},
	{"no host", "GET /ok HTTP/1.1\r\n\r\n"},
	{"double space before version", "GET /ok  HTTP/1.1\r\nHost: x\r\n\r\n"},
	{"double space after method", "GET  /ok HTTP/1.1\r\nHost: x\r\n\r\n"},
	{"tabs", "GET\t/ok\tHTTP/1.1\r\nHost: x\r\n\r\n"},
	{"space and tab", "GET /ok \tHTTP/1.1\r\nHost: x\r\n\r\n"},
	{"trailing space", "GET /ok HTTP/1.1 \r\nHost: x\r\n\r\n"},
	{"userinfo default port", "GET http://toto:poue@hostname:80/ok HTTP/1.1\r\nHost: hostname:80\r\n\r\n"},
	{"two at signs", "GET http://a@b@hostname/ok HTTP/1.1\r\nHost: hostname\r\n\r\n"},
	{"https default port", "GET https://hostname:443/ok HTTP/1.1\r\nHost: hostname:443\r\n\r\n"},
	{"host default port only", "GET http://hostname/ok HTTP/1.1\r\nHost: hostname:80\r\n\r\n"},
	{"empty port", "GET http://hostname:/ok HTTP/1.1\r\nHost: hostname\r\n\r\n"},
	{"port mismatch", "GET http://hostname:8080/ok HTTP/1.1\r\nHost: hostname\r\n\r\n"},
	{"resp 1.0 chunked", "GET /r10 HTTP/1.1\r\nHost: x\r\n\r\n"},
	{"resp cl and te", "GET /rclte HTTP/1.1\r\nHost: x\r\n\r\n"},
	{"resp gzip chunked", "GET /rgzip HTTP/1.1\r\nHost: x\r\n\r\n"},
}

var recorderAnswers = map[string]string{
	"/ok":    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"/r10":   "HTTP/1.0 200 Ok\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"/rclte": "HTTP/1.1 200 Ok\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\nResponse splitting attach",
	"/rgzip": "HTTP/1.1 200 Ok\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
}

// recorder keeps the bytes of each connection and answers the first
// request head by its path; it closes after answering, so that no
// connection is reused between cases.
type recorder struct {
	l     net.Listener
	mu    sync.Mutex
	conns []string
	open  int // connections accepted and not yet recorded
}

func newRecorder(t *testing.T) *recorder {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{l: l}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.open++
			r.mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); r.serve(c) }()
		}
	}()
	return r
}

func (r *recorder) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	var in []byte
	buf := make([]byte, 4096)
	answered := false
	for range 100 {
		if !answered {
			if i := bytes.Index(in, []byte("\r\n\r\n")); i >= 0 {
				path := ""
				if f := strings.Fields(string(in[:bytes.IndexByte(in, '\n')])); len(f) > 1 {
					path = f[1]
				}
				if a, ok := recorderAnswers[path[strings.LastIndexByte(path, '/'):]]; ok {
					c.Write([]byte(a))
				}
				answered = true
				// The body, if any, comes with the head here; give it a
				// moment before closing.
				c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			}
		}
		n, err := c.Read(buf)
		in = append(in, buf[:n]...)
		if err != nil {
			break
		}
	}
	r.mu.Lock()
	r.conns = append(r.conns, string(in))
	r.open--
	r.mu.Unlock()
}

// take returns what the recorder received since the last call, once every
// connection it accepted is recorded (each ends within serve's deadline).
// A case's server connections were all accepted before its client saw an
// answer, so none is left for the next case: a fixed pause was not enough
// on a loaded machine, where a connection's 200 ms idle wait could end
// after it.
func (r *recorder) take(t *testing.T) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.open > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d server connections still open", r.open)
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		r.mu.Lock()
	}
	out := r.conns
	r.conns = nil
	return out
}

// normalizeForwarded makes two forwarded requests comparable: header
// names lower-cased (HAProxy lower-cases them, Bulwark keeps their case)
// and Connection fields left out (Bulwark says "close" to the server where
// HAProxy relies on closing).
func normalizeForwarded(s string) string {
	head, body, _ := strings.Cut(s, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	out := []string{lines[0]}
	for _, l := range lines[1:] {
		n, v, _ := strings.Cut(l, ":")
		n = strings.ToLower(n)
		if n == "connection" {
			continue
		}
		out = append(out, n+":"+v)
	}
	return strings.Join(out, "\r\n") + "\r\n\r\n" + body
}

// clientView is what the client saw: status, framing fields, body, and
// whether the proxy closed the connection.
func clientView(t *testing.T, addr, raw string) string {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	io.WriteString(c, raw)
	var out []byte
	buf := make([]byte, 4096)
	closed := false
	for range 100 {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			var ne net.Error
			closed = !(errors.As(err, &ne) && ne.Timeout())
			break
		}
	}
	head, body, _ := strings.Cut(string(out), "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	status := ""
	if f := strings.Fields(lines[0]); len(f) > 1 {
		status = f[1]
	}
	var framing []string
	for _, l := range lines[1:] {
		n, v, _ := strings.Cut(l, ":")
		if n = strings.ToLower(n); n == "content-length" || n == "transfer-encoding" {
			framing = append(framing, n+":"+strings.TrimSpace(v))
		}
	}
	sort.Strings(framing)
	if status != "200" {
		// Error pages differ in their fields; the status is what counts.
		framing, body = nil, ""
	}
	if strings.HasPrefix(status, "5") {
		// After a 502 for a server's bad response HAProxy keeps the
		// client connection; Bulwark closes it after every error page.
		return "status " + status
	}
	return "status " + status + " " + strings.Join(framing, ",") + " body " + body + " closed " + map[bool]string{true: "yes", false: "no"}[closed]
}

const messagingConfig = `
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind FEADDR
    default_backend be
backend be
    server app BEADDR
`

// TestHTTPMessagingAgainstHAProxy sends the same bytes to Debian's HAProxy
// and to Bulwark in its HAProxy-exact mode (every Relax opt-out on), and
// compares what the server received and what the client saw (issue 9:
// HAProxy's http-messaging reg-tests).
func TestHTTPMessagingAgainstHAProxy(t *testing.T) {
	bin := haproxyPath(t)
	hrec, brec := newRecorder(t), newRecorder(t)
	hfe := freeAddr(t)
	path := t.TempDir() + "/h.cfg"
	os.WriteFile(path, []byte(strings.NewReplacer("FEADDR", hfe, "BEADDR", hrec.l.Addr().String()).Replace(messagingConfig)), 0o644)
	cmd := exec.Command(bin, "-db", "-f", path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	waitListen(t, hfe)
	bfe := startBulwarkWith(t, strings.Replace(messagingConfig, "BEADDR", brec.l.Addr().String(), 1),
		proxy.Options{Relax: h1.Relax{MissingHost: true, Framing: true, Userinfo: true}}, false)
	time.Sleep(200 * time.Millisecond) // waitListen's probe connection is gone
	hrec.take(t)
	for _, tc := range messagingCases {
		hv, bv := clientView(t, hfe, tc.raw), clientView(t, bfe, tc.raw)
		hs, bs := hrec.take(t), brec.take(t)
		if hv != bv {
			t.Errorf("%s: client saw\nhaproxy %q\nbulwark %q", tc.name, hv, bv)
		}
		if len(hs) != len(bs) {
			t.Errorf("%s: server connections: haproxy %q, bulwark %q", tc.name, hs, bs)
			continue
		}
		for i := range hs {
			if h, b := normalizeForwarded(hs[i]), normalizeForwarded(bs[i]); h != b {
				t.Errorf("%s: server received\nhaproxy %q\nbulwark %q", tc.name, h, b)
			}
		}
	}
}

// startBulwarkWith runs cfg in this process (FEADDR becomes an inherited
// listener) with opts, and with the real logger if withLog, and returns
// the frontend's address.
func startBulwarkWith(t *testing.T, cfg string, opts proxy.Options, withLog bool) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg = strings.Replace(cfg, "FEADDR", "fd@1000", 1)
	ast, ds := config.Parse("b.cfg", []byte(cfg), config.LexOptions{})
	m, mds := model.Compile(ast, model.Options{})
	if ds = append(ds, mds...); ds.HasAlerts() {
		t.Fatal(ds)
	}
	pl, pds := plan.Compile(m, plan.Options{})
	if pds.HasAlerts() {
		t.Fatal(pds)
	}
	if withLog {
		lg, err := logging.New(pl)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(lg.Close)
		opts.Log, opts.Render = lg.Log, logging.Render
	}
	opts.Inherited = map[int]net.Listener{1000: l}
	px := proxy.New(opts)
	rt, err := px.Build(pl)
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	})
	return l.Addr().String()
}
