package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"bulwark/internal/config"
)

func checkTrustedSource(t *Target) Result {
	return skip("needs the running binary: run with --live (package ownership, checksums, build info)")
}

// checkUnusedFeatures flags Lua and SPOE loaded but never referenced: the
// build-feature half needs the binary and is left to --live / a person.
func checkUnusedFeatures(t *Target) Result {
	var loads []*config.Directive
	for _, name := range []string{"lua-load", "lua-load-per-thread", "lua-prepend-path"} {
		loads = append(loads, globalDirectives(t.Model, name)...)
	}
	luaUsed, spoeFilters := false, []*config.Directive{}
	for _, s := range t.Config.Sections {
		for _, d := range s.Directives {
			if d.Name == "filter" && d.Arg(0) == "spoe" {
				spoeFilters = append(spoeFilters, d)
			}
			if s.Kind == config.KindGlobal {
				continue
			}
			for _, a := range d.Args {
				if strings.Contains(a.Text, "lua.") {
					luaUsed = true
				}
			}
		}
	}
	var evs []Evidence
	if len(loads) > 0 && !luaUsed {
		for _, d := range loads {
			evs = append(evs, ev(d.Pos, Warn, "'%s' loads Lua but no rule, fetch or service uses lua.*", d.Name))
		}
	}
	for _, d := range spoeFilters {
		evs = append(evs, ev(d.Pos, Manual, "SPOE filter in use: confirm the agent is needed"))
	}
	if len(evs) > 0 {
		r := summarize(evs, "", "features configured but unused")
		if r.Verdict == Manual {
			r.Summary = "optional features in use; build features need 'haproxy -vv' (--live)"
		}
		return r
	}
	return manual("the configuration loads no Lua and no SPOE filter; which features the binary has built in needs 'haproxy -vv' (--live)")
}

func isRootName(s string) bool { return s == "root" || s == "0" || s == "wheel" }

func checkNonRoot(t *Target) Result {
	var evs []Evidence
	userSet, groupSet := false, false
	for _, d := range t.Model.Global.Directives {
		switch d.Name {
		case "user", "uid":
			userSet = true
			if isRootName(d.Arg(0)) {
				evs = append(evs, ev(d.Pos, Fail, "'%s %s' runs the workers as root", d.Name, d.Arg(0)))
			} else {
				evs = append(evs, ev(d.Pos, Pass, "%s %s", d.Name, d.Arg(0)))
			}
		case "group", "gid":
			groupSet = true
			if isRootName(d.Arg(0)) {
				evs = append(evs, ev(d.Pos, Fail, "'%s %s' keeps the root group", d.Name, d.Arg(0)))
			} else {
				evs = append(evs, ev(d.Pos, Pass, "%s %s", d.Name, d.Arg(0)))
			}
		}
	}
	if !userSet {
		evs = append(evs, ev(t.globalPos(), Fail, "no 'user' or 'uid' %s: the process keeps the user that started it (usually root)", t.inGlobal()))
	}
	if !groupSet {
		evs = append(evs, ev(t.globalPos(), Warn, "no 'group' or 'gid' %s: the process keeps the group that started it", t.inGlobal()))
	}
	return summarize(evs, "runs as a non-root user and group", "may run as root")
}

func checkChroot(t *Target) Result {
	ds := globalDirectives(t.Model, "chroot")
	if len(ds) == 0 {
		return Result{Verdict: Fail, Summary: "no chroot",
			Evidence: []Evidence{ev(t.globalPos(), Fail, "no 'chroot' directive %s", t.inGlobal())}}
	}
	d := ds[len(ds)-1]
	dir := d.Arg(0)
	var evs []Evidence
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		evs = append(evs, ev(d.Pos, Fail, "chroot %s: %v", dir, errText(err)))
	case !st.IsDir():
		evs = append(evs, ev(d.Pos, Fail, "chroot %s is not a directory", dir))
	default:
		evs = append(evs, dirSafety(d.Pos, dir, st)...)
	}
	return summarize(evs, "chroot directory present, root-owned and not writable by others", "chroot missing or unsafe")
}

// dirSafety checks a chroot directory: root-owned, not group/other
// writable, and (near) empty, since anything inside is reachable after a
// compromise.
func dirSafety(pos config.Pos, dir string, st os.FileInfo) []Evidence {
	var evs []Evidence
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != 0 {
		evs = append(evs, ev(pos, Fail, "chroot %s is owned by uid %d, not root: the proxy user could plant files", dir, sys.Uid))
	}
	if st.Mode().Perm()&0o022 != 0 {
		evs = append(evs, ev(pos, Fail, "chroot %s has mode %04o: writable by group or others", dir, st.Mode().Perm()))
	}
	ents, err := os.ReadDir(dir)
	if err == nil {
		var risky []string
		for _, e := range ents {
			switch e.Name() {
			case "bin", "sbin", "usr", "lib", "lib64", "etc", "proc":
				risky = append(risky, e.Name())
			}
		}
		sort.Strings(risky)
		if len(risky) > 0 {
			evs = append(evs, ev(pos, Warn, "chroot %s is not minimal: contains %s", dir, strings.Join(risky, ", ")))
		}
	}
	if len(evs) == 0 {
		evs = append(evs, ev(pos, Pass, "chroot %s (mode %04o, root-owned)", dir, st.Mode().Perm()))
	}
	return evs
}

func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func checkValidates(t *Target) Result {
	var evs []Evidence
	for _, d := range t.Diags {
		switch d.Severity {
		case config.SevAlert:
			evs = append(evs, ev(d.Pos, Fail, "%s", d.Error()))
		case config.SevWarning:
			evs = append(evs, ev(d.Pos, Warn, "%s", d.Error()))
		}
	}
	if t.Product == ProductHAProxy && t.HAProxyCheck != nil {
		evs = append(evs, haproxyCheckEvidence(t)...)
	}
	r := summarize(evs, fmt.Sprintf("configuration parses and validates for %s", t.Product), "")
	switch r.Verdict {
	case Fail:
		n := 0
		for _, e := range evs {
			if e.Verdict == Fail && !strings.Contains(e.Text, " -c rejects the configuration") {
				n++
			}
		}
		r.Summary = fmt.Sprintf("%d error(s): the configuration would be rejected", n)
	case Warn:
		r.Summary = fmt.Sprintf("valid with %d warning(s)", t.Diags.Count(config.SevWarning))
	}
	return r
}

// haproxyCheckEvidence is the verdict of the real "haproxy -c" on an
// HAProxy target: the deployed binary is the final judge of its own
// language, and a disagreement with Bulwark's reading is shown, not hidden.
func haproxyCheckEvidence(t *Target) []Evidence {
	v := t.HAProxyCheck(t.Files)
	var pos config.Pos
	if len(t.Files) > 0 {
		pos = config.Pos{File: t.Files[0], Line: 1}
	}
	switch {
	case v.Err != nil:
		return []Evidence{ev(pos, Manual, "%s -c could not be run: %v", v.Bin, v.Err)}
	case v.Exit == 0 || v.Exit == 2:
		e := ev(pos, Pass, "%s -c: configuration is valid (exit %d)", v.Bin, v.Exit)
		if t.Diags.HasAlerts() {
			e.Text += "; Bulwark's reading reports errors above: please report the difference"
		}
		return []Evidence{e}
	}
	evs := []Evidence{ev(pos, Fail, "%s -c rejects the configuration (exit %d)", v.Bin, v.Exit)}
	for _, line := range strings.Split(v.Output, "\n") {
		if !strings.Contains(line, "[ALERT]") || len(evs) >= 20 {
			continue
		}
		// "[ALERT]    (pid) : config : parsing [file:line] : message": keep
		// the position for the report, the message for the reader.
		p, msg := pos, strings.TrimSpace(line)
		if i := strings.Index(msg, "parsing ["); i >= 0 {
			if j := strings.Index(msg[i:], "]"); j > 0 {
				loc := msg[i+len("parsing [") : i+j]
				if k := strings.LastIndexByte(loc, ':'); k > 0 {
					if n, err := strconv.Atoi(loc[k+1:]); err == nil {
						p = config.Pos{File: loc[:k], Line: n}
					}
				}
				msg = strings.TrimPrefix(strings.TrimSpace(msg[i+j+1:]), ": ")
			}
		} else if k := strings.Index(msg, ": config : "); k >= 0 {
			msg = msg[k+len(": config : "):]
		}
		if strings.HasPrefix(msg, "Error(s) found in configuration file") || strings.HasPrefix(msg, "Fatal errors found") {
			continue // haproxy's own summary of the lines above
		}
		evs = append(evs, ev(p, Fail, "haproxy -c: %s", msg))
	}
	return evs
}

func checkVersionControl(t *Target) Result {
	if t.Git == nil {
		return manual("git not run (--no-git, or no git on PATH): check that the configuration is in a reviewed repository")
	}
	var evs []Evidence
	for _, f := range t.Files {
		pos := config.Pos{File: f}
		tracked, clean, err := t.Git(f)
		switch {
		case err != nil:
			evs = append(evs, ev(pos, Fail, "%s is not in a git work tree (%v)", f, err))
		case !tracked:
			evs = append(evs, ev(pos, Fail, "%s is not tracked by git", f))
		case !clean:
			evs = append(evs, ev(pos, Warn, "%s has uncommitted changes", f))
		default:
			evs = append(evs, ev(pos, Pass, "%s is tracked and clean", f))
		}
	}
	r := summarize(evs, "", "configuration not fully under version control")
	if r.Verdict == Pass {
		// Review cannot be seen from the work tree.
		r.Verdict, r.Summary = Manual, "tracked and clean in git; confirm changes are peer-reviewed"
	}
	return r
}

// BackupPattern names the archives 'bulwark backup' writes.
const BackupPattern = "bulwark-backup-*.tar.gz"

// backupMaxAge is how old the newest archive may be before it is not
// "recent".
const backupMaxAge = 7 * 24 * time.Hour

func checkBackup(t *Target) Result {
	dirs := append([]string(nil), t.BackupDirs...)
	seen := map[string]bool{}
	for _, f := range t.Files {
		dirs = append(dirs, filepath.Dir(f))
	}
	var newest os.FileInfo
	var newestPath string
	for _, d := range dirs {
		if seen[d] {
			continue
		}
		seen[d] = true
		matches, _ := filepath.Glob(filepath.Join(d, BackupPattern))
		for _, m := range matches {
			st, err := os.Stat(m)
			if err == nil && (newest == nil || st.ModTime().After(newest.ModTime())) {
				newest, newestPath = st, m
			}
		}
	}
	where := strings.Join(sortedKeys(seen), ", ")
	if newest == nil {
		return Result{Verdict: Warn, Summary: "no backup archive found",
			Evidence: []Evidence{ev(config.Pos{}, Warn, "no %s in %s (backups made by other tools are not seen: pass --backup-dir where they are kept)", BackupPattern, where)}}
	}
	age := t.Now.Sub(newest.ModTime())
	if age > backupMaxAge {
		return Result{Verdict: Warn, Summary: "newest backup is old",
			Evidence: []Evidence{ev(config.Pos{}, Warn, "newest archive %s is %d days old", newestPath, int(age.Hours()/24))}}
	}
	return Result{Verdict: Pass, Summary: "recent backup archive found",
		Evidence: []Evidence{ev(config.Pos{}, Pass, "%s", newestPath)}}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func checkPlaybooks(t *Target) Result {
	return manual("confirm playbooks exist for cert compromise, backend breach, L7 abuse/DDoS and misrouting/header injection, and that they were rehearsed ('bulwark playbook' drafts them)")
}
