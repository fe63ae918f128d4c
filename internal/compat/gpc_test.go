package compat

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The stick-table arrays and server_key against HAProxy 2.6: the same
// requests update gpc/gpc_rate/gpt through the actions and fetches, stick
// rules fill server_key, and "show table" / "set table" answer the same
// once expiry dates are masked.

const gpcConfig = `global
    stats socket SOCK level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:PORT
    stick-table type ip size 10 expire 1m store gpc(3),gpc_rate(2,10s),gpt(2),http_req_cnt
    http-request track-sc0 src
    http-request deny if { sc_get_gpc(1,0) ge 4 }
    http-request sc-inc-gpc(1,0)
    http-request sc-inc-gpc(2,0) if { path /two }
    http-request sc-inc-gpc(5,0)
    http-request sc-set-gpt(1,0) int(42)
    http-request sc-inc-gpc0(0)
    http-request sc-set-gpt0(0) 3 if { path /two }
    use_backend stick_name if { path_beg /n }
    use_backend stick_addr if { path_beg /a }
    http-request return status 200 content-type text/plain lf-string "%[sc_get_gpc(1,0)] %[sc_gpc_rate(1,0)] %[sc_get_gpt(1,0)] %[src_get_gpc(2,fe)] %[src,table_gpc_rate(0,fe)] %[sc_get_gpc0(0)] %[sc0_gpc1_rate] %[sc_get_gpt0(0)] %[src,table_gpt(1,fe)] %[sc_inc_gpc(0,0)] %[sc_clr_gpc(2,0)]" if { path /get }
    default_backend stick_name
backend stick_name
    stick-table type string len 16 size 10 expire 1m
    stick on path
    server a SRV
backend stick_addr
    stick-table type string len 16 size 10 expire 1m srvkey addr store server_key,gpc(1)
    stick on path
    server b SRV
backend legacy
    stick-table type ip size 10 store gpc1,gpt0,gpc0_rate(1s),gpc0,gpc1_rate(2s)
backend mixed
    stick-table type ip size 10 store gpc_rate(1,1s),gpc0,gpc1,gpt(3)
`

var gpcRequests = []string{"/get", "/two", "/n1", "/a1", "/get", "/get"}

var gpcCommands = []string{
	"show table fe", "show table stick_name", "show table stick_addr",
	"show table fe data.gpc gt 0", "show table fe data.gpc ge 0", "show table fe data.gpc_rate ge 1",
	"show table fe data.gpt gt 0", "show table fe data.gpc0 gt 0", "show table fe data.gpc1 gt 0",
	"set table fe key 127.0.0.1 data.gpc 9", "set table fe key 127.0.0.1 data.gpc_rate 4",
	"set table fe key 127.0.0.1 data.gpt 5", "set table fe key 127.0.0.1 data.gpt0 5",
	"set table fe key 127.0.0.1 data.gpc1 5", "show table fe",
	"show table stick_name data.server_key eq 0", "show table stick_name data.server_name eq 0",
	"set table stick_name key /n1 data.server_key 3", "set table stick_name key /n1 data.server_name x",
	"show table stick_name", "set table stick_addr key /z data.gpc 2", "show table stick_addr",
	"set table legacy key 10.0.0.1 data.gpc1 1", "set table legacy key 10.0.0.1 data.gpc 1", "show table legacy",
	"set table mixed key 10.0.0.2 data.gpt 8", "set table mixed key 10.0.0.2 data.gpc0 1", "show table mixed",
	"show table mixed data.gpt eq 8", "clear table mixed data.gpt eq 8", "show table mixed",
}

var expMask = regexp.MustCompile(`exp=\d+`)

// sortEntries orders the entry lines, which HAProxy lists in its tree's
// order and Bulwark in its own.
func sortEntries(s string) string {
	lines := strings.Split(s, "\n")
	var head, entries []string
	for _, l := range lines {
		if strings.HasPrefix(l, "0xID:") {
			entries = append(entries, l)
		} else {
			head = append(head, l)
		}
	}
	sort.Strings(entries)
	return strings.Join(append(head, entries...), "\n")
}

func TestStickArraysAgainstHAProxy(t *testing.T) {
	srv := httpServer(t)
	hs, bs := startPair(t, func(d diffSide) string {
		return strings.NewReplacer("SOCK", d.sock, "PORT", d.port, "SRV", srv).Replace(gpcConfig)
	})
	srvMask := strings.NewReplacer(srv, "SRV")
	var diffs []string
	for _, p := range gpcRequests {
		if h, b := hs.get(t, "x", p), bs.get(t, "x", p); h != b {
			diffs = append(diffs, fmt.Sprintf("GET %s:\n  haproxy: %q\n  bulwark: %q", p, h, b))
		}
	}
	for _, cmd := range gpcCommands {
		h, b := hs.run(t, cmd), bs.run(t, cmd)
		h = sortEntries(srvMask.Replace(expMask.ReplaceAllString(h, "exp=X")))
		b = sortEntries(srvMask.Replace(expMask.ReplaceAllString(b, "exp=X")))
		if h != b {
			diffs = append(diffs, fmt.Sprintf("%q:\n  haproxy: %q\n  bulwark: %q", cmd, h, b))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("%d of %d answers differ:\n%s", len(diffs), len(gpcRequests)+len(gpcCommands), strings.Join(diffs, "\n"))
	}
}
