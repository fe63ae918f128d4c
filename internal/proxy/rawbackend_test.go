package proxy

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"bulwark/internal/testtool"
)

// rawBackend is a server that records every byte it receives, on every
// connection, and answers from a script. Unlike a net/http backend it
// rejects nothing itself, so a test can tell "the proxy refused it" from
// "the server refused it": what the proxy forwarded is exactly in the
// record.
type rawBackend struct {
	*testtool.Server
	addr string
}

func newRawBackend(t testing.TB, answer func(in []byte, sent int) (string, bool)) *rawBackend {
	t.Helper()
	s := testtool.Listen(t, testtool.Reply(answer))
	return &rawBackend{Server: s, addr: s.Addr}
}

// rawBackendOn is newRawBackend on a listener the test opened.
func rawBackendOn(t testing.TB, l net.Listener, answer func(in []byte, sent int) (string, bool)) *rawBackend {
	t.Helper()
	s := testtool.ListenOn(t, l, testtool.Reply(answer))
	return &rawBackend{Server: s, addr: s.Addr}
}

// received returns everything the backend got, all connections joined.
func (b *rawBackend) received() string { return b.Received() }

// answerEachHead answers resp once per request head received (bodies are
// not awaited).
func answerEachHead(resp string) func([]byte, int) (string, bool) {
	return func(in []byte, sent int) (string, bool) {
		return resp, bytes.Count(in, []byte("\r\n\r\n")) > sent
	}
}

// answerAfter answers resp once, when the input contains marker.
func answerAfter(marker, resp string) func([]byte, int) (string, bool) {
	return func(in []byte, sent int) (string, bool) {
		return resp, sent == 0 && strings.Contains(string(in), marker)
	}
}
