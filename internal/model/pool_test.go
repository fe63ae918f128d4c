package model

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"bulwark/internal/config"
)

// The pool keywords of server/default-server lines and "retry-on" compile
// to values the proxy runs; bad values are errors at their line.
func TestPoolAndRetryOn(t *testing.T) {
	compile := func(be string) (*Proxy, config.Diagnostics) {
		src := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
			"backend b\n" + be
		cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
		m, cds := Compile(cfg, Options{})
		return m.Backend("b"), append(ds, cds...)
	}
	p, ds := compile("    server s 127.0.0.1:1\n")
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	if sv := p.Servers[0]; sv.PoolMaxConn != DefaultPoolMaxConn || sv.PoolPurgeDelay != 5*time.Second || sv.PoolLowConn != 0 || p.RetryOn != RetryConnFailure {
		t.Fatalf("defaults: max %d purge %s low %d retry-on %s", sv.PoolMaxConn, sv.PoolPurgeDelay, sv.PoolLowConn, p.RetryOn)
	}
	p, ds = compile("    default-server pool-max-conn 7 pool-purge-delay 2s\n" +
		"    retry-on empty-response 503 conn-failure\n" +
		"    server s 127.0.0.1:1 pool-low-conn 3\n" +
		"    server u 127.0.0.1:2 pool-max-conn -1 pool-purge-delay 0\n")
	if ds.HasAlerts() || ds.Count(config.SevWarning) > 0 {
		t.Fatal(ds)
	}
	s, u := p.Servers[0], p.Servers[1]
	if s.PoolMaxConn != 7 || s.PoolPurgeDelay != 2*time.Second || s.PoolLowConn != 3 {
		t.Errorf("server s: max %d purge %s low %d", s.PoolMaxConn, s.PoolPurgeDelay, s.PoolLowConn)
	}
	if u.PoolMaxConn != -1 || u.PoolPurgeDelay != 0 {
		t.Errorf("server u: max %d purge %s", u.PoolMaxConn, u.PoolPurgeDelay)
	}
	if got := p.RetryOn.String(); got != "conn-failure empty-response 503" {
		t.Errorf("retry-on %q", got)
	}
	if !p.RetryOn.Status(503) || p.RetryOn.Status(502) {
		t.Errorf("retry-on statuses wrong: %s", p.RetryOn)
	}
	for _, tc := range []struct{ cfg, want string }{
		{"    retry-on none\n", "none"},
		{"    retry-on 503\n    retry-on 404\n", "404"},
		{"    retry-on all-retryable-errors\n", "conn-failure empty-response junk-response response-timeout 0rtt-rejected 500 502 503 504"},
	} {
		p, ds := compile(tc.cfg + "    server s 127.0.0.1:1\n")
		if ds.HasAlerts() {
			t.Fatalf("%q: %v", tc.cfg, ds)
		}
		if got := p.RetryOn.String(); got != tc.want {
			t.Errorf("%q: retry-on %q, want %q", tc.cfg, got, tc.want)
		}
	}
	src := "defaults\n    mode http\n    retry-on 503\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
		"frontend f\n    bind :8080\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n"
	cfg, pds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
	if _, cds := Compile(cfg, Options{}); append(pds, cds...).HasAlerts() {
		t.Errorf("retry-on inherited by a frontend from defaults: %v", append(pds, cds...))
	}
	cfg, pds = config.Parse("t.cfg", []byte(strings.Replace(src, "    bind :8080\n", "    bind :8080\n    retry-on 503\n", 1)), config.LexOptions{})
	if _, cds := Compile(cfg, Options{}); !append(pds, cds...).HasAlerts() {
		t.Error("retry-on in a frontend accepted (HAProxy refuses it)")
	}
	for _, tc := range []struct{ line, want string }{
		{"    server s 127.0.0.1:1 pool-max-conn -2\n", "t.cfg:7:"},
		{"    server s 127.0.0.1:1 pool-max-conn abc\n", "t.cfg:7:"},
		{"    server s 127.0.0.1:1 pool-low-conn -1\n", "t.cfg:7:"},
		{"    server s 127.0.0.1:1 pool-purge-delay 5x\n", "t.cfg:7:"},
		{"    default-server pool-purge-delay -1\n", "t.cfg:7:"},
		{"    retry-on 505\n", "t.cfg:7:"},
		{"    retry-on none 503\n", "t.cfg:7:"},
		{"    retry-on\n", "t.cfg:7:"},
	} {
		_, ds := compile(tc.line + "    server z 127.0.0.1:3\n")
		if !ds.HasAlerts() {
			t.Errorf("%q accepted", tc.line)
			continue
		}
		if got := fmt.Sprint(ds); !strings.Contains(got, tc.want) {
			t.Errorf("%q: %s, want position %s", tc.line, got, tc.want)
		}
	}
}
