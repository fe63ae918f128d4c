// Package cli implements Bulwark's command line: HAProxy-compatible flags
// for running and checking, and the subcommands beside them.
package cli

import (
	"fmt"
	"strconv"
	"strings"

	"bulwark/internal/model"
)

// Flags are the HAProxy-style command-line options.
type Flags struct {
	Files      []string
	Check      bool   // -c
	Quiet      bool   // -q
	Verbose    bool   // -V: wins over -q and "quiet"
	Debug      bool   // -d
	Foreground bool   // -db
	Daemon     bool   // -D
	PidFile    string // -p
	Version    int    // 1 for -v, 2 for -vv
	Strict     bool   // --strict
	CondExpr   string // -cc
	CondSet    bool
	// MasterWorker is -W or -Ws; Systemd is -Ws (readiness for systemd,
	// which NOTIFY_SOCKET also turns on).
	MasterWorker, Systemd bool
	// MasterCLI are the -S <addr>[,<opt>,<value>...] master CLI sockets.
	MasterCLI []string
	// SoftStop and HardStop are the -sf and -st PIDs, told to stop
	// (SIGUSR1, SIGTERM) once this process serves.
	SoftStop, HardStop []int
	// LocalPeer is -L <name>.
	LocalPeer string
	// OldSocket is -x <unix socket>: the listening sockets are taken from
	// the process answering "_getsocks" there ("expose-fd listeners")
	// before binding anything; "/dev/null" takes none.
	OldSocket string
	// NoReusePort is -dR, as "noreuseport".
	NoReusePort bool
}

// applyTo sets what the flags override in a loaded configuration.
func (f *Flags) applyTo(g *model.Global) {
	if f.NoReusePort {
		g.NoReusePort = true
	}
}

// ParseFlags reads HAProxy's flags. Unknown flags are an error that names
// them, never silently ignored.
func ParseFlags(args []string) (*Flags, error) {
	f := &Flags{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		need := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("option '%s' expects an argument", a)
			}
			i++
			return args[i], nil
		}
		switch a {
		case "-f":
			v, err := need()
			if err != nil {
				return nil, err
			}
			f.Files = append(f.Files, v)
		case "-c":
			f.Check = true
		case "-q":
			f.Quiet = true
		case "-d":
			f.Debug, f.Foreground = true, true
		case "-db":
			f.Foreground = true
		case "-dR":
			f.NoReusePort = true
		case "-D":
			f.Daemon = true
		case "-p":
			v, err := need()
			if err != nil {
				return nil, err
			}
			f.PidFile = v
		case "-v":
			f.Version = 1
		case "-V":
			// HAProxy's -V is verbose mode: it undoes -q and "quiet",
			// whatever their order.
			f.Verbose = true
		case "-vv":
			f.Version = 2
		case "--strict":
			f.Strict = true
		case "-W":
			f.MasterWorker = true
		case "-Ws":
			f.MasterWorker, f.Systemd = true, true
		case "-S":
			v, err := need()
			if err != nil {
				return nil, err
			}
			f.MasterCLI = append(f.MasterCLI, v)
		case "-x":
			v, err := need()
			if err != nil {
				return nil, err
			}
			f.OldSocket = v
		case "-L":
			v, err := need()
			if err != nil {
				return nil, err
			}
			f.LocalPeer = v
		case "-sf", "-st":
			// As HAProxy: the PIDs are the words that follow, up to the
			// next option.
			n := 0
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				pid, err := strconv.Atoi(args[i+1])
				if err != nil || pid <= 0 {
					return nil, fmt.Errorf("option '%s' expects process IDs, got '%s'", a, args[i+1])
				}
				if a == "-sf" {
					f.SoftStop = append(f.SoftStop, pid)
				} else {
					f.HardStop = append(f.HardStop, pid)
				}
				i++
				n++
			}
			if n == 0 {
				return nil, fmt.Errorf("option '%s' expects process IDs", a)
			}
		case "-cc":
			v, err := need()
			if err != nil {
				return nil, err
			}
			f.CondExpr, f.CondSet = v, true
		case "--":
			f.Files = append(f.Files, args[i+1:]...)
			f.Quiet = f.Quiet && !f.Verbose
			return f, nil
		default:
			if strings.HasPrefix(a, "-f") && len(a) > 2 {
				f.Files = append(f.Files, a[2:])
				continue
			}
			if strings.HasPrefix(a, "-") {
				return nil, fmt.Errorf("unknown option '%s' (see 'bulwark -h')", a)
			}
			return nil, fmt.Errorf("unexpected argument '%s' (configuration files are given with -f)", a)
		}
	}
	f.Quiet = f.Quiet && !f.Verbose
	return f, nil
}

// Usage is printed for -h and on flag errors.
const Usage = `Usage: bulwark [options] -f <cfgfile|cfgdir> [-f ...]
       bulwark <command> [arguments]

Options (as HAProxy's):
  -f <file|dir>  configuration file, or directory of *.cfg files (repeatable)
  -c             check the configuration and exit (0 valid, 1 errors, 2 no listener)
  -q             quiet mode: print nothing on success
  -d             foreground with debug output
  -db            foreground (no background, no daemon)
  -dR            bind without SO_REUSEPORT (as 'noreuseport')
  -D             run as a daemon
  -p <file>      write the process id to <file> (the master's with -W)
  -W             master-worker mode: a root master reloads, workers serve
  -Ws            master-worker mode with systemd readiness (Type=notify)
  -S <addr>[,<opt>,<value>...]
                 master CLI socket (unix path, ip:port or fd@N; options
                 mode, uid, gid, user, group, level)
  -sf <pid>...   once serving, tell these processes to finish and stop
  -st <pid>...   once serving, tell these processes to stop now
  -L <name>      local peer name (sets HAPROXY_LOCALPEER)
  -x <socket>    take the listening sockets of the process whose stats
                 socket this is ('expose-fd listeners'), then bind the rest
  -v / -vv       version / version with build information and features
  -V             verbose: undoes -q
  -cc <cond>     evaluate a .if condition: exit 0 true, 1 false, 2 error
  --strict       treat warnings as errors (like 'zero-warning')

Commands:
  demo           run the proxy in front of two built-in demo servers
  audit          audit a HAProxy or Bulwark deployment against the hardening controls
  controls       list the hardening controls
  reload SOCKET  reload through the master CLI socket; exit 1 if the reload failed
  version        print version and build information
`
