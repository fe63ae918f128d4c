package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"bulwark/internal/config"
)

// Version is Bulwark's release; HAProxyCompat is the configuration language
// version it follows (what version_atleast() compares against).
const (
	Version       = "0.1.0-dev"
	HAProxyCompat = "2.6.12"
)

func printVersion(w io.Writer, level int) {
	fmt.Fprintf(w, "Bulwark version %s (HAProxy %s configuration language)\n", Version, HAProxyCompat)
	if level < 2 {
		return
	}
	fmt.Fprintf(w, "Running on: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(w, "Build info: module %s %s\n", bi.Main.Path, bi.Main.Version)
		rev, dirty := "unknown (built without VCS information; 'make release' embeds it)", ""
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = " (dirty: uncommitted changes)"
			}
		}
		fmt.Fprintf(w, "Revision: %s%s\n", rev, dirty)
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified", "-trimpath", "CGO_ENABLED":
				fmt.Fprintf(w, "  %s=%s\n", s.Key, s.Value)
			}
		}
		for _, d := range bi.Deps {
			fmt.Fprintf(w, "  dep %s %s %s\n", d.Path, d.Version, d.Sum)
		}
	}
	fmt.Fprint(w, "Feature list :")
	for _, f := range config.DefaultFeatures {
		fmt.Fprintf(w, " +%s", f)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Regular expressions : Go RE2 (linear time, no backtracking)")
}
