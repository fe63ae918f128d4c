package plan_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"bulwark/internal/health"
	"bulwark/internal/srvstate"
)

// Check variables and log-format strings, compiled by the plan and run
// by the engine against a peer on loopback: set-var feeds uri-lf and a
// header, the response header named by another header is expected with
// name-lf, and unset-var empties what follows.
func TestCheckVariablesAndFormats(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			var head []string
			for {
				line, err := br.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
				head = append(head, strings.TrimRight(line, "\r\n"))
			}
			got <- strings.Join(head, "|")
			c.Write([]byte("HTTP/1.0 200 OK\r\nx-hdr-name: x-present\r\nx-present: yes\r\n\r\n"))
			c.Close()
		}
	}()
	pl, ds := compileAny(t, `defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
backend be
    option httpchk
    http-check set-var(check.path) str(/req1)
    http-check set-var(check.who) str(srv)
    http-check connect
    http-check send meth GET uri-lf "%[var(check.path)]" ver HTTP/1.1 hdr x-test "server=%[var(check.who)]"
    http-check expect status 200
    http-check set-var(check.hdr) res.fhdr(x-hdr-name)
    http-check expect hdr name-lf -m str "%[var(check.hdr)]" value-lf -m str "%[str(yes)]"
    http-check connect
    http-check unset-var(check.who)
    http-check send meth GET uri-lf "%[var(check.path)]2" hdr x-test "server=%[var(check.who)]"
    server s 127.0.0.1:1 check
`)
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	s := pl.Proxies[pl.Model.Backend("be")].Check
	r := health.Run(context.Background(), s, health.Target{Addr: l.Addr().String(), ConnectTimeout: 2 * time.Second, Timeout: 2 * time.Second})
	if r.Status != srvstate.CheckL7OK {
		t.Fatalf("check: %+v", r)
	}
	first, second := <-got, <-got
	if !strings.HasPrefix(first, "GET /req1 HTTP/1.1|x-test: server=srv|") {
		t.Errorf("first request %q", first)
	}
	if second != "GET /req12 HTTP/1.0|x-test: server=" {
		t.Errorf("second request %q", second)
	}
}
