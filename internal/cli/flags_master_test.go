package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMasterWorkerFlags(t *testing.T) {
	f, err := ParseFlags([]string{"-Ws", "-S", "/run/m.sock,mode,600", "-S", "fd@3", "-f", "a.cfg", "-sf", "10", "11", "-st", "12", "-L", "peer1"})
	if err != nil {
		t.Fatal(err)
	}
	if !f.MasterWorker || !f.Systemd || !reflect.DeepEqual(f.MasterCLI, []string{"/run/m.sock,mode,600", "fd@3"}) ||
		!reflect.DeepEqual(f.SoftStop, []int{10, 11}) || !reflect.DeepEqual(f.HardStop, []int{12}) ||
		f.LocalPeer != "peer1" || !reflect.DeepEqual(f.Files, []string{"a.cfg"}) {
		t.Errorf("flags %+v", f)
	}
	if f, _ := ParseFlags([]string{"-W"}); !f.MasterWorker || f.Systemd {
		t.Errorf("-W: %+v", f)
	}
	for _, bad := range [][]string{{"-sf"}, {"-sf", "x"}, {"-st", "-f", "a"}, {"-S"}} {
		if _, err := ParseFlags(bad); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: err %v", bad, err)
		}
	}
}

func TestOpenMasterCLIRefusals(t *testing.T) {
	for spec, want := range map[string]string{
		"/tmp/x.sock,mode":        "pairs",
		"/tmp/x.sock,level,root":  "level",
		"/tmp/x.sock,mode,999":    "octal",
		"/tmp/x.sock,colour,blue": "unknown option",
		"udp@127.0.0.1:1":         "not supported",
	} {
		if _, err := openMasterCLIs([]string{spec}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", spec, err, want)
		}
	}
}

// -L names the local peer, the host name by default, and the
// configuration reads it as "${HAPROXY_LOCALPEER}" (as HAProxy's -c does).
func TestLocalPeerName(t *testing.T) {
	t.Setenv("HAPROXY_LOCALPEER", "")
	host, _ := os.Hostname()
	cfg := filepath.Join(t.TempDir(), "p.cfg")
	text := func(name string) string {
		return "defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n" +
			"frontend f\n  bind 127.0.0.1:1\n.if streq(\"${HAPROXY_LOCALPEER}\"," + name + ")\n  bogus-directive\n.endif\n"
	}
	for _, tc := range []struct {
		args []string
		name string
		want int
	}{
		{[]string{"-L", "p1"}, "p1", 1},
		{[]string{"-L", "p1"}, "p2", 0},
		{nil, host, 1},
	} {
		os.WriteFile(cfg, []byte(text(tc.name)), 0o644)
		var out, errb bytes.Buffer
		if got := Main(append(tc.args, "-c", "-f", cfg), &out, &errb); got != tc.want {
			t.Errorf("%v with the name %q: exit %d, want %d\n%s", tc.args, tc.name, got, tc.want, errb.String())
		}
	}
}
