package proxy

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// A bind with "proto h2" speaks cleartext HTTP/2 by prior knowledge. The
// server's first frames are its SETTINGS, then the ACK of the client's
// (the connection window is widened only after it), as HAProxy sends them
// and VTest's h2 scripts expect; the request reaches the server as
// HTTP/1.1.
func TestH2PriorKnowledgeBind(t *testing.T) {
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 proto h2
    http-request set-header X-Proto %[req.ver]
    default_backend be
backend be
    server s B
`, "B", b.addr))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for len(kinds) < 2 {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %v: %v", kinds, err)
		}
		k := f.Header().Type.String()
		if sf, ok := f.(*http2.SettingsFrame); ok && sf.IsAck() {
			k += "+ACK"
		}
		kinds = append(kinds, k)
	}
	if got := strings.Join(kinds, ","); got != "SETTINGS,SETTINGS+ACK" {
		t.Fatalf("first frames %s, want SETTINGS,SETTINGS+ACK", got)
	}
	fr.WriteSettingsAck()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "example"}, {Name: ":path", Value: "/p?q=1"}} {
		enc.WriteField(f)
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	status, body := "", ""
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":status" {
			status = f.Value
		}
	})
	for i := 0; i < 20; i++ {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		if hf, ok := f.(*http2.HeadersFrame); ok && hf.StreamID == 1 {
			dec.Write(hf.HeaderBlockFragment())
		}
		if df, ok := f.(*http2.DataFrame); ok && df.StreamID == 1 {
			body += string(df.Data())
		}
		if f.Header().StreamID == 1 && f.Header().Flags.Has(http2.FlagDataEndStream) {
			break
		}
	}
	if status != "200" || body != "ok" {
		t.Fatalf("status %q body %q, want 200 ok", status, body)
	}
	if got := b.received(); !strings.HasPrefix(got, "GET /p?q=1 HTTP/1.1\r\n") || !strings.Contains(got, "\r\nX-Proto: 2.0\r\n") {
		t.Fatalf("server received %q", got)
	}
}
