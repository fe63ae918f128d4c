package proxy

//lint:file-ignore SA1019 golang.org/x/net/http2 is the HTTP/2 server this project uses on purpose: net/http cannot serve one connection that the proxy has already accepted and handshaken.

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
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
