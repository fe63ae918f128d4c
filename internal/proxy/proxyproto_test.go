package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"bulwark/internal/model"
	"bulwark/internal/proxyproto"
)

const okResp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func ppHex(t testing.TB, s string) string {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// v2 header: PROXY TCP4 127.0.0.1:42 -> 127.0.0.1:1337 with an AUTHORITY
// TLV "12345" (the bytes of HAProxy's proxy_protocol_tlv_validation test).
const v2Auth = "0d0a0d0a000d0a515549540a 21 11 0014 7f000001 7f000001 002a 0539 02 0005 3132333435"

// sendRaw writes raw on a new connection, half-closes it when closeWrite,
// and returns everything the proxy answered before closing.
func sendRaw(t *testing.T, addr, raw string, closeWrite bool) string {
	t.Helper()
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		c.(*net.TCPConn).CloseWrite()
	}
	out, _ := io.ReadAll(c)
	return string(out)
}

const ppEchoFrontend = `
frontend fe
    bind 127.0.0.1:0 accept-proxy
    http-request set-header X-Src %[src]:%[src_port]
    http-request set-header X-Dst %[dst]:%[dst_port]
    http-request set-header X-Auth %[fc_pp_authority]
    http-request set-header X-Rcvd %[fc_rcvd_proxy]
    http-request set-header X-UID %[fc_pp_unique_id]
    http-request set-header X-TLV %[fc_pp_tlv(0xE0)]
    default_backend be
backend be
    server s B
`

// With accept-proxy, src/dst and the TLVs of the header are what rules and
// the server see, for both versions; the request after the header is
// served as usual.
func TestAcceptProxyHTTP(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, addr := startProxy(t, sub(baseDefaults+ppEchoFrontend, "B", b.addr))
	req := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	if out := sendRaw(t, addr, "PROXY TCP4 192.0.2.1 198.51.100.2 4242 80\r\n"+req, false); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("v1: %q", out)
	}
	// v2Auth plus a UNIQUE_ID TLV "id-7" and a custom type 0xE0 "custom".
	v2 := "0d0a0d0a000d0a515549540a 21 11 0024 7f000001 7f000001 002a 0539 02 0005 3132333435 05 0004 69642d37 e0 0006 637573746f6d"
	if out := sendRaw(t, addr, ppHex(t, v2)+req, false); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("v2: %q", out)
	}
	got := b.received()
	for _, want := range []string{
		"X-Src: 192.0.2.1:4242\r\nX-Dst: 198.51.100.2:80\r\nX-Auth: \r\nX-Rcvd: 1\r\n",
		"X-Src: 127.0.0.1:42\r\nX-Dst: 127.0.0.1:1337\r\nX-Auth: 12345\r\nX-Rcvd: 1\r\nX-UID: id-7\r\nX-TLV: custom\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("backend lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "PROXY") || strings.Contains(got, "QUIT") {
		t.Errorf("the header was forwarded:\n%q", got)
	}
}

// A wrong signature, a malformed header, TLVs overflowing the header or
// a truncated one close the connection without a byte in answer and
// without reaching the server.
func TestAcceptProxyBadHeader(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, addr := startProxy(t, sub(baseDefaults+ppEchoFrontend, "B", b.addr))
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	for name, raw := range map[string]string{
		"no header":     req,
		"bad v1":        "PROXY TCP4 192.0.2.1 198.51.100.2 99999 80\r\n" + req,
		"v1 no CRLF":    "PROXY TCP4 192.0.2.1 198.51.100.2 1 80\n" + req,
		"bad signature": ppHex(t, "0d0a0d0a000d0a515549540b 21 11 000c 7f000001 7f000001 002a 0539") + req,
		"TLV overflow":  ppHex(t, "0d0a0d0a000d0a515549540a 21 11 0014 7f000001 7f000001 002a 0539 02 000a 3132333435") + req,
		"TLV leftover":  ppHex(t, "0d0a0d0a000d0a515549540a 21 11 0014 7f000001 7f000001 002a 0539 02 0004 3132333435") + req,
		"truncated v2":  ppHex(t, "0d0a0d0a000d0a515549540a 21 11 0014 7f000001"),
		"truncated v1":  "PROXY TCP4 192.0.2.1",
	} {
		if out := sendRaw(t, addr, raw, true); out != "" {
			t.Errorf("%s: answered %q", name, out)
		}
	}
	if got := b.received(); got != "" {
		t.Fatalf("server reached: %q", got)
	}
}

// "tcp-request connection" rules judge the real peer, before the header:
// a rule may refuse sources, and expect-proxy asks for a header only from
// the sources it names; from others a header is just bad HTTP.
func TestExpectProxyRules(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, trusted := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    tcp-request connection reject unless { src 127.0.0.1 }
    tcp-request connection expect-proxy layer4 if { src 127.0.0.0/8 }
    http-request set-header X-Src %[src]
    default_backend be
backend be
    server s B
`, "B", b.addr))
	req := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	// The header claims 192.0.2.9, which the reject rule would refuse: the
	// rule saw 127.0.0.1.
	if out := sendRaw(t, trusted, "PROXY TCP4 192.0.2.9 198.51.100.2 4242 80\r\n"+req, false); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("trusted source: %q", out)
	}
	if got := b.received(); !strings.Contains(got, "X-Src: 192.0.2.9\r\n") {
		t.Fatalf("backend: %q", got)
	}
	_, untrusted := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    tcp-request connection expect-proxy layer4 if { src 10.0.0.0/8 }
    default_backend be
backend be
    server s B
`, "B", b.addr))
	if out := sendRaw(t, untrusted, "PROXY TCP4 192.0.2.9 198.51.100.2 4242 80\r\n"+req, false); !strings.HasPrefix(out, "HTTP/1.1 400") {
		t.Fatalf("untrusted source: %q", out)
	}
}

// TCP mode: the header's addresses reach the server in the header Bulwark
// sends, and the bytes after the client's header follow unchanged.
func TestProxyProtocolTCP(t *testing.T) {
	b := newRawBackend(t, nil)
	_, addr := startProxy(t, sub(baseDefaults+`
listen l
    mode tcp
    bind 127.0.0.1:0 accept-proxy
    server s B send-proxy
`, "B", b.addr))
	sendRaw(t, addr, "PROXY TCP6 2001:db8::1 2001:db8::2 4242 443\r\nhello", true)
	if got, want := b.received(), "PROXY TCP6 2001:db8::1 2001:db8::2 4242 443\r\nhello"; got != want {
		t.Fatalf("server got %q, want %q", got, want)
	}
}

// send-proxy-v2 with options: the server gets a v2 header with the
// client's addresses, the authority the client's header carried, the
// request's unique-id-format value as unique ID, the SSL TLV (plain connection: no flags) and a valid CRC32C;
// a connection carrying a header is not shared with a client whose
// header would differ (here, by its authority).
func TestSendProxyV2(t *testing.T) {
	// Not answerEachHead: the v2 signature itself holds a CRLFCRLF.
	b := newRawBackend(t, func(in []byte, sent int) (string, bool) {
		return okResp, bytes.Count(in, []byte("Host: x\r\n\r\n")) > sent
	})
	other := newRawBackend(t, answerEachHead(okResp))
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 accept-proxy
    unique-id-format TEST-%[path]
    use_backend other if { path /other }
    default_backend be
backend be
    http-reuse always
    server s B send-proxy-v2 proxy-v2-options authority,crc32c,unique-id,ssl pool-max-conn 10
backend other
    server s O
`, "B", b.addr, "O", other.addr), Options{Render: testRender})
	var first *rawClient
	// The first client's next request goes to another backend, which
	// frees its server connection; under "http-reuse always" the second
	// client would take it, and with it the first client's header.
	for i, path := range []string{"/", "/other", "/"} {
		rc := first
		if i != 1 {
			rc = newRawClient(t, addr)
		}
		if i == 0 {
			first = rc
		}
		switch i {
		case 0:
			io.WriteString(rc.c, ppHex(t, v2Auth))
		case 2:
			io.WriteString(rc.c, ppHex(t, v2Auth[:len(v2Auth)-1]+"6"))
		}
		if st, _, err := rc.do("GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 || err != nil {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
	}
	conns := b.Conns()
	if len(conns) != 2 {
		t.Fatalf("%d server connections, want 2 (one per client)", len(conns))
	}
	for _, in := range conns {
		h, n, err := proxyproto.Parse(in)
		if err != nil {
			t.Fatalf("header %q: %v", in, err)
		}
		if h.Src.String() != "127.0.0.1:42" || h.Dst.String() != "127.0.0.1:1337" {
			t.Errorf("addresses %v %v", h.Src, h.Dst)
		}
		var types []byte
		for _, tlv := range h.TLVs {
			types = append(types, tlv.Type)
		}
		if !bytes.Equal(types, []byte{proxyproto.TypeCRC32C, proxyproto.TypeAuthority, proxyproto.TypeUniqueID, proxyproto.TypeSSL}) {
			t.Errorf("TLV types %x", types)
		}
		if v, _ := h.TLV(proxyproto.TypeAuthority); string(v) != "12345" && string(v) != "12346" {
			t.Errorf("authority %q", v)
		}
		if v, _ := h.TLV(proxyproto.TypeUniqueID); string(v) != "TEST-/" {
			t.Errorf("unique ID %q", v)
		}
		if v, _ := h.TLV(proxyproto.TypeSSL); !bytes.Equal(v, []byte{0, 0, 0, 0, 0}) {
			t.Errorf("SSL TLV %x", v)
		}
		if !strings.HasPrefix(string(in[n:]), "GET / HTTP/1.1\r\n") {
			t.Errorf("after the header: %q", in[n:])
		}
	}
}

// On an ssl bind the PROXY header comes before the ClientHello; the SSL
// TLV sent on tells the server the client used TLS, its version and its
// SNI as authority.
func TestAcceptProxyTLS(t *testing.T) {
	b := newRawBackend(t, answerEachHeadV2(okResp))
	crt, pool := writeCert(t, "pp.example.test")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT accept-proxy
    tcp-request connection reject if { src 192.0.2.7 }
    http-request set-header X-Src %[src]
    default_backend be
backend be
    server s B send-proxy-v2-ssl proxy-v2-options authority
`, "B", b.addr, "CRT", crt))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "PROXY TCP4 192.0.2.7 198.51.100.2 4242 443\r\n")
	tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "pp.example.test", MinVersion: tls.VersionTLS13})
	io.WriteString(tc, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	out, _ := io.ReadAll(tc)
	if !strings.HasPrefix(string(out), "HTTP/1.1 200") {
		t.Fatalf("response %q", out)
	}
	in := []byte(b.received())
	h, n, err := proxyproto.Parse(in)
	if err != nil || h.Src.String() != "192.0.2.7:4242" {
		t.Fatalf("header %q: %v %v", in, h, err)
	}
	if v, _ := h.TLV(proxyproto.TypeAuthority); string(v) != "pp.example.test" {
		t.Errorf("authority %q", v)
	}
	want := append([]byte{proxyproto.ClientSSL, 0, 0, 0, 0}, proxyproto.AppendTLV(nil, proxyproto.SubSSLVersion, []byte("TLSv1.3"))...)
	if v, _ := h.TLV(proxyproto.TypeSSL); !bytes.Equal(v, want) {
		t.Errorf("SSL TLV %x, want %x", v, want)
	}
	if !strings.Contains(string(in[n:]), "X-Src: 192.0.2.7\r\n") {
		t.Errorf("request %q", in[n:])
	}
}

// The SSL TLV of a client that showed a certificate: CERT_CONN and
// CERT_SESS set, and the CN sub-TLV with cert-cn, the cipher with
// ssl-cipher.
func TestSSLTLVClientCert(t *testing.T) {
	st := &tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		PeerCertificates: []*x509.Certificate{{Subject: pkix.Name{CommonName: "client.example"}}}}
	p := &ppSend{v2: true, opts: model.PPv2SSL | model.PPv2CertCN | model.PPv2SSLCipher}
	want := []byte{proxyproto.ClientSSL | proxyproto.ClientCertConn | proxyproto.ClientCertSess, 0, 0, 0, 0}
	want = proxyproto.AppendTLV(want, proxyproto.SubSSLVersion, []byte("TLSv1.2"))
	want = proxyproto.AppendTLV(want, proxyproto.SubSSLCN, []byte("client.example"))
	want = proxyproto.AppendTLV(want, proxyproto.SubSSLCipher, []byte("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"))
	if got := p.sslTLV(st); !bytes.Equal(got, want) {
		t.Fatalf("SSL TLV\n got %x\nwant %x", got, want)
	}
	p.opts = model.PPv2SSL
	if got := p.sslTLV(st); bytes.Contains(got, []byte("client.example")) {
		t.Fatalf("CN sent without cert-cn: %x", got)
	}
}

// HTTP/2 streams see the PROXY header of their connection: the relayed
// source, its TLVs, and the TLS facts (with the ALPN TLV) in the header
// sent on.
func TestAcceptProxyH2(t *testing.T) {
	b := newRawBackend(t, answerEachHeadV2(okResp))
	crt, pool := writeCert(t, "pph2.example.test")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT alpn h2,http/1.1 accept-proxy
    http-request set-header X-Src %[src]:%[src_port]
    http-request set-header X-Auth %[fc_pp_authority]
    default_backend be
backend be
    server s B send-proxy-v2-ssl
`, "B", b.addr, "CRT", crt))
	//lint:ignore SA1019 the h2 client that can dial its own TLS connection after a PROXY header, as in h2_test.go
	tr := &http2.Transport{DialTLSContext: func(ctx context.Context, network, a string, cfg *tls.Config) (net.Conn, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		io.WriteString(c, ppHex(t, v2Auth))
		tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "pph2.example.test", NextProtos: []string{"h2"}})
		return tc, tc.HandshakeContext(ctx)
	}}
	defer tr.CloseIdleConnections() //lint:ignore SA1019 see above
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://pph2.example.test/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	in := []byte(b.received())
	h, n, err := proxyproto.Parse(in)
	if err != nil {
		t.Fatalf("header %q: %v", in, err)
	}
	if v, _ := h.TLV(proxyproto.TypeALPN); string(v) != "h2" {
		t.Errorf("ALPN TLV %q", v)
	}
	if v, _ := h.TLV(proxyproto.TypeSSL); len(v) < 1 || v[0]&proxyproto.ClientSSL == 0 {
		t.Errorf("SSL TLV %x", v)
	}
	if req := string(in[n:]); !strings.Contains(req, "X-Src: 127.0.0.1:42\r\n") || !strings.Contains(req, "X-Auth: 12345\r\n") {
		t.Errorf("request %q", req)
	}
}

// A server connection whose PROXY header carried a request's unique ID
// does not carry the client's next request when that one's ID differs:
// each request gets a connection whose header names it (HAProxy's
// proxy_protocol_send_unique_id reg test). Without the unique-id option
// the client's requests share the connection.
func TestSendProxyV2UniqueIDPerRequest(t *testing.T) {
	for _, opts := range []string{"proxy-v2-options unique-id", ""} {
		b := newRawBackend(t, func(in []byte, sent int) (string, bool) {
			return okResp, bytes.Count(in, []byte("Host: x\r\n\r\n")) > sent
		})
		_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    unique-id-format TEST-%[path]
    default_backend be
backend be
    server s B send-proxy-v2 OPTS
`, "B", b.addr, "OPTS", opts), Options{Render: testRender})
		rc := newRawClient(t, addr)
		for _, path := range []string{"/foo", "/bar", "/bar"} {
			if st, _, err := rc.do("GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); st != 200 || err != nil {
				t.Fatalf("%q: %s: %d %v", opts, path, st, err)
			}
		}
		conns := b.Conns()
		if opts == "" {
			if len(conns) != 1 {
				t.Fatalf("without unique-id: %d server connections, want 1", len(conns))
			}
			continue
		}
		if len(conns) != 2 {
			t.Fatalf("%d server connections, want 2 (/foo, then /bar twice)", len(conns))
		}
		for i, want := range []string{"TEST-/foo", "TEST-/bar"} {
			h, _, err := proxyproto.Parse(conns[i])
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := h.TLV(proxyproto.TypeUniqueID); string(v) != want {
				t.Errorf("connection %d: unique ID %q, want %q", i, v, want)
			}
		}
	}
}

// Bytes after a complete PROXY v2 header are the request: a TLV there is
// a bad request, answered 400 as HAProxy's H1 mux does, without the
// http-after-response rules (no stream exists yet); the same holds for a
// request that does not arrive in time (408). A parsed request still
// gets them.
func TestMuxErrorsSkipAfterResponse(t *testing.T) {
	_, addr := startProxy(t, `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout http-request 300ms
frontend fe
    bind 127.0.0.1:0 accept-proxy
    http-after-response set-header echo %[fc_pp_authority,hex]
    http-request return status 200
`)
	req := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	out := sendRaw(t, addr, ppHex(t, v2Auth)+req, false)
	if statusOf(out) != 200 || !strings.Contains(out, "\r\necho: 3132333435\r\n") {
		t.Fatalf("valid header: %q", out)
	}
	out = sendRaw(t, addr, ppHex(t, v2Auth+" 02 0005 3534333231")+req, false)
	if statusOf(out) != 400 || strings.Contains(strings.ToLower(out), "echo:") {
		t.Errorf("TLV after the header: want a 400 without echo, got %q", out)
	}
	out = sendRaw(t, addr, ppHex(t, v2Auth)+"GET / HTTP/1.1\r\n", false)
	if statusOf(out) != 408 || strings.Contains(strings.ToLower(out), "echo:") {
		t.Errorf("incomplete request: want a 408 without echo, got %q", out)
	}
}

// HAProxy 2.6's three address levels (reg-test connection/cli_src_dst):
// fc_src/fc_dst are the connection's, changed only by "tcp-request
// connection" rules; a PROXY header and "tcp-request session" rules set
// the session's src/dst; stream rules change them for one request only.
func TestAddressLevels(t *testing.T) {
	b := newRawBackend(t, answerEachHead(okResp))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    tcp-request connection set-src ipv4(10.0.0.1)
    tcp-request connection set-dst ipv4(10.0.0.2)
    tcp-request session set-var(sess.cs) fc_src
    tcp-request session set-src ipv4(10.1.0.1)
    tcp-request session set-dst ipv4(10.1.0.2)
    tcp-request session set-var(sess.fs) fc_src
    tcp-request session set-var(sess.fd) fc_dst
    http-request set-src hdr(x-src) if { req.hdr(x-src) -m found }
    http-request set-header X-A "%[var(sess.cs)] %[var(sess.fs)] %[var(sess.fd)] %[fc_src] %[fc_dst] %[src] %[dst]"
    default_backend be
backend be
    server s B
`, "B", b.addr))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: x\r\n"
	io.WriteString(c, req+"x-src: 192.168.0.1\r\n\r\n")
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if i == 0 {
			io.WriteString(c, req+"Connection: close\r\n\r\n")
		}
	}
	got := b.received()
	for _, want := range []string{
		"X-A: 10.0.0.1 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2 192.168.0.1 10.1.0.2\r\n",
		"X-A: 10.0.0.1 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2 10.1.0.1 10.1.0.2\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("backend lacks %q:\n%s", want, got)
		}
	}

	// The PROXY header is read after the connection rules: it sets src
	// and dst, while fc_src keeps the connection rule's address.
	_, paddr := startProxy(t, sub(baseDefaults+`
frontend pp
    bind 127.0.0.1:0 accept-proxy
    tcp-request connection set-src ipv4(10.2.0.1)
    http-request set-header X-P "%[fc_src] %[src]:%[src_port] %[dst]:%[dst_port]"
    default_backend be
backend be
    server s B
`, "B", b.addr))
	if out := sendRaw(t, paddr, ppHex(t, v2Auth)+req+"Connection: close\r\n\r\n", false); statusOf(out) != 200 {
		t.Fatalf("pp: %q", out)
	}
	if got := b.received(); !strings.Contains(got, "X-P: 10.2.0.1 127.0.0.1:42 127.0.0.1:1337\r\n") {
		t.Errorf("pp: backend lacks the PROXY addresses beside fc_src 10.2.0.1:\n%s", got)
	}
}

// answerEachHeadV2 is answerEachHead for a server sent a PROXY v2 header:
// the header's signature holds a CRLFCRLF, which ends no head (counted as
// one, the answer could come before the request had all arrived, and the
// test read what the server received too early).
func answerEachHeadV2(resp string) func([]byte, int) (string, bool) {
	sig := []byte("\r\n\r\n\x00\r\nQUIT\n")
	return func(in []byte, sent int) (string, bool) {
		return resp, bytes.Count(in, []byte("\r\n\r\n"))-bytes.Count(in, sig) > sent
	}
}
