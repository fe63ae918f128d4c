package cli

import (
	"fmt"
	"io"

	"bulwark/internal/config"
)

// run starts the proxy on the given configuration.
func run(f *Flags, stdout, stderr io.Writer) int {
	_, _, ds := Load(f.Files)
	for _, d := range ds {
		if d.Severity == config.SevAlert || !f.Quiet {
			fmt.Fprintln(stderr, d.HAProxy())
		}
	}
	if ds.HasAlerts() {
		fmt.Fprintln(stderr, "[ALERT]    (bulwark) : config : Fatal errors found in configuration.")
		return 1
	}
	fmt.Fprintln(stderr, "[ALERT]    (bulwark) : the proxy engine is not available in this build yet")
	return 1
}
