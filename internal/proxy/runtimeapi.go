package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"bulwark/internal/model"
	"bulwark/internal/sockxfer"
	"bulwark/internal/srvstate"
)

// The runtime API ("stats socket", MG 9.3): command lines of commands
// separated by ';', or "prompt" for an interactive session; each command's
// output ends with an empty line. The subset implemented is listed by
// "help".

// levels orders the socket privilege levels.
var levelRank = map[string]int{"user": 0, "operator": 1, "admin": 2}

type apiCommand struct {
	name  string // the command's words
	usage string // what follows the words, for "help"
	level string
	help  string
	run   func(rt *Runtime, cs *apiSession, args []string) string
}

// apiSession is one runtime API connection: its level, which "operator"
// and "user" lower for the rest of the connection.
type apiSession struct {
	level string
	// payload is what followed a command line ending in "<<", up to the
	// empty line that ends it (MG 9.3 "payload").
	payload    string
	hasPayload bool
	// sess is the connection's own session, nil on the master CLI.
	sess *sessInfo
}

// wrap adapts a command that needs only its arguments.
func wrap(f func(*Runtime, []string) string) func(*Runtime, *apiSession, []string) string {
	return func(rt *Runtime, _ *apiSession, args []string) string { return f(rt, args) }
}

// serveAPI answers one runtime API connection. Without "prompt" it
// answers every line already received and closes once its input is
// drained, as HAProxy does; "prompt" keeps it open for the next line.
func (rt *Runtime) serveAPI(c net.Conn, level string, exposeFD bool) {
	defer c.Close()
	timeout := rt.model.Global.StatsTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second // HAProxy's default "stats timeout"
	}
	// The reader's buffer is the line bound: ReadSlice fails with
	// ErrBufferFull instead of growing, so a line that never ends costs
	// one buffer, not a copy of everything the client sent. HAProxy reads
	// a line into a tune.bufsize buffer and keeps a byte free, so a line
	// of bufsize-1 bytes, LF included, is the longest it runs.
	maxLine := rt.model.Global.BufSize - 1
	br := bufio.NewReaderSize(c, maxLine)
	prompt := false
	cs := &apiSession{level: level}
	if si, ok := rt.conns.Load(c); ok {
		cs.sess = si
	}
	reply := func(s string) bool {
		c.SetWriteDeadline(time.Now().Add(timeout))
		_, err := io.WriteString(c, s)
		return err == nil
	}
	for {
		// The deadline covers the whole line, so a client that trickles
		// bytes cannot hold the connection past "stats timeout" either.
		c.SetReadDeadline(time.Now().Add(timeout))
		if prompt && !reply("> ") {
			return
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			reply(fmt.Sprintf("Command line too long (more than %d bytes).\n\n", maxLine))
			return
		}
		// A line without its LF never runs, whether the client closed or
		// went quiet: it may be a command cut short ("set weight be/s 1"
		// of "... 100"). HAProxy 2.6 drops it too.
		if err != nil {
			return
		}
		text := string(bytes.TrimSpace(line))
		payload, hasPayload := "", false
		if rest, ok := strings.CutSuffix(text, "<<"); ok && (rest == "" || rest[len(rest)-1] == ' ' || rest[len(rest)-1] == '\t') {
			// The payload is bounded as the line is: one buffer for the
			// command and its payload together.
			var pl strings.Builder
			budget := maxLine - len(line)
			for {
				if prompt && !reply("+ ") {
					return
				}
				c.SetReadDeadline(time.Now().Add(timeout))
				pline, err := br.ReadSlice('\n')
				if errors.Is(err, bufio.ErrBufferFull) || len(pline) > budget {
					reply(fmt.Sprintf("Command line too long (more than %d bytes).\n\n", maxLine))
					return
				}
				if err != nil {
					return
				}
				budget -= len(pline)
				if len(bytes.TrimRight(pline, "\r\n")) == 0 {
					break
				}
				pl.Write(pline)
			}
			text, payload, hasPayload = strings.TrimSpace(rest), pl.String(), true
		}
		cmds := strings.Split(text, ";")
		for i, cmd := range cmds {
			cmd = strings.TrimSpace(cmd)
			// Only the last command of the line has the payload.
			cs.payload, cs.hasPayload = "", false
			if i == len(cmds)-1 {
				cs.payload, cs.hasPayload = payload, hasPayload
			}
			switch cmd {
			case "":
				continue
			case "prompt":
				prompt = !prompt
				continue
			case "quit":
				return
			case sockxfer.Command:
				// As HAProxy: the session ends with the sockets, or
				// with nothing sent when the socket may not give them.
				if exposeFD {
					rt.sendListeners(c)
				}
				return
			}
			out := rt.apiRun(cmd, cs)
			if bare, ok := strings.CutSuffix(out, unterminated); ok {
				out = bare
			} else {
				out += "\n"
			}
			if !reply(out) {
				return
			}
		}
		if !prompt && br.Buffered() == 0 {
			return
		}
	}
}

// unterminated ends an answer that HAProxy 2.6 sends without the empty
// line closing the others (some answers of "add server" and "del
// server"): the answer goes out as is, so that scripts see the same bytes.
const unterminated = "\x00"

func (rt *Runtime) apiRun(line string, cs *apiSession) string {
	words := strings.Fields(line)
	var best *apiCommand
	cmds := apiCommands()
	for i := range cmds {
		cmd := &cmds[i]
		n := len(strings.Fields(cmd.name))
		if len(words) < n || strings.Join(words[:n], " ") != cmd.name {
			continue
		}
		// The longest name wins: "show servers state" over "show servers".
		if best == nil || n > len(strings.Fields(best.name)) {
			best = cmd
		}
	}
	if best == nil {
		return rt.apiUnknown(words)
	}
	if levelRank[cs.level] < levelRank[best.level] {
		return "Permission denied\n"
	}
	return best.run(rt, cs, words[len(strings.Fields(best.name)):])
}

// helpLine is a command's line of "help": HAProxy's text for the
// commands HAProxy has, so that scripts reading "help" find its words.
func helpLine(c apiCommand) string {
	if h, ok := haproxyHelp[c.name]; ok {
		return "  " + h + "\n"
	}
	return fmt.Sprintf("  %-40s: %s\n", strings.TrimSpace(c.name+" "+c.usage), c.help)
}

// builtinHelp are the session's own commands, which HAProxy lists last.
const builtinHelp = "  help [<command>]                        : list matching or all commands\n" +
	"  prompt                                  : toggle interactive mode with prompt\n" +
	"  quit                                    : disconnect\n"

// apiHelp is "help [<command>]": the commands whose words begin with the
// given ones, or all of them, in HAProxy's layout. As in HAProxy 2.6 the
// list is the same at every level (the level is checked when a command
// runs).
func apiHelp(args []string) string {
	cmds := apiCommands()
	var lines []string
	for _, c := range cmds {
		if c.name == "help" {
			continue
		}
		if len(args) > 0 {
			words := strings.Fields(c.name)
			if len(args) > len(words) || strings.Join(words[:len(args)], " ") != strings.Join(args, " ") {
				continue
			}
		}
		lines = append(lines, helpLine(c))
	}
	if len(lines) == 0 && len(args) > 0 {
		return apiHelp(nil)
	}
	sort.Strings(lines)
	return "The following commands are valid at this level:\n" + strings.Join(lines, "") + builtinHelp
}

// apiUnknown answers an unknown command as HAProxy 2.6 does: the five
// commands closest to it, then the session's own commands.
func (rt *Runtime) apiUnknown(words []string) string {
	type near struct {
		line  string
		score int
	}
	var ns []near
	for _, c := range apiCommands() {
		if c.name == "help" {
			continue
		}
		score := 0
		for i, w := range strings.Fields(c.name) {
			for j, x := range words {
				if w == x {
					// A word in its place counts more than one elsewhere.
					score += 2
					if i == j {
						score += 2
					}
				} else if len(x) >= 3 && strings.HasPrefix(w, x) {
					score++
				}
			}
		}
		if score > 0 {
			ns = append(ns, near{helpLine(c), score})
		}
	}
	if len(ns) == 0 {
		return "Unknown command. Please enter one of the following commands only :\n" +
			strings.TrimPrefix(apiHelp(nil), "The following commands are valid at this level:\n")
	}
	sort.SliceStable(ns, func(i, j int) bool {
		if ns[i].score != ns[j].score {
			return ns[i].score > ns[j].score
		}
		return ns[i].line < ns[j].line
	})
	ns = ns[:min(len(ns), 5)]
	sort.Slice(ns, func(i, j int) bool { return ns[i].line < ns[j].line })
	var b strings.Builder
	b.WriteString("Unknown command, but maybe one of the following ones is a better match:\n")
	for _, n := range ns {
		b.WriteString(n.line)
	}
	b.WriteString(builtinHelp)
	return b.String()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// apiShowServers is "show servers state [<backend>]" in HAProxy 2.6's
// format version 1 (MG 9.3), which "server-state-file" tools parse by
// position.
func (rt *Runtime) apiShowServers(args []string) string {
	if len(args) > 0 && rt.backends[args[0]] == nil {
		return "Can't find backend.\n"
	}
	var b strings.Builder
	b.WriteString("1\n" + srvstate.StateHeader + "\n")
	now := time.Now()
	for _, p := range rt.model.Backends() {
		be := rt.backends[p.Name]
		if be == nil || (len(args) > 0 && args[0] != p.Name) {
			continue
		}
		for i, s := range be.srvs() {
			b.WriteString(rt.stateLine(p, be, i, s, now).String())
			b.WriteByte('\n')
		}
	}
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
	for _, s := range b.srvs() {
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
	st := s.state.Load()
	return fmt.Sprintf("%d (initial %d)\n", st.Weight, st.InitialWeight)
}

func (rt *Runtime) apiSetWeight(args []string) string {
	if len(args) == 0 {
		return "Require 'backend/server'.\n"
	}
	b, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg
	}
	if len(args) < 2 || args[1] == "" {
		return "Require <weight> or <weight%>.\n"
	}
	n, msg := parseWeight(args[1], s.state.Load().InitialWeight)
	if msg != "" {
		return msg
	}
	// A static algorithm only switches a server on or off (CM 4.2).
	if n != 0 && n != s.state.Load().InitialWeight && !b.params.Dynamic(b.cfg.Hash) {
		return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"
	}
	s.state.SetWeight(n)
	return ""
}

// parseWeight reads "<w>" or "<w>%" (of the initial weight) as HAProxy
// does, with its answers to bad values.
func parseWeight(text string, initial int) (int, string) {
	i := 0
	if i < len(text) && (text[i] == '-' || text[i] == '+') {
		i++
	}
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(text[:i])
	if err != nil {
		return 0, "Empty weight string empty or preceded by garbage"
	}
	switch rest := text[i:]; {
	case rest == "%":
		if n < 0 {
			return 0, "Relative weight must be positive.\n"
		}
		return min(initial*n/100, 256), ""
	case n < 0 || n > 256:
		return 0, "Absolute weight can only be between 0 and 256 inclusive.\n"
	case rest != "":
		return 0, "Trailing garbage in weight string"
	}
	return n, ""
}

// apiSetState is "set server <b>/<s> state ready|drain|maint". Drain keeps
// the user weight: the stats show weight 0 and "get weight" the weight the
// server gets back when ready.
func (rt *Runtime) apiSetState(args []string, state string) string {
	if len(args) < 1 {
		return "Require 'backend/server'.\n"
	}
	b, s, msg := rt.apiServer(args[0])
	if s == nil {
		return msg
	}
	a, ok := srvstate.ParseAdminState(state)
	if !ok {
		return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
	}
	before, after := s.state.SetAdmin(a)
	rt.stateChanged(b, s, before, after)
	return ""
}

func (rt *Runtime) apiDisable(args []string) string { return rt.apiSetState(args, "maint") }
func (rt *Runtime) apiEnable(args []string) string  { return rt.apiSetState(args, "ready") }

// openAPI opens the stats sockets. Sockets are opened with the listeners
// (before a privilege drop), and taken over by the next generation on
// reload like any listener.
func (rt *Runtime) openAPI(m *model.Model, take func(string) net.Listener) error {
	// "stats maxconn" bounds all stats sockets together, as HAProxy's
	// single CLI frontend does.
	all := make(chan struct{}, max(m.Global.StatsMaxConn, 1))
	for _, ss := range m.Global.StatsSocks {
		ls, keys, err := listen(rt.ctx, statsSocketBind(ss), !m.Global.NoReusePort, rt.opts.Inherited, take)
		if err != nil {
			return fmt.Errorf("stats socket (%s): %v", ss.Pos, err)
		}
		for i, l := range ls {
			rt.listeners = append(rt.listeners, l)
			rt.keys[keys[i]] = l
			al := apiListener{Listener: l, level: ss.Level, exposeFD: ss.ExposeFD, slots: []chan struct{}{all}, luid: len(rt.apis) + 1}
			if ss.MaxConn > 0 {
				al.slots = append([]chan struct{}{make(chan struct{}, ss.MaxConn)}, all)
			}
			rt.apis = append(rt.apis, al)
		}
	}
	return nil
}

type apiListener struct {
	net.Listener
	level string
	// exposeFD is "expose-fd listeners": "_getsocks" hands this
	// process's listening sockets to whoever asks (-x).
	exposeFD bool
	// slots are the connection bounds, acquired in order: the socket's
	// own "maxconn" first when set, then "stats maxconn".
	slots []chan struct{}
	// luid numbers the stats sockets from 1, as HAProxy numbers the
	// listeners of its CLI frontend (show sess).
	luid int
}

// acquire takes a slot in every bound, or none if the runtime stops first.
func (al apiListener) acquire(stopped <-chan struct{}) bool {
	for i, sem := range al.slots {
		select {
		case sem <- struct{}{}:
		case <-stopped:
			al.release(i)
			return false
		}
	}
	return true
}

// release frees the first n slots taken by acquire.
func (al apiListener) release(n int) {
	for _, sem := range al.slots[:n] {
		<-sem
	}
}

// serveAPIListener accepts runtime API connections. At a bound it stops
// accepting and the kernel backlog holds newcomers, as HAProxy does,
// rather than accepting and refusing: the cost of a waiting client stays
// in the kernel.
func (rt *Runtime) serveAPIListener(al apiListener) {
	for {
		if !al.acquire(rt.stopped) {
			return
		}
		c, err := al.Accept()
		if err != nil {
			al.release(len(al.slots))
			if rt.stopping.Load() || errors.Is(err, net.ErrClosed) {
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
		// Registered so that the final close of this generation ends
		// interactive sessions too.
		rt.conns.Store(c, rt.newSess(nil, al.luid, c))
		go func() {
			defer al.release(len(al.slots))
			defer rt.conns.Delete(c)
			rt.serveAPI(c, al.level, al.exposeFD)
		}()
	}
}

// sendListeners answers "_getsocks": every listening socket this
// generation serves on, frontends' and stats sockets', except those
// inherited as fd@N (HAProxy exports only the sockets it bound). A unix
// socket given away keeps its path when this process closes it: the
// receiver serves on it from then on.
func (rt *Runtime) sendListeners(c net.Conn) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return // descriptors travel over unix sockets only
	}
	keys := make([]string, 0, len(rt.keys))
	for k := range rt.keys {
		if !strings.HasPrefix(k, "fd|") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var fds []int
	for _, k := range keys {
		l := rt.keys[k]
		if ul, ok := l.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false)
		}
		sc, ok := l.(syscall.Conn)
		if !ok {
			continue
		}
		raw, err := sc.SyscallConn()
		if err != nil {
			continue
		}
		// A copy, so that a soft stop closing the listener meanwhile
		// cannot turn the number into another file's.
		raw.Control(func(fd uintptr) {
			if d, err := syscall.Dup(int(fd)); err == nil {
				fds = append(fds, d)
			}
		})
	}
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	if len(fds) == 0 {
		return
	}
	if err := sockxfer.Send(uc, fds, 5*time.Second); err != nil && rt.opts.Event != nil {
		rt.opts.Event("_getsocks: " + err.Error())
	}
}
