package proxy

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// watchedBackend accepts connections, reports each request head it reads
// (heads) and each connection the proxy closes (closed), and answers a
// connection only when the test sends on release.
type watchedBackend struct {
	addr    string
	heads   chan string
	closed  chan int
	release chan string
}

func newWatchedBackend(t *testing.T) *watchedBackend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &watchedBackend{addr: l.Addr().String(), heads: make(chan string, 8), closed: make(chan int, 8), release: make(chan string, 8)}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); close(b.release); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func(i int, c net.Conn) {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				head := ""
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						b.closed <- i
						return
					}
					head += line
					if line == "\r\n" {
						break
					}
				}
				b.heads <- head
				// Either the proxy closes (the abort) or the test releases
				// an answer.
				eof := make(chan struct{})
				go func() {
					io.Copy(io.Discard, br)
					close(eof)
				}()
				select {
				case <-eof:
					b.closed <- i
				case resp, ok := <-b.release:
					if ok {
						io.WriteString(c, resp)
					}
					c.Close()
					<-eof
				}
			}(i, c)
		}
	}()
	return b
}

func nextLog(t *testing.T, logs chan LogEntry, within time.Duration) LogEntry {
	t.Helper()
	select {
	case e := <-logs:
		return e
	case <-time.After(within):
		t.Fatal("no log entry")
	}
	return LogEntry{}
}

const abortCfg = baseDefaults + `
    option abortonclose
    timeout queue 5s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 S1 maxconn 1
`

// A client that shuts its sending side while the server has its request
// aborts it: the server connection is closed, the client reads a 400 and
// the log says CH with status 400 (HAProxy 2.6.12 answers the same;
// http_abortonclose.vtc c3).
func TestAbortOnCloseWaitingResponse(t *testing.T) {
	s1 := newWatchedBackend(t)
	logs := make(chan LogEntry, 4)
	_, addr := startProxyWith(t, sub(abortCfg, "S1", s1.addr), Options{LogAll: true, Log: func(e *LogEntry) { logs <- *e }})
	c := dial(t, addr)
	defer c.Close()
	io.WriteString(c, "GET /c3 HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-s1.heads:
	case <-time.After(5 * time.Second):
		t.Fatal("the server got no request")
	}
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(c)
	if statusOf(string(out)) != 400 {
		t.Errorf("client got %q, want a 400", out)
	}
	select {
	case <-s1.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server connection was not closed")
	}
	e := nextLog(t, logs, 5*time.Second)
	if e.Term != "CH" || e.Status != 400 || e.Server != "s1" || e.Tr != -1 {
		t.Errorf("log entry: term %q status %d server %q Tr %v", e.Term, e.Status, e.Server, e.Tr)
	}
}

// Without the option (the default, as in HAProxy) the half-closed
// client's request is served all the same.
func TestNoAbortOnCloseServes(t *testing.T) {
	s1 := newWatchedBackend(t)
	logs := make(chan LogEntry, 4)
	cfg := strings.Replace(sub(abortCfg, "S1", s1.addr), "\nbackend be\n", "\nbackend be\n    no option abortonclose\n", 1)
	_, addr := startProxyWith(t, cfg, Options{LogAll: true, Log: func(e *LogEntry) { logs <- *e }})
	c := dial(t, addr)
	defer c.Close()
	io.WriteString(c, "GET /c3 HTTP/1.1\r\nHost: x\r\n\r\n")
	<-s1.heads
	c.(*net.TCPConn).CloseWrite()
	select {
	case <-s1.closed:
		t.Fatalf("the request was aborted without abortonclose: %+v", nextLog(t, logs, time.Second))
	case <-time.After(200 * time.Millisecond):
	}
	s1.release <- "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(c)
	if statusOf(string(out)) != 200 {
		t.Errorf("client got %q, want the server's 200", out)
	}
	if e := nextLog(t, logs, 5*time.Second); e.Status != 200 {
		t.Errorf("log entry: term %q status %d", e.Term, e.Status)
	}
}

// A request waiting in the queue (maxconn 1 taken) whose client closes
// leaves the queue: no server ever sees it, the client gets nothing and
// the log says CQ, <NOSRV>, status -1 (http_abortonclose.vtc c4).
func TestAbortOnCloseQueued(t *testing.T) {
	s1 := newWatchedBackend(t)
	logs := make(chan LogEntry, 4)
	_, addr := startProxyWith(t, sub(abortCfg, "S1", s1.addr), Options{LogAll: true, Log: func(e *LogEntry) { logs <- *e }})
	c1 := dial(t, addr)
	defer c1.Close()
	io.WriteString(c1, "GET /c3 HTTP/1.1\r\nHost: x\r\n\r\n")
	<-s1.heads
	c2 := dial(t, addr)
	defer c2.Close()
	io.WriteString(c2, "GET /c4 HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(100 * time.Millisecond) // queued
	c2.(*net.TCPConn).CloseWrite()
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if out, _ := io.ReadAll(c2); len(out) != 0 {
		t.Errorf("queued client got %q, want nothing", out)
	}
	e := nextLog(t, logs, 5*time.Second)
	if e.Term != "CQ" || e.Status != -1 || e.Server != "<NOSRV>" || e.Tc != -1 || e.Tw < 50*time.Millisecond {
		t.Errorf("log entry: term %q status %d server %q Tw %v Tc %v", e.Term, e.Status, e.Server, e.Tw, e.Tc)
	}
	// The slot goes free: the first request is answered, and no second
	// request reaches the server.
	s1.release <- "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	c1.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _ := c1.Read(make([]byte, 256)); n == 0 {
		t.Error("first client got no response")
	}
	select {
	case h := <-s1.heads:
		t.Errorf("the server got the aborted request: %q", h)
	case <-time.After(200 * time.Millisecond):
	}
}

// Connection retries to a refusing server stop when the client closes:
// CC, status -1, the server tried named, and no 503 after the retries
// (http_abortonclose.vtc c2).
func TestAbortOnCloseConnecting(t *testing.T) {
	logs := make(chan LogEntry, 4)
	cfg := strings.Replace(sub(abortCfg, "S1", deadAddr(t)), "\nbackend be\n", "\nbackend be\n    retries 10\n", 1)
	_, addr := startProxyWith(t, cfg, Options{LogAll: true, Log: func(e *LogEntry) { logs <- *e }})
	c := dial(t, addr)
	defer c.Close()
	start := time.Now()
	io.WriteString(c, "GET /c2 HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	c.Close()
	e := nextLog(t, logs, 5*time.Second)
	if e.Term != "CC" || e.Status != -1 || e.Server != "s1" || e.Tc != -1 {
		t.Errorf("log entry: term %q status %d server %q Tc %v", e.Term, e.Status, e.Server, e.Tc)
	}
	// Ten retries a second apart would take ten seconds.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the abort took %v", d)
	}
}

// A pipelined request already read does not hide the close: the first
// request is aborted all the same (HAProxy 2.6.12 answers 400, CH, to
// these bytes too).
func TestAbortOnClosePipelined(t *testing.T) {
	s1 := newWatchedBackend(t)
	_, addr := startProxy(t, sub(abortCfg, "S1", s1.addr))
	c := dial(t, addr)
	defer c.Close()
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
	<-s1.heads
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(c)
	if statusOf(string(out)) != 400 || strings.Count(string(out), "HTTP/1.1") != 1 {
		t.Errorf("client got %q, want one 400", out)
	}
	select {
	case h := <-s1.heads:
		t.Errorf("the server got the second request: %q", h)
	case <-time.After(100 * time.Millisecond):
	}
}

// In TCP mode too, connection retries stop when the client closes: CC.
func TestAbortOnCloseTCP(t *testing.T) {
	logs := make(chan LogEntry, 4)
	_, addr := startProxyWith(t, sub(`
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    option abortonclose
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    retries 10
    server s1 S1
`, "S1", deadAddr(t)), Options{LogAll: true, Log: func(e *LogEntry) { logs <- *e }})
	c := dial(t, addr)
	start := time.Now()
	time.Sleep(100 * time.Millisecond)
	c.Close()
	e := nextLog(t, logs, 5*time.Second)
	if e.Term != "CC" || e.Server != "s1" {
		t.Errorf("log entry: term %q server %q", e.Term, e.Server)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the abort took %v", d)
	}
}
