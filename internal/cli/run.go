package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/h1"
	"bulwark/internal/lifecycle"
	"bulwark/internal/logging"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
	"bulwark/internal/sockxfer"
	"bulwark/internal/stick"
)

// run starts the proxy on the given configuration and serves until a
// signal: SIGTERM/SIGINT stop at once (HAProxy's hard stop), SIGUSR1 stops
// gracefully (finish what was accepted, bounded by hard-stop-after).
// Started as root it drops to 'user'/'group' inside 'chroot' once the
// listeners are bound, and refuses to serve as root (HAP-2.1, HAP-2.2).
func run(f *Flags, stdout, stderr io.Writer) int {
	stderr = &startupLog{w: stderr}
	worker, isWorker, err := lifecycle.WorkerChild()
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : %v\n", err)
		return 1
	}
	daemon, isChild, err := lifecycle.DaemonChild()
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : %v\n", err)
		return 1
	}
	// Reloads read the files again, possibly after a chdir into a jail.
	for i, p := range f.Files {
		if a, err := filepath.Abs(p); err == nil {
			f.Files[i] = a
		}
	}
	if f.PidFile != "" {
		if a, err := filepath.Abs(f.PidFile); err == nil {
			f.PidFile = a
		}
	}
	_, pl, ds := Load(f.Files, nil)
	m := pl.Model
	f.applyTo(&m.Global)
	// A worker started ahead of a reload has read the files while its
	// master validated them; it goes on, and says what it found, only once
	// the master hands it the sockets. A master that refused the files
	// stops it instead, and has said why.
	if isWorker {
		if err := worker.AwaitSockets(); err != nil {
			return 1
		}
	}
	for _, d := range ds {
		// A worker's master has shown the warnings already.
		if d.Severity == config.SevAlert || (!f.Quiet && !isWorker) {
			fmt.Fprintln(stderr, d.HAProxy())
		}
	}
	if ds.HasAlerts() {
		fmt.Fprintln(stderr, "[ALERT]    (bulwark) : config : Fatal errors found in configuration.")
		return 1
	}
	if (f.Strict || m.Global.ZeroWarn) && ds.Count(config.SevWarning) > 0 {
		fmt.Fprintln(stderr, "[ALERT]    (bulwark) : config : Some warnings were found and 'zero-warning' is set. Aborting.")
		return 1
	}
	if err := lifecycle.ApplyProcess(&m.Global); err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : %v\n", err)
		return 1
	}
	if isWorker {
		return runWorker(f, pl, worker, stderr)
	}
	// As in HAProxy, -db (and -d) keep the process in the foreground
	// even when the configuration says 'daemon'.
	if (f.Daemon || m.Global.Daemon) && !f.Foreground && !isChild {
		return lifecycle.Daemonize(os.Args[1:], stderr)
	}
	// The old process's sockets are taken once the configuration is
	// known good and before anything binds (-x). A master that cannot get
	// them binds its own, as HAProxy's does; a single process exits.
	mw := f.MasterWorker || m.Global.MasterWorker || os.Getenv("NOTIFY_SOCKET") != ""
	if len(m.Programs) > 0 && !mw {
		fmt.Fprintln(stderr, "[ALERT]    (bulwark) : Can't use a 'program' section without master worker mode.")
		return 1
	}
	var adopted *proxy.Adopted
	if f.OldSocket != "" && f.OldSocket != "/dev/null" {
		ls, _, err := sockxfer.Fetch(f.OldSocket, 5*time.Second)
		if err != nil {
			fmt.Fprintf(stderr, "[ALERT]    (bulwark) : Failed to get the sockets from the old process: %v\n", err)
			if !mw {
				return 1
			}
		}
		adopted = proxy.NewAdopted(ls)
	}
	// Master-worker is asked for, or the default under systemd, whose
	// readiness protocol the master speaks.
	if mw {
		return runMaster(f, pl, stderr, daemon, adopted)
	}
	started := lifecycle.SettingsOf(&m.Global)
	var jail string
	reload := func(table func(string, stick.Spec) *stick.Table) (*plan.Plan, error) {
		_, npl, ds := Load(f.Files, table)
		nm := npl.Model
		f.applyTo(&nm.Global)
		for _, d := range ds {
			if d.Severity == config.SevAlert || !f.Quiet {
				fmt.Fprintln(stderr, d.HAProxy())
			}
		}
		if ds.HasAlerts() {
			if jail != "" {
				return nil, fmt.Errorf("the new configuration has errors; still running the previous one "+
					"(after 'chroot %s' every file is read inside the jail: restart to load files from outside it)", jail)
			}
			return nil, fmt.Errorf("the new configuration has errors; still running the previous one")
		}
		if lifecycle.SettingsOf(&nm.Global) != started {
			fmt.Fprintln(stderr, "[WARNING]  (bulwark) : reload: changes to user, group, uid, gid or chroot take effect only after a restart")
		}
		return npl, nil
	}
	opts := serveOptions{
		debug:     f.Debug,
		adopted:   adopted,
		pidfile:   f.PidFile,
		stderr:    stderr,
		reload:    reload,
		allowRoot: os.Getenv(lifecycle.AllowRootEnv) == "1",
		applied:   func(p *lifecycle.Plan) { jail = p.Chroot },
	}
	opts.ready = func(*proxy.Runtime) {
		if isChild {
			if err := daemon.Ready(); err != nil {
				fmt.Fprintf(stderr, "[ALERT]    (bulwark) : %v\n", err)
			}
		}
		signalPIDs(f, stderr)
	}
	return serveWith(pl, opts)
}

// runWorker serves pl as a worker of a master: on the master's sockets,
// without a pidfile, without reloading itself (the master reloads by
// starting another worker). It enters the jail and drops root as a single
// process would, tells the master once it serves, answers the runtime API
// commands the master CLI forwards, and stops when the master goes away.
func runWorker(f *Flags, pl *plan.Plan, we *lifecycle.WorkerEnd, stderr io.Writer) int {
	opts := serveOptions{
		debug:     f.Debug,
		stderr:    stderr,
		allowRoot: os.Getenv(lifecycle.AllowRootEnv) == "1",
		sockets:   we.Sockets,
		noPidfile: true,
		clock:     we.ClockStart,
		built: func(px *proxy.Proxy, rt *proxy.Runtime) {
			if we.Tables == nil {
				return
			}
			// Bounded: a previous worker that cannot answer leaves its
			// tables behind, it does not stop this one from serving.
			we.Tables.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := px.ImportState(rt, we.Tables); err != nil {
				fmt.Fprintf(stderr, "[WARNING]  (bulwark) : state of the previous worker (stick tables, servers): %v\n", err)
			}
			we.Tables.Close()
		},
		started: func(px *proxy.Proxy) {
			go we.Serve(px.ServeAPI, func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if err := px.ExportState(c); err != nil {
					fmt.Fprintf(stderr, "[WARNING]  (bulwark) : state for the next worker (stick tables, servers): %v\n", err)
				}
			}, func() {
				// An orphan worker would serve a configuration nobody can
				// reload or stop through the master: stop it.
				syscall.Kill(os.Getpid(), syscall.SIGTERM)
			})
			if err := we.Ready(); err != nil {
				fmt.Fprintf(stderr, "[ALERT]    (bulwark) : worker: %v\n", err)
			}
		},
	}
	return serveWith(pl, opts)
}

// serve runs m until a stop signal; ready, when set, is called once the
// listeners are bound. It serves the built-in demo, whose fixed
// configuration listens on loopback only and names no user: as root the
// demo keeps running as root, with a warning.
func serve(pl *plan.Plan, pidfile string, stderr io.Writer, ready func(*proxy.Runtime), reload func(func(string, stick.Spec) *stick.Table) (*plan.Plan, error)) int {
	return serveWith(pl, serveOptions{pidfile: pidfile, stderr: stderr, ready: ready, reload: reload, allowRoot: true})
}

type serveOptions struct {
	// debug (-d) prints every request or session on stderr as well.
	debug   bool
	pidfile string
	stderr  io.Writer
	// ready is called once the listeners serve.
	ready func(*proxy.Runtime)
	// reload compiles the plan for SIGHUP/SIGUSR2, sharing the stick
	// tables that table returns; nil ignores the signals.
	reload func(table func(string, stick.Spec) *stick.Table) (*plan.Plan, error)
	// allowRoot lets a root process without 'user' serve (HAP-2.1 opt-out).
	allowRoot bool
	// applied, when set, learns what the privilege drop did.
	applied func(*lifecycle.Plan)
	// sockets are listening sockets opened by a master
	// (proxy.Options.Sockets).
	sockets map[string]net.Listener
	// noPidfile: a worker writes none, its master does.
	noPidfile bool
	// started, when set, is called once the proxy serves.
	started func(*proxy.Proxy)
	// built, when set, is called once the configuration is built,
	// before it serves.
	built func(*proxy.Proxy, *proxy.Runtime)
	// clock is proxy.Options.ClockStart.
	clock time.Time
	// adopted are the sockets of -x (proxy.Options.Adopted).
	adopted *proxy.Adopted
}

// serveWith runs m until a stop signal. Order: refuse what cannot be run
// safely, bind and load, write the pidfile, enter the jail and drop root,
// then serve. On SIGHUP or SIGUSR2, reload provides a new model: it is
// validated first, and the running configuration stays when the new one
// fails (HAP-9.1); listening sockets pass to the new generation, in-flight
// sessions finish on the old one.
func serveWith(pl *plan.Plan, o serveOptions) int {
	m := pl.Model
	stderr := o.stderr
	// BULWARK_CPUPROFILE=FILE writes a CPU profile of the whole run, for
	// performance work (docs/performance.md); it is opened before any
	// chroot.
	if path := os.Getenv("BULWARK_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer func() {
					pprof.StopCPUProfile()
					f.Close()
				}()
			}
		}
	}
	plan, err := lifecycle.Prepare(lifecycle.SettingsOf(&m.Global), lifecycle.Options{Euid: os.Geteuid(), AllowRoot: o.allowRoot})
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : %v\n", err)
		return 1
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(stderr, "[WARNING]  (bulwark) : %s\n", w)
	}
	first, err := logging.New(pl)
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : %v\n", err)
		return 1
	}
	logger := logging.NewSwitch(first)
	defer logger.Close()
	logf := logger.Log
	if o.debug {
		logf = func(e *proxy.LogEntry) {
			logger.Log(e)
			var line []byte
			if e.HTTP {
				line = logging.AppendHTTPLog(nil, e)
			} else {
				line = logging.AppendTCPLog(nil, e)
			}
			fmt.Fprintf(stderr, "[DEBUG]    (bulwark) : %s\n", line)
		}
	}
	sl, _ := stderr.(*startupLog)
	px := proxy.New(proxy.Options{Log: logf, Render: logging.Render, LogAll: o.debug, ProxyLog: logger.Event, LogStats: logger.Stats, Sockets: o.sockets, Adopted: o.adopted, ClockStart: o.clock, Event: func(msg string) {
		fmt.Fprintf(stderr, "[WARNING]  (bulwark) : %s\n", msg)
	}, StartupLogs: sl.String, Relax: httpRelax()})
	rt, err := px.Build(pl)
	// Received sockets no bind wanted are not ours to keep open.
	o.adopted.Close()
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : Starting %v\n", err)
		return 1
	}
	if line := rsaSignerLine(pl); line != "" {
		fmt.Fprintln(stderr, line)
	}
	if o.built != nil {
		o.built(px, rt)
	}
	pidfile := o.pidfile
	if pidfile == "" {
		pidfile = m.Global.PidFile
	}
	if o.noPidfile {
		pidfile = ""
	}
	if pidfile != "" {
		if err := os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			fmt.Fprintf(stderr, "[ALERT]    (bulwark) : cannot write pidfile %s: %v\n", pidfile, err)
			return 1
		}
		// Once jailed or dropped the path may name another file or be
		// out of reach: the pidfile then stays, as HAProxy's does.
		if !plan.Changes() {
			defer os.Remove(pidfile)
		}
	}
	if err := plan.Apply(); err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : cannot drop privileges to %s: %v\n", plan.Who, err)
		return 1
	}
	if plan.Changes() {
		if o.applied != nil {
			o.applied(plan)
		}
		where := ""
		if plan.Chroot != "" {
			where = " in chroot " + plan.Chroot
		}
		if plan.Drop {
			fmt.Fprintf(stderr, "[NOTICE]   (bulwark) : serving as %s%s\n", plan.Who, where)
		} else {
			fmt.Fprintf(stderr, "[NOTICE]   (bulwark) : serving as root%s\n", where)
		}
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	px.Start(rt)
	sl.freeze()
	if o.ready != nil {
		o.ready(rt)
	}
	if o.started != nil {
		o.started(px)
	}
	var sig os.Signal
	for {
		sig = <-sigs
		if sig != syscall.SIGHUP && sig != syscall.SIGUSR2 {
			break
		}
		if o.reload == nil {
			continue
		}
		npl, err := o.reload(px.RunningTable)
		if err != nil {
			fmt.Fprintf(stderr, "[ALERT]    (bulwark) : reload: %v\n", err)
			continue
		}
		nlog, err := logging.New(npl)
		if err != nil {
			fmt.Fprintf(stderr, "[ALERT]    (bulwark) : reload: %v; still running the previous configuration\n", err)
			continue
		}
		nrt, err := px.Build(npl)
		if err != nil {
			nlog.Close()
			fmt.Fprintf(stderr, "[ALERT]    (bulwark) : reload: %v; still running the previous configuration\n", err)
			continue
		}
		// The new logger goes in only once the new generation can serve, so a
		// failed reload keeps logging where it did.
		logger.Swap(nlog)
		px.Start(nrt)
		m = npl.Model
		if line := rsaSignerLine(npl); line != "" {
			fmt.Fprintln(stderr, line)
		}
		fmt.Fprintln(stderr, "[NOTICE]   (bulwark) : reloaded the configuration")
	}
	if sig == syscall.SIGUSR1 {
		// A soft stop loses nothing: see proxy.SoftStop.
		grace := m.Global.HardStop
		if grace == 0 {
			grace = 24 * time.Hour
		}
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		// SIGTERM or SIGINT during the soft stop makes it a hard one.
		go func() {
			for {
				select {
				case s := <-sigs:
					if s == syscall.SIGTERM || s == syscall.SIGINT {
						cancel()
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
		px.SoftStop(ctx)
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	px.Shutdown(ctx)
	return 0
}

// httpRelax reads the opt-outs from Bulwark's HTTP/1 refusals that HAProxy
// 2.6 does not make (docs/secure-defaults.md). They are environment
// variables, like the other BULWARK_ALLOW_* opt-outs, so that a
// configuration file shared with HAProxy stays unchanged.
func httpRelax() h1.Relax {
	on := func(name string) bool { return os.Getenv(name) == "1" }
	return h1.Relax{
		MissingHost: on("BULWARK_ALLOW_NO_HOST"),
		Framing:     on("BULWARK_ALLOW_AMBIGUOUS_FRAMING"),
		Userinfo:    on("BULWARK_ALLOW_USERINFO"),
	}
}
