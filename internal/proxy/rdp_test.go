package proxy

import (
	"encoding/binary"
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
