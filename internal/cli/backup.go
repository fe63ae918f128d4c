package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"bulwark/internal/backup"
	"bulwark/internal/config"
)

const backupUsage = `Usage: bulwark backup -f FILE|DIR [-f ...] [-o DIR] [-q]
       bulwark backup --verify ARCHIVE [-q]

Writes DIR/bulwark-backup-YYYYMMDDTHHMMSSZ.tar.gz (mode 0600) holding the
configuration and every file it references (certificates, crt-lists, CA and
CRL files, error files, map and ACL pattern files, Lua scripts, server-state
files, ...) with a SHA-256 manifest (MANIFEST.sha256). --verify checks every
file of an archive against its manifest.

Exit status: 0 done; 1 a referenced file is missing (the archive is still
written) or verification failed; 2 usage error or unreadable input.
`

const restoreUsage = `Usage: bulwark restore ARCHIVE --to DIR [--force] [-q]

Verifies ARCHIVE, then writes its files below DIR keeping their original
absolute layout (/etc/haproxy/haproxy.cfg -> DIR/etc/haproxy/haproxy.cfg).
Entries with absolute paths, '..' components, links or devices are refused.
Existing files are not overwritten without --force.

Exit status: 0 restored; 1 verification failed or a file exists; 2 usage.
`

// parseInterleaved parses flags that may come after positional arguments,
// as "restore ARCHIVE --to DIR" is written.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

// backupMain runs "bulwark backup".
func backupMain(args []string, stdout, stderr io.Writer) int {
	if wantsHelp(args) {
		fmt.Fprint(stdout, backupUsage)
		return 0
	}
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var files listFlag
	fs.Var(&files, "f", "")
	out := fs.String("o", ".", "")
	verify := fs.String("verify", "", "")
	quiet := fs.Bool("q", false, "")
	pos, err := parseInterleaved(fs, args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err == nil && *verify == "" && len(files) == 0 {
		err = fmt.Errorf("no configuration file given (use -f)")
	}
	if err == nil && *verify != "" && len(files) > 0 {
		err = fmt.Errorf("--verify takes an archive, not -f")
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulwark backup: %v\n%s", err, backupUsage)
		return 2
	}
	var progress io.Writer = stderr
	if *quiet {
		progress = nil
	}
	if *verify != "" {
		probs, err := backup.Verify(*verify, progress)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark backup: %v\n", err)
			return 2
		}
		for _, p := range probs {
			fmt.Fprintf(stdout, "MISMATCH %s\n", p)
		}
		if len(probs) > 0 {
			fmt.Fprintf(stdout, "%s: %d problem(s)\n", *verify, len(probs))
			return 1
		}
		fmt.Fprintf(stdout, "%s: every file matches the manifest\n", *verify)
		return 0
	}
	paths, ds := config.ExpandPaths(files)
	if len(ds) > 0 || len(paths) == 0 {
		fmt.Fprintf(stderr, "bulwark backup: no readable configuration in %s\n", strings.Join(files, ", "))
		return 2
	}
	cfg, pds := config.ParseFiles(paths, config.ParseOptions{})
	for _, d := range pds {
		if !d.Pos.IsValid() && d.Severity == config.SevAlert {
			fmt.Fprintf(stderr, "bulwark backup: %s\n", d.Msg)
			return 2
		}
	}
	res, err := backup.Create(backup.Options{Config: cfg, OutDir: *out, Progress: progress})
	if err != nil {
		fmt.Fprintf(stderr, "bulwark backup: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "%s: %d file(s)\n", res.Archive, len(res.Files))
	if len(res.Missing) > 0 {
		for _, m := range res.Missing {
			fmt.Fprintf(stderr, "bulwark backup: missing %s (%s at %s)\n", m.Path, m.Why, m.Pos)
		}
		return 1
	}
	return 0
}

// restoreMain runs "bulwark restore".
func restoreMain(args []string, stdout, stderr io.Writer) int {
	if wantsHelp(args) {
		fmt.Fprint(stdout, restoreUsage)
		return 0
	}
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	to := fs.String("to", "", "")
	force := fs.Bool("force", false, "")
	quiet := fs.Bool("q", false, "")
	pos, err := parseInterleaved(fs, args)
	switch {
	case err != nil:
	case len(pos) != 1:
		err = fmt.Errorf("expects exactly one archive")
	case *to == "":
		err = fmt.Errorf("--to DIR is required")
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulwark restore: %v\n%s", err, restoreUsage)
		return 2
	}
	var progress io.Writer = stderr
	if *quiet {
		progress = nil
	}
	written, err := backup.Restore(pos[0], *to, *force, progress)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark restore: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored %d file(s) below %s\n", len(written), *to)
	return 0
}
