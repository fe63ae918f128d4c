package acl

import "testing"

func TestRDPCookie(t *testing.T) {
	cr := func(cookie string) []byte {
		b := append([]byte{3, 0, 0, 0, 0, 0xe0, 0, 0, 0, 0, 0}, cookie...)
		return b
	}
	for _, tc := range []struct {
		in   []byte
		name string
		want string
		ok   bool
	}{
		{cr("Cookie: mstshash=alice\r\n"), "mstshash", "alice", true},
		{cr("cookie: MSTSHASH=bob\r\n"), "mstshash", "bob", true},
		{cr("Cookie: msts=3640205228.15629.0000\r\n"), "", "3640205228.15629.0000", true},
		{cr("Cookie: msts=1\r\n"), "mstshash", "", false},
		{cr("Cookie: mstshash=alice"), "mstshash", "", false},               // no CRLF yet
		{cr("Cook"), "mstshash", "", false},                                 // truncated
		{[]byte("GET / HTTP/1.1\r\nCookie: mstshash=x\r\n"), "", "", false}, // not RDP
	} {
		v, ok := RDPCookie(tc.in, tc.name)
		if ok != tc.ok || string(v) != tc.want {
			t.Errorf("%q %q: %q %v, want %q %v", tc.in, tc.name, v, ok, tc.want, tc.ok)
		}
	}
}
