// Command bulwark is a hardened HTTP/TCP load balancer that runs HAProxy 2.6
// configuration files, and audits HAProxy deployments against a CIS-style
// hardening guide.
package main

import (
	"os"

	"bulwark/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
