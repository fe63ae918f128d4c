package cli

import (
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bulwark/internal/lifecycle"
)

// genConfig serves every request through the backend, which names the
// configuration generation in X-Gen; a TCP stats socket on apiPort is
// handed from generation to generation. extra ends the file.
func genConfig(port, apiPort int, server, gen, extra string) string {
	return proxyConfig("    stats socket 127.0.0.1:"+strconv.Itoa(apiPort)+" level admin\n", port, server) +
		"    http-response set-header X-Gen " + gen + "\n" + extra
}

// genServed asks the proxy on port for a response of generation gen. The
// previous generation may still accept a connection or two until it has
// seen its stop, hence the bounded loop; it asserts nothing about speed.
func genServed(port int, gen string) (string, bool) {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	last := ""
	for i := 0; i < 100; i++ {
		resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if last = resp.Header.Get("X-Gen"); last == gen {
				return last, true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return last, false
}

// waitOutput waits until the process output holds n occurrences of s.
func waitOutput(p proc, s string, n int) bool {
	for i := 0; i < 250; i++ {
		if strings.Count(p.output(), s) >= n {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// A real bulwark process reloads on SIGHUP and SIGUSR2: the new
// configuration serves; a broken file, and one that fails only once
// sockets are taken over, leave the running configuration serving and the
// next good reload working.
func TestSignalReloadEndToEnd(t *testing.T) {
	bin := buildBulwark(t)
	dir := t.TempDir()
	srv := backendServer(t)
	port, api := freeTCPPort(t), freeTCPPort(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := writeConfig(t, dir, genConfig(port, api, srv, "one", ""))
	p := startBulwark(t, bin, port, []string{lifecycle.AllowRootEnv + "=1"}, nil, "-f", cfg)
	if g, ok := genServed(port, "one"); !ok {
		t.Fatalf("X-Gen %q at start:\n%s", g, p.output())
	}
	reload := func(sig syscall.Signal, text, want string, ok int, alerts int) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(p.pid, sig); err != nil {
			t.Fatal(err)
		}
		if !waitOutput(p, "reloaded the configuration", ok) || !waitOutput(p, "reload: ", alerts) {
			t.Fatalf("no outcome of the reload (%d reloads, %d failures expected):\n%s", ok, alerts, p.output())
		}
		if g, served := genServed(port, want); !served {
			t.Fatalf("X-Gen %q after %v, want %q:\n%s", g, sig, want, p.output())
		}
	}
	reload(syscall.SIGHUP, genConfig(port, api, srv, "two", ""), "two", 1, 0)
	// -c rejects this one (in the backend): nothing changes.
	reload(syscall.SIGHUP, genConfig(port, api, srv, "bad", "    balance hdr\n"), "two", 1, 1)
	// This one checks clean and fails at bind time, after the stats
	// socket was taken over from the running generation.
	reload(syscall.SIGUSR2, genConfig(port, api, srv, "late", "frontend late\n    bind "+busy.Addr().String()+"\n    default_backend be\n"), "two", 1, 2)
	reload(syscall.SIGUSR2, genConfig(port, api, srv, "three", ""), "three", 2, 2)
}
