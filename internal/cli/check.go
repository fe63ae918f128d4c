package cli

import (
	"bulwark/internal/tlsconf"
	"fmt"
	"io"
	"os"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/stick"
)

// Load reads, parses and compiles the configuration files up to the plan
// that start-up runs: "-c", start-up and reload all go through it. table is
// plan.Options.Table (nil outside a reload).
func Load(files []string, table func(string, stick.Spec) *stick.Table) (*config.Config, *plan.Plan, config.Diagnostics) {
	cfg, ds := config.ParseFiles(files, config.ParseOptions{})
	m, cds := model.Compile(cfg, model.Options{})
	ds = append(ds, cds...)
	opt := PlanOptions()
	opt.Table = table
	pl, pds := plan.Compile(m, opt)
	ds = append(ds, pds...)
	return cfg, pl, ds.Sorted(cfg.Files)
}

// LibCryptoEnv names the libcrypto RSA keys sign through, for a system
// whose OpenSSL 3 is not the loader's libcrypto.so.3.
const LibCryptoEnv = "BULWARK_LIBCRYPTO"

// PlanOptions are the plan options the environment asks for: the explicit
// opt-outs of secure defaults.
func PlanOptions() plan.Options {
	return plan.Options{AllowPublicStats: os.Getenv("BULWARK_ALLOW_PUBLIC_STATS") == "1",
		AllowInsecureKeyPerms: os.Getenv("BULWARK_ALLOW_INSECURE_KEY_PERMS") == "1",
		AllowIgnoreCertErr:    os.Getenv(tlsconf.AllowIgnoreCertErrEnv) == "1",
		LibCrypto:             os.Getenv(LibCryptoEnv)}
}

// checkExit runs "bulwark -c": it prints every diagnostic in HAProxy's
// format and returns the exit code HAProxy would (0 valid, 1 errors, 2 no
// listener).
func checkExit(f *Flags, stdout, stderr io.Writer) int {
	if len(f.Files) == 0 {
		fmt.Fprintln(stderr, "[ALERT]    (bulwark) : No configuration file specified (use -f).")
		return 1
	}
	cfg, pl, ds := Load(f.Files, nil)
	m := pl.Model
	for _, d := range ds {
		if f.Quiet && d.Severity != config.SevAlert {
			continue
		}
		fmt.Fprintln(stderr, d.HAProxy())
	}
	strict := f.Strict || m.Global.ZeroWarn
	if ds.HasAlerts() {
		for _, file := range cfg.Files {
			fmt.Fprintf(stderr, "[ALERT]    (bulwark) : config : Error(s) found in configuration file : %s\n", file)
		}
		fmt.Fprintln(stderr, "[ALERT]    (bulwark) : config : Fatal errors found in configuration.")
		return 1
	}
	// As HAProxy's -c: programs need the master, which -W or
	// "master-worker" asks for (-c itself never runs one).
	if len(m.Programs) > 0 && !f.MasterWorker && !m.Global.MasterWorker {
		fmt.Fprintln(stderr, "[ALERT]    (bulwark) : config : Can't use a 'program' section without master worker mode.")
		fmt.Fprintln(stderr, "[ALERT]    (bulwark) : config : Fatal errors found in configuration.")
		return 1
	}
	if strict && ds.Count(config.SevWarning) > 0 {
		fmt.Fprintln(stderr, "[ALERT]    (bulwark) : config : Some warnings were found and 'zero-warning' is set. Aborting.")
		return 1
	}
	// HAProxy counts the stats sockets' listeners too: a configuration
	// with only a runtime API socket starts.
	listeners := len(m.Global.StatsSocks)
	for _, p := range m.Frontends() {
		if !p.Disabled {
			listeners += len(p.Binds)
		}
	}
	if listeners == 0 {
		if !f.Quiet {
			fmt.Fprintln(stdout, "Configuration file has no error but will not start (no listener) => exit(2).")
		}
		return 2
	}
	if !f.Quiet {
		fmt.Fprintln(stdout, "Configuration file is valid")
	}
	return 0
}

// Main is the whole command line; it returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "--help", "help":
			fmt.Fprint(stdout, Usage)
			return 0
		case "version":
			printVersion(stdout, 2)
			return 0
		}
		if cmd, ok := commands()[args[0]]; ok {
			return cmd(args[1:], stdout, stderr)
		}
	}
	f, err := ParseFlags(args)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark: %v\n%s", err, Usage)
		return 1
	}
	// As HAProxy: the local peer name is -L, or the host name, and -c
	// sees the same one as the run ("peers" sections,
	// "${HAPROXY_LOCALPEER}").
	if f.LocalPeer == "" {
		f.LocalPeer, _ = os.Hostname()
	}
	if f.LocalPeer != "" {
		os.Setenv("HAPROXY_LOCALPEER", f.LocalPeer)
	}
	switch {
	case f.Version > 0:
		printVersion(stdout, f.Version)
		return 0
	case f.CondSet:
		ok, err := config.EvalCond(splitWords(f.CondExpr), config.LexOptions{})
		if err != nil {
			fmt.Fprintf(stderr, "bulwark: -cc: %v\n", err)
			return 2
		}
		if ok {
			return 0
		}
		return 1
	case f.Check:
		return checkExit(f, stdout, stderr)
	}
	if len(f.Files) == 0 {
		fmt.Fprint(stderr, Usage)
		return 1
	}
	return run(f, stdout, stderr)
}

// commands returns the subcommands; each gets the arguments after its name.
func commands() map[string]func(args []string, stdout, stderr io.Writer) int {
	return map[string]func(args []string, stdout, stderr io.Writer) int{
		"demo":     demoCmd,
		"audit":    auditMain,
		"controls": controlsMain,
		"keywords": keywordsMain,
		"backup":   backupMain,
		"restore":  restoreMain,
		"playbook": playbookMain,
		"reload":   reloadMain,
	}
}

func splitWords(s string) []string {
	lines, _ := config.Lex("-cc", []byte(s), config.LexOptions{})
	if len(lines) == 0 {
		return nil
	}
	out := make([]string, len(lines[0].Words))
	for i, w := range lines[0].Words {
		out[i] = w.Text
	}
	return out
}
