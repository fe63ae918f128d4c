package proxy

//lint:file-ignore SA1019 golang.org/x/net/http2 is the independent HTTP/2 server (and client) these tests use on purpose.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	if srv == nil {
		srv = &http2.Server{}
	}
	// The accept loop ends before the wait: a connection still in the
	// listen queue at the end (a health check's, every 20 ms) was accepted
	// during a wait that cleanups ran before the close, a WaitGroup Add
	// concurrent with its Wait, which -race reports.
	var wg sync.WaitGroup
	accepting := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-accepting
		wg.Wait()
	})
	go func() {
		defer close(accepting)
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

// gRPC end to end: an h2 client's request with "TE: trailers" reaches an
// h2 server with it, and the server's trailers (grpc-status) come back
// to the client after the streamed body.
func TestH2ServerGRPCTrailers(t *testing.T) {
	var seenTE, seenCT atomic.Value
	baddr, _ := h2cServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		seenTE.Store(r.Header.Get("Te"))
		seenCT.Store(r.Header.Get("Content-Type"))
		io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.WriteHeader(200)
		w.Write([]byte{0, 0, 0, 0, 2, 'h', 'i'})
		w.(http.Flusher).Flush()
		w.Header().Set("Grpc-Status", "3")
		w.Header().Set("Grpc-Message", "bad arg")
	})
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 proto h2
    default_backend be
backend be
    server s B proto h2
`, "B", baddr))
	client := priorKnowledge()
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("POST", "http://"+addr+"/pkg.Svc/Call", strings.NewReader("\x00\x00\x00\x00\x01x"))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(body) != "\x00\x00\x00\x00\x02hi" {
		t.Fatalf("got %d %q %v", resp.StatusCode, body, err)
	}
	if g, m := resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message"); g != "3" || m != "bad arg" {
		t.Fatalf("trailers %v, want grpc-status 3 and its message", resp.Trailer)
	}
	if te, ct := seenTE.Load(), seenCT.Load(); te != "trailers" || ct != "application/grpc" {
		t.Fatalf("server saw TE %q, content-type %q", te, ct)
	}
}

// rawH2Server is an HTTP/2 server built on x/net's Framer that records
// the frames it receives (and the decoded header fields) and answers as
// its act function says.
type rawH2Server struct {
	addr   string
	mu     sync.Mutex
	frames []string
	fields []string
	conns  int
}

func newRawH2Server(t testing.TB, act func(fr *http2.Framer, f http2.Frame) bool) *rawH2Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawH2Server{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				pre := make([]byte, len(http2.ClientPreface))
				if _, err := io.ReadFull(c, pre); err != nil || string(pre) != http2.ClientPreface {
					return
				}
				// What act writes goes out in one write: a flood of DATA
				// frames reaches the proxy before it can have read (and
				// credited back) the first of them.
				bw := bufio.NewWriterSize(c, 256<<10)
				fr := http2.NewFramer(bw, c)
				fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
				fr.AllowIllegalWrites = true
				fr.WriteSettings()
				bw.Flush()
				for {
					f, err := fr.ReadFrame()
					if err != nil {
						return
					}
					s.record(f)
					if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
						fr.WriteSettingsAck()
					}
					more := act(fr, f)
					bw.Flush()
					if !more {
						return
					}
				}
			}()
		}
	}()
	return s
}

func (s *rawH2Server) record(f http2.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := f.Header()
	d := fmt.Sprintf("%s/%d", h.Type, h.StreamID)
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		for _, hf := range f.Fields {
			s.fields = append(s.fields, hf.Name+": "+hf.Value)
		}
		if f.StreamEnded() {
			d += "/end"
		}
	case *http2.SettingsFrame:
		f.ForeachSetting(func(st http2.Setting) error {
			d += fmt.Sprintf(" %s=%d", st.ID, st.Val)
			return nil
		})
	case *http2.GoAwayFrame:
		d += " " + f.ErrCode.String()
	case *http2.RSTStreamFrame:
		d += " " + f.ErrCode.String()
	case *http2.DataFrame:
		d += fmt.Sprintf(" %q", f.Data())
		if f.StreamEnded() {
			d += "/end"
		}
	}
	s.frames = append(s.frames, d)
}

func (s *rawH2Server) seen() (frames, fields string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.frames, "\n"), strings.Join(s.fields, "\n")
}

// respond writes a response head (and body, when not empty) on sid.
func respond(fr *http2.Framer, sid uint32, status string, body string, extra ...string) {
	var blk []byte
	enc := hpack.NewEncoder(&sliceWriter{&blk})
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: status})
	for i := 0; i+1 < len(extra); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: extra[i], Value: extra[i+1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: sid, BlockFragment: blk, EndHeaders: true, EndStream: body == ""})
	if body != "" {
		fr.WriteData(sid, true, []byte(body))
	}
}

type sliceWriter struct{ b *[]byte }

func (w *sliceWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

// What the server receives: the SETTINGS of tune.h2.*, then the request
// as HEADERS with the pseudo fields first and no connection-specific
// field; the answer reaches an HTTP/1.1 client.
func TestH2ServerRawRequestFrames(t *testing.T) {
	s := newRawH2Server(t, func(fr *http2.Framer, f http2.Frame) bool {
		if h, ok := f.(*http2.MetaHeadersFrame); ok {
			respond(fr, h.StreamID, "201", "made", "content-length", "4", "x-r", "1")
		}
		return true
	})
	_, addr := startProxy(t, sub(`
global
    tune.h2.initial-window-size 32768
    tune.h2.header-table-size 2048
    tune.h2.max-frame-size 20000
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    option forwardfor
    server s B proto h2
`, "B", s.addr))
	got := rawRequest(t, addr, "GET /x?y HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nX-A: b\r\n\r\n", 3*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 201 ") || !strings.Contains(got, "\r\nx-r: 1\r\n") || !strings.HasSuffix(got, "made") {
		t.Fatalf("client got %q", got)
	}
	frames, fields := s.seen()
	if want := "SETTINGS/0 HEADER_TABLE_SIZE=2048 ENABLE_PUSH=0 INITIAL_WINDOW_SIZE=32768 MAX_FRAME_SIZE=20000"; !strings.HasPrefix(frames, want) {
		t.Errorf("first frame:\n%s\nwant %s", frames, want)
	}
	if !strings.Contains(frames, "HEADERS/1/end") {
		t.Errorf("frames:\n%s", frames)
	}
	if want := ":method: GET\n:scheme: http\n:authority: h.test\n:path: /x?y\nx-a: b\nx-forwarded-for: 127.0.0.1"; fields != want {
		t.Errorf("fields:\n%s\nwant\n%s", fields, want)
	}
}

// A server that resets the stream, says GOAWAY, breaks the protocol or
// dies mid-response: the client gets HAProxy's 502 (or a cut response
// once the head went out), never a hang.
func TestH2ServerFailures(t *testing.T) {
	cases := []struct {
		name string
		act  func(fr *http2.Framer, f http2.Frame) bool
		want string // prefix of the client's answer
	}{
		{"rst", func(fr *http2.Framer, f http2.Frame) bool {
			if h, ok := f.(*http2.MetaHeadersFrame); ok {
				fr.WriteRSTStream(h.StreamID, http2.ErrCodeInternal)
			}
			return true
		}, "HTTP/1.1 502 "},
		{"goaway", func(fr *http2.Framer, f http2.Frame) bool {
			if _, ok := f.(*http2.MetaHeadersFrame); ok {
				fr.WriteGoAway(0, http2.ErrCodeNo, nil)
			}
			return true
		}, "HTTP/1.1 502 "},
		{"bad-frame", func(fr *http2.Framer, f http2.Frame) bool {
			if _, ok := f.(*http2.MetaHeadersFrame); ok {
				fr.WriteData(0, false, []byte("x")) // DATA on stream 0
			}
			return true
		}, "HTTP/1.1 502 "},
		{"bad-field", func(fr *http2.Framer, f http2.Frame) bool {
			if h, ok := f.(*http2.MetaHeadersFrame); ok {
				respond(fr, h.StreamID, "200", "x", "connection", "close")
			}
			return true
		}, "HTTP/1.1 502 "},
		{"die", func(fr *http2.Framer, f http2.Frame) bool {
			_, ok := f.(*http2.MetaHeadersFrame)
			return !ok
		}, "HTTP/1.1 502 "},
		{"die-mid-body", func(fr *http2.Framer, f http2.Frame) bool {
			if h, ok := f.(*http2.MetaHeadersFrame); ok {
				var blk []byte
				enc := hpack.NewEncoder(&sliceWriter{&blk})
				enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
				fr.WriteHeaders(http2.HeadersFrameParam{StreamID: h.StreamID, BlockFragment: blk, EndHeaders: true})
				fr.WriteData(h.StreamID, false, []byte("part"))
				return false
			}
			return true
		}, "HTTP/1.1 200 "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newRawH2Server(t, tc.act)
			_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    retries 0
    server s B proto h2
`, "B", s.addr))
			start := time.Now()
			got := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 4*time.Second)
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("client got %q, want %q...", got, tc.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("answer after %v", d)
			}
			if tc.name == "die-mid-body" && (strings.HasSuffix(got, "0\r\n\r\n") || !strings.Contains(got, "part")) {
				t.Fatalf("cut response passed as complete: %q", got)
			}
			if tc.name == "bad-frame" {
				time.Sleep(50 * time.Millisecond)
				if frames, _ := s.seen(); !strings.Contains(frames, "GOAWAY/0 PROTOCOL_ERROR") {
					t.Errorf("no GOAWAY for the bad frame:\n%s", frames)
				}
			}
		})
	}
}

// Health checks over HTTP/2: a "proto h2" server's own, and "check-proto
// h2" on a server whose traffic is HTTP/1.1. The h2 server sees the
// check as an HTTP/2 request; a failing status takes the server down.
func TestH2ServerChecks(t *testing.T) {
	var seen sync.Map
	var status atomic.Int32
	status.Store(200)
	baddr, _ := h2cServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Method+" "+r.URL.Path+" "+r.Proto, true)
		w.WriteHeader(int(status.Load()))
	})
	var mu sync.Mutex
	var logs []string
	startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be1
backend be1
    timeout check 2s
    option httpchk GET /health1
    option log-health-checks
    server s B proto h2 check inter 20ms rise 1 fall 1
backend be2
    timeout check 2s
    option httpchk GET /health2 HTTP/1.1
    option log-health-checks
    server s B check check-proto h2 inter 20ms rise 1 fall 1
`, "B", baddr), Options{ProxyLog: func(proxy, level, msg string) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, proxy+"|"+msg)
	}})
	count := func(sub string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, l := range logs {
			if strings.Contains(l, sub) {
				n++
			}
		}
		return n
	}
	waitFor(t, func() bool {
		_, a := seen.Load("GET /health1 HTTP/2.0")
		_, b := seen.Load("GET /health2 HTTP/2.0")
		return a && b
	}, "both checks over HTTP/2")
	status.Store(503)
	defer func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("logs:\n%s", strings.Join(logs, "\n"))
			mu.Unlock()
		}
	}()
	waitFor(t, func() bool {
		return count("be1|Server be1/s is DOWN, reason: Layer7 wrong status, code: 503") == 1 &&
			count("be2|Server be2/s is DOWN, reason: Layer7 wrong status, code: 503") == 1 && count("timeout") == 0
	}, "both servers down on 503")
	status.Store(200)
	waitFor(t, func() bool {
		return count("Health check for server be1/s succeeded, reason: Layer7 check passed, code: 200") >= 1 &&
			count("Health check for server be2/s succeeded, reason: Layer7 check passed, code: 200") >= 1
	}, "both servers back up")
}

// Bodies larger than every flow-control window, both ways: the server
// opens a small window for uploads, Bulwark a small one for responses
// (tune.h2.initial-window-size), and the bytes arrive whole.
func TestH2ServerFlowControl(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	baddr, _ := h2cServer(t, &http2.Server{MaxUploadBufferPerStream: 16384, MaxUploadBufferPerConnection: 65535},
		func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if r.URL.Path == "/up" {
				fmt.Fprint(w, len(b), " ", string(b) == big)
				return
			}
			io.WriteString(w, big)
		})
	_, addr := startProxy(t, sub(`
global
    tune.h2.initial-window-size 16384
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B proto h2
`, "B", baddr))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	go io.WriteString(c, "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: "+fmt.Sprint(len(big))+"\r\n\r\n"+big)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != fmt.Sprint(len(big), " true") {
		t.Fatalf("upload: %q", b)
	}
	io.WriteString(c, "GET /down HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(resp.Body)
	if err != nil || string(b) != big {
		t.Fatalf("download: %d bytes, %v", len(b), err)
	}
}

// "ssl alpn h2,http/1.1": HTTP/2 when the server's ALPN chose h2, and
// HTTP/1.1 on the same backend when the list offers only http/1.1.
func TestH2ServerALPN(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	baddr := ts.Listener.Addr().String()
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    use_backend be1 if { path /h2 }
    default_backend be2
backend be1
    server s B ssl verify none alpn h2,http/1.1
backend be2
    server s B ssl verify none alpn http/1.1
`, "B", baddr))
	for path, want := range map[string]string{"/h2": "HTTP/2.0", "/h1": "HTTP/1.1"} {
		got := rawRequest(t, addr, "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 3*time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 200") || !strings.HasSuffix(got, want) {
			t.Errorf("%s: %q, want the server to see %s", path, got, want)
		}
	}
}

// A server that sends past the stream's window is stopped with
// RST_STREAM FLOW_CONTROL_ERROR (what a stream buffers stays bounded);
// a client that resets its h2 stream has the server's stream reset too
// (CANCEL), not left running.
func TestH2ServerWindowAndCancel(t *testing.T) {
	s := newRawH2Server(t, func(fr *http2.Framer, f http2.Frame) bool {
		h, ok := f.(*http2.MetaHeadersFrame)
		if !ok {
			return true
		}
		var blk []byte
		enc := hpack.NewEncoder(&sliceWriter{&blk})
		enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: h.StreamID, BlockFragment: blk, EndHeaders: true})
		for _, hf := range h.Fields {
			if hf.Name == ":path" && hf.Value == "/flood" {
				// 320 KiB against a 64 KiB window: what the proxy may
				// credit back is what it could pass on to a client that
				// does not read (below), far less than the excess.
				chunk := make([]byte, 16384)
				for i := 0; i < 20; i++ {
					fr.WriteData(h.StreamID, false, chunk)
				}
			}
		}
		return true
	})
	px, _ := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    bind 127.0.0.1:0 proto h2
    default_backend be
backend be
    server s B proto h2
`, "B", s.addr))
	addrs := px.Current().Addrs()
	// The client reads nothing until the verdict, through a small
	// receive buffer: the proxy cannot consume (and credit) the flood
	// as fast as it arrives, which would make it legal.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", addrs[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /flood HTTP/1.1\r\nHost: h\r\n\r\n")
	waitFor(t, func() bool {
		frames, _ := s.seen()
		return strings.Contains(frames, "RST_STREAM/1 FLOW_CONTROL_ERROR")
	}, "RST_STREAM FLOW_CONTROL_ERROR for the flood")
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, _ := io.ReadAll(c)
	if got := string(b); !strings.HasPrefix(got, "HTTP/1.1 200") || strings.HasSuffix(got, "0\r\n\r\n") {
		t.Fatalf("flood: client got %d bytes, %q...", len(got), got[:min(len(got), 40)])
	}

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addrs[1].String()+"/hang", nil)
	client := priorKnowledge()
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cancel() // RST_STREAM from the client while the body is awaited
	resp.Body.Close()
	waitFor(t, func() bool {
		frames, _ := s.seen()
		return strings.Contains(frames, " CANCEL")
	}, "RST_STREAM CANCEL to the server after the client's reset")
}
