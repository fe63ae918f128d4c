package cli

import (
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
