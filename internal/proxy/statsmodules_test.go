package proxy

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The h1 stats module: two requests on one keep-alive connection are two
// h1 streams of one h1 connection of the frontend, with their bytes; the
// backend counts the exchanges with its server. "show stat" has HAProxy's
// module columns after the "-".
func TestStatsH1Module(t *testing.T) {
	srv := newTestServer(t, "b", nil)
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
listen li1
    bind 127.0.0.1:0
    id 10
    server s1 SRV
`, "SOCK", sock, "SRV", srv.addr))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, _ := io.ReadAll(c)
	c.Close()
	if strings.Count(string(resp), "HTTP/1.1 200") != 2 {
		t.Fatalf("responses: %q", resp)
	}
	field := func(typed, obj, name string) string {
		for _, l := range strings.Split(typed, "\n") {
			if strings.HasPrefix(l, obj+".") && strings.Contains(l, "."+name+".1:") {
				return l[strings.LastIndexByte(l, ':')+1:]
			}
		}
		return "missing"
	}
	var typed string
	waitFor(t, func() bool {
		typed = apiCall(t, sock, "show stat typed")
		return field(typed, "F", "h1_open_connections") == "0"
	}, "the h1 connection closed")
	for _, want := range []string{"F.10.0.119.h1_open_connections.1:MGP:u64:0", "F.10.0.121.h1_total_connections.1:MCP:u64:1",
		"F.10.0.122.h1_total_streams.1:MCP:u64:2", "B.10.0.122.h1_total_streams.1:MCP:u64:2", "F.10.0.103.ssl_sess.1:MCP:u64:0",
		"S.10.1.103.ssl_sess.1:MCP:u64:0"} {
		if !strings.Contains(typed, want+"\n") {
			t.Errorf("show stat typed lacks %q", want)
		}
	}
	if strings.Contains(typed, "S.10.1.119.") {
		t.Error("a server row has h1 module fields")
	}
	for _, obj := range []string{"F", "B"} {
		if in, out := field(typed, obj, "h1_bytes_in"), field(typed, obj, "h1_bytes_out"); in == "0" || out == "0" || in == "missing" {
			t.Errorf("%s h1 bytes: in %s out %s", obj, in, out)
		}
	}
	csv := apiCall(t, sock, "show stat")
	if !strings.Contains(csv, ",agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,") ||
		!strings.Contains(csv, ",h1_spliced_bytes_in,h1_spliced_bytes_out,\n") {
		t.Fatalf("show stat header: %q", strings.SplitN(csv, "\n", 2)[0])
	}
}
