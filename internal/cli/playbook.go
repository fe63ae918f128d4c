package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"bulwark/internal/audit"
)

const playbookUsage = `Usage: bulwark playbook -f FILE|DIR [-f ...] [--target haproxy|bulwark] [-o FILE]

Writes the four incident playbooks of HAP-10.2 (certificate compromise,
backend breach, L7 abuse/DDoS, misrouting/header injection) as Markdown,
filled in from the configuration: certificate files per frontend with the
runtime-API rotation commands, drain commands per server, rate limits and
header rules with file:line.
`

// playbookMain runs "bulwark playbook".
func playbookMain(args []string, stdout, stderr io.Writer) int {
	if wantsHelp(args) {
		fmt.Fprint(stdout, playbookUsage)
		return 0
	}
	fs := flag.NewFlagSet("playbook", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var files listFlag
	fs.Var(&files, "f", "")
	target := fs.String("target", audit.ProductHAProxy, "")
	out := fs.String("o", "", "")
	pos, err := parseInterleaved(fs, args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q (configuration files need -f)", pos[0])
	}
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no configuration file given (use -f)")
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulwark playbook: %v\n%s", err, playbookUsage)
		return 2
	}
	t, err := audit.Load(files, *target, PlanOptions())
	if err != nil {
		fmt.Fprintf(stderr, "bulwark playbook: %v\n", err)
		return 2
	}
	var buf bytes.Buffer
	if err := audit.WritePlaybook(&buf, t); err != nil {
		fmt.Fprintf(stderr, "bulwark playbook: %v\n", err)
		return 2
	}
	if *out != "" {
		if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintf(stderr, "bulwark playbook: %v\n", err)
			return 2
		}
		return 0
	}
	if _, err := stdout.Write(buf.Bytes()); err != nil {
		return 2
	}
	return 0
}
