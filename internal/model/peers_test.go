package model

import (
	"strings"
	"testing"

	"bulwark/internal/config"
)

func TestPeersSection(t *testing.T) {
	t.Setenv("HAPROXY_LOCALPEER", "me")
	compile := func(text string) (*Model, string) {
		cfg, ds := config.Parse("t.cfg", []byte(text), config.LexOptions{})
		m, cds := Compile(cfg, Options{})
		return m, compressionDiagText(append(ds, cds...))
	}
	m, out := compile("peers p\n  peer me 127.0.0.1:10000\n  peer you 127.0.0.2:10000\n  table t type ip size 1k\n" +
		"backend b\n  stick-table type ip size 1k peers p\n")
	if strings.Contains(out, "ALERT") || len(m.Peers) != 1 || m.Peers[0].Local == nil || m.Peers[0].Local.Name != "me" ||
		len(m.Peers[0].Tables) != 1 || m.Peers[0].Tables[0].Name != "p/t" || !strings.Contains(out, "no replication yet") {
		t.Fatalf("%+v\n%s", m.Peers, out)
	}
	for _, tc := range []struct{ text, want string }{
		{"peers p\n  peer you 127.0.0.2:10000\n", "Removing incomplete section 'peers p' (no peer named 'me')."},
		{"backend b\n  stick-table type ip size 1k peers nope\n", "Proxy 'b': unable to find sync peers 'nope'."},
		{"peers p\n  peer me 127.0.0.1:1\n  bind 127.0.0.1:2\n", "mixing \"peer\" and \"bind\" line is forbidden"},
		{"peers p\n  peer me 127.0.0.1:1\n  table t type ip\n", "table: "},
		{"peers p\n  peer me 127.0.0.1:1\n  table t type ip size 1k\n  table t type ip size 1k\n", "table 'p/t' already declared"},
		{"peers p\n  peer me 127.0.0.1:1\n  peer me 127.0.0.1:2\n", "peer 'me' already declared"},
		{"frontend f\n  bind 127.0.0.1:1\n  http-request track-sc0 src table p/nope\n", "unable to find stick-table 'p/nope'"},
	} {
		if _, out := compile(tc.text); !strings.Contains(out, tc.want) {
			t.Errorf("%q: got\n%s\nwant %q", tc.text, out, tc.want)
		}
	}
}
