package ecslog_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/ecslog"
	"bulwark/internal/logging"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
)

// Every line a frontend with bulwark-log-json sends to a syslog receiver
// is one JSON object with the ECS fields, for HTTP and TCP sessions, and
// stays valid JSON for request targets that are not UTF-8.
func TestJSONLinesEndToEnd(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer app.Close()
	cfg := fmt.Sprintf(`
defaults
    timeout client 5s
    timeout connect 1s
    timeout server 5s
    log %s format raw local0
.if feature(BULWARK)
    bulwark-log-json
.endif
frontend web
    mode http
    bind 127.0.0.1:0
    capture request header User-Agent len 64
    default_backend app
frontend raw
    mode tcp
    bind 127.0.0.1:0
    default_backend tcpapp
backend app
    mode http
    server s1 %s
backend tcpapp
    mode tcp
    server s1 %s
`, pc.LocalAddr(), app.Listener.Addr(), app.Listener.Addr())
	// Listeners opened here and handed over as fd@N: HAProxy's syntax
	// has no port 0.
	inherited := map[int]net.Listener{}
	for i := 0; strings.Contains(cfg, "127.0.0.1:0\n"); i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		inherited[1000+i] = l
		cfg = strings.Replace(cfg, "127.0.0.1:0\n", fmt.Sprintf("fd@%d\n", 1000+i), 1)
	}
	ast, ds := config.Parse("t.cfg", []byte(cfg), config.LexOptions{})
	m, cds := model.Compile(ast, model.Options{})
	pl, pds := plan.Compile(m, plan.Options{})
	if ds = append(append(ds, cds...), pds...); ds.HasAlerts() {
		t.Fatal(ds)
	}
	lg, err := logging.New(pl)
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	px := proxy.New(proxy.Options{Log: lg.Log, Inherited: inherited})
	rt, err := px.Build(pl)
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	}()
	web, raw := inherited[1000].Addr().String(), inherited[1001].Addr().String()

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
	send(web, "GET /a?b=c HTTP/1.1\r\nHost: x\r\nUser-Agent: probe/1.0 \"quoted\"\r\nConnection: close\r\n\r\n")
	send(web, "GET /caf\xe9\x01 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	send(raw, "GET / HTTP/1.0\r\n\r\n")

	var lines []map[string]any
	buf := make([]byte, 8192)
	for len(lines) < 3 {
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d lines: %v", len(lines), err)
		}
		var obj map[string]any
		if err := json.Unmarshal(buf[:n], &obj); err != nil {
			t.Fatalf("not JSON: %q: %v", buf[:n], err)
		}
		lines = append(lines, obj)
	}
	get := func(obj map[string]any, path string) any {
		var v any = obj
		for _, k := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		}
		return v
	}
	first := lines[0]
	for path, want := range map[string]any{
		"http.request.method":              "GET",
		"url.original":                     "/a?b=c",
		"http.version":                     "1.1",
		"http.response.status_code":        float64(200),
		"haproxy.frontend_name":            "web",
		"haproxy.backend_name":             "app",
		"haproxy.server_name":              "s1",
		"haproxy.termination_state":        "--",
		"client.ip":                        "127.0.0.1",
		"event.outcome":                    "success",
		"ecs.version":                      ecslog.ECSVersion,
		"haproxy.captured_request_headers": `{probe/1.0 #22quoted#22}`, // HAProxy escapes captures
		"user_agent.original":              `probe/1.0 "quoted"`,
	} {
		if got := get(first, path); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, get(first, "@timestamp").(string)); err != nil {
		t.Errorf("@timestamp: %v", err)
	}
	tcp := lines[2]
	if get(tcp, "haproxy.frontend_name") != "raw" || get(tcp, "http") != nil || get(tcp, "event.category").([]any)[0] != "network" {
		t.Errorf("tcp line: %v", tcp)
	}
}

// Control characters, quotes and invalid UTF-8 are escaped as JSON.
func TestStringEscaping(t *testing.T) {
	e := &proxy.LogEntry{Start: time.Unix(0, 0), Frontend: "f\"e\\\x01\xff", Term: "--", Ta: -1, TR: -1, Tw: -1, Tc: -1, Tr: -1}
	b := ecslog.Append(nil, e)
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if got := obj["haproxy"].(map[string]any)["frontend_name"]; got != "f\"e\\\x01\ufffd" {
		t.Errorf("frontend_name %q", got)
	}
}

// selfSigned writes a certificate and key for name into one PEM file.
func selfSigned(t *testing.T, name string) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	f := filepath.Join(t.TempDir(), "site.pem")
	os.WriteFile(f, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...), 0o600)
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return f, pool
}

// On TLS binds, HTTP and TCP, the JSON line carries the protocol
// version, the cipher suite (IANA name) and the SNI the client asked.
func TestJSONLinesTLS(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer app.Close()
	crt, pool := selfSigned(t, "www.bulwark.test")
	cfg := fmt.Sprintf(`
defaults
    timeout client 5s
    timeout connect 1s
    timeout server 5s
    log %s format raw local0
.if feature(BULWARK)
    bulwark-log-json
.endif
frontend web
    mode http
    bind 127.0.0.1:0 ssl crt %s
    default_backend app
frontend raw
    mode tcp
    bind 127.0.0.1:0 ssl crt %s ssl-max-ver TLSv1.2
    default_backend tcpapp
backend app
    mode http
    server s1 %s
backend tcpapp
    mode tcp
    server s1 %s
`, pc.LocalAddr(), crt, crt, app.Listener.Addr(), app.Listener.Addr())
	inherited := map[int]net.Listener{}
	for i := 0; strings.Contains(cfg, "127.0.0.1:0 "); i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		inherited[1000+i] = l
		cfg = strings.Replace(cfg, "127.0.0.1:0 ", fmt.Sprintf("fd@%d ", 1000+i), 1)
	}
	ast, ds := config.Parse("t.cfg", []byte(cfg), config.LexOptions{})
	m, cds := model.Compile(ast, model.Options{})
	pl, pds := plan.Compile(m, plan.Options{})
	if ds = append(append(ds, cds...), pds...); ds.HasAlerts() {
		t.Fatal(ds)
	}
	lg, err := logging.New(pl)
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	px := proxy.New(proxy.Options{Log: lg.Log, Inherited: inherited})
	rt, err := px.Build(pl)
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
	}()
	for _, addr := range []string{inherited[1000].Addr().String(), inherited[1001].Addr().String()} {
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.bulwark.test", RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		io.ReadAll(c)
		c.Close()
	}
	want := map[string][2]string{"web": {"1.3", "TLS_"}, "raw": {"1.2", "TLS_ECDHE_"}}
	buf := make([]byte, 8192)
	for i := 0; i < 2; i++ {
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		var obj struct {
			TLS struct {
				Version string `json:"version"`
				Cipher  string `json:"cipher"`
				Client  struct {
					ServerName string `json:"server_name"`
				} `json:"client"`
			} `json:"tls"`
			HAProxy struct {
				Frontend string `json:"frontend_name"`
			} `json:"haproxy"`
		}
		if err := json.Unmarshal(buf[:n], &obj); err != nil {
			t.Fatalf("%q: %v", buf[:n], err)
		}
		w, ok := want[obj.HAProxy.Frontend]
		if !ok || obj.TLS.Version != w[0] || !strings.HasPrefix(obj.TLS.Cipher, w[1]) || obj.TLS.Client.ServerName != "www.bulwark.test" {
			t.Errorf("line %s", buf[:n])
		}
	}
}
