package logging

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// A TCP-mode TLS frontend without any rule logs the client connection's
// and the server connection's TLS sessions through its log-format: the
// fetches read both sides when the session ends, as HAProxy 2.6's do.
func TestTCPLogFormatTLS(t *testing.T) {
	dir := t.TempDir()
	crt, _ := selfSigned(t, dir, "front.test")
	_, backPair := selfSigned(t, dir, "back.test")
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// The server: TLS 1.2 with one suite, so that ssl_bc_* differ from
	// the client side's TLS 1.3; it echoes what it reads. Without tickets
	// every handshake is a full one, which its key log records.
	backKeys := &keyLines{}
	bl, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{backPair}, KeyLogWriter: backKeys, SessionTicketsDisabled: true,
		MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}})
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	go func() {
		for {
			c, err := bl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.Copy(c, c)
			}()
		}
	}()
	cfg := fmt.Sprintf(`
global
    tune.ssl.capture-buffer-size 64
defaults
    mode tcp
    timeout client 5s
    timeout connect 1s
    timeout server 5s
frontend fe
    bind fd@1000 ssl crt %s
    log %s local0
    log-format "TCPTLS %%[ssl_fc]|%%[ssl_fc_protocol]|%%[ssl_fc_cipher]|%%[ssl_fc_sni]|%%[ssl_bc]|%%[ssl_bc_protocol]|%%[ssl_bc_cipher]|%%[ssl_s_s_dn(CN)] %%[ssl_fc_client_random,hex] %%[ssl_bc_client_random,hex] %%[ssl_fc_protocol_hello_id]"
    default_backend be
backend be
    server s %s ssl verify none
`, crt, pc.LocalAddr(), bl.Addr())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inherited := map[int]net.Listener{1000: l}
	startLogged(t, cfg, inherited, Render)
	// Without SNI (an IP address is never sent as one) ssl_fc stays true.
	for _, sni := range []string{"front.test", ""} {
		keys := &keyLines{}
		c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{ServerName: sni, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, KeyLogWriter: keys})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "ping")
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("echo %q %v", buf, err)
		}
		cipher := tls.CipherSuiteName(c.ConnectionState().CipherSuite)
		c.Close()
		var got []string
		for i := 0; i < 15 && len(got) == 0; i++ {
			got = received(pc, 1)
		}
		if sni == "" {
			sni = "-"
		}
		// The randoms as the client and the server logged them.
		want := "TCPTLS 1|TLSv1.3|" + cipher + "|" + sni + "|1|TLSv1.2|ECDHE-ECDSA-AES256-GCM-SHA384|back.test " +
			keys.random("CLIENT_HANDSHAKE_TRAFFIC_SECRET") + " " + backKeys.random("CLIENT_RANDOM") + " 771"
		if len(got) != 1 || !strings.HasSuffix(strings.TrimRight(got[0], "\n"), want) {
			t.Fatalf("got %q\nwant a line ending with %q", got, want)
		}
	}
}

// keyLines is a KeyLogWriter that keeps its last client random per label.
type keyLines struct {
	mu    sync.Mutex
	lines []string
}

func (k *keyLines) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lines = append(k.lines, string(p))
	return len(p), nil
}

func (k *keyLines) random(label string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	r := ""
	for _, l := range k.lines {
		if f := strings.Fields(l); len(f) == 3 && f[0] == label {
			r = strings.ToUpper(f[1])
		}
	}
	return r
}
