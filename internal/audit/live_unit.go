package audit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"bulwark/internal/config"
)

// defaultUnitDirs are where systemd looks for unit files, most specific
// first: a unit in /etc overrides the packaged one of the same name.
func defaultUnitDirs() []string {
	return []string{"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}
}

// UnitFacts describe the systemd service that runs the proxy.
type UnitFacts struct {
	Name string // "haproxy.service"
	Path string // unit file read
	// DropIns are the *.conf files of NAME.d that were applied.
	DropIns  []string
	Reload   []string // ExecReload command lines, in order
	StartPre []string // ExecStartPre command lines
	// Problem says why no unit was read.
	Problem string
}

// unitOf finds the service unit of the first process from its cgroup path
// ("0::/system.slice/haproxy.service") and reads the unit with drop-ins.
func unitOf(procRoot string, dirs []string, procs []Proc) UnitFacts {
	if len(procs) == 0 {
		return UnitFacts{Problem: "no process to look up"}
	}
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(procs[0].PID), "cgroup"))
	if err != nil {
		return UnitFacts{Problem: "cgroup unreadable: " + shortErr(err)}
	}
	name := ""
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, el := range strings.Split(parts[2], "/") {
			if strings.HasSuffix(el, ".service") {
				name = el
			}
		}
		if name != "" {
			break
		}
	}
	if name == "" {
		return UnitFacts{Problem: fmt.Sprintf("PID %d is not in a systemd service cgroup", procs[0].PID)}
	}
	if len(dirs) == 0 {
		dirs = defaultUnitDirs()
	}
	uf := UnitFacts{Name: name}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			uf.Path = p
			break
		}
	}
	if uf.Path == "" {
		uf.Problem = fmt.Sprintf("unit %s not found in %s", name, strings.Join(dirs, ", "))
		return uf
	}
	readUnitFile(uf.Path, &uf)
	// Drop-ins apply in file-name order across all directories; a later
	// directory's file of the same name is shadowed by an earlier one.
	seen := map[string]string{}
	for _, d := range dirs {
		ents, _ := os.ReadDir(filepath.Join(d, name+".d"))
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".conf") {
				if _, ok := seen[e.Name()]; !ok {
					seen[e.Name()] = filepath.Join(d, name+".d", e.Name())
				}
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		uf.DropIns = append(uf.DropIns, seen[n])
		readUnitFile(seen[n], &uf)
	}
	return uf
}

// readUnitFile appends the [Service] ExecReload/ExecStartPre lines of one
// file; an empty assignment clears the list, as systemd does.
func readUnitFile(path string, uf *UnitFacts) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		for strings.HasSuffix(line, "\\") && sc.Scan() {
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(sc.Text())
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section = line
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section != "[Service]" {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var list *[]string
		switch k {
		case "ExecReload":
			list = &uf.Reload
		case "ExecStartPre":
			list = &uf.StartPre
		default:
			continue
		}
		if v == "" {
			*list = nil
		} else {
			*list = append(*list, v)
		}
	}
}

// runsConfigCheck reports whether a unit command line validates the
// configuration: haproxy/bulwark with -c (HAProxy's packaged unit runs
// 'haproxy -Ws -f $CONFIG -c -q').
func runsConfigCheck(cmd string) bool {
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return false
	}
	bin := filepath.Base(strings.TrimLeft(f[0], "-@:+!"))
	if !strings.HasPrefix(bin, ProductHAProxy) && !strings.HasPrefix(bin, ProductBulwark) {
		return false
	}
	for _, a := range f[1:] {
		if a == "-c" || (bin == ProductBulwark && a == "check") {
			return true
		}
	}
	return false
}

// liveReloadPath judges the live half of HAP-9.1: the systemd unit's
// reload must validate the configuration before it signals the proxy.
func liveReloadPath(t *Target, lf *LiveFacts) Result {
	if r, ok := procsOrProblem(lf); !ok {
		return r
	}
	u := lf.Unit
	if u.Problem != "" {
		return Result{Verdict: Manual, Summary: "live: no systemd unit found; check the reload path by hand",
			Evidence: []Evidence{ev(config.Pos{}, Manual, "live: %s: confirm that reloads run '%s -c -f FILE' first", u.Problem, t.Product)}}
	}
	where := u.Path
	if len(u.DropIns) > 0 {
		where += " + " + strings.Join(u.DropIns, ", ")
	}
	checkAt := -1
	for i, c := range u.Reload {
		if runsConfigCheck(c) {
			checkAt = i
			break
		}
	}
	preCheck := false
	for _, c := range u.StartPre {
		preCheck = preCheck || runsConfigCheck(c)
	}
	var e Evidence
	switch {
	case checkAt == 0 || (checkAt > 0 && !signalsBefore(u.Reload[:checkAt])):
		e = ev(config.Pos{}, Pass, "live: %s ExecReload validates first: %s", where, u.Reload[checkAt])
	case checkAt > 0:
		e = ev(config.Pos{}, Warn, "live: %s ExecReload signals the proxy before its check '%s'", where, u.Reload[checkAt])
	case len(u.Reload) == 0 && preCheck:
		e = ev(config.Pos{}, Pass, "live: %s has no ExecReload (reload is a restart) and ExecStartPre validates the configuration", where)
	case len(u.Reload) == 0:
		e = ev(config.Pos{}, Warn, "live: %s has no ExecReload and no ExecStartPre check: a restart loads the configuration unchecked", where)
	default:
		e = ev(config.Pos{}, Warn, "live: %s ExecReload (%s) does not run '%s -c' first", where, strings.Join(u.Reload, "; "), t.Product)
	}
	return summarize([]Evidence{e}, "live: the service's reload validates the configuration first", "live: the service's reload does not validate first")
}

// signalsBefore reports whether any of cmds reloads the proxy (a kill,
// systemctl, or "bulwark reload" through the master CLI) before the check
// would run.
func signalsBefore(cmds []string) bool {
	for _, c := range cmds {
		f := strings.Fields(c)
		if len(f) > 0 {
			b := filepath.Base(strings.TrimLeft(f[0], "-@:+!"))
			if b == "kill" || b == "systemctl" || b == "pkill" || (b == "bulwark" && len(f) > 1 && f[1] == "reload") {
				return true
			}
		}
	}
	return false
}
