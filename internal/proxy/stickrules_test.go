package proxy

import (
	"strings"
	"testing"
	"time"
)

// "stick on" keeps a key on the server that first served it; "stick
// store-response" learns the key from the response and "stick match"
// honours it. Round robin alone would alternate.
func TestStickRules(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nX-Session: one\r\nContent-Length: 2\r\n\r\ns1"))
	s2 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nX-Session: two\r\nContent-Length: 2\r\n\r\ns2"))
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    use_backend learn if { path /learn }
    default_backend be
backend be
    balance roundrobin
    stick-table type string len 32 size 100 expire 1m
    stick on req.hdr(x-user)
    server a S1
    server b S2
backend learn
    balance roundrobin
    stick-table type string len 32 size 100 expire 1m
    stick store-response res.hdr(x-session)
    stick match req.hdr(x-session)
    server a S1
    server b S2
`, "S1", s1.addr, "S2", s2.addr))
	who := func(path, hdr string) string {
		out := rawRequest(t, addr, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"+hdr+"\r\n\r\n", 5*time.Second)
		return out[len(out)-2:]
	}
	alice, bob := who("/", "X-User: alice"), who("/", "X-User: bob")
	if alice == bob {
		t.Fatalf("round robin sent alice and bob to %s", alice)
	}
	// Runs of the same user: round robin would alternate within them.
	for _, u := range []string{"alice", "alice", "alice", "bob", "bob", "bob"} {
		want := alice
		if u == "bob" {
			want = bob
		}
		if got := who("/", "X-User: "+u); got != want {
			t.Fatalf("%s went to %s, first to %s", u, got, want)
		}
	}
	// Learn both sessions, then each session sticks to the server that
	// announced it.
	who("/learn", "X-A: 1")
	who("/learn", "X-A: 2")
	for _, sess := range []string{"one", "one", "one", "two", "two", "two"} {
		want := map[string]string{"one": "s1", "two": "s2"}[sess]
		if got := who("/learn", "X-Session: "+sess); got != want {
			t.Fatalf("session %s went to %s", sess, got)
		}
	}
	if !strings.Contains(s1.received(), "X-User: alice") && !strings.Contains(s2.received(), "X-User: alice") {
		t.Fatal("no request reached a server")
	}
}
