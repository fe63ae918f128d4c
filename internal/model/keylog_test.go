package model

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// tune.ssl.keylog takes on or off (the last one wins) and refuses
// anything else with HAProxy 2.6.12's message.
func TestSSLKeyLog(t *testing.T) {
	for _, tc := range []struct {
		args string
		on   bool
		err  string
	}{
		{"on", true, ""},
		{"off", false, ""},
		{"on\n    tune.ssl.keylog off", false, ""},
		{"maybe", false, "'tune.ssl.keylog' expects either 'on' or 'off' but got 'maybe'."},
		{"on off", false, "expects either 'on' or 'off'"},
	} {
		m, ds := compileText(t, "global\n    tune.ssl.keylog "+tc.args+"\n"+dnsDefaults+"listen l\n    bind 127.0.0.1:8080\n    server s 127.0.0.1:80\n")
		if tc.err == "" {
			if ds.HasAlerts() || m.Global.SSLKeyLog != tc.on {
				t.Errorf("%q: on=%v %v", tc.args, m.Global.SSLKeyLog, ds)
			}
			continue
		}
		if !ds.HasAlerts() || !strings.Contains(fmt.Sprint(ds), tc.err) {
			t.Errorf("%q: %v, want %q", tc.args, ds, tc.err)
		}
	}
}

// tune.ssl.cachesize (blocks, default 20000) and tune.ssl.lifetime
// (seconds unless a unit is given, default 300) are read, not warned
// about.
func TestSSLCacheTunes(t *testing.T) {
	for _, tc := range []struct {
		lines string
		size  int
		life  time.Duration
		err   string
	}{
		{"", 20000, 300 * time.Second, ""},
		{"tune.ssl.cachesize 0\n    tune.ssl.lifetime 60", 0, time.Minute, ""},
		{"tune.ssl.lifetime 2m", 20000, 2 * time.Minute, ""},
		{"tune.ssl.cachesize -1", 0, 0, "tune.ssl.cachesize"},
		{"tune.ssl.lifetime soon", 0, 0, "tune.ssl.lifetime"},
	} {
		m, ds := compileText(t, "global\n    "+tc.lines+"\n"+dnsDefaults+"listen l\n    bind 127.0.0.1:8080\n    server s 127.0.0.1:80\n")
		if tc.err == "" {
			if len(ds) != 0 || m.Global.SSLCacheSize != tc.size || m.Global.SSLLifetime != tc.life {
				t.Errorf("%q: %d %v %v", tc.lines, m.Global.SSLCacheSize, m.Global.SSLLifetime, ds)
			}
			continue
		}
		if !ds.HasAlerts() || !strings.Contains(fmt.Sprint(ds), tc.err) {
			t.Errorf("%q: %v, want %q", tc.lines, ds, tc.err)
		}
	}
}
