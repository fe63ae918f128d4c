package proxy

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
)

// rdpRequest is an RDP connection request (TPKT, X.224 CR, cookie, RDP
// negotiation request) for user.
func rdpRequest(user string) string {
	body := []byte{0, 0xe0, 0, 0, 0, 0, 0}
	body = append(body, "Cookie: mstshash="+user+"\r\n"...)
	body = append(body, 1, 0, 8, 0, 0, 0, 0, 0)
	body[0] = byte(len(body) - 1)
	b := []byte{3, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(4+len(body)))
	return string(append(b, body...))
}

// balance rdp-cookie: with the connection request inspected, a user's
// connections all go to the server its cookie hashes to, and reach it
// unchanged; RDP_COOKIE matches such a request.
func TestBalanceRDPCookie(t *testing.T) {
	s1 := newRawBackend(t, nil)
	s2 := newRawBackend(t, nil)
	_, addr := startProxy(t, sub(baseDefaults+`
listen rdp
    mode tcp
    bind 127.0.0.1:0
    tcp-request inspect-delay 5s
    tcp-request content reject if !RDP_COOKIE
    balance rdp-cookie
    server a S1
    server b S2
`, "S1", s1.addr, "S2", s2.addr))
	first := ""
	for i := 0; i < 4; i++ {
		sendRaw(t, addr, rdpRequest("alice"), true)
		n1, n2 := conns(s1), conns(s2)
		got := "s1"
		if n2 > 0 {
			got = "s2"
		}
		if n1 > 0 && n2 > 0 {
			t.Fatalf("alice's connection %d went to both servers (%d, %d)", i, n1, n2)
		}
		if first == "" {
			first = got
		}
	}
	b := s1
	if first == "s2" {
		b = s2
	}
	if conns(b) != 4 || lastRequest(b) != rdpRequest("alice") {
		t.Fatalf("%d connections, last %q", conns(b), lastRequest(b))
	}
	// Without a cookie, RDP_COOKIE is false and the rule rejects.
	sendRaw(t, addr, "\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x00\x00", true)
	if conns(s1)+conns(s2) != 4 {
		t.Fatalf("a request without cookie was forwarded")
	}
}

// mstsCookie encodes addr as the msts cookie of "persist rdp-cookie": the
// IPv4 address and the port, each the decimal of its bytes read
// little-endian.
func mstsCookie(t *testing.T, addr string) string {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	ip := ap.Addr().As4()
	a := binary.LittleEndian.Uint32(ip[:])
	var pb [2]byte
	binary.BigEndian.PutUint16(pb[:], ap.Port())
	return fmt.Sprintf("%d.%d.0000", a, binary.LittleEndian.Uint16(pb[:]))
}

func rdpRequestCookie(name, value string) string {
	body := []byte{0, 0xe0, 0, 0, 0, 0, 0}
	body = append(body, "Cookie: "+name+"="+value+"\r\n"...)
	body[0] = byte(len(body) - 1)
	b := []byte{3, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(4+len(body)))
	return string(append(b, body...))
}

// persist rdp-cookie: the msts cookie names the server holding the user's
// session, and the connection goes there instead of where round robin
// would send it; a cookie naming no server is balanced as usual.
func TestPersistRDPCookie(t *testing.T) {
	s1 := newRawBackend(t, nil)
	s2 := newRawBackend(t, nil)
	_, addr := startProxy(t, sub(baseDefaults+`
listen rdp
    mode tcp
    bind 127.0.0.1:0
    tcp-request inspect-delay 5s
    tcp-request content accept if RDP_COOKIE
    persist rdp-cookie
    server a S1
    server b S2
`, "S1", s1.addr, "S2", s2.addr))
	if got := mstsCookie(t, "192.168.1.1:3389"); got != "16885952.15629.0000" {
		t.Fatalf("encoding: %s", got)
	}
	for i := 0; i < 4; i++ {
		sendRaw(t, addr, rdpRequestCookie("msts", mstsCookie(t, s2.addr)), true)
	}
	if conns(s1) != 0 || conns(s2) != 4 {
		t.Fatalf("with s2's cookie: %d connections to s1, %d to s2", conns(s1), conns(s2))
	}
	for i := 0; i < 4; i++ {
		sendRaw(t, addr, rdpRequestCookie("msts", "16885952.15629.0000"), true)
	}
	if conns(s1) != 2 || conns(s2) != 6 {
		t.Fatalf("with an unknown server's cookie: %d and %d, want round robin (2 and 6)", conns(s1), conns(s2))
	}
}
