package proxy

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

// "nosplice" overrides the splice options: the body arrives intact and
// nothing is counted as spliced; "show info" has no pipe bound.
func TestNoSpliceGlobal(t *testing.T) {
	body := spliceTestBody()
	b := newRawBackend(t, answerEachHead(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)))
	px, addr := startProxy(t, sub(`
global
    nosplice
    maxpipes 7
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    option splice-response
    default_backend be
backend be
    server s B
`, "B", b.addr))
	rc := newRawClient(t, addr)
	if st, got, err := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 || err != nil || got != string(body) {
		t.Fatalf("%d %v, body intact %v", st, err, got == string(body))
	}
	rt := px.Current()
	if n := rt.frontends[0].stats.h1.splicedOut.Load(); n != 0 {
		t.Fatalf("%d bytes spliced with nosplice", n)
	}
	if in := rt.StatsInfo(); in.MaxPipes != 0 || in.PipesUsed != 0 {
		t.Fatalf("Maxpipes %d PipesUsed %d with nosplice", in.MaxPipes, in.PipesUsed)
	}
}

// With "maxpipes 1", a response that splices holds the one pipe while its
// server is slow; another response meanwhile is copied (nothing of it is
// counted as spliced) and arrives intact. "show info" reports the bound
// and the pipe in use.
func TestMaxPipes(t *testing.T) {
	for _, tc := range []struct {
		maxpipes int
		spliced2 bool // the second response splices too
	}{{1, false}, {2, true}} {
		t.Run(fmt.Sprint(tc.maxpipes), func(t *testing.T) {
			testMaxPipes(t, tc.maxpipes, tc.spliced2)
		})
	}
}

func testMaxPipes(t *testing.T, maxpipes int, spliced2 bool) {
	body := spliceTestBody()
	const first = 64 << 10 // what the slow server sends before it stalls
	release := make(chan struct{})
	var released bool
	defer func() {
		if !released {
			close(release)
		}
	}()
	srv := testtool.Listen(t, func(c *testtool.Conn) {
		c.SetDeadline(time.Now().Add(20 * time.Second))
		in, _ := c.ReadUntil("\r\n\r\n")
		reqLine, _, _ := strings.Cut(string(in), "\n")
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))
		if strings.Contains(reqLine, "/slow") {
			c.Write(body[:first])
			<-release
			c.Write(body[first:])
			return
		}
		c.Write(body)
	})
	px, addr := startProxy(t, sub(fmt.Sprintf(`
global
    maxpipes %d
`, maxpipes)+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    option splice-response
    default_backend be
backend be
    server s B
`, "B", srv.Addr))
	rt := px.Current()
	slow := dial(t, addr)
	defer slow.Close()
	slow.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(slow, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	slowResp := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(slow)
		slowResp <- b
	}()
	// The slow response splices (the head and the first bytes are
	// copied from the reader's buffer): it holds a pipe.
	for i := 0; rt.pipes.used.Load() != 1; i++ {
		if i == 1000 {
			t.Fatalf("the slow response holds %d pipes", rt.pipes.used.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if in := rt.StatsInfo(); in.MaxPipes != int64(maxpipes) || in.PipesUsed != 1 {
		t.Fatalf("Maxpipes %d PipesUsed %d", in.MaxPipes, in.PipesUsed)
	}
	rc := newRawClient(t, addr)
	if st, got, err := rc.do("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 || err != nil || got != string(body) {
		t.Fatalf("fast: %d %v, body intact %v", st, err, got == string(body))
	}
	// Spliced bytes are counted when a splice ends: only the fast
	// response's so far.
	// The count lands after the last byte went out, which the client may
	// have read first: wait for it a little when it is due.
	fast := rt.frontends[0].stats.h1.splicedOut.Load()
	for i := 0; spliced2 && fast == 0 && i < 200; i++ {
		time.Sleep(5 * time.Millisecond)
		fast = rt.frontends[0].stats.h1.splicedOut.Load()
	}
	if spliced2 != (fast > 0) {
		t.Fatalf("maxpipes %d: the second response spliced %d bytes", maxpipes, fast)
	}
	close(release)
	released = true
	resp := <-slowResp
	if i := bytes.Index(resp, []byte("\r\n\r\n")); i < 0 || !bytes.Equal(resp[i+4:], body) {
		t.Fatalf("slow response: %d bytes, body intact false", len(resp))
	}
	if n := rt.frontends[0].stats.h1.splicedOut.Load(); n-fast < int64(len(body))/2 {
		t.Fatalf("the slow response spliced %d bytes", n-fast)
	}
	for i := 0; rt.pipes.used.Load() != 0; i++ {
		if i == 1000 {
			t.Fatalf("%d pipes still held", rt.pipes.used.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
