package proxy

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// last_rule_file/last_rule_line name the rule that ended a rule list of
// the current request (CM 7.3.2), and a denied request leaves the client
// connection open as HAProxy 2.6 does (reg-test log/last_rule.vtc): three
// requests on one connection see the deny, the allow, then no final rule.
func TestLastRuleFetches(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	cfg := sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
    http-after-response set-header x-lr "%[last_rule_file]:%[last_rule_line]"
backend be
    http-request set-var(txn.p) path
    http-request deny if { path /deny }
    http-request allow if { path /allow }
    server s1 S1
`, "S1", s1.addr)
	lines := strings.Split(cfg, "\n")
	lineOf := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return i + 1
			}
		}
		t.Fatalf("no line %q", prefix)
		return 0
	}
	deny, allow := lineOf("http-request deny"), lineOf("http-request allow")
	_, addr := startProxyWith(t, cfg, Options{})
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for _, tc := range []struct {
		path   string
		status int
		line   int // 0: no final rule ran
	}{{"/deny", 403, deny}, {"/allow", 200, allow}, {"/other", 200, 0}} {
		if _, err := c.Write([]byte("GET " + tc.path + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatalf("%s: write: %v", tc.path, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: no response on the kept connection: %v", tc.path, err)
		}
		resp.Body.Close()
		lr := resp.Header.Get("x-lr")
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
		if tc.line == 0 {
			if lr != ":" && lr != "" && lr != "-:-" {
				t.Errorf("%s: x-lr %q, want no rule", tc.path, lr)
			}
			continue
		}
		file, line, _ := strings.Cut(lr, ":")
		if line != strconv.Itoa(tc.line) || file == "" {
			t.Errorf("%s: x-lr %q, want <file>:%d", tc.path, lr, tc.line)
		}
	}
}
