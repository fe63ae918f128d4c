package proxy

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// "monitor-uri": the frontend answers 200 itself, before any rule (a
// deny here does not apply), and the request is neither forwarded nor
// logged; other paths go to the backend. A slash-rooted URI matches the
// path of an absolute-form request too, case counts.
func TestMonitorURIAbsoluteFormAndCase(t *testing.T) {
	be := newTestServer(t, "be", nil)
	var mu sync.Mutex
	var logged []string
	_, addr := startProxyWith(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    option httplog
    monitor-uri /alive
    http-request deny if { path /alive }
    default_backend b
backend b
    server s1 BE
`, "BE", be.addr), Options{LogAll: true, Log: func(e *LogEntry) {
		if e.Level == "silent" {
			return
		}
		mu.Lock()
		logged = append(logged, e.Request)
		mu.Unlock()
	}})
	for _, tc := range []struct {
		req    string
		status int
	}{
		{"GET /alive HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200},
		{"GET http://www.example.org/alive HTTP/1.1\r\nHost: www.example.org\r\nConnection: close\r\n\r\n", 200},
		{"GET /ALIVE HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200}, // forwarded: the backend answers
	} {
		if got := statusOf(rawRequest(t, addr, tc.req, 5*time.Second)); got != tc.status {
			t.Errorf("%q: status %d, want %d", tc.req, got, tc.status)
		}
	}
	if n := be.hits.Load(); n != 1 {
		t.Errorf("backend got %d requests, want 1 (only /ALIVE)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 1 || !strings.Contains(logged[0], "/ALIVE") {
		t.Errorf("logged %q, want the /ALIVE request only", logged)
	}
}
