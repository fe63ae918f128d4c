package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bulwark/internal/lifecycle"
)

// programLines are the "# programs" (old=false) or "# old programs" lines
// of "show proc": name -> PID and reloads.
func programLines(showProc string, old bool) map[string][2]int {
	out := map[string][2]int{}
	want := "# programs"
	if old {
		want = "# old programs"
	}
	section := ""
	for _, l := range strings.Split(showProc, "\n") {
		if strings.HasPrefix(l, "#") {
			section = l
			continue
		}
		f := strings.Fields(l)
		if section != want || len(f) < 3 {
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		n, _ := strconv.Atoi(f[2])
		out[f[1]] = [2]int{pid, n}
	}
	return out
}

// TestProgramSections runs "program" sections under a real master: both
// start, one as the user it names; a reload sends SIGUSR1 to the one
// started on reload and starts a new instance, and keeps the one with "no
// option start-on-reload"; a stop sends SIGTERM to every program. Without
// master-worker mode a program section is refused.
func TestProgramSections(t *testing.T) {
	needRoot(t)
	bin := buildBulwark(t)
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	events := filepath.Join(dir, "events")
	os.WriteFile(events, nil, 0o666)
	os.Chmod(events, 0o666)
	script := filepath.Join(dir, "prog.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
trap 'kill $! 2>/dev/null; echo "$1 usr1 $$" >> `+events+`; exit 0' USR1
trap 'kill $! 2>/dev/null; echo "$1 term $$" >> `+events+`; exit 0' TERM
echo "$1 start $$" >> `+events+`
while :; do sleep 5 & wait $!; done
`), 0o755)
	srv := backendServer(t)
	port := freeTCPPort(t)
	sock := filepath.Join(dir, "master.sock")
	programs := fmt.Sprintf(`program fresh
    command %s fresh
program kept
    command %s kept
    user nobody
    no option start-on-reload
`, script, script)
	cfg := writeConfig(t, dir, proxyConfig("", port, srv)+programs)
	env := []string{lifecycle.AllowRootEnv + "=1"}
	p := startBulwark(t, bin, port, env, nil, "-W", "-S", sock, "-f", cfg)
	// A test that fails half-way kills the master (SIGKILL), which leaves
	// its programs: stop every instance that started, by its PID.
	t.Cleanup(func() {
		b, _ := os.ReadFile(events)
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[1] == "start" {
				if pid, err := strconv.Atoi(f[2]); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	})
	var sp string
	for i := 0; i < 250; i++ {
		sp = masterCmd(t, sock, "show proc")
		if len(programLines(sp, false)) == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := programLines(sp, false)
	if len(before) != 2 {
		t.Fatalf("show proc:\n%s\n%s", sp, p.output())
	}
	if ids := statusIDs(t, before["kept"][0], "Uid"); ids[0] != "65534" {
		t.Errorf("program 'kept' runs as uid %v, want nobody", ids)
	}
	if ids := statusIDs(t, before["fresh"][0], "Uid"); ids[0] != "0" {
		t.Errorf("program 'fresh' runs as uid %v, want the master's", ids)
	}
	if out := masterCmd(t, sock, "reload"); !strings.Contains(out, "Success=1") {
		t.Fatalf("reload: %q\n%s", out, p.output())
	}
	ev := func(s string) bool {
		for i := 0; i < 250; i++ {
			b, _ := os.ReadFile(events)
			if strings.Contains(string(b), s) {
				return true
			}
			time.Sleep(20 * time.Millisecond)
		}
		return false
	}
	if !ev(fmt.Sprintf("fresh usr1 %d", before["fresh"][0])) {
		t.Errorf("the replaced program did not get SIGUSR1")
	}
	sp = masterCmd(t, sock, "show proc")
	after := programLines(sp, false)
	if after["fresh"][0] == before["fresh"][0] || after["fresh"][0] == 0 {
		t.Errorf("no new instance of 'fresh':\n%s", sp)
	}
	if after["kept"] != [2]int{before["kept"][0], 1} {
		t.Errorf("'kept' must be the same process with 1 reload:\n%s", sp)
	}
	// The new instance has set its traps before it is told to stop.
	if !ev(fmt.Sprintf("fresh start %d", after["fresh"][0])) {
		t.Errorf("the new instance of 'fresh' did not start")
	}
	syscall.Kill(p.pid, syscall.SIGTERM)
	if !ev(fmt.Sprintf("fresh term %d", after["fresh"][0])) || !ev(fmt.Sprintf("kept term %d", after["kept"][0])) {
		b, _ := os.ReadFile(events)
		t.Errorf("a stop must send SIGTERM to every program; events:\n%s", b)
	}
	code, out := runToExit(t, bin, env, "-db", "-f", cfg)
	if code != 1 || !strings.Contains(out, "Can't use a 'program' section without master worker mode") {
		t.Errorf("without -W: exit %d\n%s", code, out)
	}
	// -c says the same, as HAProxy's does, unless -W is given.
	if code, out := runToExit(t, bin, env, "-c", "-f", cfg); code != 1 || !strings.Contains(out, "without master worker mode") {
		t.Errorf("-c without -W: exit %d\n%s", code, out)
	}
	if code, out := runToExit(t, bin, env, "-W", "-c", "-f", cfg); code != 0 {
		t.Errorf("-W -c: exit %d\n%s", code, out)
	}
}
