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
		ls, _, err := listen(context.Background(), &model.Bind{Addrs: []model.Addr{a}}, nil, func(string) net.Listener { return nil })
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
