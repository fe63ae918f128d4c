package proxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

const compressionCfg = `
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    compression algo gzip deflate
    compression type text/html text/plain
    compression offload
    server s B
`

// compressionAnswers are the server's responses, by request path.
var compressionAnswers = map[string]string{
	"/text":      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: \"v1\"\r\nContent-Length: %d\r\n\r\n%s",
	"/chunked":   "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n",
	"/css":       "HTTP/1.1 200 OK\r\nContent-Type: text/css\r\nContent-Length: %d\r\n\r\n%s",
	"/encoded":   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: br\r\nContent-Length: %d\r\n\r\n%s",
	"/notrans":   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-transform\r\nContent-Length: %d\r\n\r\n%s",
	"/notfound":  "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
	"/twoetags":  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: \"a\"\r\nETag: \"b\"\r\nContent-Length: %d\r\n\r\n%s",
	"/weak-etag": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: W/\"w\"\r\nContent-Length: %d\r\n\r\n%s",
}

var compressionBody = strings.Repeat("Bulwark speaks HAProxy's language. ", 300)

// compressionBackend answers each request head from compressionAnswers.
func compressionBackend(t *testing.T) *rawBackend {
	return newRawBackend(t, func(in []byte, sent int) (string, bool) {
		heads := bytes.Split(in, []byte("\r\n\r\n"))
		if len(heads)-1 <= sent {
			return "", false
		}
		line, _, _ := bytes.Cut(heads[sent], []byte("\r\n"))
		f := bytes.Fields(line)
		path := string(f[1])
		ans, ok := compressionAnswers[path]
		if !ok {
			return "HTTP/1.1 500 x\r\nContent-Length: 0\r\n\r\n", true
		}
		if path == "/chunked" {
			return fmt.Sprintf(ans, len(compressionBody), compressionBody), true
		}
		return fmt.Sprintf(ans, len(compressionBody), compressionBody), true
	})
}

type compressed struct {
	status  int
	headers map[string]string // lower-case names; repeated fields joined with "|"
	body    string            // decoded
	trailer string
	raw     int // body bytes on the wire
}

// getCompressed sends one request on a fresh connection and decodes what
// comes back, checking the chunked framing with net/http's reader (not a
// client: nothing is retried).
func getCompressed(t *testing.T, addr, path, ae string) compressed {
	t.Helper()
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: x\r\n"
	if ae != "" {
		req += "Accept-Encoding: " + ae + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer resp.Body.Close()
	wire, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: body: %v", path, err)
	}
	out := compressed{status: resp.StatusCode, headers: map[string]string{}, raw: len(wire)}
	for k, v := range resp.Header {
		out.headers[strings.ToLower(k)] = strings.Join(v, "|")
	}
	if len(resp.TransferEncoding) > 0 {
		out.headers["transfer-encoding"] = strings.Join(resp.TransferEncoding, ",")
	}
	for k, v := range resp.Trailer {
		out.trailer += k + ": " + strings.Join(v, ",")
	}
	var r io.Reader = bytes.NewReader(wire)
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		r, err = gzip.NewReader(r)
	case "deflate":
		r, err = zlib.NewReader(r)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: decoding %s: %v", path, resp.Header.Get("Content-Encoding"), err)
	}
	out.body = string(body)
	return out
}

func TestCompressionOverSockets(t *testing.T) {
	b := compressionBackend(t)
	_, addr := startProxy(t, sub(baseDefaults+compressionCfg, "B", b.addr))
	for _, tc := range []struct {
		path, ae string
		enc      string // expected Content-Encoding, "" for none
		etag     string
	}{
		{"/text", "gzip", "gzip", `W/"v1"`},
		{"/text", "gzip;q=0.5, deflate", "deflate", `W/"v1"`},
		{"/text", "br", "", `"v1"`},
		{"/text", "", "", `"v1"`},
		{"/chunked", "gzip", "gzip", ""},
		{"/css", "gzip", "", ""},
		{"/encoded", "gzip", "br", ""},
		{"/notrans", "gzip", "", ""},
		{"/notfound", "gzip", "", ""},
		{"/twoetags", "gzip", "", `"a"|"b"`},
		{"/weak-etag", "gzip", "gzip", `W/"w"`},
	} {
		got := getCompressed(t, addr, tc.path, tc.ae)
		name := tc.path + " " + tc.ae
		if got.headers["content-encoding"] != tc.enc {
			t.Errorf("%s: Content-Encoding %q, want %q", name, got.headers["content-encoding"], tc.enc)
		}
		if tc.enc == "br" {
			continue
		}
		if got.body != compressionBody {
			t.Errorf("%s: body of %d bytes differs from the server's", name, len(got.body))
		}
		if tc.etag != "" && got.headers["etag"] != tc.etag {
			t.Errorf("%s: ETag %q, want %q", name, got.headers["etag"], tc.etag)
		}
		if tc.enc != "" {
			if got.headers["vary"] != "Accept-Encoding" || got.headers["content-length"] != "" ||
				got.headers["transfer-encoding"] != "chunked" {
				t.Errorf("%s: headers %v", name, got.headers)
			}
			if got.raw > len(compressionBody)/4 {
				t.Errorf("%s: %d bytes on the wire for %d of repetitive text", name, got.raw, len(compressionBody))
			}
		} else if got.headers["vary"] != "" {
			t.Errorf("%s: Vary %q on an uncompressed response", name, got.headers["vary"])
		}
		if tc.path == "/chunked" && tc.enc != "" && got.trailer != "X-Trailer: t" {
			t.Errorf("%s: trailers %q", name, got.trailer)
		}
	}
	// compression offload: the server never saw an Accept-Encoding it
	// could have answered with an encoded body.
	if rec := strings.ToLower(b.received()); strings.Contains(rec, "accept-encoding: gzip") {
		t.Errorf("Accept-Encoding reached the server despite 'compression offload':\n%s", rec)
	}
	// Without offload the field goes on.
	b2 := compressionBackend(t)
	_, addr2 := startProxy(t, sub(baseDefaults+strings.Replace(compressionCfg, "    compression offload\n", "", 1), "B", b2.addr))
	getCompressed(t, addr2, "/text", "gzip")
	if !strings.Contains(strings.ToLower(b2.received()), "accept-encoding: gzip") {
		t.Errorf("Accept-Encoding removed without 'compression offload':\n%s", b2.received())
	}
}

// A response the server streams reaches the client as it comes: the first
// part is decodable before the server sends the rest.
func TestCompressionStreams(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	release := make(chan struct{})
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nevent1\r\n")
		<-release
		io.WriteString(c, "6\r\nevent2\r\n0\r\n\r\n")
	}()
	_, addr := startProxy(t, sub(baseDefaults+compressionCfg, "B", l.Addr().String()))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /s HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("not compressed: %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("gzip header did not arrive before the rest of the body: %v", err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(zr, buf); err != nil || string(buf) != "event1" {
		t.Fatalf("first event: %q %v", buf, err)
	}
	close(release)
	rest, err := io.ReadAll(zr)
	if err != nil || string(rest) != "event2" {
		t.Fatalf("rest: %q %v", rest, err)
	}
}

// haproxyBin finds Debian's haproxy for a differential test, or skips
// (fails under BULWARK_REQUIRE_TOOLS=1).
func haproxyBin(t *testing.T) string {
	t.Helper()
	return testtool.Path(t, "haproxy", "/usr/sbin/haproxy")
}

// startHAProxy runs the real HAProxy on cfg, with the listener handed over
// as fd@3, and returns its address.
func startHAProxy(t *testing.T, cfg string) string {
	t.Helper()
	return startHAProxyProbe(t, cfg, "")
}

// startHAProxyProbe is startHAProxy for a listener whose connections must
// start with prefix (a PROXY header) before the readiness probe's request.
func startHAProxyProbe(t *testing.T, cfg, prefix string) string {
	t.Helper()
	bin := haproxyBin(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(path, []byte(strings.Replace(cfg, "127.0.0.1:0", "fd@3", 1)), 0o600)
	cmd := exec.Command(bin, "-db", "-f", path)
	cmd.ExtraFiles = []*os.File{f}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy stderr:\n%s", stderr.String())
		}
	})
	// The listening socket exists already; wait until HAProxy answers.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			io.WriteString(c, prefix+"GET /__probe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			b, _ := io.ReadAll(c)
			c.Close()
			if len(b) > 0 {
				return l.Addr().String()
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("haproxy did not start: %s", stderr.String())
	return ""
}

// HAProxy and Bulwark, on one configuration and the same server answers,
// compress the same responses, with the same headers, to the same bytes
// once decoded.
func TestCompressionAgreesWithHAProxy(t *testing.T) {
	b := compressionBackend(t)
	cfg := sub(baseDefaults+compressionCfg, "B", b.addr)
	hap := startHAProxy(t, cfg)
	_, bw := startProxy(t, cfg)
	paths := make([]string, 0, len(compressionAnswers))
	for p := range compressionAnswers {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for _, ae := range []string{"gzip", "deflate", "*;q=0, gzip;q=0.500, deflate;q=0.750", "identity", ""} {
			want, got := getCompressed(t, hap, p, ae), getCompressed(t, bw, p, ae)
			name := p + " [" + ae + "]"
			if want.status != got.status || want.body != got.body || want.trailer != got.trailer {
				t.Errorf("%s: haproxy %d %d bytes trailer %q, bulwark %d %d bytes trailer %q", name,
					want.status, len(want.body), want.trailer, got.status, len(got.body), got.trailer)
			}
			for _, h := range []string{"content-encoding", "vary", "etag", "content-length", "transfer-encoding", "content-type", "cache-control"} {
				if want.headers[h] != got.headers[h] {
					t.Errorf("%s: %s: haproxy %q, bulwark %q", name, h, want.headers[h], got.headers[h])
				}
			}
		}
	}
}

// res.comp and res.comp_algo tell http-after-response rules (and logs)
// (http-response rules too: TestResCompInResponseRulesAgreesWithHAProxy)
// whether and how Bulwark compresses the response: true and the
// algorithm for a compressed one, false and no algorithm for a response
// sent as the server gave it (a type not listed, a client that accepts
// no listed encoding).
func TestResCompFetches(t *testing.T) {
	b := compressionBackend(t)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    compression algo gzip deflate
    compression type text/plain
    http-after-response set-header x-comp %[res.comp]
    http-after-response set-header x-algo "<%[res.comp_algo]>"
    server s B
`, "B", b.addr))
	for _, tc := range []struct{ path, ae, comp, algo string }{
		{"/text", "gzip", "1", "<gzip>"},
		{"/text", "deflate", "1", "<deflate>"},
		{"/text", "br", "0", "<>"},
		{"/css", "gzip", "0", "<>"},
	} {
		got := getCompressed(t, addr, tc.path, tc.ae)
		if got.headers["x-comp"] != tc.comp || got.headers["x-algo"] != tc.algo || got.body != compressionBody {
			t.Errorf("%s %s: res.comp %q res.comp_algo %q (body ok %v), want %q %q", tc.path, tc.ae,
				got.headers["x-comp"], got.headers["x-algo"], got.body == compressionBody, tc.comp, tc.algo)
		}
	}
}

// As in HAProxy, compression is decided on the server's response before
// the http-response rules: those of the frontend and the backend read
// the outcome with res.comp and res.comp_algo, a rule that changes
// Content-Type or removes Content-Encoding changes nothing of it, and the
// compression's own header changes come after every rule (not visible to
// http-after-response either). Both proxies run the same configuration.
func TestResCompInResponseRulesAgreesWithHAProxy(t *testing.T) {
	b := compressionBackend(t)
	cfg := sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request set-var(txn.ae) req.hdr(accept-encoding)
    http-response set-header x-resp-comp %[res.comp]
    http-response set-header x-resp-algo "<%[res.comp_algo]>"
    http-response set-header x-resp-ce "<%[res.hdr(content-encoding)]>"
    http-after-response set-header x-after-comp %[res.comp]
    http-after-response set-header x-after-ce "<%[res.hdr(content-encoding)]>"
    default_backend be
backend be
    compression algo gzip deflate
    compression type text/plain
    http-response set-header x-be-comp %[res.comp]
    http-response set-header content-type image/png if { var(txn.ae) -m sub deflate }
    http-response del-header content-encoding if { var(txn.ae) -m sub deflate }
    server s B
`, "B", b.addr)
	hap := startHAProxy(t, cfg)
	_, bw := startProxy(t, cfg)
	for _, p := range []string{"/text", "/css", "/encoded", "/notfound"} {
		for _, ae := range []string{"gzip", "deflate", "br", ""} {
			want, got := getCompressed(t, hap, p, ae), getCompressed(t, bw, p, ae)
			name := p + " [" + ae + "]"
			if want.status != got.status || want.body != got.body {
				t.Errorf("%s: haproxy %d %d bytes, bulwark %d %d bytes", name, want.status, len(want.body), got.status, len(got.body))
			}
			for _, h := range []string{"x-resp-comp", "x-resp-algo", "x-resp-ce", "x-be-comp", "x-after-comp", "x-after-ce",
				"content-encoding", "content-type", "vary", "etag", "content-length"} {
				if want.headers[h] != got.headers[h] {
					t.Errorf("%s: %s: haproxy %q, bulwark %q", name, h, want.headers[h], got.headers[h])
				}
			}
		}
	}
}

// A response an "http-response wait-for-body" rule buffered is compressed
// all the same, the buffered part first, as HAProxy does.
func TestCompressionAfterWaitForBodyAgreesWithHAProxy(t *testing.T) {
	b := compressionBackend(t)
	cfg := sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    compression algo gzip
    compression type text/plain
    http-response wait-for-body time 1s
    http-response set-header x-len %[res.body_len]
    server s B
`, "B", b.addr)
	hap := startHAProxy(t, cfg)
	_, bw := startProxy(t, cfg)
	for _, p := range []string{"/text", "/css"} {
		want, got := getCompressed(t, hap, p, "gzip"), getCompressed(t, bw, p, "gzip")
		if want.status != got.status || want.body != got.body || got.body != compressionBody {
			t.Errorf("%s: haproxy %d %d bytes, bulwark %d %d bytes", p, want.status, len(want.body), got.status, len(got.body))
		}
		for _, h := range []string{"content-encoding", "x-len", "content-length", "transfer-encoding", "vary"} {
			if want.headers[h] != got.headers[h] {
				t.Errorf("%s: %s: haproxy %q, bulwark %q", p, h, want.headers[h], got.headers[h])
			}
		}
	}
}
