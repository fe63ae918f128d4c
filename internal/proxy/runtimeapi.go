package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/model"
	"bulwark/internal/stats"
)

// The runtime API ("stats socket", MG 9.3): one command line per
// connection (several separated by ';'), or "prompt" for an interactive
// session; each command's output ends with an empty line. The subset
// implemented is listed by "help".

// levels orders the socket privilege levels.
var levelRank = map[string]int{"user": 0, "operator": 1, "admin": 2}

type apiCommand struct {
	name  string
	level string
	help  string
	run   func(rt *Runtime, args []string) string
}

func apiCommands() []apiCommand {
	return []apiCommand{
		{"help", "user", "list the commands", nil},
		{"show info", "user", "process information", (*Runtime).apiShowInfo},
		{"show stat", "user", "statistics in HAProxy's CSV format", (*Runtime).apiShowStat},
		{"show servers state", "user", "server states", (*Runtime).apiShowServers},
		{"show table", "user", "stick tables, or one table's entries", (*Runtime).apiShowTable},
		{"get weight", "user", "get weight <backend>/<server>", (*Runtime).apiGetWeight},
		{"set weight", "admin", "set weight <backend>/<server> <weight>", (*Runtime).apiSetWeight},
		{"disable server", "admin", "disable server <backend>/<server> (maintenance)", (*Runtime).apiDisable},
		{"enable server", "admin", "enable server <backend>/<server>", (*Runtime).apiEnable},
		{"set server", "admin", "set server <backend>/<server> state ready|drain|maint | weight <w>", (*Runtime).apiSetServer},
	}
}

// serveAPI answers one runtime API connection.
func (rt *Runtime) serveAPI(c net.Conn, level string) {
	defer c.Close()
	br := bufio.NewReader(c)
	prompt := false
	for {
		timeout := rt.model.Global.StatsTimeout
		if timeout <= 0 {
			timeout = 10 * time.Second // HAProxy's default "stats timeout"
		}
		c.SetReadDeadline(time.Now().Add(timeout))
		if prompt {
			c.Write([]byte("> "))
		}
		line, err := br.ReadString('\n')
		if err != nil && line == "" {
			return
		}
		for _, cmd := range strings.Split(strings.TrimSpace(line), ";") {
			cmd = strings.TrimSpace(cmd)
			switch cmd {
			case "":
				continue
			case "prompt":
				prompt = !prompt
				continue
			case "quit":
				return
			}
			out := rt.apiRun(cmd, level)
			c.SetWriteDeadline(time.Now().Add(timeout))
			c.Write([]byte(out))
			c.Write([]byte("\n"))
		}
		if !prompt {
			return
		}
	}
}

func (rt *Runtime) apiRun(line, level string) string {
	words := strings.Fields(line)
	for _, cmd := range apiCommands() {
		n := len(strings.Fields(cmd.name))
		if len(words) < n || strings.Join(words[:n], " ") != cmd.name {
			continue
		}
		if levelRank[level] < levelRank[cmd.level] {
			return "Permission denied\n"
		}
		if cmd.run == nil {
			var b strings.Builder
			b.WriteString("The following commands are valid at this level:\n")
			for _, c := range apiCommands() {
				if levelRank[level] >= levelRank[c.level] {
					fmt.Fprintf(&b, "  %-22s: %s\n", c.name, c.help)
				}
			}
			return b.String()
		}
		return cmd.run(rt, words[n:])
	}
	return "Unknown command: '" + line + "'. Type 'help' for the list.\n"
}

func (rt *Runtime) apiShowInfo(args []string) string {
	conns := 0
	for _, f := range rt.frontends {
		conns += int(f.conns.Load())
	}
	return fmt.Sprintf("Name: Bulwark\nVersion: %s\nPid: %d\nMaxconn: %d\nCurrConns: %d\nStopping: %d\n",
		Version, os.Getpid(), rt.model.Global.MaxConn, conns, b2i(rt.stopping.Load()))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (rt *Runtime) apiShowStat(args []string) string {
	var buf bytes.Buffer
	stats.WriteCSV(&buf, rt.StatsRows(), os.Getpid())
	return buf.String()
}

func (rt *Runtime) apiShowServers(args []string) string {
	var b strings.Builder
	b.WriteString("# be_name srv_name srv_addr srv_state srv_weight srv_admin\n")
	for _, p := range rt.model.Backends() {
		be := rt.backends[p.Name]
		if be == nil {
			continue
		}
		for _, s := range be.servers {
			state := "UP"
			if !s.up.Load() {
				state = "DOWN"
			}
			admin := "ready"
			if s.admin != "" {
				admin = s.admin
			}
			fmt.Fprintf(&b, "%s %s %s %s %d %s\n", be.name, s.name, s.addr, state, s.lb.Weight(), admin)
		}
	}
	return b.String()
}

func (rt *Runtime) apiShowTable(args []string) string {
	var b strings.Builder
	if len(args) == 0 {
		for _, p := range rt.model.Proxies {
			if t := rt.tables[p.Name]; t != nil {
				typ := ""
				if args := p.StickTable.Args; len(args) > 1 && args[0] == "type" {
					typ = args[1]
				}
				fmt.Fprintf(&b, "# table: %s, type: %s, size:%d, used:%d\n", t.Name(), typ, t.Spec().Size, t.Used())
			}
		}
		return b.String()
	}
	t := rt.tables[args[0]]
	if t == nil {
		return "Unknown table '" + args[0] + "'.\n"
	}
	t.Dump(&b, rt.clock.NowMs())
	return b.String()
}

// apiServer resolves "<backend>/<server>".
func (rt *Runtime) apiServer(arg string) (*backend, *server, string) {
	be, sv, ok := strings.Cut(arg, "/")
	if !ok {
		return nil, nil, "Require 'backend/server'.\n"
	}
	b := rt.backends[be]
	if b == nil {
		return nil, nil, "No such backend.\n"
	}
	for _, s := range b.servers {
		if s.name == sv {
			return b, s, ""
		}
	}
	return nil, nil, "No such server.\n"
}

func (rt *Runtime) apiGetWeight(args []string) string {
	if len(args) != 1 {
		return "Require 'backend/server'.\n"
	}
	_, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg
	}
	return fmt.Sprintf("%d (initial %d)\n", s.lb.Weight(), s.cfg.Weight)
}

func (rt *Runtime) apiSetWeight(args []string) string {
	if len(args) != 2 {
		return "Require 'backend/server' and 'weight' or 'weight%'.\n"
	}
	b, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg
	}
	w := args[1]
	var n int
	var err error
	if strings.HasSuffix(w, "%") {
		n, err = strconv.Atoi(strings.TrimSuffix(w, "%"))
		n = s.cfg.Weight * n / 100
	} else {
		n, err = strconv.Atoi(w)
	}
	if err != nil || n < 0 || n > 256 {
		return "Invalid weight.\n"
	}
	s.lb.SetWeight(n)
	b.lb.Update()
	return ""
}

func (rt *Runtime) apiSetState(args []string, state string) string {
	if len(args) < 1 {
		return "Require 'backend/server'.\n"
	}
	b, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg
	}
	switch state {
	case "ready":
		s.admin = ""
		s.lb.SetUsable(s.up.Load())
		if s.lb.Weight() == 0 && s.cfg.Weight > 0 {
			s.lb.SetWeight(s.cfg.Weight)
		}
	case "drain":
		// No new balanced traffic; connections in progress finish.
		s.admin = "drain"
		s.lb.SetWeight(0)
	case "maint":
		s.admin = "maint"
		s.lb.SetUsable(false)
	default:
		return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
	}
	b.lb.Update()
	return ""
}

func (rt *Runtime) apiDisable(args []string) string { return rt.apiSetState(args, "maint") }
func (rt *Runtime) apiEnable(args []string) string  { return rt.apiSetState(args, "ready") }

func (rt *Runtime) apiSetServer(args []string) string {
	if len(args) == 3 && args[1] == "state" {
		return rt.apiSetState([]string{args[0]}, args[2])
	}
	if len(args) == 3 && args[1] == "weight" {
		return rt.apiSetWeight([]string{args[0], args[2]})
	}
	return "'set server <srv>' only supports 'state' and 'weight'.\n"
}

// startAPI opens the stats sockets and serves them until the runtime
// stops. Sockets are opened with the listeners (before a privilege drop),
// and taken over by the next generation on reload like any listener.
func (rt *Runtime) openAPI(m *model.Model, take func(string) net.Listener) error {
	for _, ss := range m.Global.StatsSocks {
		b := &model.Bind{Pos: ss.Pos, Addrs: []model.Addr{ss.Addr}, Mode: ss.Mode, User: ss.User, Group: ss.Group,
			Opts: map[string]string{}}
		if b.Mode == 0 && ss.Addr.Net == "unix" {
			b.Mode = 0o600 // HAP-6.2: owner only unless the configuration says otherwise
		}
		ls, keys, err := listen(rt.ctx, b, rt.opts.Inherited, take)
		if err != nil {
			return fmt.Errorf("stats socket (%s): %v", ss.Pos, err)
		}
		for i, l := range ls {
			rt.listeners = append(rt.listeners, l)
			rt.keys[keys[i]] = l
			rt.apis = append(rt.apis, apiListener{l, ss.Level})
		}
	}
	return nil
}

type apiListener struct {
	net.Listener
	level string
}

func (rt *Runtime) serveAPIListener(al apiListener) {
	for {
		c, err := al.Accept()
		if err != nil {
			if rt.stopping.Load() || isClosed(err) {
				return
			}
			if isTimeout(err) {
				if d, ok := al.Listener.(interface{ SetDeadline(time.Time) error }); ok {
					d.SetDeadline(time.Time{})
				}
				continue
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go rt.serveAPI(c, al.level)
	}
}

func isClosed(err error) bool {
	return strings.Contains(err.Error(), "use of closed network connection")
}
