package proxy

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// An Upgrade: websocket request becomes a raw tunnel after the server's 101.
func TestWebSocketTunnel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		var sawUpgrade bool
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if strings.EqualFold(strings.TrimSpace(line), "upgrade: websocket") {
				sawUpgrade = true
			}
			if line == "\r\n" {
				break
			}
		}
		if !sawUpgrade {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		// Echo in upper case, byte stream.
		buf := make([]byte, 1024)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				c.Write([]byte(strings.ToUpper(string(buf[:n]))))
			}
			if err != nil {
				return
			}
		}
	}()
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    timeout tunnel 5s
    server s B
`, "B", l.Addr().String()))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(c)
	status, _ := br.ReadString('\n')
	if !strings.Contains(status, "101") {
		t.Fatalf("status line %q, want 101", status)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	for _, msg := range []string{"hello", "tunnel"} {
		io.WriteString(c, msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != strings.ToUpper(msg) {
			t.Fatalf("tunnel echo %q, want %q", got, strings.ToUpper(msg))
		}
	}
}

// A 100 MB chunked upload and a 100 MB chunked download cross the proxy
// intact, with the proxy's memory bounded (it streams; nothing is buffered
// whole).
func TestLargeChunkedBodiesBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB transfers")
	}
	const size = 100 << 20
	var upSum [32]byte
	var upN int64
	var mu sync.Mutex
	b := newTestServer(t, "big", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			mu.Lock()
			copy(upSum[:], h.Sum(nil))
			upN = n
			mu.Unlock()
			io.WriteString(w, "ok")
			return
		}
		// No Content-Length: net/http answers chunked.
		w.Header().Set("Content-Type", "application/octet-stream")
		chunk := make([]byte, 64<<10)
		for i := range chunk {
			chunk[i] = byte(i)
		}
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	addr := proxyTo(t, b.addr)

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := base
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak {
				peak = m.HeapInuse
			}
		}
	}()

	// Upload: the body comes from a reader without a known length, so the
	// client sends it chunked.
	pr, pw := io.Pipe()
	want := sha256.New()
	go func() {
		chunk := make([]byte, 32<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			for i := range chunk {
				chunk[i] = byte(sent + i)
			}
			want.Write(chunk)
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", "http://"+addr+"/up", pr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	mu.Lock()
	if upN != size || fmt.Sprintf("%x", upSum) != fmt.Sprintf("%x", want.Sum(nil)) {
		t.Fatalf("upload: server got %d bytes (sum mismatch=%v), want %d", upN, fmt.Sprintf("%x", upSum) != fmt.Sprintf("%x", want.Sum(nil)), size)
	}
	mu.Unlock()

	resp, err = http.Get("http://" + addr + "/down")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("download not chunked: %v", resp.TransferEncoding)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Fatalf("download: %d bytes, %v; want %d", n, err, size)
	}
	close(stop)
	wg.Wait()
	// The test process holds client, proxy and server: all stream with
	// small buffers, so the heap grows by a few MB at most, never by the
	// size of a body.
	if grow := int64(peak) - int64(base); grow > 24<<20 {
		t.Fatalf("heap grew by %d MB during 100 MB transfers", grow>>20)
	}
}

// 1,000 concurrent keep-alive clients, several requests each, no error.
func TestThousandKeepAliveClients(t *testing.T) {
	b := newTestServer(t, "b", nil)
	addr := proxyTo(t, b.addr)
	const clients, perClient = 1000, 3
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 30*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(c)
			for j := 0; j < perClient; j++ {
				if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					errs <- err
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n == 0 {
			t.Errorf("client error: %v", err)
		}
		n++
	}
	if n > 0 {
		t.Fatalf("%d of %d clients failed", n, clients)
	}
	if got := b.hits.Load(); got != clients*perClient {
		t.Fatalf("server saw %d requests, want %d", got, clients*perClient)
	}
}

// Expect: 100-continue: the client gets the server's 100 before sending its
// body.
func TestExpectContinue(t *testing.T) {
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Write(body)
	})
	addr := proxyTo(t, b.addr)
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100") {
		t.Fatalf("first line %q (%v), want 100 Continue", line, err)
	}
	br.ReadString('\n') // blank line after the 100 head
	io.WriteString(c, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

// HTTP/1.0 clients get a response that closes unless they asked for
// keep-alive; header case and order reach the server unchanged, and
// X-Forwarded-For is appended.
func TestHTTP10AndHeaderOrder(t *testing.T) {
	got := make(chan string, 1)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		got <- head.String()
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}()
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    option forwardfor
    default_backend be
backend be
    server s B
`, "B", l.Addr().String()))
	out := rawRequest(t, addr, "GET /x HTTP/1.0\r\nHost: x\r\nX-CamelCase: 1\r\nx-lower: 2\r\nConnection: X-Drop\r\nX-Drop: secret\r\n\r\n", 3*time.Second)
	if statusOf(out) != 200 || !strings.HasSuffix(out, "ok") {
		t.Fatalf("response %q", out)
	}
	head := <-got
	// HTTP/1.0 stays 1.0 towards the server, with the keep-alive 1.0
	// needs said, as HAProxy 2.6 sends it.
	want := "GET /x HTTP/1.0\r\nHost: x\r\nX-CamelCase: 1\r\nx-lower: 2\r\nX-Forwarded-For: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"
	if head != want {
		t.Fatalf("server saw:\n%q\nwant:\n%q", head, want)
	}
}
