package model

import (
	"strings"
	"testing"

	"bulwark/internal/config"
)

// Lines HAProxy 2.6.12 accepts or refuses, checked against its own "-c"
// (item 5 of issue 9).
func TestParserFidelity(t *testing.T) {
	const head = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
		"frontend fe\n    bind 127.0.0.1:8000\n    default_backend be\n    acl a path /a\n    acl b path /b\n"
	for _, tc := range []struct {
		name, lines string
		alert, warn string // substrings expected; "" for none
	}{
		{"bare balance", "backend be\n    balance\n    server s 127.0.0.1:1\n", "", ""},
		{"OR", "    http-request deny if a OR b\nbackend be\n    server s 127.0.0.1:1\n", "", ""},
		{"or", "    http-request deny if a or b || a\nbackend be\n    server s 127.0.0.1:1\n", "", ""},
		{"time garbage", "backend be\n    timeout queue 1s[\n    server s 127.0.0.1:1\n", "", "unexpected character '[' after the timer value '1s['"},
		{"time bad unit", "backend be\n    timeout queue 1x\n    server s 127.0.0.1:1\n", "unexpected character 'x'", ""},
		{"check without port", "backend be\n    server s 127.0.0.1 check\n", "server 's' has neither service port nor check port", ""},
		{"check port", "backend be\n    server s 127.0.0.1 check port 80\n", "", ""},
		{"bind proto h2", "    bind 127.0.0.1:8001 proto h2\nbackend be\n    server s 127.0.0.1:1\n", "", ""},
		{"bind proto h2 ssl", "    bind 127.0.0.1:8001 ssl crt /dev/null proto h2\nbackend be\n    server s 127.0.0.1:1\n", "", ""},
		{"bind proto h1", "    bind 127.0.0.1:8001 proto h1\nbackend be\n    server s 127.0.0.1:1\n", "", ""},
		{"bind proto unknown", "    bind 127.0.0.1:8001 proto h3\nbackend be\n    server s 127.0.0.1:1\n", "'proto' : unknown MUX protocol 'h3'", ""},
		{"bind proto fcgi", "    bind 127.0.0.1:8001 proto fcgi\nbackend be\n    server s 127.0.0.1:1\n", "MUX protocol 'fcgi' is not usable for 'bind 127.0.0.1:8001'", ""},
		{"bind proto none http", "    bind 127.0.0.1:8001 proto none\nbackend be\n    server s 127.0.0.1:1\n", "MUX protocol 'none' is not usable", ""},
		{"bind proto h2 tcp", "frontend ft\n    mode tcp\n    bind 127.0.0.1:8001 proto h2\n    default_backend be\nbackend be\n    server s 127.0.0.1:1\n", "frontend 'ft' : MUX protocol 'h2' is not usable for 'bind 127.0.0.1:8001' at [t.cfg:13:5]", ""},
		{"bind proto h1 tcp", "frontend ft\n    bind 127.0.0.1:8001 proto h1\n    mode tcp\n    default_backend be\nbackend be\n    mode tcp\n    server s 127.0.0.1:1\n", "MUX protocol 'h1' is not usable", ""},
		{"bind proto none tcp", "frontend ft\n    mode tcp\n    bind 127.0.0.1:8001 proto none\n    default_backend bt\nbackend be\n    server s 127.0.0.1:1\nbackend bt\n    mode tcp\n    server s 127.0.0.1:1\n", "", ""},
		{"stats socket proto h2", "backend be\n    server s 127.0.0.1:1\nglobal\n    stats socket /tmp/bw-t.sock proto h2\n", "frontend 'GLOBAL' : MUX protocol 'h2' is not usable", ""},
		{"declare capture", "    declare capture request len 3\n    declare capture response len 2\nbackend be\n    server s 127.0.0.1:1\n", "", ""},
		{"declare capture length", "    declare capture request len x\nbackend be\n    server s 127.0.0.1:1\n", "cannot parse the length 'x'", ""},
		{"declare capture zero", "    declare capture request len 0\nbackend be\n    server s 127.0.0.1:1\n", "length must be > 0", ""},
		{"declare capture direction", "    declare capture header len 3\nbackend be\n    server s 127.0.0.1:1\n", "requires a direction", ""},
		{"declare capture len", "    declare capture request 3\nbackend be\n    server s 127.0.0.1:1\n", "requires a capture length ('len')", ""},
		{"declare capture extra", "    declare capture request len 3 x\nbackend be\n    server s 127.0.0.1:1\n", "", "argument 'x' is ignored"},
		{"backend from defaults with captures", "backend be\n    server s 127.0.0.1:1\ndefaults d2\n    mode http\n    http-request capture hdr(a) len 3\nbackend be2 from d2\n    server s 127.0.0.1:1\n",
			"cannot inherit from a defaults section defining capptures (defaults section at t.cfg:13)", "missing timeouts"},
		{"dynamic default_backend", "    default_backend be_%[req.hdr(host)]\nbackend be\n    server s 127.0.0.1:1\n", "unable to find required default_backend: 'be_%[req.hdr(host)]'", ""},
		{"dynamic use_backend", "    use_backend be_%[req.hdr(host)]\nbackend be\n    server s 127.0.0.1:1\n", "", ""},
		{"refused once per line", "backend be\n    server s 127.0.0.1:1 tfo tfo\n", "server option 'tfo'", ""},
	} {
		cfg, ds := config.Parse("t.cfg", []byte(head+tc.lines), config.LexOptions{})
		_, cds := Compile(cfg, Options{})
		ds = append(ds, cds...)
		var alerts, warns []string
		for _, d := range ds {
			switch d.Severity {
			case config.SevAlert:
				alerts = append(alerts, d.Msg)
			case config.SevWarning:
				warns = append(warns, d.Msg)
			}
		}
		check := func(kind string, got []string, want string) {
			all := strings.Join(got, "\n")
			if want == "" && len(got) > 0 || want != "" && !strings.Contains(all, want) {
				t.Errorf("%s: %s = %q, want %q", tc.name, kind, all, want)
			}
			if want != "" && strings.Count(all, want) != 1 {
				t.Errorf("%s: %s %q reported %d times", tc.name, kind, want, strings.Count(all, want))
			}
		}
		check("alerts", alerts, tc.alert)
		check("warnings", warns, tc.warn)
	}
}

// Addresses expand $NAME and ${NAME} outside quotes, with global's
// setenv family applied (CM 4.2 "bind").
func TestAddressEnv(t *testing.T) {
	src := "global\n    setenv BW_T_ADDR 127.0.0.1\n    presetenv BW_T_ADDR 10.9.9.9\n    setenv BW_T_PORT 8005\n" +
		"defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
		"frontend fe\n    bind $BW_T_ADDR:${BW_T_PORT}\n    default_backend be\nbackend be\n    server s ${BW_T_ADDR}:80\n"
	cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
	m, cds := Compile(cfg, Options{})
	if ds = append(ds, cds...); ds.HasAlerts() {
		t.Fatalf("%v", ds)
	}
	fe := m.Proxies[0]
	if a := fe.Binds[0].Addrs[0]; a.Host != "127.0.0.1" || a.PortLow != 8005 {
		t.Errorf("bind: %+v", a)
	}
	if a := m.Backend("be").Servers[0].Addr; a.Host != "127.0.0.1" || a.PortLow != 80 {
		t.Errorf("server: %+v", a)
	}
}
