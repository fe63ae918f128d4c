package logging

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/logfmt"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
)

// Every line that frontends send is parsed by the grammar of its format:
// RFC 5424 with the structured data of log-format-sd over octet-counted
// TCP, RFC 3164 over UDP, and ECS JSON as the MSG of RFC 5424 lines.
func TestEveryLineParses(t *testing.T) {
	rcv := newReceiver(t, "127.0.0.1:0", true)
	defer rcv.stop()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
		}
		io.WriteString(w, "hello")
	}))
	defer app.Close()
	cfg := fmt.Sprintf(`
global
    log-send-hostname h1
.if feature(BULWARK)
    bulwark-log-framing octet-count
.endif
defaults
    mode http
    timeout client 5s
    timeout connect 1s
    timeout server 5s
frontend web
    bind 127.0.0.1:0
    log tcp@%s len 4096 format rfc5424 local0
    log %s local1
    option httplog
    capture request header X-Probe len 64
    log-format-sd [req@32473\ status=\"%%ST\"\ method=\"%%HM\"\ probe=\"%%{+E}hr\"][conn@32473\ client=\"%%ci\"]
    default_backend app
frontend json
    bind 127.0.0.1:0
    log tcp@%s len 4096 format rfc5424 local2
    log-format-sd [json@32473\ fe=\"%%f\"]
.if feature(BULWARK)
    bulwark-log-json
.endif
    default_backend app
backend app
    server s1 %s
`, rcv.addr, pc.LocalAddr(), rcv.addr, app.Listener.Addr())
	inherited := map[int]net.Listener{}
	for i := 0; strings.Contains(cfg, "127.0.0.1:0\n"); i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		inherited[1000+i] = l
		cfg = strings.Replace(cfg, "127.0.0.1:0\n", fmt.Sprintf("fd@%d\n", 1000+i), 1)
	}
	startLogged(t, cfg, inherited, nil)
	web, jsonFE := inherited[1000].Addr().String(), inherited[1001].Addr().String()
	send := func(addr, req string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte(req))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.ReadAll(c)
	}
	probes := []string{`plain`, `a]b"c\d`, `]]]`}
	for _, p := range probes {
		send(web, "GET /missing HTTP/1.1\r\nHost: x\r\nX-Probe: "+p+"\r\nConnection: close\r\n\r\n")
	}
	send(jsonFE, "GET /j HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

	// RFC 3164 lines over UDP, one per request of web.
	for i := range probes {
		line := readUDP(t, pc)
		m, err := parse3164(line, true)
		if err != nil {
			t.Fatalf("UDP line %d: %v", i, err)
		}
		if m.Pri != 17*8+6 || m.Host != "h1" || !strings.Contains(m.Msg, "web app/s1") || !strings.Contains(m.Msg, " 404 ") {
			t.Errorf("UDP line %d: %+v", i, m)
		}
	}
	// RFC 5424 lines over TCP: three of web (in order), one of json.
	var webLines []msg5424
	var jsonLine *msg5424
	for i := 0; i < len(probes)+1; i++ {
		f := rcv.next(t)
		m, err := parse5424(f)
		if err != nil {
			t.Fatalf("TCP frame %d: %v: %q", i, err, f)
		}
		if m.Pri == 18*8+6 {
			jsonLine = &m
		} else {
			webLines = append(webLines, m)
		}
	}
	if len(webLines) != len(probes) || jsonLine == nil {
		t.Fatalf("%d web lines, json line %v", len(webLines), jsonLine != nil)
	}
	for i, m := range webLines {
		if m.Pri != 16*8+6 || m.Host != "h1" || len(m.SD) != 2 {
			t.Fatalf("web line %d: %+v", i, m)
		}
		// The capture is in braces; quotes in it HAProxy-escaped (#22).
		want := [][2]string{{"status", "404"}, {"method", "GET"}, {"probe", "{" + strings.ReplaceAll(probes[i], `"`, "#22") + "}"}}
		if m.SD[0].ID != "req@32473" || fmt.Sprint(m.SD[0].Params) != fmt.Sprint(want) {
			t.Errorf("web line %d: SD %v, want %v", i, m.SD[0].Params, want)
		}
		if m.SD[1].ID != "conn@32473" || m.SD[1].Params[0] != [2]string{"client", "127.0.0.1"} {
			t.Errorf("web line %d: SD %v", i, m.SD[1])
		}
		if !strings.Contains(m.Msg, `"GET /missing HTTP/1.1"`) || !strings.Contains(m.Msg, "{"+strings.ReplaceAll(probes[i], `"`, "#22")+"}") {
			t.Errorf("web line %d: MSG %q", i, m.Msg)
		}
	}
	if len(jsonLine.SD) != 1 || jsonLine.SD[0].Params[0] != [2]string{"fe", "json"} {
		t.Errorf("json line SD %v", jsonLine.SD)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(jsonLine.Msg), &obj); err != nil {
		t.Fatalf("json line MSG is not JSON: %q: %v", jsonLine.Msg, err)
	}
	if obj["haproxy"].(map[string]any)["frontend_name"] != "json" || obj["url"].(map[string]any)["original"] != "/j" {
		t.Errorf("json line %v", obj)
	}
}

// startLogged compiles cfg, starts its logger and the proxy on the
// inherited listeners, and stops both when the test ends. render is the
// proxy's log renderer (nil: the proxy's own).
func startLogged(t *testing.T, cfg string, inherited map[int]net.Listener, render func([]byte, *logfmt.Format, *proxy.LogEntry) []byte) {
	t.Helper()
	ast, ds := config.Parse("t.cfg", []byte(cfg), config.LexOptions{})
	m, cds := model.Compile(ast, model.Options{})
	pl, pds := plan.Compile(m, plan.Options{})
	if ds = append(append(ds, cds...), pds...); ds.HasAlerts() {
		t.Fatal(ds)
	}
	lg, err := New(pl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	px := proxy.New(proxy.Options{Log: lg.Log, Render: render, Inherited: inherited})
	rt, err := px.Build(pl)
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	})
}
