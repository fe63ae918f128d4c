package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// reloadMain is "bulwark reload SOCKET": it asks the master listening on
// the master CLI socket SOCKET to reload, waits for the outcome and
// exits 0 when the new worker serves, 1 otherwise, with the master's
// messages on stderr. As the unit's ExecReload it makes "systemctl
// reload" fail when the reload did, which "kill -USR2" cannot.
func reloadMain(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: bulwark reload <master CLI socket>")
		return 2
	}
	c, err := net.DialTimeout("unix", args[0], 5*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark reload: %v\n", err)
		return 1
	}
	defer c.Close()
	// A reload of a large configuration takes seconds; the bound is for
	// a master that never answers.
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	if _, err := io.WriteString(c, "reload\n"); err != nil {
		fmt.Fprintf(stderr, "bulwark reload: %v\n", err)
		return 1
	}
	sc := bufio.NewScanner(c)
	status := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case status == "" && (line == "Success=1" || line == "Success=0"):
			status = line
		case line == "--" || line == "":
		default:
			fmt.Fprintln(stderr, line)
		}
	}
	switch status {
	case "Success=1":
		return 0
	case "Success=0":
		fmt.Fprintln(stderr, "bulwark reload: the reload failed; the previous configuration still serves")
	default:
		fmt.Fprintf(stderr, "bulwark reload: no answer from the master on %s (%v)\n", args[0], sc.Err())
	}
	return 1
}
