// Command gen writes the large configuration that bench/config/run.sh
// checks with both "bulwark -c" and "haproxy -c".
package main

import (
	"flag"
	"fmt"
	"os"

	configbench "bulwark/bench/config"
)

func main() {
	p := configbench.Default
	out := flag.String("o", "", "output file (default stdout)")
	flag.IntVar(&p.Backends, "backends", p.Backends, "number of backends")
	flag.IntVar(&p.Servers, "servers", p.Servers, "servers per backend")
	flag.IntVar(&p.Frontends, "frontends", p.Frontends, "number of frontends")
	flag.Parse()
	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	if err := configbench.Generate(w, p); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
