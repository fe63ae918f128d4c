// Package cli implements Bulwark's command line: HAProxy-compatible flags
// for running and checking, and the subcommands beside them.
package cli

import (
	"fmt"
	"strings"
)

// Flags are the HAProxy-style command-line options.
type Flags struct {
	Files      []string
	Check      bool   // -c
	Quiet      bool   // -q
	Debug      bool   // -d
	Foreground bool   // -db
	Daemon     bool   // -D
	PidFile    string // -p
	Version    int    // 1 for -v, 2 for -vv
	Strict     bool   // --strict
	CondExpr   string // -cc
	CondSet    bool
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
		case "-D":
			f.Daemon = true
		case "-p":
			v, err := need()
			if err != nil {
				return nil, err
			}
			f.PidFile = v
		case "-v", "-V":
			f.Version = 1
		case "-vv":
			f.Version = 2
		case "--strict":
			f.Strict = true
		case "-cc":
			v, err := need()
			if err != nil {
				return nil, err
			}
			f.CondExpr, f.CondSet = v, true
		case "--":
			f.Files = append(f.Files, args[i+1:]...)
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
  -D             run as a daemon
  -p <file>      write the process id to <file>
  -v / -vv       version / version with build information and features
  -cc <cond>     evaluate a .if condition: exit 0 true, 1 false, 2 error
  --strict       treat warnings as errors (like 'zero-warning')

Commands:
  demo           run the proxy in front of two built-in demo servers
  audit          audit a HAProxy or Bulwark deployment against the hardening controls
  controls       list the hardening controls
  version        print version and build information
`
