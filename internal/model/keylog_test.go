package model

import (
	"fmt"
	"strings"
	"testing"
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
