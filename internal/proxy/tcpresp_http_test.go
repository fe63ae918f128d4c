package proxy

import (
	"strings"
	"testing"
	"time"
)

// httpTCPRespProxy starts an HTTP listen section in front of srv with the
// given lines (tcp-response rules and the http-response lines that show
// their variables) and returns its address.
func httpTCPRespProxy(t *testing.T, srv string, lines ...string) string {
	t.Helper()
	cfg := baseDefaults + `
listen l7
    bind 127.0.0.1:0
`
	for _, l := range lines {
		cfg += "    " + l + "\n"
	}
	cfg += "    server s " + srv + "\n"
	_, addr := startProxy(t, cfg)
	return addr
}

const (
	smallResp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	// lateHead and lateBody are a response whose 200-byte body comes
	// after a pause; HAProxy 2.6.12 counts 251 bytes of it (res.len).
	lateHead = "HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n"
)

var lateBody = strings.Repeat("x", 200)

func getVia(t *testing.T, addr string) string {
	t.Helper()
	return rawRequest(t, addr, "GET /p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
}

// In an HTTP proxy the rules run before the response is analysed as HTTP,
// as in HAProxy 2.6: without inspect-delay they decide as soon as the
// server is connected, so res.len is 0 and status finds nothing.
func TestHTTPTCPResponseBeforeData(t *testing.T) {
	srv := newScriptedServer(t, []chunk{{0, smallResp}}, time.Second)
	addr := httpTCPRespProxy(t, srv.addr,
		"tcp-response content set-var(txn.len) res.len",
		"tcp-response content set-var(txn.st) status",
		"tcp-response content set-var(txn.pl) res.payload(0,4)",
		"http-response set-header x-len %[var(txn.len)]",
		"http-response set-header x-st %[var(txn.st)]",
		"http-response set-header x-pl %[var(txn.pl)]",
		"http-response set-header x-st-now %[status]")
	out := getVia(t, addr)
	for _, want := range []string{"HTTP/1.1 200 OK\r\n", "\r\nx-len: 0\r\n", "\r\nx-st: \r\n", "\r\nx-pl: \r\n", "\r\nx-st-now: 200\r\n", "\r\n\r\nhello"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in %q", want, out)
		}
	}
	var got []byte
	for range 100 {
		if got, _ = srv.conn(0); strings.Contains(string(got), "\r\n\r\n") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(string(got), "GET /p HTTP/1.1\r\n") {
		t.Errorf("server got %q", got)
	}
}

// With inspect-delay, a rule that cannot decide on res.len waits for the
// response: the rules run again from the first on the head, then on the
// body that came later, and decide when the message is complete (the
// variable set by the first rule shows the last pass: 251, HAProxy's
// count). A condition that decides at the first pass (res.payload finds
// nothing in HTTP mode) does not wait: res.len is still 0 then.
func TestHTTPTCPResponseInspectDelay(t *testing.T) {
	late := []chunk{{0, lateHead}, {200 * time.Millisecond, lateBody}}
	t.Run("waits for the body", func(t *testing.T) {
		srv := newScriptedServer(t, late, 0)
		addr := httpTCPRespProxy(t, srv.addr,
			"tcp-response inspect-delay 5s",
			"tcp-response content set-var(txn.len) res.len",
			"tcp-response content reject if { res.len gt 1000 }",
			"http-response set-header x-len %[var(txn.len)]")
		out := getVia(t, addr)
		if !strings.Contains(out, "\r\nx-len: 251\r\n") || !strings.HasSuffix(out, lateBody) {
			t.Fatalf("response %q", out)
		}
	})
	t.Run("accepts when the body brings res.len over", func(t *testing.T) {
		srv := newScriptedServer(t, late, 0)
		addr := httpTCPRespProxy(t, srv.addr,
			"tcp-response inspect-delay 5s",
			"tcp-response content accept if { res.len gt 100 }",
			"tcp-response content reject")
		if out := getVia(t, addr); statusOf(out) != 200 || !strings.HasSuffix(out, lateBody) {
			t.Fatalf("response %q", out)
		}
	})
	t.Run("rejects on the complete message", func(t *testing.T) {
		srv := newScriptedServer(t, late, 0)
		addr := httpTCPRespProxy(t, srv.addr,
			"tcp-response inspect-delay 5s",
			"tcp-response content accept if { res.len gt 1000 }",
			"tcp-response content reject")
		if out := getVia(t, addr); out != "" {
			t.Fatalf("reject sent %q", out)
		}
	})
	t.Run("a decided condition does not wait", func(t *testing.T) {
		srv := newScriptedServer(t, []chunk{{0, smallResp}}, 0)
		addr := httpTCPRespProxy(t, srv.addr,
			"tcp-response inspect-delay 5s",
			"tcp-response content reject if { res.payload(0,4) -m str HTTP }",
			"tcp-response content set-var(txn.len) res.len",
			"http-response set-header x-len %[var(txn.len)]")
		if out := getVia(t, addr); !strings.Contains(out, "\r\nx-len: 0\r\n") {
			t.Fatalf("response %q", out)
		}
	})
	t.Run("Connection: keep-alive is not counted", func(t *testing.T) {
		srv := newScriptedServer(t, []chunk{{0, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nX-A: b\r\nContent-Length: 5\r\n\r\nhello"}}, 0)
		addr := httpTCPRespProxy(t, srv.addr,
			"tcp-response inspect-delay 5s",
			"tcp-response content accept if { res.len ge 10000 }",
			"tcp-response content set-var(txn.len) res.len",
			"http-response set-header x-len %[var(txn.len)]")
		if out := getVia(t, addr); !strings.Contains(out, "\r\nx-len: 58\r\n") { // HAProxy 2.6.12's count
			t.Fatalf("response %q", out)
		}
	})
	t.Run("the head alone decides", func(t *testing.T) {
		srv := newScriptedServer(t, []chunk{{0, smallResp}}, 0)
		addr := httpTCPRespProxy(t, srv.addr,
			"tcp-response inspect-delay 5s",
			"tcp-response content set-var(txn.len) res.len",
			"tcp-response content accept if { res.len ge 10 }",
			"tcp-response content set-var(txn.len) int(1)",
			"http-response set-header x-len %[var(txn.len)]")
		if out := getVia(t, addr); !strings.Contains(out, "\r\nx-len: 54\r\n") {
			t.Fatalf("response %q", out)
		}
	})
}

// "close" is accepted in an HTTP proxy, as in HAProxy 2.6, where it closes
// the server connection before the response is analysed: the client gets
// a 502 and none of the server's bytes; "reject" closes the client without
// a response.
func TestHTTPTCPResponseCloseReject(t *testing.T) {
	srv := newScriptedServer(t, []chunk{{0, smallResp}}, 2*time.Second)
	addr := httpTCPRespProxy(t, srv.addr, "tcp-response content close")
	out := getVia(t, addr)
	if statusOf(out) != 502 || strings.Contains(out, "hello") {
		t.Fatalf("close: %q", out)
	}
	var closed bool
	for range 100 {
		if _, closed = srv.conn(0); closed {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !closed {
		t.Error("close: the server connection stayed open")
	}

	srv = newScriptedServer(t, []chunk{{0, smallResp}}, 0)
	addr = httpTCPRespProxy(t, srv.addr, "tcp-response content reject")
	if out := getVia(t, addr); out != "" {
		t.Fatalf("reject: %q", out)
	}
}
