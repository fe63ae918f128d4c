package proxy

import (
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"bulwark/internal/testtool"
)

// HAProxy 2.6 as the PROXY-protocol client of Bulwark and as its server,
// both versions: the client's address and port go through either way, as
// the receiving side's src/src_port, and a v2 header with a CRC32C and a
// unique ID from Bulwark passes HAProxy's checks (fc_pp_unique_id). curl's
// --haproxy-protocol header is read as well.
func TestProxyProtocolWithHAProxy(t *testing.T) {
	req := "GET /p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	t.Run("haproxy in front", func(t *testing.T) {
		for _, opt := range []string{"send-proxy", "send-proxy-v2 proxy-v2-options crc32c"} {
			b := newRawBackend(t, answerEachHead(okResp))
			_, bw := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 accept-proxy
    http-request set-header X-Src %[src]:%[src_port]
    http-request set-header X-Rcvd %[fc_rcvd_proxy]
    default_backend be
backend be
    server s B
`, "B", b.addr))
			hap := startHAProxy(t, baseDefaults+`
listen l
    bind 127.0.0.1:0
    server bw `+bw+" "+opt+"\n")
			c := dial(t, hap)
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte(req))
			out := readAllString(c)
			if !strings.HasPrefix(out, "HTTP/1.1 200") {
				t.Fatalf("%s: %q", opt, out)
			}
			// startHAProxy's readiness probe went through as well: the
			// request of interest is the last one.
			got := b.received()
			got = got[strings.LastIndex(got, "GET /p "):]
			if want := "X-Src: " + c.LocalAddr().String() + "\r\nX-Rcvd: 1\r\n"; !strings.Contains(got, want) {
				t.Errorf("%s: bulwark's server got %q, want %q", opt, got, want)
			}
		}
	})
	t.Run("haproxy behind", func(t *testing.T) {
		hap := startHAProxyProbe(t, baseDefaults+`
frontend fe
    bind 127.0.0.1:0 accept-proxy
    http-request set-var(txn.uid) fc_pp_unique_id
    http-after-response set-header x-src "%[src]:%[src_port]"
    http-after-response set-header x-uid "<%[var(txn.uid)]>"
    http-after-response set-header x-rcvd "%[fc_rcvd_proxy]"
    http-request return status 200
`, "PROXY TCP4 127.0.0.1 127.0.0.1 1 1\r\n")
		for _, opt := range []string{"send-proxy", "send-proxy-v2 proxy-v2-options crc32c,unique-id"} {
			_, bw := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    unique-id-format U-%[path]
    default_backend be
backend be
    server h H `+opt+"\n", "H", hap), Options{Render: testRender})
			c := dial(t, bw)
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte(req))
			out := strings.ToLower(readAllString(c))
			want := "x-src: " + c.LocalAddr().String() + "\r\n"
			if strings.Contains(opt, "unique-id") {
				want += "x-uid: <u-/p>\r\n"
			} else {
				want += "x-uid: <>\r\n"
			}
			want += "x-rcvd: 1\r\n"
			if !strings.HasPrefix(out, "http/1.1 200") || !strings.Contains(out, want) {
				t.Errorf("%s: haproxy answered %q, want %q", opt, out, want)
			}
		}
	})
	t.Run("curl", func(t *testing.T) {
		curl := testtool.Path(t, "curl")
		b := newRawBackend(t, answerEachHead(okResp))
		_, bw := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 accept-proxy
    http-request set-header X-Rcvd %[fc_rcvd_proxy]
    http-request set-header X-Dst %[dst]
    default_backend be
backend be
    server s B
`, "B", b.addr))
		out, err := exec.Command(curl, "-s", "--max-time", "5", "--haproxy-protocol", "http://"+bw+"/c").CombinedOutput()
		if err != nil || string(out) != "ok" {
			t.Fatalf("curl: %v %q", err, out)
		}
		if got := b.received(); !strings.Contains(got, "X-Rcvd: 1\r\nX-Dst: 127.0.0.1\r\n") {
			t.Fatalf("server got %q", got)
		}
	})
}

func readAllString(c net.Conn) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for i := 0; i < 1000; i++ {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}
