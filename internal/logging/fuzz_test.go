package logging

import (
	"bufio"
	"bytes"
	"testing"
	"time"
)

// Whatever the host name, tag and message, an rfc5424 line sent over a
// stream parses as one RFC 6587 frame holding one RFC 5424 message with
// the message intact (host and tag are made valid, never passed raw).
func FuzzRFC5424Frame(f *testing.F) {
	f.Add("lb1", "bulwark", "hello world", `[a@1 k="v"]`)
	f.Add("", "", "", "")
	f.Add("h o\x00st", "t\xffag", "line\nwith\nnewlines", "-")
	f.Fuzz(func(t *testing.T, host, tag, msg, sd string) {
		if sd != "" && sd != "-" {
			if _, err := parse5424("<1>1 - h a p m " + sd); err != nil {
				sd = "" // only valid structured data is given to the writer
			}
		}
		s := &Sink{t: Target{Format: "rfc5424", Hostname: host, Tag: tag, Len: 1 << 20, OctetCount: true, SendHostname: true}, kind: kindStream, pri: 128}
		b := frame(s.appendLine(nil, 6, []byte(sd), []byte(msg), time.Unix(1_700_000_000, 123456789)))
		got, err := readFrame(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("frame %q: %v", b, err)
		}
		m, err := parse5424(got)
		if err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		if m.Msg != msg {
			t.Fatalf("message %q, want %q", m.Msg, msg)
		}
	})
}
