package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLiveReloadPath(t *testing.T) {
	const pkgUnit = "[Unit]\nDescription=HAProxy\n[Service]\nExecStartPre=/usr/sbin/haproxy -Ws -f $CONFIG -c -q $EXTRAOPTS\n" +
		"ExecStart=/usr/sbin/haproxy -Ws -f $CONFIG -p $PIDFILE\nExecReload=/usr/sbin/haproxy -Ws -f $CONFIG -c -q $EXTRAOPTS\nExecReload=/bin/kill -USR2 $MAINPID\n"
	tests := []struct {
		name   string
		cgroup string
		etc    string // unit in /etc (overrides lib)
		lib    string
		dropIn string // etc/haproxy.service.d/override.conf
		want   Verdict
		text   string
	}{
		{"packaged unit checks first", "0::/system.slice/haproxy.service\n", "", pkgUnit, "", Pass, "validates first"},
		{"cgroup v1 path", "1:name=systemd:/system.slice/haproxy.service\n", "", pkgUnit, "", Pass, "validates first"},
		{"reload only signals", "0::/system.slice/haproxy.service\n", "[Service]\nExecReload=/bin/kill -USR2 $MAINPID\n", pkgUnit, "", Warn, "does not run"},
		{"drop-in clears the check", "0::/system.slice/haproxy.service\n", "", pkgUnit, "[Service]\nExecReload=\nExecReload=/bin/kill -USR2 $MAINPID\n", Warn, "override.conf"},
		{"signal before check", "0::/system.slice/haproxy.service\n", "[Service]\nExecReload=/bin/kill -USR2 $MAINPID\nExecReload=/usr/sbin/haproxy -c -f /etc/haproxy/haproxy.cfg\n", "", "", Warn, "before its check"},
		{"master CLI reload before check", "0::/system.slice/haproxy.service\n", "[Service]\nExecReload=/usr/local/bin/bulwark reload /run/bulwark/master.sock\nExecReload=/usr/local/bin/bulwark -c -f /etc/bulwark/bulwark.cfg\n", "", "", Warn, "before its check"},
		{"check then master CLI reload", "0::/system.slice/haproxy.service\n", "[Service]\nExecReload=/usr/local/bin/bulwark -c -q -f $CONFIG\nExecReload=/usr/local/bin/bulwark reload /run/bulwark/master.sock\n", "", "", Pass, "validates first"},
		{"restart only, StartPre checks", "0::/system.slice/haproxy.service\n", "[Service]\nExecStartPre=-/usr/sbin/haproxy -c -f /etc/h.cfg\n", "", "", Pass, "ExecStartPre validates"},
		{"no unit file", "0::/system.slice/haproxy.service\n", "", "", "", Manual, "not found"},
		{"not a service", "0::/user.slice/session-3.scope\n", "", "", "", Manual, "not in a systemd service cgroup"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proc := writeFakeProc(t, []fakeProcess{{pid: 100, ppid: 1, uid: 99, exe: "/usr/sbin/haproxy", root: "/"}}, fakeTCP)
			os.WriteFile(filepath.Join(proc, "100", "cgroup"), []byte(tc.cgroup), 0o644)
			units := t.TempDir()
			etc, lib := filepath.Join(units, "etc"), filepath.Join(units, "lib")
			os.MkdirAll(filepath.Join(etc, "haproxy.service.d"), 0o755)
			os.MkdirAll(lib, 0o755)
			if tc.etc != "" {
				os.WriteFile(filepath.Join(etc, "haproxy.service"), []byte(tc.etc), 0o644)
			}
			if tc.lib != "" {
				os.WriteFile(filepath.Join(lib, "haproxy.service"), []byte(tc.lib), 0o644)
			}
			if tc.dropIn != "" {
				os.WriteFile(filepath.Join(etc, "haproxy.service.d", "override.conf"), []byte(tc.dropIn), 0o644)
			}
			tg := liveTarget(t, "global\n  user haproxy\nfrontend f\n  bind 127.0.0.1:8080\n")
			lf := &LiveFacts{Product: ProductHAProxy}
			findProcs(tg, LiveOptions{ProcRoot: proc}, lf)
			lf.Unit = unitOf(proc, []string{etc, lib}, lf.Procs)
			r := liveReloadPath(tg, lf)
			text := r.Summary
			for _, e := range r.Evidence {
				text += "\n" + e.Text
			}
			if r.Verdict != tc.want || !strings.Contains(text, tc.text) {
				t.Errorf("HAP-9.1 live %s, want %s with %q:\n%s", r.Verdict, tc.want, tc.text, text)
			}
		})
	}
}

func TestRunsConfigCheck(t *testing.T) {
	tests := []struct {
		cmd  string
		want bool
	}{
		{"/usr/sbin/haproxy -Ws -f $CONFIG -c -q", true},
		{"-/usr/local/bin/bulwark -c -f /etc/bulwark.cfg", true},
		{"/usr/local/bin/bulwark check -f x", true},
		{"/bin/kill -USR2 $MAINPID", false},
		{"/usr/bin/test -c /dev/null", false},
		{"/usr/sbin/haproxy -f x", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := runsConfigCheck(tc.cmd); got != tc.want {
			t.Errorf("runsConfigCheck(%q) = %v", tc.cmd, got)
		}
	}
}
