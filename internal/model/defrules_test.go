package model

import (
	"strings"
	"testing"

	"bulwark/internal/config"
)

// Misuses of named defaults sections carrying TCP/HTTP rules, as HAProxy
// 2.6.12 "-c" reports them (reg-test startup/default_rules.vtc, h8-h17);
// want is the exact alert text, "" when the file must pass.
func TestDefaultsRulesMisuse(t *testing.T) {
	const srv = "        server www 127.0.0.1:80\n"
	for _, tc := range []struct{ name, src, want string }{
		{"defaults from", "defaults invalid\n        tcp-response inspect-delay 5s\n        tcp-response content accept\n\ndefaults from invalid\n        mode tcp\n",
			"a defaults section cannot inherit from a defaults section defining TCP/HTTP rules (defaults section at t.cfg:1)."},
		{"listen", "defaults invalid\n        tcp-request inspect-delay 5s\n        tcp-request content accept\n\nlisten li from invalid\n        mode tcp\n        bind 127.0.0.1:18001\n" + srv,
			"a listen section cannot inherit from a defaults section defining TCP/HTTP rules."},
		{"frontend and backend", "defaults invalid\n        tcp-request inspect-delay 5s\n        tcp-request content accept\n\nfrontend fe from invalid\n        mode tcp\n        bind 127.0.0.1:18002\n        default_backend be\n\nbackend be from invalid\n        mode tcp\n" + srv,
			"frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules (defaults section at t.cfg:1)."},
		{"connection to backend", "defaults invalid\n        tcp-request connection accept\n\nbackend be from invalid\n        mode tcp\n" + srv,
			"a backend section cannot inherit from a defaults section defining 'tcp-request connection' or 'tcp-request session' rules (defaults section at t.cfg:1)."},
		{"session to backend", "defaults invalid\n        tcp-request session accept\n\nbackend be from invalid\n        mode tcp\n" + srv,
			"a backend section cannot inherit from a defaults section defining 'tcp-request connection' or 'tcp-request session' rules (defaults section at t.cfg:1)."},
		{"connection to frontend", "backend be\n        mode tcp\n" + srv + "defaults ok\n        tcp-request connection accept\n\nfrontend fe from ok\n        mode tcp\n        bind 127.0.0.1:18002\n        default_backend be\n", ""},
		{"tcp-response to frontend", "defaults invalid\n        tcp-response inspect-delay 5s\n        tcp-response content accept\n\nfrontend fe from invalid\n        mode tcp\n        bind 127.0.0.1:18002\n",
			"a frontend section cannot inherit from a defaults section defining 'tcp-response content' rules (defaults section at t.cfg:1)."},
		{"tcp-response to backend", "defaults tcp\n        tcp-response inspect-delay 5s\n        tcp-response content accept\n\nbackend be from tcp\n        mode tcp\n" + srv, ""},
		{"server without backend", "defaults invalid\n        mode http\n        http-request set-header x-test \"%[srv_conn(www)]\"\n\nbackend be from invalid\n" + srv,
			"backend name must be set in arg 1 of sample fetch keyword 'srv_conn' in http-request expression in proxy 'invalid'."},
		{"server in condition", "defaults invalid\n        mode http\n        http-request deny if { srv_is_up(www) }\n\nbackend be from invalid\n" + srv,
			"backend name must be set in arg 1 of ACL keyword 'srv_is_up' in proxy 'invalid'."},
		{"server in named acl", "defaults invalid\n        mode http\n        acl up srv_is_up(www)\n        http-request deny if up\n\nbackend be from invalid\n" + srv,
			"backend name must be set in arg 1 of ACL keyword 'srv_is_up' in proxy 'invalid'."},
		{"server in tcp-response", "defaults invalid\n        mode http\n        tcp-response content set-var(txn.y) srv_conn(www)\n\nbackend be from invalid\n" + srv,
			"backend name must be set in arg 1 of sample fetch keyword 'srv_conn' in tcp-response content expression in proxy 'invalid'."},
		{"server in after-response", "defaults invalid\n        mode http\n        http-after-response set-var(txn.x) srv_conn(www)\n\nbackend be from invalid\n" + srv,
			"backend name must be set in arg 1 of sample fetch keyword 'srv_conn' in http-response response in proxy 'invalid'."},
		{"track without table", "defaults invalid\n        mode http\n        http-request track-sc0 src\n        http-request deny deny_status 429 if { sc_http_req_rate(0) gt 20 }\n\nbackend be\n        stick-table type ip size 100k expire 30s store http_req_rate(10s)\n" + srv,
			"Proxy 'invalid': unable to find table 'invalid' referenced by track-sc0."},
		{"explicit names", "defaults common\n        mode http\n\ndefaults def_front from common\n        http-request set-header x-test1 \"%[fe_conn]\"\n\n" +
			"defaults def_back from common\n        http-request track-sc0 src table be\n        http-request deny deny_status 429 if { sc_http_req_rate(0,be) gt 20 }\n" +
			"        http-request set-header x-test2 \"%[be_conn]\"\n        http-request set-header x-test3 \"%[srv_conn(be/www)]\"\n\n" +
			"frontend fe from def_front\n        bind 127.0.0.1:18002\n        default_backend be\n\nbackend be from def_back\n        stick-table type ip size 100k expire 30s store http_req_rate(10s)\n" + srv, ""},
	} {
		cfg, ds := config.Parse("t.cfg", []byte(tc.src), config.LexOptions{})
		_, cds := Compile(cfg, Options{})
		var alerts []string
		for _, d := range append(ds, cds...) {
			if d.Severity == config.SevAlert {
				alerts = append(alerts, d.Msg)
			}
		}
		all := strings.Join(alerts, "\n")
		if tc.want == "" && len(alerts) > 0 || tc.want != "" && strings.Count(all, tc.want) != 1 {
			t.Errorf("%s: alerts = %q, want exactly once %q", tc.name, all, tc.want)
		}
	}
}
