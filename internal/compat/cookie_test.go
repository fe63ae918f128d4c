package compat

import (
	"encoding/csv"
	"strings"
	"testing"
)

// Dynamic cookies must be HAProxy's own values: load balancers of both
// kinds sharing a "dynamic-cookie-key" send a client to the same server.
// HAProxy derives them from the key, the server's address and its port,
// and derives them again when "set server addr" moves the server.
const cookieConfig = `global
    stats socket SOCK level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:PORT
    default_backend ck
backend ck
    cookie SRV insert dynamic
    dynamic-cookie-key mysecret
    server s1 127.0.0.1:18931
    server s2 127.0.0.2:8080
    server s3 [::1]:443
    server s4 10.1.2.3:1 cookie fixed
`

var cookieCommands = []string{
	"",
	"set server ck/s2 addr 127.0.0.2 port 9090", // the port alone
	"set server ck/s2 addr 127.0.0.3",           // the address alone
	"set server ck/s3 addr 127.0.0.9 port 443",  // IPv6 to IPv4
	"set server ck/s4 addr 10.1.2.4",            // a cookie of its own stays
	"set dynamic-cookie-key backend ck otherkey",
	"disable dynamic-cookie backend ck",
	"enable dynamic-cookie backend ck",
}

// cookies is the "svname=cookie" list of the servers in "show stat".
func cookies(t *testing.T, d diffSide) string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(d.run(t, "show stat"), "# "))).ReadAll()
	if err != nil {
		t.Fatalf("%s: show stat: %v", d.name, err)
	}
	col := -1
	for i, h := range rows[0] {
		if h == "cookie" {
			col = i
		}
	}
	var out []string
	for _, r := range rows[1:] {
		if len(r) > col && col >= 0 && r[0] == "ck" && r[1] != "BACKEND" {
			out = append(out, r[1]+"="+r[col])
		}
	}
	return strings.Join(out, " ")
}

func TestDynamicCookiesAgainstHAProxy(t *testing.T) {
	hs, bs := startPair(t, func(d diffSide) string {
		return strings.NewReplacer("SOCK", d.sock, "PORT", d.port).Replace(cookieConfig)
	})
	for _, cmd := range cookieCommands {
		if cmd != "" {
			if h, b := hs.run(t, cmd), bs.run(t, cmd); h != b {
				t.Errorf("%q: haproxy %q, bulwark %q", cmd, h, b)
			}
		}
		h, b := cookies(t, hs), cookies(t, bs)
		if h != b {
			t.Errorf("after %q:\n  haproxy: %s\n  bulwark: %s", cmd, h, b)
		}
		if h == "" {
			t.Fatalf("after %q: no server rows in HAProxy's show stat", cmd)
		}
	}
}
