package proxy

//lint:file-ignore SA1019 golang.org/x/net/http2 is the HTTP/2 server this project uses on purpose: net/http cannot serve one connection that the proxy has already accepted and handshaken.

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// HTTP/2 clients on a TLS bind with "alpn h2,http/1.1" go through the same
// rules and routing as HTTP/1.1 ones, bodies both ways.
func TestHTTP2Frontend(t *testing.T) {
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Proto-Seen", r.Proto)
		io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" "+string(body)+" host="+r.Host)
	})
	crt, pool := writeCert(t, "h2.example.test")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT alpn h2,http/1.1
    http-request deny if { path /forbidden }
    http-response set-header X-Via bulwark
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt))
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "h2.example.test"}}
	client := &http.Client{Transport: tr}
	resp, err := client.Post("https://"+addr+"/up?x=1", "text/plain", bytes.NewBufferString("payload"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("client spoke %s, want HTTP/2", resp.Proto)
	}
	if want := "POST /up?x=1 payload host=h2.example.test"; !strings.HasPrefix(string(body), "POST /up?x=1 payload") {
		t.Fatalf("body %q, want %q", body, want)
	}
	if resp.Header.Get("X-Via") != "bulwark" || resp.Header.Get("X-Proto-Seen") != "HTTP/1.1" {
		t.Fatalf("headers %v", resp.Header)
	}
	resp, err = client.Get("https://" + addr + "/forbidden")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("/forbidden over h2: %d, want 403", resp.StatusCode)
	}
	// Several concurrent streams on one connection.
	done := make(chan error, 10)
	for i := 0; i < 10; i++ {
		go func() {
			r, err := client.Get("https://" + addr + "/c")
			if err == nil {
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				if r.StatusCode != 200 {
					err = io.ErrUnexpectedEOF
				}
			}
			done <- err
		}()
	}
	for i := 0; i < 10; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// The HTTP/2 side passes the server's response header fields as they are:
// no Content-Type sniffed from the body (which would defeat
// "X-Content-Type-Options: nosniff"), no Date or Content-Length the server
// did not send, and the server's own values byte for byte.
func TestHTTP2ResponseHeadersNotInvented(t *testing.T) {
	const html = "<html><body><script>alert(1)</script></body></html>" // 51 = 0x33 bytes
	cases := []struct {
		name string
		resp string
		want map[string][]string // nil value: the field must be absent
	}{
		{"no content-type, nosniff",
			"HTTP/1.1 200 OK\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 51\r\n\r\n" + html,
			map[string][]string{"Content-Type": nil, "Date": nil, "X-Content-Type-Options": {"nosniff"}, "Content-Length": {"51"}}},
		{"chunked, no content-type",
			"HTTP/1.1 200 OK\r\nX-Content-Type-Options: nosniff\r\nTransfer-Encoding: chunked\r\n\r\n33\r\n" + html + "\r\n0\r\n\r\n",
			map[string][]string{"Content-Type": nil, "Date": nil, "Content-Length": nil}},
		{"server's content-type and date",
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain;CHARSET=iso-8859-1 ; x=\"a b\"\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT\r\nContent-Length: 51\r\n\r\n" + html,
			map[string][]string{"Content-Type": {`text/plain;CHARSET=iso-8859-1 ; x="a b"`}, "Date": {"Mon, 01 Jan 2001 00:00:00 GMT"}}},
		{"empty content-type",
			"HTTP/1.1 200 OK\r\nContent-Type:\r\nContent-Length: 51\r\n\r\n" + html,
			map[string][]string{"Content-Type": {""}}},
	}
	crt, pool := writeCert(t, "h2.example.test")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			be := newRawBackend(t, answerEachHead(tc.resp))
			_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT alpn h2,http/1.1
    default_backend be
backend be
    server s B
`, "B", be.addr, "CRT", crt))
			// A fresh transport and a single RoundTrip: nothing retries,
			// so what the client sees is the one response to this request.
			tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "h2.example.test"}}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest("GET", "https://"+addr+"/page", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("request failed: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != html {
				t.Fatalf("%s %d body %q", resp.Proto, resp.StatusCode, body)
			}
			for name, want := range tc.want {
				got, ok := resp.Header[name]
				if want == nil && ok {
					t.Errorf("%s: %q added, the server sent none", name, got)
				}
				if want != nil && !slices.Equal(got, want) {
					t.Errorf("%s: got %q, want %q", name, got, want)
				}
			}
			if got := be.received(); strings.Count(got, "GET ") != 1 || !strings.HasPrefix(got, "GET /page HTTP/1.1\r\n") {
				t.Fatalf("server saw %q, want the one request", got)
			}
		})
	}
}

// Request bodies larger than any buffer on the way, of declared and of
// unknown length (sent chunked to the server), arrive whole and in order.
func TestHTTP2LargeRequestBody(t *testing.T) {
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sum := 0
		for i, c := range body {
			sum = (sum*31 + int(c) + i) % 1000003
		}
		io.WriteString(w, strconv.Itoa(len(body))+" "+strconv.Itoa(sum)+" "+strings.Join(r.TransferEncoding, ","))
	})
	crt, pool := writeCert(t, "h2.example.test")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT alpn h2,http/1.1
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt))
	payload := make([]byte, 1<<20+12345)
	for i := range payload {
		payload[i] = byte(i*7 + i/251)
	}
	sum := 0
	for i, c := range payload {
		sum = (sum*31 + int(c) + i) % 1000003
	}
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "h2.example.test"}}
	defer tr.CloseIdleConnections()
	for _, tc := range []struct {
		name   string
		body   func() io.Reader
		wantTE string
	}{
		{"content-length", func() io.Reader { return bytes.NewReader(payload) }, ""},
		// A reader that is neither a bytes.Reader nor a strings.Reader: the
		// client sends no length, the proxy sends it chunked.
		{"unknown length", func() io.Reader {
			return io.MultiReader(bytes.NewReader(payload[:1000]), bytes.NewReader(payload[1000:]))
		}, "chunked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", "https://"+addr+"/up", tc.body())
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := strconv.Itoa(len(payload)) + " " + strconv.Itoa(sum) + " " + tc.wantTE; string(got) != want {
				t.Fatalf("server saw %q, want %q", got, want)
			}
		})
	}
}

// Streams of one HTTP/2 connection are served one after the other by the
// same session and stream objects (h2Conn.free, freeSt): each must still
// start as a stream of its own. Variables, request fields and response
// fields of an earlier stream do not carry over, and the server
// connection kept between them is used again.
func TestH2StreamsStartAfresh(t *testing.T) {
	var mu sync.Mutex
	var seen []string // the field names of each request but X-One, and X-One's value ("-" when absent)
	b := newTestServer(t, "b", func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get("X-One")
		if v == "" {
			v = "-"
		}
		var names []string
		for k := range r.Header {
			if k != "X-One" {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		mu.Lock()
		seen = append(seen, strings.Join(names, ",")+" x-one="+v)
		mu.Unlock()
		if r.URL.Path == "/set" {
			w.Header().Set("X-Resp-One", "1")
		}
		io.WriteString(w, r.URL.Path)
	})
	crt, pool := writeCert(t, "h2.example.test")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT alpn h2,http/1.1
    http-request set-var(sess.s) str(sess-set) if { path /set }
    http-request set-var(txn.t) str(txn-set) if { path /set }
    http-response set-header X-Sess %[var(sess.s)]
    http-response set-header X-Txn %[var(txn.t)]
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt))
	tc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "h2.example.test", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	// One client connection for every request: nothing is retried on
	// another one.
	cc, err := (&http2.Transport{}).NewClientConn(tc)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", "https://h2.example.test"+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := cc.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != path {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, body)
		}
		return resp
	}
	r1 := get("/set", "X-One", "1")
	if r1.Header.Get("X-Sess") != "sess-set" || r1.Header.Get("X-Txn") != "txn-set" || r1.Header.Get("X-Resp-One") != "1" {
		t.Fatalf("first stream: headers %v", r1.Header)
	}
	for i := 0; i < 3; i++ {
		r := get("/get")
		if v := r.Header.Get("X-Sess"); v != "" {
			t.Fatalf("stream %d after /set: X-Sess %q, want empty (a stream's variables are its own)", i+2, v)
		}
		if v := r.Header.Get("X-Txn"); v != "" {
			t.Fatalf("stream %d after /set: X-Txn %q, want empty", i+2, v)
		}
		if _, ok := r.Header["X-Resp-One"]; ok {
			t.Fatalf("stream %d: X-Resp-One of the first response carried over: %v", i+2, r.Header)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 4 {
		t.Fatalf("the server saw %d requests, want 4", len(seen))
	}
	names, _, _ := strings.Cut(seen[0], " ")
	if want := []string{names + " x-one=1", names + " x-one=-", names + " x-one=-", names + " x-one=-"}; !slices.Equal(seen, want) {
		t.Fatalf("fields seen by the server per request:\n%q\nwant\n%q", seen, want)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	conns := map[string]bool{}
	for _, r := range b.reqs {
		conns[r.RemoteAddr] = true
	}
	if len(conns) != 1 {
		t.Fatalf("the server saw %d connections, want 1 (kept between the streams)", len(conns))
	}
}
