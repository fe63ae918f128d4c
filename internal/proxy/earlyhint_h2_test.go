package proxy

import (
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
)

// On an HTTP/2 stream the 103 of early-hint rules is an interim HEADERS
// frame before the final response.
func TestEarlyHintH2(t *testing.T) {
	_, addr := startProxy(t, baseDefaults+`
frontend fe
    bind 127.0.0.1:0 proto h2
    http-request early-hint Link "</a.css>; rel=preload"
    http-request return status 200 content-type text/plain string ok
`)
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, strconv.Itoa(code)+" "+strings.Join(h["Link"], ","))
		return nil
	}}
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	client := priorKnowledge()
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("final %s %d %q", resp.Proto, resp.StatusCode, body)
	}
	if len(hints) != 1 || hints[0] != "103 </a.css>; rel=preload" {
		t.Fatalf("interim responses %q, want one 103 with the Link", hints)
	}
}
