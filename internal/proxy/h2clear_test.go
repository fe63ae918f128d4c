package proxy

//lint:file-ignore SA1019 golang.org/x/net/http2 is the HTTP/2 client these tests use on purpose (prior knowledge over clear TCP).

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"bulwark/internal/testtool"
)

// priorKnowledge is an HTTP/2 client that speaks h2 from the first byte
// over clear TCP, and never retries.
func priorKnowledge() *http.Client {
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// "bind ... proto h2" in clear text: the client's h2 request reaches an
// HTTP/1 server as HTTP/1.1 with its fields and body, and the answer
// comes back on the stream.
func TestH2ClearPriorKnowledge(t *testing.T) {
	b := newRawBackend(t, answerAfter("payload", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-From: be\r\n\r\nok"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 proto h2
    http-request set-header X-Seen-Proto %[req.ver]
    default_backend be
backend be
    server s B
`, "B", b.addr))
	req, _ := http.NewRequest("POST", "http://"+addr+"/up?x=1", strings.NewReader("payload"))
	req.Header.Set("X-Test", "v1")
	client := priorKnowledge()
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != "ok" || resp.Header.Get("X-From") != "be" {
		t.Fatalf("got %s %d %q %v", resp.Proto, resp.StatusCode, body, resp.Header)
	}
	got := b.received()
	head, rest, _ := strings.Cut(got, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	if lines[0] != "POST /up?x=1 HTTP/1.1" {
		t.Fatalf("request line %q in %q", lines[0], got)
	}
	for _, want := range []string{"host: " + addr, "x-test: v1", "content-length: 7", "X-Seen-Proto: 2.0"} {
		found := false
		for _, l := range lines[1:] {
			found = found || strings.EqualFold(l, want)
		}
		if !found {
			t.Errorf("no %q in the head the server got: %q", want, head)
		}
	}
	if rest != "payload" {
		t.Errorf("body the server got %q", rest)
	}
}

// curl's own HTTP/2 client, by prior knowledge, on the same kind of bind.
func TestH2ClearCurl(t *testing.T) {
	curl := testtool.Path(t, "curl")
	if out, _ := exec.Command(curl, "--version").Output(); !bytes.Contains(out, []byte("HTTP2")) {
		testtool.Missing(t, "curl without HTTP/2")
	}
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 proto h2
    default_backend be
backend be
    server s B
`, "B", b.addr))
	out, err := exec.Command(curl, "-sS", "--max-time", "5", "--http2-prior-knowledge", "-H", "X-Curl: 1",
		"-w", "\n%{http_version} %{http_code}", "http://"+addr+"/c").CombinedOutput()
	if err != nil || string(out) != "hello\n2 200" {
		t.Fatalf("curl: %v %q", err, out)
	}
	if got := b.received(); !strings.HasPrefix(got, "GET /c HTTP/1.1\r\n") || !strings.Contains(strings.ToLower(got), "\r\nx-curl: 1\r\n") {
		t.Fatalf("server got %q", got)
	}
}

// An HTTP/1 request on a "proto h2" bind is not served: as in HAProxy 2.6
// the connection closes (FIN, no frame, no response) and the line logged
// is a <BADREQ> with PR--; the server sees nothing. The same goes for a
// TLS bind whatever ALPN chose, while an h2 client there is served.
func TestH2ClearRefusesHTTP1(t *testing.T) {
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	crt, pool := writeCert(t, "h2c.example.test")
	var mu sync.Mutex
	var lines []string
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsAddr := tl.Addr().String()
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 proto h2
    bind fd@9 ssl crt CRT alpn http/1.1 proto h2
    log stdout format raw local0
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt), Options{Log: func(e *LogEntry) {
		mu.Lock()
		lines = append(lines, e.Request+" "+e.Term+" "+e.Server)
		mu.Unlock()
	}, Inherited: map[int]net.Listener{9: tl}})
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || len(got) != 0 {
		t.Fatalf("HTTP/1 on a proto h2 bind: read %q, %v; want nothing, then EOF", got, err)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(lines) == 1 }, "a log line")
	if lines[0] != "<BADREQ> PR <NOSRV>" {
		t.Fatalf("logged %q", lines[0])
	}

	// TLS: ALPN says http/1.1, the bind still speaks h2.
	dialTLS := func() *tls.Conn {
		tc, err := tls.Dial("tcp", tlsAddr, &tls.Config{RootCAs: pool, ServerName: "h2c.example.test", NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		if p := tc.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
			t.Fatalf("ALPN %q", p)
		}
		return tc
	}
	tc := dialTLS()
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(tc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	got, err = io.ReadAll(tc)
	tc.Close()
	if len(got) != 0 || err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("HTTP/1 on a TLS proto h2 bind: read %q, %v", got, err)
	}
	tc = dialTLS()
	defer tc.Close()
	cc, err := (&http2.Transport{}).NewClientConn(tc)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "https://h2c.example.test/tls", nil)
	resp, err := cc.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("h2 on the TLS proto h2 bind: %d %q", resp.StatusCode, body)
	}
	if got := b.received(); got == "" || !strings.HasPrefix(got, "GET /tls HTTP/1.1\r\n") {
		t.Fatalf("server got %q", got)
	}
}

// The first frames of the server are its SETTINGS and the ACK of the
// client's, as from HAProxy 2.6 (VTest's h2 clients expect exactly that);
// the connection window opens with the first DATA frame, so a body larger
// than the initial 65535-byte windows still goes through.
func TestH2ClearFirstFrames(t *testing.T) {
	b := newRawBackend(t, answerAfter("\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 proto h2
    default_backend be
backend be
    server s B
`, "B", b.addr))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	for i, wantAck := range []bool{false, true} {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		sf, ok := f.(*http2.SettingsFrame)
		if !ok || sf.IsAck() != wantAck {
			t.Fatalf("frame %d: %v, want SETTINGS (ack %v)", i, f.Header(), wantAck)
		}
	}
	c.Close()

	client := priorKnowledge()
	defer client.CloseIdleConnections()
	body := strings.Repeat("x", 300000)
	resp, err := client.Post("http://"+addr+"/big", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	waitFor(t, func() bool { return strings.HasSuffix(b.received(), body) }, "the whole body at the server")
}
