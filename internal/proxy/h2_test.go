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
	"testing"

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
