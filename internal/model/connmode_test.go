package model

import (
	"testing"

	"bulwark/internal/config"
)

// TestConnMode checks the connection-mode matrix (CM 4 "option
// http-keep-alive"): inside one proxy the last option written wins; between
// frontend and backend the stronger wins (httpclose > http-server-close >
// http-keep-alive).
func TestConnMode(t *testing.T) {
	build := func(opts ...string) *Proxy {
		src := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
			"backend b\n"
		for _, o := range opts {
			src += "    " + o + "\n"
		}
		src += "    server s 127.0.0.1:1\n"
		cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
		m, cds := Compile(cfg, Options{})
		if ds = append(ds, cds...); ds.HasAlerts() {
			t.Fatalf("%v", ds)
		}
		return m.Backend("b")
	}
	own := []struct {
		opts []string
		want string
	}{
		{nil, ConnKeepAlive},
		{[]string{"option httpclose"}, ConnClose},
		{[]string{"option httpclose", "option http-server-close"}, ConnServerClose},
		{[]string{"option http-server-close", "option httpclose"}, ConnClose},
		{[]string{"option httpclose", "option http-keep-alive"}, ConnKeepAlive},
		{[]string{"option httpclose", "no option httpclose"}, ConnKeepAlive},
	}
	for _, tc := range own {
		if got := build(tc.opts...).ConnMode(); got != tc.want {
			t.Errorf("%q: ConnMode %s, want %s", tc.opts, got, tc.want)
		}
	}
	ka, scl, clo := build(), build("option http-server-close"), build("option httpclose")
	pairs := []struct {
		fe, be *Proxy
		want   string
	}{
		{ka, ka, ConnKeepAlive}, {ka, scl, ConnServerClose}, {scl, ka, ConnServerClose},
		{scl, clo, ConnClose}, {clo, ka, ConnClose}, {ka, clo, ConnClose},
	}
	for i, tc := range pairs {
		if got := EffectiveConnMode(tc.fe, tc.be); got != tc.want {
			t.Errorf("pair %d: %s + %s = %s, want %s", i, tc.fe.ConnMode(), tc.be.ConnMode(), got, tc.want)
		}
	}
}
