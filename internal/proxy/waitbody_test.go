package proxy

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// "http-request wait-for-body" waits for a body of no declared length too:
// an HTTP/1.1 chunked one, and an HTTP/2 one whose HEADERS frame has no
// END_STREAM and no content-length (HAProxy waits for "the payload" until
// it is complete, at-least bytes or the buffer is full, whatever its
// framing). The rules after it see the body, which reaches the server
// chunked, whole.
func TestWaitForBodyUnknownLength(t *testing.T) {
	b := newRawBackend(t, func(in []byte, sent int) (string, bool) {
		return okResp, bytes.Count(in, []byte("\r\n0\r\n\r\n")) > sent
	})
	inh := map[int]net.Listener{}
	var addrs []string
	for fd := 2000; fd < 2002; fd++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		inh[fd] = l
		addrs = append(addrs, l.Addr().String())
	}
	addr, h2addr := addrs[0], addrs[1]
	startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind fd@2000
    bind fd@2001 proto h2
    http-request wait-for-body time 3s if { path /wait }
    http-request wait-for-body time 3s at-least 4 if { path /least }
    http-request wait-for-body time 200ms if { path /stall }
    http-request set-header x-body "%[req.body]"
    default_backend be
backend be
    server s B
`, "B", b.addr), Options{Inherited: inh})
	seen := 0
	check := func(t *testing.T, what, want string) {
		t.Helper()
		var got string
		waitFor(t, func() bool {
			got = b.received()[seen:]
			return strings.HasSuffix(got, "\r\n0\r\n\r\n")
		}, what+": the whole chunked body at the server")
		seen += len(got)
		head, _, _ := strings.Cut(got, "\r\n\r\n")
		if !strings.Contains(strings.ToLower(head), "\r\nx-body: "+want+"\r\n") {
			t.Errorf("%s: the rules saw req.body %q, want %q (server got %q)", what, head, want, got)
		}
	}

	for _, tc := range []struct{ path, first, rest, want string }{
		{"/wait", "", "0123456789", "0123456789"},
		// 4 bytes with the head: no waiting for the rest.
		{"/least", "0123", "456789", "0123"},
	} {
		t.Run("h1"+tc.path, func(t *testing.T) {
			c := dial(t, addr)
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			first := ""
			if tc.first != "" {
				first = "4\r\n" + tc.first + "\r\n"
			}
			io.WriteString(c, "POST "+tc.path+" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+first)
			time.Sleep(300 * time.Millisecond)
			io.WriteString(c, "6\r\n"+tc.rest[:6]+"\r\n")
			if r := tc.rest[6:]; r != "" {
				io.WriteString(c, "4\r\n"+r+"\r\n")
			}
			io.WriteString(c, "0\r\n\r\n")
			resp := make([]byte, 12)
			io.ReadFull(c, resp)
			if !bytes.HasPrefix(resp, []byte("HTTP/1.1 200")) {
				t.Fatalf("response %q", resp)
			}
			check(t, "h1 "+tc.path, tc.want)
		})
		t.Run("h2"+tc.path, func(t *testing.T) {
			fr, c := h2Dial(t, h2addr)
			defer c.Close()
			h2Headers(t, fr, 1, "POST", tc.path, false)
			if tc.first != "" {
				fr.WriteData(1, false, []byte(tc.first))
			}
			time.Sleep(300 * time.Millisecond)
			fr.WriteData(1, true, []byte(tc.rest))
			if st := h2Status(t, fr, 1); st != "200" {
				t.Fatalf("status %s", st)
			}
			check(t, "h2 "+tc.path, tc.want)
		})
	}
	// A body that does not come in time is a 408, as with a length.
	t.Run("h1/stall", func(t *testing.T) {
		out := rawRequest(t, addr, "POST /stall HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n01\r\n", 5*time.Second)
		if statusOf(out) != 408 {
			t.Errorf("%q", out)
		}
	})
	t.Run("h2/stall", func(t *testing.T) {
		fr, c := h2Dial(t, h2addr)
		defer c.Close()
		h2Headers(t, fr, 1, "POST", "/stall", false)
		fr.WriteData(1, false, []byte("01"))
		if st := h2Status(t, fr, 1); st != "408" {
			t.Errorf("status %s", st)
		}
	})
	if got := b.received()[seen:]; got != "" {
		t.Errorf("the stalled requests reached the server: %q", got)
	}
}

func h2Dial(t *testing.T, addr string) (*http2.Framer, io.Closer) {
	t.Helper()
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	return fr, c
}

func h2Headers(t *testing.T, fr *http2.Framer, id uint32, method, path string, end bool) {
	t.Helper()
	var blk bytes.Buffer
	enc := hpack.NewEncoder(&blk)
	for _, f := range [][2]string{{":method", method}, {":scheme", "http"}, {":authority", "x"}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk.Bytes(), EndStream: end, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// h2Status reads frames until the response HEADERS of stream id.
func h2Status(t *testing.T, fr *http2.Framer, id uint32) string {
	t.Helper()
	dec := hpack.NewDecoder(4096, nil)
	for i := 0; i < 100; i++ {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			if f.StreamID != id {
				continue
			}
			fs, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			for _, hf := range fs {
				if hf.Name == ":status" {
					return hf.Value
				}
			}
		case *http2.RSTStreamFrame:
			t.Fatalf("stream reset: %v", f.ErrCode)
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY: %v", f.ErrCode)
		}
	}
	t.Fatal("no response HEADERS")
	return ""
}
