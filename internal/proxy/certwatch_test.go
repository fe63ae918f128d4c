package proxy

import (
	"crypto/tls"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// With bulwark-crt-watch, a certificate file replaced on disk is served
// to new connections without a reload, and an open connection keeps the
// certificate it has.
func TestCrtWatchServesReplacedFile(t *testing.T) {
	crt, _ := writeCert(t, "www.bulwark.test")
	var mu sync.Mutex
	var events []string
	cfg := `
global
.if feature(BULWARK)
    bulwark-crt-watch 20ms
.endif
defaults
    mode http
    timeout client 5s
frontend tls
    bind 127.0.0.1:0 ssl crt ` + crt + `
    http-request deny
`
	_, addr := startProxyWith(t, cfg, Options{Event: func(m string) { mu.Lock(); events = append(events, m); mu.Unlock() }})
	dial := func() *tls.Conn {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.bulwark.test", InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	leaf := func(c *tls.Conn) string { return string(c.ConnectionState().PeerCertificates[0].Raw) }
	open := dial()
	defer open.Close()
	before := leaf(open)
	// The new certificate, renamed over the old file as certbot does.
	other, _ := writeCert(t, "www.bulwark.test")
	data, _ := os.ReadFile(other)
	os.WriteFile(crt+".new", data, 0o600)
	if err := os.Rename(crt+".new", crt); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		seen := strings.Contains(strings.Join(events, "\n"), "certificates reloaded")
		mu.Unlock()
		if seen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reload; events %v", events)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c := dial()
	after := leaf(c)
	c.Close()
	if after == before {
		t.Fatal("new connections still get the old certificate")
	}
	if leaf(open) != before {
		t.Fatal("the open connection's certificate changed")
	}
}
