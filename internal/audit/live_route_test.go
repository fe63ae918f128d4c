package audit

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// fakeNet: eth0 holds 203.0.113.10 (public side), eth1 holds 10.0.0.5;
// 10.0.0.0/8 is routed through eth1, everything else through eth0.
type fakeNet struct{}

func (fakeNet) ifaceOf(ip netip.Addr) string {
	switch ip.String() {
	case "203.0.113.10":
		return "eth0"
	case "10.0.0.5":
		return "eth1"
	case "127.0.0.1":
		return "lo"
	}
	return ""
}

func (fakeNet) source(dst netip.AddrPort) (netip.Addr, error) {
	switch {
	case dst.Addr().String() == "192.0.2.99":
		return netip.Addr{}, errors.New("connect: network is unreachable")
	case netip.MustParsePrefix("10.0.0.0/8").Contains(dst.Addr()):
		return netip.MustParseAddr("10.0.0.5"), nil
	}
	return netip.MustParseAddr("203.0.113.10"), nil
}

func TestLiveNetworkSeparation(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		want Verdict
		text string
	}{
		{"separate interfaces", "frontend f\n  bind 203.0.113.10:443\n  default_backend b\nbackend b\n  server s1 10.1.2.3:8080\n", Pass, "through interface eth1"},
		{"same interface", "frontend f\n  bind 203.0.113.10:443\n  default_backend b\nbackend b\n  server s1 198.51.100.4:8080\n", Warn, "interface of client-facing frontend 'f' bind 203.0.113.10:443"},
		{"wildcard bind shares everything", "frontend f\n  bind :443\n  default_backend b\nbackend b\n  server s1 10.1.2.3:8080\n", Warn, "bind :443"},
		{"loopback only", "frontend f\n  bind 127.0.0.1:8080\n  default_backend b\nbackend b\n  server s1 10.1.2.3:8080\n", Skip, "nothing faces clients"},
		{"servers on loopback", "frontend f\n  bind 203.0.113.10:443\n  default_backend b\nbackend b\n  server s1 127.0.0.1:8080\n", Skip, "every server is on loopback"},
		{"no route and host name", "frontend f\n  bind 203.0.113.10:443\n  default_backend b\nbackend b\n  server s1 192.0.2.99:80\n  server s2 app.internal:80\n", Manual, "no route found"},
		{"bind not on this host", "frontend f\n  bind 198.51.100.1:443\n  default_backend b\nbackend b\n  server s1 10.1.2.3:80\n", Manual, "not an address of this host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := liveTarget(t, tc.cfg)
			lf := &LiveFacts{Routes: gatherRoutes(tg, fakeNet{})}
			r := liveNetworkSeparation(tg, lf)
			text := r.Summary
			for _, e := range r.Evidence {
				text += "\n" + e.Text
			}
			if r.Verdict != tc.want || !strings.Contains(text, tc.text) {
				t.Errorf("HAP-3.2 live %s, want %s with %q:\n%s", r.Verdict, tc.want, tc.text, text)
			}
		})
	}
}

// TestRealNetSource uses the host's own routing: a UDP "connect" to a
// loopback address must pick a loopback source.
func TestRealNetSource(t *testing.T) {
	src, err := realNet{}.source(netip.MustParseAddrPort("127.0.0.1:9"))
	if err != nil || !src.IsLoopback() {
		t.Fatalf("source = %v, %v", src, err)
	}
	if ifc := (realNet{}).ifaceOf(netip.MustParseAddr("127.0.0.1")); ifc == "" {
		t.Errorf("127.0.0.1 has no interface")
	}
}
