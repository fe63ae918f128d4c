package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"bulwark/internal/compress"
	"bulwark/internal/config"
	"bulwark/internal/libcrypto"
	"bulwark/internal/model"
	"bulwark/internal/rules"
)

// Version is Bulwark's release; HAProxyCompat is the configuration language
// version it follows (what version_atleast() compares against).
const (
	Version       = "0.1.0-dev"
	HAProxyCompat = "2.6.12"
)

// printVersion is -v (level 1) and -vv (level 2). -vv has the sections of
// HAProxy 2.6's, each saying what this build runs: a "+" feature is one
// ".if feature()" sees as present, and each is tied by a test to what
// exists (TestVersionTruthful).
func printVersion(w io.Writer, level int) {
	fmt.Fprintf(w, "Bulwark version %s (HAProxy %s configuration language)\n", Version, HAProxyCompat)
	if level < 2 {
		return
	}
	fmt.Fprintf(w, "Running on: %s %s/%s%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, kernel())
	fmt.Fprintln(w, "Build options :")
	fmt.Fprintf(w, "  GO      = %s\n", runtime.Version())
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "-trimpath", "CGO_ENABLED", "-ldflags", "GOAMD64", "-tags", "-pgo":
				fmt.Fprintf(w, "  %s=%s\n", s.Key, s.Value)
			}
		}
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
			case "vcs.revision", "vcs.time", "vcs.modified":
				fmt.Fprintf(w, "  %s=%s\n", s.Key, s.Value)
			}
		}
		for _, d := range bi.Deps {
			fmt.Fprintf(w, "  dep %s %s %s\n", d.Path, d.Version, d.Sum)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Feature list : %s\n", featureList())
	fmt.Fprintln(w)
	g := model.DefaultGlobal()
	fmt.Fprintln(w, "Default settings :")
	fmt.Fprintf(w, "  bufsize = %d, maxhdr = %d, stats maxconn = %d, h2 max-concurrent-streams = %d\n",
		g.BufSize, g.MaxHdr, g.StatsMaxConn, g.H2.MaxConcurrentStreams)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Built with multi-threading support (goroutines; nbthread sets GOMAXPROCS, default=%d).\n", runtime.NumCPU())
	fmt.Fprintf(w, "Built with TLS library : Go crypto/tls (%s), answering feature(OPENSSL)\n", runtime.Version())
	// The one operation OpenSSL does: say which library it would be, as
	// HAProxy's -vv says which OpenSSL it runs on.
	if lib, err := libcrypto.Open(""); err == nil {
		fmt.Fprintf(w, "RSA certificate signatures : libcrypto, %s (%s; bulwark-ssl-rsa-signer go: Go crypto/rsa)\n", lib.Version(), lib.Path())
	} else {
		fmt.Fprintf(w, "RSA certificate signatures : Go crypto/rsa (%v)\n", err)
	}
	fmt.Fprintln(w, "TLS library supports TLS extensions : yes")
	fmt.Fprintln(w, "TLS library supports SNI : yes")
	fmt.Fprintln(w, "TLS library supports : TLSv1.0 TLSv1.1 TLSv1.2 TLSv1.3 (no SSLv3)")
	fmt.Fprintln(w, "Built with the Prometheus exporter as a service")
	fmt.Fprintln(w, "Built with systemd notification support (Type=notify, go-systemd).")
	fmt.Fprintln(w, "Built without network namespace support.")
	var algos []string
	for _, a := range []string{"identity", "deflate", "raw-deflate", "gzip"} {
		if _, ok := compress.ParseAlgo(a); ok {
			algos = append(algos, fmt.Sprintf("%s(%q)", a, strings.TrimPrefix(a, "raw-")))
		}
	}
	fmt.Fprintln(w, "Built with HTTP compression (klauspost/compress, answering feature(ZLIB); no zlib, no libslz).")
	fmt.Fprintf(w, "Compression algorithms supported : %s\n", strings.Join(algos, ", "))
	fmt.Fprintln(w, "Built without transparent proxy support.")
	fmt.Fprintln(w, "Regular expressions : Go RE2 (linear time, no backtracking; no PCRE)")
	fmt.Fprintln(w, "Encrypted password support : SHA-256 ($5$) and SHA-512 ($6$) crypt hashes, built in (no crypt(3))")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Available polling systems :")
	fmt.Fprintln(w, "      epoll : pref=300,  test result OK (the Go runtime's poller)")
	fmt.Fprintln(w, "Total: 1 (1 usable), will use epoll.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Available multiplexer protocols :")
	fmt.Fprintln(w, "(protocols marked as <default> cannot be specified using 'proto' keyword)")
	fmt.Fprintln(w, "         h2 : mode=HTTP  side=FE|BE  mux=H2    (ALPN h2 on 'bind ... ssl' and 'server ... ssl')")
	fmt.Fprintln(w, "  <default> : mode=HTTP  side=FE|BE  mux=H1")
	fmt.Fprintln(w, "  <default> : mode=TCP   side=FE|BE  mux=PASS")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Available services : %s\n", strings.Join(rules.Services(), " "))
	fmt.Fprintln(w, "Available filters :")
	tags := map[string]string{"cache": "CACHE", "compression": "COMP"}
	for _, f := range model.FilterNames() {
		fmt.Fprintf(w, "\t[%4s] %s\n", tags[f], f)
	}
}

// featureList is the "Feature list" line: every name of HAProxy 2.6's, and
// Bulwark's own, with "+" when ".if feature(NAME)" is true.
func featureList() string {
	names := slices.Clone(config.HAProxyFeatures)
	for _, f := range config.DefaultFeatures {
		if !slices.Contains(names, f) {
			names = append(names, f)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		if slices.Contains(config.DefaultFeatures, n) {
			b.WriteByte('+')
		} else {
			b.WriteByte('-')
		}
		b.WriteString(n)
	}
	return b.String()
}

// kernel names the running kernel, as HAProxy's "Running on" does.
func kernel() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return ""
	}
	str := func(a [65]int8) string {
		var b []byte
		for _, c := range a {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		return string(b)
	}
	return fmt.Sprintf(" (%s %s %s)", str(u.Sysname), str(u.Release), str(u.Machine))
}
