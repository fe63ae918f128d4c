package plan_test

import (
	"fmt"
	"strings"
	"testing"
)

// log-format strings are compiled by the plan: an unknown variable, an
// unknown fetch and an HTTP-only variable in a TCP proxy are alerts at
// file:line:col of the offending '%', and a good format is kept.
func TestLogFormatDiagnostics(t *testing.T) {
	for _, tc := range []struct {
		line, want string
	}{
		{`    log-format "%ci %zz"`, `t.cfg:13:21: alert: 'log-format' : no such format variable 'zz'`},
		{`    log-format "%ci %[nosuch]"`, `t.cfg:13:21: alert: 'log-format' : failed to parse sample expression <nosuch> : unknown fetch method 'nosuch'`},
		{`    log-format "%[internal.htx.data]"`, `sample fetch 'internal.htx.data' is not supported by bulwark`},
		{`    unique-id-format "%{+X}o%ci"`, ``},
		{`    error-log-format "%ci %[fc_err_str]"`, ``},
		{`    unique-id-format "%{+X}o%zz"`, `no such format variable 'zz'`},
		{`    log-format "%ci %{+Q}[src,lower]"`, ``},
	} {
		pl, ds := compile(t, defaults+`
frontend fe from base
    bind 127.0.0.1:8080
    default_backend be
backend be from base
    server s 127.0.0.1:80
frontend fe2 from base
`+tc.line+`
    bind 127.0.0.1:8081
    default_backend be
`)
		got := fmt.Sprint(ds)
		if tc.want == "" {
			if ds.HasAlerts() {
				t.Errorf("%s: %s", tc.line, got)
			}
			for p, pp := range pl.Proxies {
				if p.Name == "fe2" && (pp.Log == nil || pp.Log.HTTP == nil) {
					t.Errorf("%s: no compiled format", tc.line)
				}
			}
			continue
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.line, got, tc.want)
		}
	}
}

func TestLogFormatHTTPOnlyVarInTCP(t *testing.T) {
	_, ds := compile(t, `frontend ft
    mode tcp
    bind 127.0.0.1:9000
    log-format "%ci %HM"
    timeout client 1s
`)
	if !strings.Contains(fmt.Sprint(ds), "format variable 'HM' is reserved for HTTP mode") {
		t.Errorf("got %s", ds)
	}
}
