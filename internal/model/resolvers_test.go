package model

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"bulwark/internal/config"
)

func compileText(t *testing.T, src string) (*Model, config.Diagnostics) {
	t.Helper()
	cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
	m, cds := Compile(cfg, Options{})
	return m, append(ds, cds...)
}

const dnsDefaults = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"

// A resolvers section without settings has HAProxy 2.6's defaults; each
// setting lands where the runtime reads it.
func TestResolversSection(t *testing.T) {
	m, ds := compileText(t, "resolvers d\n    nameserver a 127.0.0.1:5353\n    nameserver b tcp@[::1]\n"+
		"resolvers e\n    nameserver a 127.0.0.1\n    accepted_payload_size 8192\n    resolve_retries 5\n"+
		"    timeout resolve 2s\n    timeout retry 300\n    hold valid 1s\n    hold nx 2s\n    hold refused 3s\n"+
		"    hold timeout 4s\n    hold other 5s\n    hold obsolete 6s\n")
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	d := m.Resolvers["d"]
	want := Hold{Valid: 10 * time.Second, NX: 30 * time.Second, Refused: 30 * time.Second, Timeout: 30 * time.Second, Other: 30 * time.Second}
	if d.PayloadSize != 512 || d.Retries != 3 || d.Resolve != time.Second || d.Retry != time.Second || d.Hold != want {
		t.Errorf("defaults: %+v", d)
	}
	if len(d.Nameservers) != 2 || d.Nameservers[0].Addr != netip.MustParseAddrPort("127.0.0.1:5353") || d.Nameservers[0].TCP ||
		d.Nameservers[1].Addr != netip.MustParseAddrPort("[::1]:53") || !d.Nameservers[1].TCP {
		t.Errorf("nameservers: %+v", d.Nameservers)
	}
	e := m.Resolvers["e"]
	want = Hold{Valid: time.Second, NX: 2 * time.Second, Refused: 3 * time.Second, Timeout: 4 * time.Second, Other: 5 * time.Second, Obsolete: 6 * time.Second}
	if e.PayloadSize != 8192 || e.Retries != 5 || e.Resolve != 2*time.Second || e.Retry != 300*time.Millisecond || e.Hold != want {
		t.Errorf("settings: %+v", e)
	}
}

// Bad values are errors at their line, in HAProxy's words where it has
// them.
func TestResolversErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"    nameserver a\n", "'nameserver' expects <name> and <addr>[:<port>] as arguments."},
		{"    nameserver a 127.0.0.1\n    nameserver a 127.0.0.2\n", "nameserver 'a' has same name as another nameserver"},
		{"    nameserver a dns.example.com:53\n", "a nameserver needs an IP address"},
		{"    nameserver a 127.0.0.1:70000\n", "invalid port '70000'"},
		{"    nameserver a sctp@127.0.0.1\n", "unsupported address family prefix 'sctp@'"},
		{"    nameserver a 127.0.0.1\n    accepted_payload_size 70000\n", "'accepted_payload_size' must be between 12 and 65535 inclusive (was 70000)."},
		{"    nameserver a 127.0.0.1\n    accepted_payload_size\n", "'accepted_payload_size' expects <nb> as argument."},
		{"    nameserver a 127.0.0.1\n    resolve_retries x\n", "'resolve_retries' expects <nb> as argument"},
		{"    nameserver a 127.0.0.1\n    timeout connect 1s\n", "'timeout' expects 'retry' or 'resolve' and <time> as arguments got 'connect'."},
		{"    nameserver a 127.0.0.1\n    timeout retry\n", "'timeout retry' expects <time> as argument."},
		{"    nameserver a 127.0.0.1\n    timeout retry 0\n", "'timeout retry' expects a positive <time>."},
		{"    nameserver a 127.0.0.1\n    hold bogus 1s\n", "'hold' unknown <event>: 'bogus', expects either 'nx', 'timeout', 'valid', 'obsolete' or 'other'."},
		{"    nameserver a 127.0.0.1\n    hold nx\n", "'hold' expects an <event> and a <time> as arguments."},
		{"    nameserver a 127.0.0.1\n    hold nx 10x\n", "'hold'"},
		{"    nameserver a 127.0.0.1\n    resolution_pool_size 10\n", "'resolution_pool_size' directive is not supported anymore"},
		{"    accepted_payload_size 4096\n", "resolvers 'd' has no nameserver."},
	} {
		_, ds := compileText(t, "resolvers d\n"+tc.body)
		if !ds.HasAlerts() || !strings.Contains(diagText(ds), tc.want) {
			t.Errorf("%q: want %q, got %v", tc.body, tc.want, ds)
		}
		if !strings.Contains(diagText(ds), "t.cfg:") {
			t.Errorf("%q: no position in %v", tc.body, ds)
		}
	}
	_, ds := compileText(t, "resolvers d\n    nameserver a 127.0.0.1\nresolvers d\n    nameserver a 127.0.0.1\n")
	if !strings.Contains(diagText(ds), "resolvers 'd' has same name as another resolvers") {
		t.Errorf("duplicate section: %v", ds)
	}
}

// The server options of DNS resolution, and server-template expanding
// into numbered servers that share them.
func TestServerDNSOptions(t *testing.T) {
	m, ds := compileText(t, "resolvers d\n    nameserver a 127.0.0.1\n"+dnsDefaults+"backend b\n"+
		"    default-server resolvers d init-addr none\n"+
		"    server s1 app.example:80 resolve-prefer ipv4 resolve-net 10.0.0.0/8,192.168.0.0/255.255.0.0 resolve-opts allow-dup-ip,ignore-weight\n"+
		"    server s2 app.example:80 init-addr last,libc,10.1.2.3\n"+
		"    server-template web 3 _http._tcp.app.example check\n"+
		"    server-template api 5-6 api.example:8080\n")
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	sv := m.Backend("b").Servers
	if len(sv) != 7 {
		t.Fatalf("%d servers", len(sv))
	}
	s1 := sv[0]
	if s1.Resolvers != "d" || s1.ResolvePrefer != "ipv4" || !s1.AllowDupIP || !s1.IgnoreWeight ||
		len(s1.ResolveNets) != 2 || s1.ResolveNets[1] != netip.MustParsePrefix("192.168.0.0/16") ||
		len(s1.InitAddr) != 1 || s1.InitAddr[0].Method != "none" || s1.FQDN() != "app.example" || s1.IsSRV() {
		t.Errorf("s1: %+v", s1.ServerOptions)
	}
	if ia := sv[1].InitAddr; len(ia) != 3 || ia[0].Method != "last" || ia[1].Method != "libc" || ia[2].IP != netip.MustParseAddr("10.1.2.3") {
		t.Errorf("s2 init-addr: %+v", ia)
	}
	var names []string
	for _, s := range sv[2:] {
		names = append(names, s.Name)
	}
	if strings.Join(names, " ") != "web1 web2 web3 api5 api6" || !sv[2].IsSRV() || !sv[2].Check || sv[2].Template != "web" || sv[6].Addr.PortLow != 8080 {
		t.Errorf("templates: %v %+v", names, sv[2])
	}
	var none ServerOptions
	if d := none.DefaultInitAddr(); len(d) != 2 || d[0].Method != "last" || d[1].Method != "libc" {
		t.Errorf("default init-addr: %+v", d)
	}
	none.Resolvers = "d"
	if d := none.DefaultInitAddr(); len(d) != 3 || d[2].Method != "none" {
		t.Errorf("default init-addr with resolvers: %+v", d)
	}
}

func TestServerDNSErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"server s a.example:80 resolvers nope", "backend 'b', server 's': unable to find required resolvers 'nope'"},
		{"server s _http._tcp.a.example", "needs a 'resolvers' section"},
		{"server s a.example:80 resolve-prefer ipv5", "'resolve-prefer' expects either ipv4 or ipv6 as argument."},
		{"server s a.example:80 resolve-net 10.0.0.0/33", "'resolve-net' invalid network '10.0.0.0/33'."},
		{"server s a.example:80 resolve-opts dup", "unknown resolve-opts option 'dup'"},
		{"server s a.example:80 init-addr dns", "unknown init-addr method 'dns'"},
		{"server s a.example:80 init-addr 1.2.3.4,5.6.7.8", "initial address already specified, cannot add '5.6.7.8'."},
		{"server-template w 0-x a.example:80", "Wrong server-template number or range arg '0-x'."},
		{"server-template w 5-2 a.example:80", "Wrong server-template number or range arg '5-2'."},
		{"server-template w 1-100000 a.example:80", "Wrong server-template number or range arg"},
		{"server-template w 3", "'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments."},
		{"server-template w 3 a.example:80 id 4", "'id' is not allowed on 'server-template'"},
	} {
		_, ds := compileText(t, "resolvers d\n    nameserver a 127.0.0.1\n"+dnsDefaults+"backend b\n    "+tc.line+"\n")
		if !ds.HasAlerts() || !strings.Contains(diagText(ds), tc.want) || !strings.Contains(diagText(ds), "t.cfg:") {
			t.Errorf("%q: want %q, got %v", tc.line, tc.want, ds)
		}
	}
}

func FuzzParseInitAddr(f *testing.F) {
	for _, s := range []string{"last,libc,none", "1.2.3.4", "none,::1", ",", "last,last"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseInitAddr(s)
		if err == nil && (len(m) == 0 || len(m) > 4) {
			t.Fatalf("%q: %d methods", s, len(m))
		}
	})
}

func diagText(ds config.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestReadResolvConf(t *testing.T) {
	p := t.TempDir() + "/resolv.conf"
	os.WriteFile(p, []byte("# comment\nsearch example\nnameserver 10.0.0.53\nnameserver\nnameserver bogus\nnameserver fe80::1%eth0\noptions ndots:2\n"), 0o644)
	nss, warns, err := readResolvConf(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(nss) != 2 || nss[0].Name != "resolvconf:3" || nss[0].Addr.String() != "10.0.0.53:53" || nss[1].Addr.String() != "[fe80::1]:53" {
		t.Errorf("nameservers %+v", nss)
	}
	if len(warns) != 2 || !strings.Contains(warns[0], ":4] : nameserver line is missing address.") || !strings.Contains(warns[1], "address 'bogus' could not be recognized") {
		t.Errorf("warnings %q", warns)
	}
	if _, _, err := readResolvConf(p + ".missing"); err == nil || !strings.Contains(err.Error(), "failed to open") {
		t.Errorf("missing file: %v", err)
	}
}

// SectionSupport and Compile agree: a section kind said to run compiles
// without an "unsupported" error, the others get one.
func TestSectionSupport(t *testing.T) {
	for _, k := range config.SectionKinds {
		src := k + " x\n"
		switch k {
		case config.KindGlobal:
			src = "global\n"
		case config.KindResolvers:
			src = "resolvers x\n    nameserver a 127.0.0.1\n"
		case config.KindFrontend, config.KindListen:
			src = "frontend x\n    bind 127.0.0.1:1\n"
			if k == config.KindListen {
				src = "listen x\n    bind 127.0.0.1:1\n"
			}
		}
		_, ds := compileText(t, src)
		unsupported := false
		for _, d := range ds {
			unsupported = unsupported || d.Code == CodeUnsupported && strings.Contains(d.Msg, "section")
		}
		if run := SectionSupport(k) == Implemented; run == unsupported {
			t.Errorf("%s: SectionSupport %s, compile unsupported %v (%v)", k, SectionSupport(k), unsupported, ds)
		}
	}
}
