package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/logging"
	"bulwark/internal/model"
	"bulwark/internal/proxy"
)

// run starts the proxy on the given configuration and serves until a
// signal: SIGTERM/SIGINT stop at once (HAProxy's hard stop), SIGUSR1 stops
// gracefully (finish what was accepted, bounded by hard-stop-after).
func run(f *Flags, stdout, stderr io.Writer) int {
	_, m, ds := Load(f.Files)
	for _, d := range ds {
		if d.Severity == config.SevAlert || !f.Quiet {
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
	if f.Daemon || m.Global.Daemon {
		fmt.Fprintln(stderr, "[ALERT]    (bulwark) : daemon mode (-D / 'daemon') is not supported yet: run in the foreground under a service manager")
		return 1
	}
	reload := func() (*model.Model, error) {
		_, m, ds := Load(f.Files)
		for _, d := range ds {
			if d.Severity == config.SevAlert || !f.Quiet {
				fmt.Fprintln(stderr, d.HAProxy())
			}
		}
		if ds.HasAlerts() {
			return nil, fmt.Errorf("the new configuration has errors; still running the previous one")
		}
		return m, nil
	}
	return serve(m, f.PidFile, stderr, nil, reload)
}

// serve runs m until a stop signal; ready, when set, is called once the
// listeners are bound. On SIGHUP or SIGUSR2, reload (when set) provides a
// new model: it is validated first, and the running configuration stays
// when the new one fails (HAP-9.1); listening sockets pass to the new
// generation, in-flight sessions finish on the old one.
func serve(m *model.Model, pidfile string, stderr io.Writer, ready func(*proxy.Runtime), reload func() (*model.Model, error)) int {
	first, err := logging.New(m)
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : %v\n", err)
		return 1
	}
	logger := logging.NewSwitch(first)
	defer logger.Close()
	px := proxy.New(proxy.Options{Log: logger.Log, Event: func(msg string) {
		fmt.Fprintf(stderr, "[WARNING]  (bulwark) : %s\n", msg)
	}})
	rt, err := px.Build(m)
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : Starting %v\n", err)
		return 1
	}
	if pidfile == "" {
		pidfile = m.Global.PidFile
	}
	if pidfile != "" {
		if err := os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			fmt.Fprintf(stderr, "[ALERT]    (bulwark) : cannot write pidfile %s: %v\n", pidfile, err)
			return 1
		}
		defer os.Remove(pidfile)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	px.Start(rt)
	if ready != nil {
		ready(rt)
	}
	var sig os.Signal
	for {
		sig = <-sigs
		if sig != syscall.SIGHUP && sig != syscall.SIGUSR2 {
			break
		}
		if reload == nil {
			continue
		}
		nm, err := reload()
		if err != nil {
			fmt.Fprintf(stderr, "[ALERT]    (bulwark) : reload: %v\n", err)
			continue
		}
		nlog, err := logging.New(nm)
		if err != nil {
			fmt.Fprintf(stderr, "[ALERT]    (bulwark) : reload: %v; still running the previous configuration\n", err)
			continue
		}
		logger.Swap(nlog)
		nrt, err := px.Build(nm)
		if err != nil {
			fmt.Fprintf(stderr, "[ALERT]    (bulwark) : reload: %v; still running the previous configuration\n", err)
			continue
		}
		px.Start(nrt)
		m = nm
		fmt.Fprintln(stderr, "[NOTICE]   (bulwark) : reloaded the configuration")
	}
	grace := time.Duration(0)
	if sig == syscall.SIGUSR1 {
		grace = m.Global.HardStop
		if grace == 0 {
			grace = 24 * time.Hour
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	px.Shutdown(ctx)
	return 0
}
