package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark/internal/logfmt"
)

// The stream fetches name what served the request: the frontend, the
// bind line, the backend and the server, with their ids, over real
// sockets (HAProxy's reg-tests sample_fetches/so_name and srv_name).
func TestStreamFetches(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 name foo
    http-response set-header X-Names "%[fe_name]/%[be_name]/%[srv_name]/%[so_name]"
    http-response set-header X-Ids "%[fe_id]/%[be_id]/%[srv_id]"
    http-response set-header X-RTT "%[fc_rtt,add(1),bool] %[fc_rtt(us),add(1),bool] %[fc_retrans]"
    http-response set-header X-State "%[srv_is_up(be/other)],%[srv_is_up(be/s1)],%[nbsrv(be)],%[be_conn_free(be)],%[srv_conn_free(be/s1)],%[fe_client_timeout],%[be_server_timeout]"
    default_backend be
backend be
    id 7
    server other 127.0.0.1:1 disabled
    server s1 S1 maxconn 10
`, "S1", s1.addr))
	resp := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
	for _, want := range []string{"X-RTT: 1 1 0\r\n", "X-Names: fe/be/s1/foo\r\n", "X-Ids: 1/7/2\r\n", "X-State: 0,1,1,9,9,5000,5000\r\n"} {
		if !strings.Contains(resp, want) {
			t.Errorf("response lacks %q:\n%s", want, resp)
		}
	}
}

// With "option http-buffer-request" the request rules see the body
// (reg-tests converter/json_query.vtc), and the server still gets it.
func TestRequestBodyFetches(t *testing.T) {
	s1 := newRawBackend(t, answerAfter("}", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    option http-buffer-request
    http-request set-var(txn.iss) req.body,json_query('$.iss')
    http-request set-var(txn.len) req.body_len
    http-request set-var(txn.p) req.body_param(b)
    http-response set-header X-Body "%[var(txn.iss)]|%[var(txn.len)]|%[var(txn.p)]"
    default_backend be
backend be
    server s1 S1
`, "S1", s1.addr))
	body := `{"iss":"me","b":1}`
	resp := rawRequest(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\nConnection: close\r\n\r\n"+body, 5*time.Second)
	if !strings.Contains(resp, "X-Body: me|18|\r\n") {
		t.Errorf("response:\n%s", resp)
	}
	if got := lastRequest(s1); !strings.HasSuffix(got, "\r\n\r\n"+body) {
		t.Errorf("server received %q", got)
	}
}

// In TCP mode req.payload feeds the protocol converters: a valid MQTT
// CONNECT is forwarded unchanged, a PINGREQ first is rejected before any
// server connection (reg-tests converter/mqtt.vtc, client side).
func TestPayloadMQTT(t *testing.T) {
	s1 := newRawBackend(t, nil)
	_, addr := startProxy(t, sub(baseDefaults+`
listen mq
    mode tcp
    bind 127.0.0.1:0
    tcp-request inspect-delay 2s
    tcp-request content reject unless { req.payload(0,0),mqtt_is_valid }
    tcp-request content reject unless { req.payload(0,0),mqtt_field_value(connect,username) -m str test }
    tcp-request content reject unless { req.len gt 20 }
    server s1 S1
`, "S1", s1.addr))
	connect, _ := hex.DecodeString("101a00044d51545404c2003c00000004746573740006706173737764")
	sendRaw(t, addr, string(connect), true)
	if conns(s1) != 1 || lastRequest(s1) != string(connect) {
		t.Fatalf("valid CONNECT: %d server connections, last %x", conns(s1), lastRequest(s1))
	}
	sendRaw(t, addr, "\xd0\x00", true)
	if conns(s1) != 1 {
		t.Fatalf("PINGREQ reached the server (%d connections)", conns(s1))
	}
}

// "option logasap": the line goes out once the response head is sent,
// while the server still holds the body back, and only once.
func TestLogASAP(t *testing.T) {
	s1 := newRawBackend(t, func(in []byte, sent int) (string, bool) {
		if sent > 0 || !strings.Contains(string(in), "\r\n\r\n") {
			return "", false
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", true
	})
	type seen struct {
		asap  bool
		bytes int64
	}
	lines := make(chan seen, 4)
	_, addr := startProxyWith(t, sub(`
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 500ms
frontend fe
    bind 127.0.0.1:0
    log stdout local0
    option logasap
    default_backend be
backend be
    server s1 S1
`, "S1", s1.addr), Options{Log: func(e *LogEntry) { lines <- seen{e.ASAP, e.BytesOut} }})
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	select {
	case l := <-lines:
		if !l.asap || l.bytes == 0 {
			t.Fatalf("early line %+v", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no line before the body ended")
	}
	c.Close()
	select {
	case l := <-lines:
		t.Fatalf("a second line was logged: %+v", l)
	case <-time.After(1500 * time.Millisecond): // past "timeout server", when the session ends
	}
}

// testRender stands for the logging package's renderer (production's
// Options.Render): text, samples and, for any variable, the client
// address, enough to see that a format was rendered.
func testRender(dst []byte, f *logfmt.Format, e *LogEntry) []byte {
	for _, n := range f.Nodes {
		switch n.Kind {
		case logfmt.Variable:
			dst = append(dst, addrPort(e.Client).Addr().String()...)
		case logfmt.Sample:
			v, _ := n.Expr.Sample(e.Eval)
			dst = append(dst, v.B...)
		case logfmt.Text:
			dst = append(dst, n.Text...)
		}
	}
	return dst
}

// unique-id-format is rendered once per request: the server gets it as
// unique-id-header, the rules read it with the unique-id fetch, and the
// log entry carries it (%ID).
func TestUniqueID(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	ids := make(chan string, 1)
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    log stdout local0
    unique-id-format "%{+X}o %ci-%[req.hdr(x-n)]"
    unique-id-header X-Unique-ID
    http-response set-header X-ID %[unique-id]
    default_backend be
backend be
    server s1 S1
`, "S1", s1.addr), Options{
		Log:    func(e *LogEntry) { ids <- e.UniqueID },
		Render: testRender,
	})
	resp := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nX-N: 42\r\nConnection: close\r\n\r\n", 5*time.Second)
	if !strings.Contains(resp, "X-ID: 127.0.0.1-42\r\n") {
		t.Fatalf("response:\n%s", resp)
	}
	if got := lastRequest(s1); !strings.Contains(got, "\r\nX-Unique-ID: 127.0.0.1-42\r\n") {
		t.Fatalf("server received %q", got)
	}
	if id := <-ids; id != "127.0.0.1-42" {
		t.Fatalf("log entry UniqueID %q", id)
	}
}

// With error-log-format, a failed TLS handshake becomes a log entry for
// the frontend's targets, marked as a connection error.
func TestErrorLogFormat(t *testing.T) {
	crt, _ := writeCert(t, "localhost")
	got := make(chan *LogEntry, 1)
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT
    log stdout local0
    error-log-format "%ci %[fc_err] %[fc_err_str]"
    http-request return status 200
`, "CRT", crt), Options{Log: func(e *LogEntry) { got <- e }})
	sendRaw(t, addr, "GET / HTTP/1.1\r\n\r\n", true)
	select {
	case e := <-got:
		if !e.ConnError || e.Eval == nil {
			t.Fatalf("entry %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no log entry for the failed handshake")
	}
}

// The ssl_fc_* and ssl_c_* fetches describe the client's TLS session
// and certificate, over a real handshake with a client certificate.
func TestSSLFetches(t *testing.T) {
	srvCrt, pool := writeCert(t, "www.bulwark.test")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cliCrt := filepath.Join(t.TempDir(), "client.pem")
	os.WriteFile(cliCrt, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...), 0o600)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	leaf, _ := x509.ParseCertificate(der)
	_, addr := startProxy(t, sub(`
global
    tune.ssl.capture-buffer-size 8
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt SRV verify optional ca-file CA
    http-request return status 200 hdr X-CL "%[ssl_fc_cipherlist_str(1)]|%[ssl_fc_cipherlist_hex(1)]" hdr X-TLS "%[ssl_fc],%[ssl_fc_protocol],%[ssl_fc_cipher],%[ssl_fc_alg_keysize],%[ssl_c_used],%[ssl_c_verify]" hdr X-Cert "%[ssl_c_s_dn],%[ssl_c_i_dn(CN)],%[ssl_c_serial,hex],%[ssl_c_version],%[ssl_c_key_alg],%[ssl_c_sig_alg],%[ssl_c_notafter]" hdr X-SHA1 "%[ssl_c_sha1,hex]" hdr X-F "%[ssl_f_s_dn(CN)],%[ssl_f_version],%[ssl_f_key_alg]"
`, "SRV", srvCrt, "CA", caFile))
	pair, err := tls.LoadX509KeyPair(cliCrt, cliCrt)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.bulwark.test", RootCAs: pool, Certificates: []tls.Certificate{pair},
		MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	out, _ := io.ReadAll(c)
	sum := sha1.Sum(leaf.Raw)
	for _, want := range []string{
		"X-TLS: 1,TLSv1.2,ECDHE-ECDSA-AES128-GCM-SHA256,128,1,0\r\n",
		"X-Cert: /CN=client.test,client.test,01,3,id-ecPublicKey,ecdsa-with-SHA256," + leaf.NotAfter.UTC().Format("060102150405Z") + "\r\n",
		"X-SHA1: " + strings.ToUpper(hex.EncodeToString(sum[:])) + "\r\n",
		// The client offers one suite (and Go no GREASE): 2 bytes of the
		// 8 the capture keeps.
		"X-CL: ECDHE-ECDSA-AES128-GCM-SHA256|C02B\r\n",
		"X-F: www.bulwark.test,3,id-ecPublicKey\r\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("response lacks %q:\n%s", want, out)
		}
	}
}

// cur_server_timeout and cur_tunnel_timeout report what "http-request
// set-timeout" set for this request, be_* the backend's own values
// (reg-tests http-set-timeout/set_timeout.vtc).
func TestCurTimeoutFetches(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-response set-header X-T "%[be_server_timeout] %[cur_server_timeout] %[be_tunnel_timeout] %[cur_tunnel_timeout]"
    default_backend be
backend be
    timeout tunnel 7s
    http-request set-timeout server int(3),mul(1000) if { path /set }
    http-request set-timeout tunnel 9s if { path /set }
    server s1 S1
`, "S1", s1.addr))
	for path, want := range map[string]string{"/set": "X-T: 5000 3000 7000 9000\r\n", "/": "X-T: 5000 5000 7000 7000\r\n"} {
		resp := rawRequest(t, addr, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
		if !strings.Contains(resp, want) {
			t.Errorf("%s: response lacks %q:\n%s", path, want, resp)
		}
	}
}
