package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// The client side of a keep-alive connection must see bytes that arrived
// while the session was busy with the exchange before: Go's poller records
// their readiness during the exchange, and a wait for readiness that
// started after it (syscall.RawConn.Read resets the recorded readiness
// before its first call) would miss them and sit until a deadline. These
// tests measure how long the session took to notice; a miss shows as a
// wait of parkAfter (the short deadline of the busy wait) or more, so the
// bound is well below it, and the best of a few rounds is taken (load only
// makes a round slower).

// holdingBackend answers each request head with its path as the body,
// hold after the head came.
func holdingBackend(t *testing.T, hold time.Duration) *rawBackend {
	return newRawBackend(t, func(in []byte, sent int) (string, bool) {
		heads := bytes.Split(in, []byte("\r\n\r\n"))
		if len(heads)-1 <= sent {
			return "", false
		}
		time.Sleep(hold)
		f := bytes.Fields(heads[sent])
		path := string(f[1])
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(path), path), true
	})
}

// quick is the longest a session may take to notice what arrived while it
// was busy: well below parkAfter, the wait a miss costs.
const quick = parkAfter * 6 / 10

func readBody(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// A pipelined request sent on its own while the server holds the one
// before it is answered as soon as the server answers it, not after a
// wait.
func TestPipelinedRequestDuringExchangeNotDelayed(t *testing.T) {
	const hold = 15 * time.Millisecond
	b := holdingBackend(t, hold)
	_, addr := startProxy(t, sendWaitConfig(b.addr, "1m", "", "    timeout http-keep-alive 10s\n"))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	req := func(p string) string { return "GET " + p + " HTTP/1.1\r\nHost: x\r\n\r\n" }
	best := time.Hour
	for i := 0; i < 6; i++ {
		a, n := "/a"+strconv.Itoa(i), "/n"+strconv.Itoa(i)
		io.WriteString(c, req(a))
		// The next request comes in its own segment while the server
		// holds the first (the proxy has read the first by then).
		time.Sleep(hold / 3)
		io.WriteString(c, req(n))
		if got := readBody(t, br); got != a {
			t.Fatalf("round %d: first response %q, want %q", i, got, a)
		}
		t0 := time.Now()
		if got := readBody(t, br); got != n {
			t.Fatalf("round %d: second response %q, want %q", i, got, n)
		}
		best = min(best, time.Since(t0))
	}
	// The second answer takes the server's hold after the first.
	if best > hold+quick {
		t.Fatalf("the pipelined request was answered %v after the one before (best of 6), want about %v: its arrival during the exchange was missed", best, hold)
	}
}

// A client that half-closes while its request is with the server gets its
// response, then the proxy sees the end of stream at once and closes.
func TestHalfCloseDuringExchangeSeenAtOnce(t *testing.T) {
	const hold = 15 * time.Millisecond
	b := holdingBackend(t, hold)
	_, addr := startProxy(t, sendWaitConfig(b.addr, "1m", "", "    timeout http-keep-alive 10s\n"))
	best := time.Hour
	for i := 0; i < 5; i++ {
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(c)
		// A first exchange makes the connection a kept one (the busy
		// wait is for the requests after the first).
		io.WriteString(c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
		if got := readBody(t, br); got != "/first" {
			t.Fatalf("round %d: %q", i, got)
		}
		io.WriteString(c, "GET /last HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(hold / 3)
		c.(*net.TCPConn).CloseWrite()
		if got := readBody(t, br); got != "/last" {
			t.Fatalf("round %d: %q", i, got)
		}
		t0 := time.Now()
		if n, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("round %d: after the last response: %v %v, want the end of stream", i, n, err)
		}
		best = min(best, time.Since(t0))
		c.Close()
	}
	if best > quick {
		t.Fatalf("the proxy closed %v after the last response (best of 5): the client's end of stream during the exchange was missed", best)
	}
}

// A client that sends its next request the moment it has the response
// (the request arrives as the response is being written, the busy case of
// every keep-alive benchmark) is never left waiting: the slowest of many
// such requests stays well below the wait a missed arrival costs. (A
// wait-first read misses some of these arrivals, a few in a thousand,
// more on a busy machine: another P or sysmon polls the network between
// the response's write and the wait. The two tests above catch it every
// time; this one is the guard of the path every busy client takes.)
func TestNextRequestRightAfterResponseNotDelayed(t *testing.T) {
	b := holdingBackend(t, 0)
	_, addr := startProxy(t, sendWaitConfig(b.addr, "1m", "", "    timeout http-keep-alive 10s\n"))
	const conns, each = 8, 250
	slow := 0
	for k := 0; k < conns; k++ {
		kc := newRawClient(t, addr)
		for i := 0; i < each; i++ {
			t0 := time.Now()
			st, body, err := kc.do("GET /"+strconv.Itoa(i)+" HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second)
			if st != 200 || body != "/"+strconv.Itoa(i) {
				t.Fatalf("request %d: %d %q %v", i, st, body, err)
			}
			if time.Since(t0) >= parkAfter {
				slow++
			}
		}
	}
	// A loaded machine may stall a request that long now and then.
	if slow > 2 {
		t.Fatalf("%d requests of %d took parkAfter (%v) or longer: arrivals were missed", slow, conns*each, parkAfter)
	}
}

// The deadlines of a kept connection's wait for its next request, which a
// busy connection sets only when a read needs them: a head that comes in
// pieces within "timeout http-keep-alive" is served, one that never ends
// and a connection that sends nothing are closed about when it runs out
// (measured from the previous response), not at the short wait that comes
// before parking (parkAfter) and not never.
func TestKeptConnectionWaitDeadlines(t *testing.T) {
	const keep = 400 * time.Millisecond
	b := holdingBackend(t, 0)
	_, addr := startProxy(t, sendWaitConfig(b.addr, "1m", "", "    timeout http-keep-alive 400ms\n    timeout http-request 400ms\n"))
	for _, tc := range []struct {
		name  string
		first string        // sent right after the first response
		rest  string        // sent after restAfter ("" for nothing)
		after time.Duration // restAfter
		want  string        // the second response's body, "" for a close
	}{
		{"head in two pieces", "GET /two HTTP/1.1\r\nHo", "st: x\r\n\r\n", keep * 6 / 10, "/two"},
		{"head in pieces, one byte first", "G", "ET /one HTTP/1.1\r\nHost: x\r\n\r\n", keep / 2, "/one"},
		{"head never ends", "GET /never HTTP/1.1\r\nHo", "", 0, ""},
		{"nothing sent", "", "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(c)
			io.WriteString(c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
			if got := readBody(t, br); got != "/first" {
				t.Fatalf("%q", got)
			}
			t0 := time.Now()
			io.WriteString(c, tc.first)
			if tc.rest != "" {
				time.Sleep(tc.after)
				io.WriteString(c, tc.rest)
			}
			if tc.want != "" {
				if got := readBody(t, br); got != tc.want {
					t.Fatalf("second response %q, want %q", got, tc.want)
				}
				return
			}
			// A close, with or without a 408 before it.
			io.Copy(io.Discard, br)
			if d := time.Since(t0); d < keep*3/4 || d > keep+3*time.Second {
				t.Fatalf("closed %v after the response, want about %v (timeout http-keep-alive)", d, keep)
			}
		})
	}
}
