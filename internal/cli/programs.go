package cli

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"bulwark/internal/model"
)

// program is one running instance of a "program" section (CM 3.7),
// started by the master: a reload sends it SIGUSR1 and starts a new
// instance (unless "no option start-on-reload" keeps it), a stop sends it
// SIGTERM, and "show proc" lists it.
type program struct {
	name    string
	pid     int
	started time.Time
	reloads int
	done    chan struct{}
	code    int
}

// startProgram runs p's command as its user and group, with the master's
// environment and standard output and error.
func startProgram(p *model.Program) (*program, error) {
	path, err := exec.LookPath(p.Command[0])
	if err != nil {
		return nil, fmt.Errorf("Cannot execute %s: %v", p.Command[0], err)
	}
	cmd := exec.Command(path, p.Command[1:]...)
	cmd.Args[0] = p.Command[0]
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if p.User != "" || p.Group != "" {
		cred := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
		if p.User != "" {
			u, err := user.Lookup(p.User)
			if err != nil {
				return nil, fmt.Errorf("program '%s': %v", p.Name, err)
			}
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			cred.Uid, cred.Gid = uint32(uid), uint32(gid)
		}
		if p.Group != "" {
			g, err := user.LookupGroup(p.Group)
			if err != nil {
				return nil, fmt.Errorf("program '%s': %v", p.Name, err)
			}
			gid, _ := strconv.Atoi(g.Gid)
			cred.Gid = uint32(gid)
		}
		// Only the named group: none of root's supplementary groups.
		cred.Groups = []uint32{cred.Gid}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("Cannot execute %s: %v", p.Command[0], err)
	}
	pr := &program{name: p.Name, pid: cmd.Process.Pid, started: time.Now(), done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			ws := ee.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				pr.code = 128 + int(ws.Signal())
			} else {
				pr.code = ws.ExitStatus()
			}
		} else if err != nil {
			pr.code = 255
		}
		close(pr.done)
	}()
	return pr, nil
}

func (p *program) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		syscall.Kill(p.pid, sig)
	}
}

// exitText is HAProxy's "(Exit)" or the signal's name.
func exitText(code int) string {
	if code >= 128 {
		return syscall.Signal(code - 128).String()
	}
	return "Exit"
}

// startPrograms starts the programs of progs, except those whose running
// instance the configuration keeps ("no option start-on-reload"), and
// sends SIGUSR1 to the instances a new one replaces or whose section is
// gone, as HAProxy's master does on a reload.
func (m *master) startPrograms(progs []*model.Program) {
	m.mu.Lock()
	running := map[string]*program{}
	for _, p := range m.progs {
		running[p.name] = p
	}
	m.mu.Unlock()
	var cur []*program
	kept := map[*program]bool{}
	for _, p := range progs {
		if r := running[p.Name]; r != nil && !p.StartOnReload {
			r.reloads++
			cur = append(cur, r)
			kept[r] = true
			continue
		}
		pr, err := startProgram(p)
		if err != nil {
			m.alertf("%v", err)
			continue
		}
		m.noticef("New program '%s' (%d) forked", p.Name, pr.pid)
		go func() {
			<-pr.done
			m.progExited <- pr
		}()
		cur = append(cur, pr)
	}
	m.mu.Lock()
	for _, o := range m.oldProgs {
		o.reloads++
	}
	for _, r := range m.progs {
		if !kept[r] {
			r.reloads++
			m.oldProgs = append(m.oldProgs, r)
			r.signal(syscall.SIGUSR1)
		}
	}
	m.progs = cur
	m.mu.Unlock()
}

// programExited reports p's exit as HAProxy 2.6 does, and says whether
// the master must stop: a current program failing is a failure of the
// whole (exit-on-failure), unless "no-exit-on-failure".
func (m *master) programExited(p *program) (int, bool) {
	m.mu.Lock()
	current := false
	for i, c := range m.progs {
		if c == p {
			current = true
			m.progs = append(m.progs[:i], m.progs[i+1:]...)
			break
		}
	}
	for i, o := range m.oldProgs {
		if o == p {
			m.oldProgs = append(m.oldProgs[:i], m.oldProgs[i+1:]...)
			break
		}
	}
	m.mu.Unlock()
	if !current {
		m.warnf("Former program '%s' (%d) exited with code %d (%s)", p.name, p.pid, p.code, exitText(p.code))
		return 0, false
	}
	m.alertf("Current program '%s' (%d) exited with code %d (%s)", p.name, p.pid, p.code, exitText(p.code))
	if p.code != 0 && p.code != 130 && p.code != 143 && !m.noExit {
		m.alertf("exit-on-failure: killing every processes with SIGTERM")
		m.stop(syscall.SIGTERM, 0)
		return p.code, true
	}
	return 0, false
}

// stopPrograms sends SIGTERM to every program and waits for them, killing
// those still there after a while.
func (m *master) stopPrograms() {
	m.mu.Lock()
	all := append(append([]*program{}, m.progs...), m.oldProgs...)
	m.mu.Unlock()
	for _, p := range all {
		p.signal(syscall.SIGTERM)
	}
	for _, p := range all {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.signal(syscall.SIGKILL)
			<-p.done
		}
	}
}
