package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/lifecycle"
	"bulwark/internal/model"
	"bulwark/internal/proxy"
)

// The master CLI (-S, MG 9.4): HAProxy's protocol. Command lines hold
// commands separated by ';'. "@<n>" (the current worker is 1) and "@!<pid>"
// prefix a command run by a worker's runtime API, or alone make every next
// command go there ("@" alone comes back to the master). "prompt" keeps the
// connection for the next line; without it the connection closes once the
// lines received are answered.

type masterCLI struct {
	l     net.Listener
	level string
}

// openMasterCLIs listens on each -S spec: "<addr>[,<opt>,<value>...]" with
// the options mode, uid, gid, user, group (unix sockets) and level.
func openMasterCLIs(specs []string) (out []masterCLI, err error) {
	defer func() {
		if err != nil {
			for _, c := range out {
				c.l.Close()
			}
			out = nil
		}
	}()
	for _, spec := range specs {
		parts := strings.Split(spec, ",")
		if len(parts)%2 != 1 {
			return out, fmt.Errorf("'%s': options come in pairs (<option>,<value>)", spec)
		}
		a, err := model.ParseBindAddr(parts[0])
		if err != nil {
			return out, fmt.Errorf("'%s': %v", spec, err)
		}
		c := masterCLI{level: "admin"}
		mode, uid, gid := os.FileMode(0o600), -1, -1
		for i := 1; i < len(parts); i += 2 {
			k, v := parts[i], parts[i+1]
			switch k {
			case "level":
				if v != "user" && v != "operator" && v != "admin" {
					return out, fmt.Errorf("'%s': level must be user, operator or admin", spec)
				}
				c.level = v
			case "mode":
				n, err := strconv.ParseUint(v, 8, 32)
				if err != nil {
					return out, fmt.Errorf("'%s': mode '%s' is not an octal number", spec, v)
				}
				mode = os.FileMode(n)
			case "uid", "gid":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return out, fmt.Errorf("'%s': %s '%s' is not a number", spec, k, v)
				}
				if k == "uid" {
					uid = n
				} else {
					gid = n
				}
			case "user":
				u, err := user.Lookup(v)
				if err != nil {
					return out, fmt.Errorf("'%s': %v", spec, err)
				}
				uid, _ = strconv.Atoi(u.Uid)
			case "group":
				g, err := user.LookupGroup(v)
				if err != nil {
					return out, fmt.Errorf("'%s': %v", spec, err)
				}
				gid, _ = strconv.Atoi(g.Gid)
			default:
				return out, fmt.Errorf("'%s': unknown option '%s'", spec, k)
			}
		}
		switch a.Net {
		case "fd":
			f := os.NewFile(uintptr(a.FD), spec)
			if f == nil {
				return out, fmt.Errorf("'%s': not an open file descriptor", spec)
			}
			c.l, err = net.FileListener(f)
			f.Close()
		case "unix":
			os.Remove(a.Path)
			c.l, err = net.Listen("unix", a.Path)
			if err == nil {
				// The master CLI can reload and reach every worker as
				// admin: owner only unless told otherwise (HAP-6.2).
				if err = os.Chmod(a.Path, mode); err == nil && (uid >= 0 || gid >= 0) {
					err = os.Chown(a.Path, uid, gid)
				}
				if err != nil {
					c.l.Close()
				}
			}
		case "abns":
			c.l, err = net.Listen("unix", "@"+a.Path)
		case "tcp", "tcp4", "tcp6":
			c.l, err = net.Listen(a.Net, net.JoinHostPort(a.Host, strconv.Itoa(a.PortLow)))
		default:
			return out, fmt.Errorf("'%s': unsupported address", spec)
		}
		if err != nil {
			return out, fmt.Errorf("'%s': %v", spec, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (m *master) serveCLI(c masterCLI) {
	for {
		conn, err := c.l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go m.serveCLIConn(conn, c.level)
	}
}

// cliTimeout bounds how long a master CLI client may stay silent, and a
// forwarded command's answer (HAProxy's default "stats timeout").
const cliTimeout = 10 * time.Second

func (m *master) serveCLIConn(c net.Conn, level string) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 16384)
	prompt := false
	var target *lifecycle.Worker // nil: the master
	write := func(s string) bool {
		c.SetWriteDeadline(time.Now().Add(cliTimeout))
		_, err := io.WriteString(c, s)
		return err == nil
	}
	for {
		if prompt && !write(m.prompt(target)) {
			return
		}
		c.SetReadDeadline(time.Now().Add(cliTimeout))
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		for _, cmd := range strings.Split(strings.TrimSpace(line), ";") {
			cmd = strings.TrimSpace(cmd)
			if cmd == "" {
				continue
			}
			to := target
			if strings.HasPrefix(cmd, "@") {
				word, rest, _ := strings.Cut(cmd, " ")
				w, err := m.worker(word[1:])
				if err != "" {
					if !write(err) {
						return
					}
					continue
				}
				if rest = strings.TrimSpace(rest); rest == "" {
					target = w
					continue
				}
				to, cmd = w, rest
			}
			switch cmd {
			case "prompt":
				prompt = !prompt
				continue
			case "quit":
				return
			}
			var out string
			if to != nil {
				out = m.forward(to, cmd, level)
			} else {
				var closeAfter bool
				out, closeAfter = m.masterCommand(cmd, level)
				if closeAfter {
					write(out)
					return
				}
			}
			if !write(out) {
				return
			}
		}
		if !prompt && br.Buffered() == 0 {
			return
		}
	}
}

func (m *master) prompt(target *lifecycle.Worker) string {
	if target != nil {
		return strconv.Itoa(target.PID) + "> "
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lastFailed {
		return "master[ReloadFailed]> "
	}
	return "master> "
}

// worker resolves the part of an "@" prefix after the "@": "" is the
// master (nil), "<n>" a current worker by its relative number (only 1 in
// Bulwark: one worker per generation), "!<pid>" any worker, current or
// leaving.
func (m *master) worker(ref string) (*lifecycle.Worker, string) {
	if ref == "" || ref == "master" {
		return nil, ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if pid, ok := strings.CutPrefix(ref, "!"); ok {
		n, err := strconv.Atoi(pid)
		if err == nil {
			if m.cur != nil && m.cur.PID == n {
				return m.cur, ""
			}
			for _, o := range m.old {
				if o.PID == n {
					return o, ""
				}
			}
		}
		return nil, "Can't find the target PID matching the prefix '@" + ref + "'\n"
	}
	if n, err := strconv.Atoi(ref); err == nil && n == 1 && m.cur != nil {
		return m.cur, ""
	}
	return nil, "Can't find the target PID matching the prefix '@" + ref + "'\n"
}

// forward runs cmd on w's runtime API and returns its answer.
func (m *master) forward(w *lifecycle.Worker, cmd, level string) string {
	c, err := w.Forward(level)
	if err != nil {
		return fmt.Sprintf("Can't connect to the target CLI (worker %d: %v)\n", w.PID, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(cliTimeout))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return fmt.Sprintf("Can't connect to the target CLI (worker %d: %v)\n", w.PID, err)
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

var masterHelp = []struct{ name, help string }{
	{"help", "list the commands"},
	{"prompt", "toggle interactive mode with prompt"},
	{"quit", "close the connection"},
	{"show proc", "show the master and worker processes"},
	{"reload", "reload the configuration (as SIGUSR2); answers Success=1 or Success=0 and why"},
	{"@<n> <cmd>", "run <cmd> on the runtime API of current worker <n> (1)"},
	{"@!<pid> <cmd>", "run <cmd> on the runtime API of worker <pid>, current or leaving"},
}

// masterCommand runs a command of the master itself; closeAfter is set
// when the connection must close after the answer (reload, as HAProxy).
func (m *master) masterCommand(cmd, level string) (out string, closeAfter bool) {
	words := strings.Fields(cmd)
	switch {
	case len(words) == 1 && words[0] == "help":
		var b strings.Builder
		b.WriteString("The following commands are valid at this level:\n")
		for _, h := range masterHelp {
			fmt.Fprintf(&b, "  %-22s: %s\n", h.name, h.help)
		}
		return b.String(), false
	case len(words) == 2 && words[0] == "show" && words[1] == "proc":
		return m.showProc(), false
	case len(words) == 1 && words[0] == "reload":
		if levelRank(level) < levelRank("operator") {
			return "Permission denied\n", false
		}
		reply := make(chan reloadResult, 1)
		m.reloads <- reply
		r := <-reply
		if r.ok {
			return "Success=1\n--\n" + r.log, true
		}
		return "Success=0\n--\n" + r.log, true
	}
	return "Unknown command: '" + cmd + "'. Type 'help' for the list.\n", false
}

func levelRank(l string) int {
	return map[string]int{"user": 0, "operator": 1, "admin": 2}[l]
}

// showProc is "show proc" in HAProxy 2.6's layout.
func (m *master) showProc() string {
	uptime := func(t time.Time) string {
		up := int(time.Since(t).Seconds())
		return fmt.Sprintf("%dd%02dh%02dm%02ds", up/86400, (up%86400)/3600, (up%3600)/60, up%60)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "#%-14s %-15s %-15s %-15s %-15s\n", "<PID>", "<type>", "<reloads>", "<uptime>", "<version>")
	fmt.Fprintf(&b, "%-15d %-15s %-15s %-15s %-15s\n", os.Getpid(), "master",
		fmt.Sprintf("%d [failed: %d]", m.nreloads, m.nfailed), uptime(m.start), proxy.Version)
	b.WriteString("# workers\n")
	if m.cur != nil {
		fmt.Fprintf(&b, "%-15d %-15s %-15d %-15s %-15s\n", m.cur.PID, "worker", m.cur.Reloads, uptime(m.cur.Started), proxy.Version)
	}
	b.WriteString("# old workers\n")
	for _, o := range m.old {
		fmt.Fprintf(&b, "%-15d %-15s %-15d %-15s %-15s\n", o.PID, "worker", o.Reloads, uptime(o.Started), proxy.Version)
	}
	b.WriteString("# programs\n")
	for _, p := range m.progs {
		fmt.Fprintf(&b, "%-15d %-15s %-15d %-15s %-15s\n", p.pid, p.name, p.reloads, uptime(p.started), "-")
	}
	if len(m.oldProgs) > 0 {
		b.WriteString("# old programs\n")
		for _, p := range m.oldProgs {
			fmt.Fprintf(&b, "%-15d %-15s %-15d %-15s %-15s\n", p.pid, p.name, p.reloads, uptime(p.started), "-")
		}
	}
	b.WriteString("\n")
	return b.String()
}
