package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bulwark/internal/audit"
)

// listFlag collects a repeatable flag; commas also separate values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

const auditUsage = `Usage: bulwark audit -f FILE [-f FILE ...] [options]
       bulwark audit --diff OLD NEW [options]

Checks a configuration (Bulwark's or a real HAProxy 2.x one) against the
hardening controls (see 'bulwark controls' and docs/audit.md).

Options:
  -f FILE|DIR          configuration file or directory (repeatable)
  --target T           bulwark (default) or haproxy: whose defaults and
                       whose notion of "valid" apply
  --format F           text (default), json, sarif, junit or html
  --fail-on S          exit 1 when a control of severity S or higher FAILs:
                       critical, high (default), medium or low
  --only IDS           run only these controls (comma list; HAP-4 = all of 4.x)
  --skip IDS           do not run these controls
  --backup-dir DIR     also look for bulwark-backup-*.tar.gz here (HAP-10.1)
  --no-git             do not run git (HAP-9.2 becomes MANUAL)
  --live               also audit the running deployment: processes,
                       listening sockets, binary origin, and TLS/HTTP probes
                       of the configured local binds
  --pid N              with --live: the proxy's (master) PID
  --pidfile F          with --live: read the PIDs from F (default: the
                       config's 'pidfile', else scan /proc for the binary)
  --probe-remote       with --live: also probe binds on other hosts' addresses
  --sha256sums FILE    with --live: the running binary must match its line
                       in FILE (sha256sum format; full path or base name)
  --unit-dir DIR       with --live: look for the systemd unit (named by the
                       process's cgroup) in DIR instead of systemd's unit
                       directories (repeatable, first found wins)
  --diff OLD NEW       compare two versions of a configuration (files or
                       directories): only the controls whose verdict
                       changes; exit 1 when a control newly FAILs
  --srcroot DIR        sarif: the directory %SRCROOT% stands for (default:
                       the working directory); paths below it are relative
  -o FILE              write the report to FILE instead of stdout
  -v                   text: show passing evidence too
  --color C            auto (default: only on a terminal), always or never

Exit status: 0 no FAIL at or above --fail-on; 1 such a FAIL; 2 usage error or
unreadable input.
`

// auditOptions are the parsed flags of "bulwark audit".
type auditOptions struct {
	files      listFlag
	target     string
	format     string
	failOn     audit.Severity
	sel        audit.Selection
	backupDirs listFlag
	noGit      bool
	out        string
	verbose    bool
	color      string
	live       bool
	liveOpts   audit.LiveOptions
	srcRoot    string
	// diffOld and diffNew are set by --diff OLD NEW.
	diffOld, diffNew string
}

// takeDiff removes "--diff OLD NEW" from args: the flag package cannot
// give a flag two values, and a positional NEW would end flag parsing.
func takeDiff(args []string) (rest []string, old, new string, err error) {
	for i := 0; i < len(args); i++ {
		if args[i] != "--diff" && args[i] != "-diff" {
			rest = append(rest, args[i])
			continue
		}
		if i+2 >= len(args) || strings.HasPrefix(args[i+1], "-") || strings.HasPrefix(args[i+2], "-") {
			return nil, "", "", fmt.Errorf("--diff needs two configurations: --diff OLD NEW")
		}
		if old != "" {
			return nil, "", "", fmt.Errorf("--diff given twice")
		}
		old, new = args[i+1], args[i+2]
		i += 2
	}
	return rest, old, new, nil
}

func parseAuditFlags(args []string, stderr io.Writer) (*auditOptions, error) {
	var err error
	o := &auditOptions{}
	args, o.diffOld, o.diffNew, err = takeDiff(args)
	if err != nil {
		return nil, err
	}
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&o.files, "f", "")
	fs.StringVar(&o.target, "target", audit.ProductBulwark, "")
	fs.StringVar(&o.format, "format", "text", "")
	failOn := fs.String("fail-on", "high", "")
	var only, skip listFlag
	fs.Var(&only, "only", "")
	fs.Var(&skip, "skip", "")
	fs.Var(&o.backupDirs, "backup-dir", "")
	fs.BoolVar(&o.noGit, "no-git", false, "")
	fs.StringVar(&o.out, "o", "", "")
	fs.BoolVar(&o.verbose, "v", false, "")
	fs.StringVar(&o.color, "color", "auto", "")
	fs.BoolVar(&o.live, "live", false, "")
	fs.IntVar(&o.liveOpts.PID, "pid", 0, "")
	fs.StringVar(&o.liveOpts.PIDFile, "pidfile", "", "")
	fs.BoolVar(&o.liveOpts.ProbeRemote, "probe-remote", false, "")
	fs.StringVar(&o.liveOpts.SHA256Sums, "sha256sums", "", "")
	var unitDirs listFlag
	fs.Var(&unitDirs, "unit-dir", "")
	fs.StringVar(&o.srcRoot, "srcroot", "", "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (configuration files need -f)", fs.Arg(0))
	}
	switch {
	case o.diffOld != "" && len(o.files) > 0:
		return nil, fmt.Errorf("--diff compares OLD and NEW: do not add -f")
	case o.diffOld != "" && o.live:
		return nil, fmt.Errorf("--diff compares configurations: --live does not apply")
	case o.diffOld != "" && (o.format == "json" || o.format == "junit" || o.format == "html"):
		return nil, fmt.Errorf("--diff writes text or sarif")
	case o.diffOld == "" && len(o.files) == 0:
		return nil, fmt.Errorf("no configuration file given (use -f)")
	}
	sev, err := audit.ParseSeverity(*failOn)
	if err != nil {
		return nil, fmt.Errorf("--fail-on: %v", err)
	}
	o.failOn = sev
	switch o.format {
	case "text", "json", "sarif", "junit", "html":
	default:
		return nil, fmt.Errorf("--format: unknown format %q (expects text, json, sarif, junit or html)", o.format)
	}
	switch o.color {
	case "auto", "always", "never":
	default:
		return nil, fmt.Errorf("--color: expects auto, always or never")
	}
	o.liveOpts.UnitDirs = unitDirs
	if !o.live && (o.liveOpts.PID != 0 || o.liveOpts.PIDFile != "" || o.liveOpts.ProbeRemote || o.liveOpts.SHA256Sums != "" || len(unitDirs) > 0) {
		return nil, fmt.Errorf("--pid, --pidfile, --probe-remote, --sha256sums and --unit-dir need --live")
	}
	if o.liveOpts.SHA256Sums != "" {
		// Checked now so that a wrong file is a usage error, not a FAIL
		// buried in the report.
		if _, err := audit.ReadSHA256Sums(o.liveOpts.SHA256Sums); err != nil {
			return nil, fmt.Errorf("--sha256sums: %v", err)
		}
	}
	if o.liveOpts.PID < 0 {
		return nil, fmt.Errorf("--pid: expects a positive process ID")
	}
	o.sel = audit.Selection{Only: only, Skip: skip}
	if bad := o.sel.Unknown(); len(bad) > 0 {
		return nil, fmt.Errorf("unknown control(s): %s (see 'bulwark controls')", strings.Join(bad, ", "))
	}
	return o, nil
}

// auditMain runs "bulwark audit".
func auditMain(args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprint(stdout, auditUsage)
			return 0
		}
	}
	o, err := parseAuditFlags(args, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark audit: %v\n%s", err, auditUsage)
		return 2
	}
	start := time.Now()
	if o.srcRoot == "" {
		o.srcRoot, _ = os.Getwd()
	} else if abs, err := filepath.Abs(o.srcRoot); err == nil {
		o.srcRoot = abs
	}
	sarifOpt := audit.SARIFOptions{ToolVersion: Version, SrcRoot: o.srcRoot, Start: start,
		CommandLine: "bulwark audit " + strings.Join(args, " ")}
	color := o.color == "always"
	if o.color == "auto" && o.out == "" {
		if f, ok := stdout.(*os.File); ok {
			color = audit.IsTerminal(f)
		}
	}
	if o.diffOld != "" {
		return auditDiff(o, sarifOpt, color, stdout, stderr)
	}
	t, err := audit.Load(o.files, o.target, PlanOptions())
	if err != nil {
		fmt.Fprintf(stderr, "bulwark audit: %v\n", err)
		return 2
	}
	t.BackupDirs = o.backupDirs
	if !o.noGit && audit.GitAvailable() {
		t.Git = audit.GitStatus
	}
	if o.target == audit.ProductHAProxy {
		t.HAProxyCheck = audit.HAProxyChecker("haproxy")
		if t.HAProxyCheck == nil {
			t.HAProxyCheck = audit.HAProxyChecker("/usr/sbin/haproxy")
		}
	}
	if o.live {
		t.Live = audit.GatherLive(t, o.liveOpts)
	}
	rep := audit.Run(t, o.sel)
	code := 0
	if rep.Failed(o.failOn) {
		code = 1
	}

	var buf bytes.Buffer
	switch o.format {
	case "json":
		err = audit.WriteJSON(&buf, rep)
	case "sarif":
		sarifOpt.End, sarifOpt.ExitCode = time.Now(), code
		err = audit.WriteSARIF(&buf, rep, sarifOpt)
	case "junit":
		err = audit.WriteJUnit(&buf, rep)
	case "html":
		err = audit.WriteHTML(&buf, rep)
	default:
		err = audit.WriteText(&buf, rep, audit.TextOptions{Color: color, Verbose: o.verbose})
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulwark audit: %v\n", err)
		return 2
	}
	if !writeReport(o, buf.Bytes(), stdout, stderr) {
		return 2
	}
	return code
}

func writeReport(o *auditOptions, b []byte, stdout, stderr io.Writer) bool {
	if o.out != "" {
		if err := os.WriteFile(o.out, b, 0o644); err != nil {
			fmt.Fprintf(stderr, "bulwark audit: %v\n", err)
			return false
		}
		return true
	}
	_, err := stdout.Write(b)
	return err == nil
}

// auditDiff runs "bulwark audit --diff OLD NEW": both versions are audited
// statically with the same selection, without git and the backup search
// (their verdicts follow where the files lie, not what they say).
func auditDiff(o *auditOptions, sarifOpt audit.SARIFOptions, color bool, stdout, stderr io.Writer) int {
	sel := o.sel
	sel.Skip = append(append([]string(nil), sel.Skip...), audit.DiffSkipped...)
	var reps [2]*audit.Report
	for i, p := range []string{o.diffOld, o.diffNew} {
		t, err := audit.Load([]string{p}, o.target, PlanOptions())
		if err != nil {
			fmt.Fprintf(stderr, "bulwark audit: %v\n", err)
			return 2
		}
		reps[i] = audit.Run(t, sel)
	}
	d := audit.Diff(reps[0], reps[1])
	code := 0
	if d.Failed(o.failOn) {
		code = 1
	}
	var buf bytes.Buffer
	var err error
	if o.format == "sarif" {
		sarifOpt.End, sarifOpt.ExitCode = time.Now(), code
		err = audit.WriteDiffSARIF(&buf, d, sarifOpt)
	} else {
		err = audit.WriteDiffText(&buf, d, audit.TextOptions{Color: color})
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulwark audit: %v\n", err)
		return 2
	}
	if !writeReport(o, buf.Bytes(), stdout, stderr) {
		return 2
	}
	return code
}

const controlsUsage = `Usage: bulwark controls [--format table|md|json]

Prints the audit control catalogue. 'make docs' writes docs/controls.md with
--format md.
`

// controlsMain runs "bulwark controls".
func controlsMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("controls", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "table", "")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, controlsUsage)
			return 0
		}
		fmt.Fprintf(stderr, "bulwark controls: %v\n%s", err, controlsUsage)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bulwark controls: unexpected argument %q\n%s", fs.Arg(0), controlsUsage)
		return 2
	}
	var err error
	switch *format {
	case "table", "text":
		err = audit.WriteControlsTable(stdout)
	case "md", "markdown":
		err = audit.WriteControlsMarkdown(stdout)
	case "json":
		err = audit.WriteControlsJSON(stdout)
	default:
		fmt.Fprintf(stderr, "bulwark controls: unknown format %q (expects table, md or json)\n", *format)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulwark controls: %v\n", err)
		return 2
	}
	return 0
}
