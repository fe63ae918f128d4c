package compat

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"bulwark/internal/testtool"
)

// "show sess" against HAProxy 2.6: a TCP session relayed to a server and
// an HTTP request waiting for its server's answer, listed in one line
// each and dumped in detail. What the two processes cannot share is
// masked: addresses of internal objects, ports, descriptors, stream ids,
// HAProxy's internal flags, task calls, timers and buffer sizes (the
// values Bulwark gives for those are in docs/console.md).
const sessDiffConfig = `global
    stats socket SOCK level admin
    nbthread 1
defaults
    timeout client 50s
    timeout server 50s
    timeout connect 5s
frontend fe
    mode http
    bind 127.0.0.1:PORT
    default_backend be1
frontend tfe
    mode tcp
    bind 127.0.0.1:TPORT
    default_backend tbe
backend be1
    mode http
    server s1 127.0.0.1:HOLD
backend tbe
    mode tcp
    server t1 127.0.0.1:HOLD
`

var sessMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\[\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d\.\d{6}\]`), "[DATE]"},
	{regexp.MustCompile(`:\d{2,5}\b`), ":P"},
	{regexp.MustCompile(`\b(fd|id|calls|rate|st0|tofwd|total|meth|status|size|data|used|o|p|i|f|an)=-?[0-9a-f]+h?\b`), "$1=N"},
	{regexp.MustCompile(`\b(rx|wx|ax|exp|c_exp|rex|wex|an_exp|age)=[^\s,\]]*`), "$1=T"},
	{regexp.MustCompile(`\b(req\.st|rsp\.st)=\w+`), "$1=S"},
	{regexp.MustCompile(`\b(fd\.state|updt|fd\.tmask|tmask)=\w+`), "$1=N"},
	{regexp.MustCompile(`(sc[fb])=\[\d+,[0-9a-f]+h`), "$1=[N,N"},
	{regexp.MustCompile(`data=\(nil\)`), "data=N"},
	// Whether a stream is subscribed to its connection's events at the
	// instant of the dump is timing: HAProxy's own CLI stream shows 0 or
	// 1 from run to run.
	{regexp.MustCompile(`\bsub=[01]\b`), "sub=N"},
}

func TestShowSessAgainstHAProxy(t *testing.T) {
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	// The server accepts and reads, never answers: every session stays.
	go func() {
		for i := 0; i < 64; i++ {
			c, err := hold.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	_, holdPort, _ := net.SplitHostPort(hold.Addr().String())
	tports := map[string]string{}
	hs, bs := startPair(t, func(d diffSide) string {
		tports[d.name] = freePort(t)
		return strings.NewReplacer("SOCK", d.sock, "TPORT", tports[d.name], "PORT", d.port, "HOLD", holdPort).Replace(sessDiffConfig)
	})
	for _, d := range []diffSide{hs, bs} {
		tc := dialT(t, tports[d.name])
		// The TCP session is listed first: it must exist before the HTTP
		// one, whose frontend's accept could otherwise come first.
		for i := 0; !strings.Contains(d.run(t, "show sess"), "fe=tfe"); i++ {
			if i == 100 {
				t.Fatalf("%s: the TCP session did not start", d.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		hc := dialT(t, d.port)
		fmt.Fprintf(hc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		// Both sessions are connected to the server before the dumps.
		for i := 0; ; i++ {
			if out := d.run(t, "show sess"); strings.Contains(out, "fe=fe be=be1 srv=s1") && strings.Contains(out, "fe=tfe be=tbe srv=t1") {
				break
			}
			if i == 100 {
				t.Fatalf("%s: the sessions did not reach their server", d.name)
			}
			time.Sleep(50 * time.Millisecond)
		}
		defer tc.Close()
		defer hc.Close()
	}
	var diffs []string
	for _, cmd := range []string{"show sess", "show sess all", "show sess 0xdeadbeef", "show sess foo"} {
		h, b := maskSess(hs.run(t, cmd)), maskSess(bs.run(t, cmd))
		if h != b {
			diffs = append(diffs, fmt.Sprintf("%q:\n--- haproxy\n%s--- bulwark\n%s", cmd, h, b))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("%d answers differ:\n%s", len(diffs), strings.Join(diffs, "\n"))
	}
}

func maskSess(s string) string {
	for _, m := range sessMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

func dialT(t *testing.T, port string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// "show info typed" against HAProxy 2.6: the same fields at the same
// positions, in the same order, with the same tags and types (the values
// differ between any two processes).
func TestShowInfoFieldsAgainstHAProxy(t *testing.T) {
	hs, bs := startPair(t, func(d diffSide) string {
		return strings.NewReplacer("SOCK", d.sock, "TPORT", freePort(t), "PORT", d.port, "HOLD", freePort(t)).Replace(sessDiffConfig)
	})
	fields := func(d diffSide) string {
		var b strings.Builder
		for _, l := range strings.Split(d.run(t, "show info typed"), "\n") {
			if p := strings.SplitN(l, ":", 4); len(p) == 4 {
				fmt.Fprintf(&b, "%s:%s:%s\n", p[0], p[1], p[2])
			}
		}
		return b.String()
	}
	if h, b := fields(hs), fields(bs); h != b {
		t.Fatalf("show info typed fields differ:\n--- haproxy\n%s--- bulwark\n%s", h, b)
	}
	// The values Bulwark knows are where HAProxy has them.
	out := bs.run(t, "show info")
	for _, re := range []string{`(?m)^Idle_pct: \d+$`, `(?m)^PoolAlloc_bytes: [1-9]\d*$`, `(?m)^PoolUsed_bytes: [1-9]\d*$`, `(?m)^Run_queue: \d+$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("show info: no %s in\n%s", re, out)
		}
	}
}

// The h2 stats module against HAProxy 2.6: HTTP/1 requests sent to a
// server over HTTP/2 (a frontend of the same process, "proto h2") and
// HTTP/2 requests from curl. The counters of the backend (server side)
// and of the HTTP/2 frontend (client side) must be HAProxy's; the two
// gauges are not compared, as the processes keep different numbers of
// idle server connections.
const h2DiffConfig = `global
    stats socket SOCK level admin
    nbthread 1
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:PORT
    default_backend h2be
backend h2be
    server s1 127.0.0.1:H2PORT proto h2
frontend h2fe
    bind 127.0.0.1:H2PORT proto h2
    timeout tarpit 2s
    http-request tarpit if { path /wait }
    http-request return status 200 content-type text/plain string ok
`

func TestH2ModuleAgainstHAProxy(t *testing.T) {
	curl := testtool.Path(t, "curl")
	h2ports := map[string]string{}
	hs, bs := startPair(t, func(d diffSide) string {
		h2ports[d.name] = freePort(t)
		return strings.NewReplacer("SOCK", d.sock, "H2PORT", h2ports[d.name], "PORT", d.port).Replace(h2DiffConfig)
	})
	h2cols := func(d diffSide) map[string]string {
		out := map[string]string{}
		lines := strings.Split(d.run(t, "show stat"), "\n")
		head := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
		for _, l := range lines[1:] {
			row := strings.Split(l, ",")
			if len(row) < len(head) || row[1] != "FRONTEND" && row[1] != "BACKEND" {
				continue
			}
			for i, h := range head {
				if strings.HasPrefix(h, "h2_") && h != "h2_open_connections" && h != "h2_backend_open_streams" {
					out[row[0]+"/"+h] = row[i]
				}
			}
		}
		return out
	}
	for _, d := range []diffSide{hs, bs} {
		for i := 0; i < 3; i++ {
			if b := d.get(t, "x", "/"); b != "ok" {
				t.Fatalf("%s: GET through the h2 server: %q", d.name, b)
			}
		}
		for i := 0; i < 2; i++ {
			if out, err := exec.Command(curl, "-s", "--http2-prior-knowledge", "http://127.0.0.1:"+h2ports[d.name]+"/").Output(); err != nil || string(out) != "ok" {
				t.Fatalf("%s: curl over h2: %q %v", d.name, out, err)
			}
		}
		h2Errors(t, h2ports[d.name])
		for i := 0; h2cols(d)["h2fe/h2_detected_conn_protocol_errors"] != "1"; i++ {
			if i == 100 {
				t.Fatalf("%s: streams not counted: %v", d.name, h2cols(d))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	h, b := h2cols(hs), h2cols(bs)
	if len(h) != 3*11 || h["h2fe/h2_goaway_resp"] == "0" || h["h2fe/h2_rst_stream_resp"] == "0" {
		t.Fatalf("haproxy's h2 columns: %v", h)
	}
	for k, v := range h {
		if b[k] != v {
			t.Errorf("%s: haproxy %s, bulwark %s", k, v, b[k])
		}
	}
}

// h2Errors opens an HTTP/2 connection that makes a stream error (an
// upper-case header name), resets a stream of its own, and then a
// connection error (a CONTINUATION frame out of sequence), reading until
// the server closes.
func h2Errors(t *testing.T, port string) {
	t.Helper()
	c := dialT(t, port)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	block := func(path string, extra ...string) []byte {
		hb.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", path}, {":authority", "x"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		for i := 0; i+1 < len(extra); i += 2 {
			enc.WriteField(hpack.HeaderField{Name: extra[i], Value: extra[i+1]})
		}
		return append([]byte(nil), hb.Bytes()...)
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("/", "Bad-Name", "v"), EndStream: true, EndHeaders: true})
	// Stream 3 is held by a tarpit, so the client's reset reaches either
	// proxy before any answer: answered at once, the answer would race
	// the reset, and a proxy that answered first ends the stream with a
	// RST_STREAM of its own.
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block("/wait"), EndStream: false, EndHeaders: true})
	fr.WriteRSTStream(3, http2.ErrCodeCancel)
	fr.WriteContinuation(5, true, []byte{0x82})
	io.Copy(io.Discard, c)
}
