package proxy

import (
	"context"
	"net"
	"strconv"
	"testing"

	"bulwark/internal/model"
)

// TestWildcardBindIsIPv4 checks CM 5.1's meaning of an empty address, '*'
// and 0.0.0.0: every IPv4 address, not Go's dual-stack [::].
func TestWildcardBindIsIPv4(t *testing.T) {
	for _, host := range []string{"", "*", "0.0.0.0"} {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		a, err := model.ParseBindAddr(host + ":" + strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		ls, _, err := listen(context.Background(), &model.Bind{Addrs: []model.Addr{a}}, true, nil, func(string) net.Listener { return nil })
		if err != nil {
			t.Fatalf("bind %q: %v", a.Raw, err)
		}
		got := ls[0].Addr().String()
		for _, l := range ls {
			l.Close()
		}
		if want := "0.0.0.0:" + strconv.Itoa(port); got != want {
			t.Errorf("bind %q listens on %s, want %s", a.Raw, got, want)
		}
	}
}

// A received or held socket serves a bind only on its own address: the
// IPv4 wildcard is not a dual-stack [::] socket, a name matches any of its
// addresses, a unix path its path.
func TestSameAddr(t *testing.T) {
	v4any := &net.TCPAddr{IP: net.IPv4zero, Port: 80}
	v6any := &net.TCPAddr{IP: net.IPv6unspecified, Port: 80}
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}
	for _, tc := range []struct {
		netw, addr string
		got        net.Addr
		want       bool
	}{
		{"tcp4", ":80", v4any, true},
		{"tcp4", ":80", v6any, false},
		{"tcp6", "[::]:80", v6any, true},
		{"tcp6", "[::]:80", v4any, false},
		{"tcp4", "0.0.0.0:80", v4any, true},
		{"tcp4", "127.0.0.1:80", lo, true},
		{"tcp4", "127.0.0.1:81", lo, false},
		{"tcp4", "127.0.0.2:80", lo, false},
		{"tcp4", "localhost:80", lo, true},
		{"tcp4", ":80", lo, false},
		{"unix", "/run/x.sock", &net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, true},
		{"unix", "/run/y.sock", &net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, false},
		{"unix", "abstract", &net.UnixAddr{Name: "@abstract", Net: "unix"}, true},
		{"tcp4", "/run/x.sock", &net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, false},
	} {
		if got := sameAddr(tc.netw, tc.addr, tc.got); got != tc.want {
			t.Errorf("sameAddr(%s, %s, %v) = %v, want %v", tc.netw, tc.addr, tc.got, got, tc.want)
		}
	}
}
