package cli

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"bulwark/internal/config"
	"bulwark/internal/lifecycle"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
)

// master is the master of master-worker mode (-W, -Ws, "master-worker",
// or started by systemd). It stays root, outside any chroot: it reads the
// configuration and certificates, validates them (the same cli.Load as
// -c), owns the listening sockets, and starts one worker per configuration
// generation, which takes the sockets as inherited file descriptors, enters
// the jail, drops root and serves. A reload that fails anywhere before the
// new worker serves leaves the running worker as it was.
type master struct {
	f      *Flags
	stderr io.Writer
	exe    string
	start  time.Time
	// noExit is "master-worker no-exit-on-failure" of the configuration
	// the master started with.
	noExit bool
	// exposeFD: some stats socket has "expose-fd listeners".
	exposeFD bool
	// held are the sockets the master holds, by key: those of the running
	// generation and those an old worker still serves on, so that a reload
	// that wants one back reuses it instead of binding again (which
	// would fail while the old worker has it). uses says which keys each
	// live worker serves on.
	held map[string]net.Listener
	uses map[*lifecycle.Worker][]string
	// exited receives each worker once it has exited.
	exited chan *lifecycle.Worker
	// reloads receives the master CLI's "reload" requests.
	reloads chan chan reloadResult

	// progExited receives each program instance once it has exited.
	progExited chan *program

	// mu guards what the master CLI reads.
	mu sync.Mutex
	// progs are the running instances of the "program" sections;
	// oldProgs those told to stop by a reload.
	progs, oldProgs []*program
	cur             *lifecycle.Worker
	old             []*lifecycle.Worker
	nreloads        int
	nfailed         int
	lastFailed      bool
}

type reloadResult struct {
	ok  bool
	log string
}

// notify tells systemd about the master's state when it started us
// (NOTIFY_SOCKET); otherwise it does nothing.
func notify(state string) { sd.SdNotify(false, state) }

// runMaster runs the master on the validated plan pl until a stop signal,
// or until its current worker fails.
func runMaster(f *Flags, pl *plan.Plan, stderr io.Writer, daemon *lifecycle.Daemon, adopted *proxy.Adopted) int {
	m := &master{f: f, stderr: stderr, start: time.Now(), noExit: pl.Model.Global.NoExitOnFailure,
		held: map[string]net.Listener{}, uses: map[*lifecycle.Worker][]string{},
		exited: make(chan *lifecycle.Worker, 16), reloads: make(chan chan reloadResult),
		progExited: make(chan *program, 16)}
	for _, ss := range pl.Model.Global.StatsSocks {
		m.exposeFD = m.exposeFD || ss.ExposeFD
	}
	exe, err := os.Executable()
	if err != nil {
		m.alertf("cannot find this program to start workers: %v", err)
		return 1
	}
	m.exe = exe
	// Refuse what a worker would refuse before anything is bound, with
	// the same message (HAP-2.1, HAP-2.2); the worker checks again.
	if _, err := lifecycle.Prepare(lifecycle.SettingsOf(&pl.Model.Global), lifecycle.Options{Euid: os.Geteuid(),
		AllowRoot: os.Getenv(lifecycle.AllowRootEnv) == "1"}); err != nil {
		m.alertf("%v", err)
		return 1
	}
	clis, err := openMasterCLIs(f.MasterCLI)
	if err != nil {
		m.alertf("master CLI: %v", err)
		return 1
	}
	defer func() {
		for _, c := range clis {
			c.l.Close()
		}
	}()
	socks, _, err := proxy.OpenSockets(pl, nil, nil, adopted)
	adopted.Close()
	if err != nil {
		m.alertf("Starting %v", err)
		return 1
	}
	for _, s := range socks {
		m.held[s.Key] = s.Listener
	}
	defer func() {
		for _, l := range m.held {
			l.Close()
		}
	}()
	pidfile := f.PidFile
	if pidfile == "" {
		pidfile = pl.Model.Global.PidFile
	}
	if pidfile != "" {
		if err := os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			m.alertf("cannot write pidfile %s: %v", pidfile, err)
			return 1
		}
		defer os.Remove(pidfile)
	}
	// Signals are taken before the first worker starts, so that none is
	// lost (or kills the master) while it starts.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	w, err := m.startWorker(socks, nil)
	if err == nil {
		err = m.waitReady(w)
	}
	if err != nil {
		m.alertf("%v", err)
		return 1
	}
	m.mu.Lock()
	m.cur = w
	m.mu.Unlock()
	m.hold(w, socks)
	m.watch(w)
	m.startPrograms(pl.Model.Programs)
	for _, c := range clis {
		go m.serveCLI(c)
	}
	if daemon != nil {
		if err := daemon.Ready(); err != nil {
			m.alertf("%v", err)
		}
	}
	notify(fmt.Sprintf("READY=1\nSTATUS=Ready (worker %d).\nMAINPID=%d", w.PID, os.Getpid()))
	m.noticef("master-worker mode: worker %d serves", w.PID)
	signalPIDs(f, stderr)
	for {
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP, syscall.SIGUSR2:
				m.reload()
			case syscall.SIGUSR1:
				return m.stop(syscall.SIGUSR1, 0)
			default:
				return m.stop(syscall.SIGTERM, 128+int(sig.(syscall.Signal)))
			}
		case reply := <-m.reloads:
			reply <- m.reload()
		case w := <-m.exited:
			if code, exit := m.workerExited(w); exit {
				return code
			}
		case p := <-m.progExited:
			if code, exit := m.programExited(p); exit {
				return code
			}
		}
	}
}

func (m *master) alertf(format string, args ...any) {
	fmt.Fprintf(m.stderr, "[ALERT]    (%d) : "+format+"\n", append([]any{os.Getpid()}, args...)...)
}

func (m *master) warnf(format string, args ...any) {
	fmt.Fprintf(m.stderr, "[WARNING]  (%d) : "+format+"\n", append([]any{os.Getpid()}, args...)...)
}

func (m *master) noticef(format string, args ...any) {
	fmt.Fprintf(m.stderr, "[NOTICE]   (%d) : "+format+"\n", append([]any{os.Getpid()}, args...)...)
}

// hold records that w serves on socks, then closes the sockets no live
// worker serves on any more. fd@N sockets are never closed: the number,
// once given up, could name another file on the next reload.
func (m *master) hold(w *lifecycle.Worker, socks []proxy.Socket) {
	var keys []string
	for _, s := range socks {
		// A worker may give its sockets away ("expose-fd listeners", -x):
		// the unix ones keep their paths when the master closes its copies,
		// since the receiver serves on them.
		if ul, ok := s.Listener.(*net.UnixListener); ok && m.exposeFD {
			ul.SetUnlinkOnClose(false)
		}
		m.held[s.Key] = s.Listener
		keys = append(keys, s.Key)
	}
	m.uses[w] = keys
	m.release()
}

// release closes the held sockets that no live worker serves on.
func (m *master) release() {
	used := map[string]bool{}
	for _, keys := range m.uses {
		for _, k := range keys {
			used[k] = true
		}
	}
	// A socket held under two keys (a bind respelled across a reload)
	// stays open while either is used.
	live := map[net.Listener]bool{}
	for k, l := range m.held {
		if used[k] {
			live[l] = true
		}
	}
	for k, l := range m.held {
		if !used[k] && !strings.HasPrefix(k, "fd|") {
			if !live[l] {
				l.Close()
			}
			delete(m.held, k)
		}
	}
}

// workerArgs are the command-line options of a worker: the master's
// files and output options; master-only options stay with the master.
func (m *master) workerArgs() []string {
	args := []string{"-db"}
	if m.f.Debug {
		args = append(args, "-d")
	}
	if m.f.Quiet {
		args = append(args, "-q")
	}
	if m.f.Strict {
		args = append(args, "--strict")
	}
	// The worker reads the files with the master's ${HAPROXY_LOCALPEER}.
	if m.f.LocalPeer != "" {
		args = append(args, "-L", m.f.LocalPeer)
	}
	if m.f.NoReusePort {
		args = append(args, "-dR")
	}
	for _, f := range m.f.Files {
		args = append(args, "-f", f)
	}
	return args
}

// listenSockets are socks as a worker takes them.
func listenSockets(socks []proxy.Socket) ([]lifecycle.ListenSocket, error) {
	files := []lifecycle.ListenSocket{}
	for _, s := range socks {
		sc, ok := s.Listener.(syscall.Conn)
		if !ok {
			return nil, fmt.Errorf("socket %s cannot be handed to a worker", s.Key)
		}
		files = append(files, lifecycle.ListenSocket{Key: s.Key, Conn: sc})
	}
	return files, nil
}

// startWorker starts a worker on socks; tables, when set, carries the
// previous worker's stick tables. With socks nil the worker is deferred:
// it reads the configuration at once and waits for Hand.
func (m *master) startWorker(socks []proxy.Socket, tables *os.File) (*lifecycle.Worker, error) {
	var files []lifecycle.ListenSocket
	if socks != nil {
		var err error
		if files, err = listenSockets(socks); err != nil {
			return nil, err
		}
	}
	// The worker must not talk to systemd: readiness is the master's.
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "NOTIFY_SOCKET=") {
			env = append(env, e)
		}
	}
	env = append(env, "HAPROXY_MWORKER=1")
	// What a worker says goes where the master's own messages go.
	w := m.stderr
	if sl, isLog := w.(*startupLog); isLog {
		w = sl.w
	}
	stderr, ok := w.(*os.File)
	if !ok {
		stderr = os.Stderr
	}
	return lifecycle.StartWorker(m.exe, m.workerArgs(), env, files, tables, m.start, os.Stdout, stderr)
}

// waitReady waits until w serves or exits.
func (m *master) waitReady(w *lifecycle.Worker) error {
	select {
	case <-w.Ready:
		return nil
	case <-w.Done:
		return fmt.Errorf("the new worker (%d) exited with code %d before serving", w.PID, w.ExitCode)
	}
}

// watch reports w's exit to the master's loop.
func (m *master) watch(w *lifecycle.Worker) {
	go func() {
		<-w.Done
		m.exited <- w
	}()
}

// reload validates the configuration files again and, when they are
// good, starts a worker on them and soft-stops the previous one. Every
// error is logged, and returned for the master CLI.
func (m *master) reload() reloadResult {
	notify("RELOADING=1\n" + strings.TrimSpace(sd.SdNotifyMonotonicUsec()))
	var out bytes.Buffer
	w := io.MultiWriter(m.stderr, &out)
	// The new worker starts now and reads the files while the master
	// validates them (Go cannot fork a process that has parsed them): a
	// reload then takes about one parse, not two. It serves only once the
	// master hands it the sockets; a reload that fails stops it first.
	nw, err := m.startWorker(nil, nil)
	if err != nil {
		nw = nil
	}
	fail := func(format string, args ...any) reloadResult {
		if nw != nil {
			nw.Signal(syscall.SIGKILL)
		}
		fmt.Fprintf(w, "[ALERT]    (%d) : reload: "+format+"; still running the previous configuration\n",
			append([]any{os.Getpid()}, args...)...)
		m.mu.Lock()
		m.nfailed++
		m.lastFailed = true
		m.mu.Unlock()
		notify("READY=1\nSTATUS=Reload failed; still running the previous configuration.")
		return reloadResult{false, out.String()}
	}
	_, pl, ds := Load(m.f.Files, nil)
	m.f.applyTo(&pl.Model.Global)
	for _, d := range ds {
		if d.Severity == config.SevAlert || !m.f.Quiet {
			fmt.Fprintln(w, d.HAProxy())
		}
	}
	if ds.HasAlerts() {
		return fail("the new configuration has errors")
	}
	if (m.f.Strict || pl.Model.Global.ZeroWarn) && ds.Count(config.SevWarning) > 0 {
		return fail("warnings were found and 'zero-warning' is set")
	}
	if _, err := lifecycle.Prepare(lifecycle.SettingsOf(&pl.Model.Global), lifecycle.Options{Euid: os.Geteuid(),
		AllowRoot: os.Getenv(lifecycle.AllowRootEnv) == "1"}); err != nil {
		return fail("%v", err)
	}
	m.exposeFD = false
	for _, ss := range pl.Model.Global.StatsSocks {
		m.exposeFD = m.exposeFD || ss.ExposeFD
	}
	socks, opened, err := proxy.OpenSockets(pl, nil, m.held, nil)
	if err != nil {
		return fail("%v", err)
	}
	// The new worker reads the running one's stick tables and the server
	// states set through the runtime API before it serves, so that rate
	// limits, stickiness and a server put in maintenance survive the
	// reload.
	var tables *os.File
	m.mu.Lock()
	prevW := m.cur
	m.mu.Unlock()
	if prevW != nil {
		if tables, err = prevW.ExportTables(); err != nil {
			fmt.Fprintf(w, "[WARNING]  (%d) : reload: the stick tables and server states stay behind: %v\n", os.Getpid(), err)
		}
	}
	if nw == nil {
		nw, err = m.startWorker(socks, tables)
		if err != nil {
			nw = nil
		}
	} else {
		var files []lifecycle.ListenSocket
		if files, err = listenSockets(socks); err == nil {
			err = nw.Hand(files, tables)
		}
	}
	if tables != nil {
		tables.Close()
	}
	if err == nil {
		err = m.waitReady(nw)
	}
	if err != nil {
		for _, l := range opened {
			l.Close()
		}
		return fail("%v", err)
	}
	m.mu.Lock()
	prev := m.cur
	m.cur = nw
	if prev != nil {
		m.old = append(m.old, prev)
	}
	var tooOld []*lifecycle.Worker
	for _, o := range m.old {
		o.Reloads++
		if max := pl.Model.Global.MaxReloads; max >= 0 && o.Reloads > max {
			tooOld = append(tooOld, o)
		}
	}
	m.nreloads++
	m.lastFailed = false
	m.mu.Unlock()
	m.watch(nw)
	m.hold(nw, socks)
	m.startPrograms(pl.Model.Programs)
	// The previous worker stops accepting, finishes what it has, answers
	// idle keep-alive clients once more with "Connection: close", and
	// exits (by hard-stop-after at the latest).
	if prev != nil {
		prev.Signal(syscall.SIGUSR1)
	}
	// "mworker-max-reloads": an old worker still there after more
	// reloads than that (a long-lived connection keeps it) is stopped.
	for _, o := range tooOld {
		fmt.Fprintf(w, "[NOTICE]   (%d) : worker %d survived %d reloads (mworker-max-reloads %d): sending SIGTERM\n",
			os.Getpid(), o.PID, o.Reloads, pl.Model.Global.MaxReloads)
		o.Signal(syscall.SIGTERM)
	}
	fmt.Fprintf(w, "[NOTICE]   (%d) : reloaded the configuration: worker %d serves\n", os.Getpid(), nw.PID)
	notify(fmt.Sprintf("READY=1\nSTATUS=Ready (worker %d).", nw.PID))
	return reloadResult{true, out.String()}
}

// workerExited records w's exit and says whether the master must exit
// too, as HAProxy 2.6's does: when the current worker fails (unless
// "no-exit-on-failure"), every other worker is stopped and the master exits
// with the worker's code; when the last worker exits, so does the master.
func (m *master) workerExited(w *lifecycle.Worker) (int, bool) {
	delete(m.uses, w)
	m.release()
	m.mu.Lock()
	current := w == m.cur
	if current {
		m.cur = nil
	}
	for i, o := range m.old {
		if o == w {
			m.old = append(m.old[:i], m.old[i+1:]...)
			break
		}
	}
	// Programs count as HAProxy's master counts its children.
	left := len(m.old) + len(m.progs) + len(m.oldProgs)
	if m.cur != nil {
		left++
	}
	m.mu.Unlock()
	if !current {
		m.noticef("former worker %d exited with code %d", w.PID, w.ExitCode)
		return 0, false
	}
	m.alertf("current worker %d exited with code %d", w.PID, w.ExitCode)
	if m.noExit {
		m.alertf("no worker serves ('no-exit-on-failure'): reload to start one")
		return 0, false
	}
	if w.ExitCode != 0 {
		m.alertf("exit-on-failure: stopping every worker")
		m.stop(syscall.SIGTERM, 0)
		return w.ExitCode, true
	}
	if left == 0 {
		return 0, true
	}
	return 0, false
}

// stop sends sig to every worker and waits until all have exited, then
// returns code. A worker told SIGUSR1 may take until its hard-stop-after;
// one that ignores SIGTERM is killed after a while.
func (m *master) stop(sig syscall.Signal, code int) int {
	notify("STOPPING=1")
	m.mu.Lock()
	all := append([]*lifecycle.Worker{}, m.old...)
	if m.cur != nil {
		all = append(all, m.cur)
	}
	m.mu.Unlock()
	for _, w := range all {
		w.Signal(sig)
	}
	// "During a stop, or restart, a SIGTERM is sent to the programs."
	m.stopPrograms()
	for _, w := range all {
		if sig == syscall.SIGTERM {
			select {
			case <-w.Done:
			case <-time.After(10 * time.Second):
				w.Signal(syscall.SIGKILL)
				<-w.Done
			}
		} else {
			<-w.Done
		}
	}
	return code
}

// signalPIDs tells the processes of -sf to finish and stop (SIGUSR1) and
// those of -st to stop now (SIGTERM), once this process serves.
func signalPIDs(f *Flags, stderr io.Writer) {
	for _, pid := range f.SoftStop {
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			fmt.Fprintf(stderr, "[WARNING]  (bulwark) : -sf %d: %v\n", pid, err)
		}
	}
	for _, pid := range f.HardStop {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			fmt.Fprintf(stderr, "[WARNING]  (bulwark) : -st %d: %v\n", pid, err)
		}
	}
}
