package cli

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"bulwark/internal/lifecycle"
)

// h2Event is what the reading side of an HTTP/2 connection saw.
type h2Event struct {
	stream uint32
	status string // response :status, on HEADERS
	end    bool   // END_STREAM seen
	rst    http2.ErrCode
	isRst  bool
	goaway *http2.GoAwayFrame
	debug  string // GOAWAY debug data
	err    error
}

// TestH2ReloadGoAway: an HTTP/2 client that never retries keeps streams
// in flight on one connection while the master reloads. The old worker
// must send GOAWAY (NO_ERROR), and every stream up to its last-stream-id
// must complete with a 200: a reload loses no stream. A new connection
// is then served by the new worker.
func TestH2ReloadGoAway(t *testing.T) {
	bin := buildBulwark(t)
	dir := t.TempDir()
	srv := backendServer(t)
	port := freeTCPPort(t)
	cert := filepath.Join(dir, "cert.pem")
	writeCertPEM(t, cert)
	sock := filepath.Join(dir, "master.sock")
	conf := func(gen string) string {
		return fmt.Sprintf(`global
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1
    default_backend be
backend be
    http-response set-header X-Gen %s
    server s1 %s
`, port, cert, gen, srv)
	}
	cfg := writeConfig(t, dir, conf("one"))
	env := []string{lifecycle.AllowRootEnv + "=1"}
	p := startBulwarkWait(t, bin, env, sock, "-W", "-S", sock, "-f", cfg)

	var wmu sync.Mutex
	dial := func() (*tls.Conn, *http2.Framer) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", "127.0.0.1:"+strconv.Itoa(port),
			&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatalf("dial: %v\n%s", err, p.output())
		}
		if c.ConnectionState().NegotiatedProtocol != "h2" {
			t.Fatalf("ALPN %q", c.ConnectionState().NegotiatedProtocol)
		}
		c.SetDeadline(time.Now().Add(60 * time.Second))
		io.WriteString(c, http2.ClientPreface)
		fr := http2.NewFramer(c, c)
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		wmu.Lock()
		fr.WriteSettings()
		wmu.Unlock()
		return c, fr
	}
	// The reading goroutine answers SETTINGS and PING: writes take turns
	// (wmu).
	// One HPACK encoder per connection: its table is the connection's.
	var hbuf bytes.Buffer
	encs := map[*http2.Framer]*hpack.Encoder{}
	send := func(fr *http2.Framer, id uint32) error {
		wmu.Lock()
		defer wmu.Unlock()
		enc := encs[fr]
		if enc == nil {
			enc = hpack.NewEncoder(&hbuf)
			encs[fr] = enc
		}
		hbuf.Reset()
		for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "test"}, {":path", "/"}} {
			enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
		}
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hbuf.Bytes(), EndStream: true, EndHeaders: true})
	}
	read := func(fr *http2.Framer, gen *string) <-chan h2Event {
		ch := make(chan h2Event, 1024)
		go func() {
			defer close(ch)
			for {
				f, err := fr.ReadFrame()
				if err != nil {
					ch <- h2Event{err: err}
					return
				}
				switch f := f.(type) {
				case *http2.MetaHeadersFrame:
					ev := h2Event{stream: f.StreamID, status: f.PseudoValue("status"), end: f.StreamEnded()}
					if gen != nil {
						for _, h := range f.RegularFields() {
							if h.Name == "x-gen" {
								*gen = h.Value
							}
						}
					}
					ch <- ev
				case *http2.DataFrame:
					if f.StreamEnded() {
						ch <- h2Event{stream: f.StreamID, end: true}
					}
				case *http2.RSTStreamFrame:
					ch <- h2Event{stream: f.StreamID, isRst: true, rst: f.ErrCode}
				case *http2.GoAwayFrame:
					// The framer reuses its frames: keep a copy.
					g := *f
					g.FrameHeader = http2.FrameHeader{Type: f.Type, StreamID: f.StreamID}
					ch <- h2Event{goaway: &g, debug: string(f.DebugData())}
				case *http2.SettingsFrame:
					if !f.IsAck() {
						wmu.Lock()
						fr.WriteSettingsAck()
						wmu.Unlock()
					}
				case *http2.PingFrame:
					if !f.IsAck() {
						wmu.Lock()
						fr.WritePing(true, f.Data)
						wmu.Unlock()
					}
				}
			}
		}()
		return ch
	}

	c, fr := dial()
	defer c.Close()
	events := read(fr, nil)
	status := map[uint32]string{}
	done := map[uint32]bool{}
	var next uint32 = 1
	inflight := 0
	var goaway *http2.GoAwayFrame
	reloaded := false
	deadline := time.Now().Add(60 * time.Second)
	closed := false
	// Up to 8 streams in flight; the reload comes once 50 have
	// completed; sending stops at the GOAWAY, reading at the close.
	for !closed && time.Now().Before(deadline) {
		for goaway == nil && inflight < 8 && next < 4000 {
			if err := send(fr, next); err != nil {
				break
			}
			next += 2
			inflight++
		}
		ev, ok := <-events
		if !ok {
			break
		}
		switch {
		case ev.err != nil:
			closed = true
		case ev.goaway != nil:
			if ev.goaway.ErrCode != http2.ErrCodeNo {
				t.Errorf("GOAWAY %v %q", ev.goaway.ErrCode, ev.debug)
			}
			if goaway == nil || ev.goaway.LastStreamID < goaway.LastStreamID {
				goaway = ev.goaway
			}
		case ev.isRst:
			t.Errorf("stream %d reset (%v)", ev.stream, ev.rst)
			done[ev.stream] = true
			inflight--
		default:
			if ev.status != "" {
				status[ev.stream] = ev.status
			}
			if ev.end {
				done[ev.stream] = true
				inflight--
			}
		}
		if !reloaded && len(done) >= 50 {
			reloaded = true
			writeConfig(t, dir, conf("two"))
			syscall.Kill(p.pid, syscall.SIGUSR2)
		}
		// Once told, the client waits for what the server promised.
		if goaway != nil && inflight == 0 {
			break
		}
	}
	if goaway == nil {
		t.Fatalf("no GOAWAY after the reload (%d streams done):\n%s", len(done), p.output())
	}
	if goaway.ErrCode != http2.ErrCodeNo {
		t.Errorf("GOAWAY with %v, want NO_ERROR", goaway.ErrCode)
	}
	lost := 0
	for id := uint32(1); id < next; id += 2 {
		if id <= goaway.LastStreamID && (status[id] != "200" || !done[id]) {
			lost++
			if lost < 5 {
				t.Errorf("stream %d (<= last-stream-id %d): status %q, done %v", id, goaway.LastStreamID, status[id], done[id])
			}
		}
	}
	t.Logf("%d streams sent, last-stream-id %d, %d lost", (next-1)/2, goaway.LastStreamID, lost)
	if goaway.LastStreamID < 101 {
		t.Errorf("last-stream-id %d: the streams before the reload were not counted", goaway.LastStreamID)
	}
	// A new connection reaches the new worker.
	var gen string
	for i := 0; i < 100; i++ {
		c2, fr2 := dial()
		ev2 := read(fr2, &gen)
		send(fr2, 1)
		for e := range ev2 {
			if e.goaway != nil {
				t.Logf("new connection: GOAWAY %d %v %q", e.goaway.LastStreamID, e.goaway.ErrCode, e.debug)
			}
			if e.end || e.err != nil || e.isRst || e.goaway != nil {
				break
			}
		}
		c2.Close()
		if gen == "two" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if gen != "two" {
		t.Errorf("new connections are not served by a new worker (X-Gen %q)\n%s\n%s", gen, masterCmd(t, sock, "show proc"), p.output())
	}
}

// TestTunnelUntilHardStop: a TCP tunnel opened before a reload keeps
// carrying bytes both ways on the old worker after it, and is cut at
// hard-stop-after, not before.
func TestTunnelUntilHardStop(t *testing.T) {
	bin := buildBulwark(t)
	dir := t.TempDir()
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	port, hport := freeTCPPort(t), freeTCPPort(t)
	srv := backendServer(t)
	sock := filepath.Join(dir, "master.sock")
	text := proxyConfig("    hard-stop-after 3s\n", hport, srv) + fmt.Sprintf(`listen tunnel
    mode tcp
    timeout client 1m
    timeout server 1m
    bind 127.0.0.1:%d
    server echo %s
`, port, echo.Addr())
	cfg := writeConfig(t, dir, text)
	p := startBulwarkWait(t, bin, []string{lifecycle.AllowRootEnv + "=1"}, sock, "-W", "-S", sock, "-f", cfg)
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip := func(msg string) error {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, msg); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) != msg {
			return fmt.Errorf("echoed %q", buf)
		}
		return nil
	}
	if err := roundTrip("before\n"); err != nil {
		t.Fatal(err)
	}
	if out := masterCmd(t, sock, "reload"); !strings.Contains(out, "Success=1") {
		t.Fatalf("reload: %q\n%s", out, p.output())
	}
	reloadedAt := time.Now()
	// Well inside hard-stop-after, the tunnel still carries bytes.
	for i := 0; i < 5; i++ {
		if err := roundTrip(fmt.Sprintf("after %d\n", i)); err != nil {
			t.Fatalf("tunnel cut %v after the reload (hard-stop-after 3s): %v", time.Since(reloadedAt), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, old := workerPIDs(t, masterCmd(t, sock, "show proc")); len(old) != 1 {
		t.Errorf("the old worker should still serve the tunnel")
	}
	// Then hard-stop-after ends it: the connection closes.
	c.SetDeadline(time.Now().Add(20 * time.Second))
	_, err = io.Copy(io.Discard, c)
	if err != nil {
		t.Errorf("the tunnel was not closed by hard-stop-after: %v", err)
	}
	if d := time.Since(reloadedAt); d < 2500*time.Millisecond {
		t.Errorf("the tunnel closed %v after the reload, before hard-stop-after 3s", d)
	}
	if !waitLonger(p, "former worker", 1) {
		t.Errorf("the old worker did not exit:\n%s", p.output())
	}
}
