package cli

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/rules"
)

// vvFeatures reads the "Feature list" line of a -vv output: name -> "+".
func vvFeatures(t *testing.T, out string) map[string]bool {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Feature list : (.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no Feature list in:\n%s", out)
	}
	got := map[string]bool{}
	for _, f := range strings.Fields(m[1]) {
		got[f[1:]] = f[0] == '+'
	}
	return got
}

// compiles reports what a configuration gives: no alert, and whether a
// "has no effect" warning was among its diagnostics.
func compiles(t *testing.T, text string) (ok, noEffect bool) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.cfg")
	os.WriteFile(p, []byte(text), 0o644)
	_, _, ds := Load([]string{p}, nil)
	for _, d := range ds {
		if strings.Contains(d.Msg, "has no effect") {
			noEffect = true
		}
	}
	return !ds.HasAlerts(), noEffect
}

const vvBase = "defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nfrontend f\n  bind 127.0.0.1:1\n"

// TestVersionTruthful ties -vv to what exists: its feature list names
// every feature of HAProxy 2.6's (checked against the installed haproxy
// when there is one), a "+" is exactly what ".if feature()" sees, and
// each feature, present or absent, agrees with the registries and the
// compiler (a keyword that needs it is run, refused or has no effect).
func TestVersionTruthful(t *testing.T) {
	var b bytes.Buffer
	printVersion(&b, 2)
	out := b.String()
	got := vvFeatures(t, out)
	for name, plus := range got {
		cond, err := config.EvalCond([]string{"feature(" + name + ")"}, config.LexOptions{})
		if err != nil || cond != plus {
			t.Errorf("-vv says %v for %s, .if feature(%s) says %v (%v)", plus, name, name, cond, err)
		}
	}
	if _, err := os.Stat(haproxyBin); err == nil {
		hv, err := exec.Command(haproxyBin, "-vv").Output()
		if err != nil {
			t.Fatal(err)
		}
		for name := range vvFeatures(t, string(hv)) {
			if _, ok := got[name]; !ok {
				t.Errorf("HAProxy's -vv lists %s, Bulwark's does not", name)
			}
		}
	}
	bindOpt := func(o string) bool { return model.KeywordSupport(model.FamilyBind, o) == model.Implemented }
	refused := func(text string) bool { ok, _ := compiles(t, text); return !ok }
	noEffect := func(text string) bool { ok, ne := compiles(t, text); return ok && ne }
	// What each feature is, by what exists. A feature missing here is a
	// failure: a new name needs its witness.
	witness := map[string]func() bool{
		"ACCEPT4":      func() bool { return runtime.GOOS == "linux" },
		"EPOLL":        func() bool { return runtime.GOOS == "linux" },
		"PRCTL":        func() bool { return runtime.GOOS == "linux" },
		"LINUX_SPLICE": func() bool { return runtime.GOOS == "linux" },
		"THREAD": func() bool {
			ok, ne := compiles(t, "global\n  nbthread 2\n"+vvBase)
			return ok && !ne
		},
		"OPENSSL":      func() bool { return bindOpt("ssl") && bindOpt("crt") },
		"PROMEX":       func() bool { return slices.Contains(rules.Services(), "prometheus-exporter") },
		"SYSTEMD":      func() bool { return notifies(t) },
		"BULWARK":      func() bool { return true },
		"TFO":          func() bool { return bindOpt("tfo") },
		"NS":           func() bool { return bindOpt("namespace") },
		"TPROXY":       func() bool { return bindOpt("transparent") },
		"LINUX_TPROXY": func() bool { return bindOpt("transparent") },
		"NETFILTER":    func() bool { return bindOpt("transparent") },
		"CPU_AFFINITY": func() bool { return !noEffect("global\n  cpu-map 1 0\n" + vvBase) },
		"ZLIB":         func() bool { return !refused(vvBase + "  compression algo gzip\n") },
		"LUA":          func() bool { return !refused("global\n  lua-load /dev/null\n" + vvBase) },
		"QUIC":         func() bool { return !refused(strings.Replace(vvBase, "127.0.0.1:1", "quic4@127.0.0.1:1", 1)) },
		"OT":           func() bool { return !refused(vvBase + "  filter opentracing config x\n") },
		"51DEGREES":    func() bool { return !refused("global\n  51degrees-data-file /dev/null\n" + vvBase) },
		"DEVICEATLAS":  func() bool { return !refused("global\n  deviceatlas-json-file /dev/null\n" + vvBase) },
		"WURFL":        func() bool { return !refused("global\n  wurfl-data-file /dev/null\n" + vvBase) },
		"ENGINE":       func() bool { return !refused("global\n  ssl-engine rdrand\n" + vvBase) },
		// A look-ahead is PCRE syntax that RE2 refuses.
		"PCRE":      func() bool { return !refused(vvBase + "  http-request deny if { path -m reg ^(?=a) }\n") },
		"PCRE2":     func() bool { return !refused(vvBase + "  http-request deny if { path -m reg ^(?=a) }\n") },
		"PCRE_JIT":  func() bool { return !refused(vvBase + "  http-request deny if { path -m reg ^(?=a) }\n") },
		"PCRE2_JIT": func() bool { return !refused(vvBase + "  http-request deny if { path -m reg ^(?=a) }\n") },
		// Pollers Go does not have; HAProxy's "nopoll" family names them.
		"POLL":    func() bool { return false },
		"EVPORTS": func() bool { return runtime.GOOS == "solaris" || runtime.GOOS == "illumos" },
		"KQUEUE":  func() bool { return strings.HasSuffix(runtime.GOOS, "bsd") || runtime.GOOS == "darwin" },
		// Build details of HAProxy's C code with no Bulwark counterpart:
		// no keyword depends on them.
		"BACKTRACE": nil, "CLOSEFROM": nil, "CRYPT_H": nil, "DL": nil, "GETADDRINFO": nil,
		"LIBCRYPT": nil, "MEMORY_PROFILING": nil, "OBSOLETE_LINKER": nil, "PROCCTL": nil, "RT": nil,
		"STATIC_PCRE": nil, "STATIC_PCRE2": nil, "THREAD_DUMP": nil, "SLZ": nil,
	}
	for name, plus := range got {
		w, ok := witness[name]
		if !ok {
			t.Errorf("feature %s has no witness in this test", name)
			continue
		}
		if w == nil {
			if plus {
				t.Errorf("-vv claims +%s, which has no counterpart in Bulwark", name)
			}
			continue
		}
		if has := w(); has != plus {
			t.Errorf("-vv says %v for %s; what exists says %v", plus, name, has)
		}
	}
	// The other sections name what the registries hold.
	if !strings.Contains(out, "Available services : "+strings.Join(rules.Services(), " ")+"\n") {
		t.Errorf("services line does not list %v", rules.Services())
	}
	// Each of HAProxy 2.6's filters is listed exactly when it compiles.
	cache := "cache c\n  total-max-size 4\n"
	for _, f := range []string{"cache c", "compression", "fcgi-app x", "opentracing config x", "spoe", "trace", "bwlim-in x", "bwlim-out x"} {
		name := strings.Fields(f)[0]
		cfg := cache + vvBase + "  filter " + f + "\n"
		if name == "fcgi-app" {
			// An application needs a backend with a FastCGI server.
			cfg = strings.Replace(vvBase, "frontend f", "listen f", 1) + "  filter fcgi-app x\n  server s 127.0.0.1:2 proto fcgi\nfcgi-app x\n  docroot /\n"
		}
		ok, _ := compiles(t, cfg)
		listed := regexp.MustCompile(`(?m)^\t\[[ A-Z]+\] ` + name + `$`).MatchString(out)
		if ok != listed {
			t.Errorf("filter %s: compiles %v, listed by -vv %v", name, ok, listed)
		}
	}
	for _, a := range []string{"identity", "deflate", "raw-deflate", "gzip"} {
		ok, _ := compiles(t, vvBase+"  compression algo "+a+"\n")
		if listed := strings.Contains(out, a+"(\""); ok != listed {
			t.Errorf("compression algo %s: compiles %v, listed by -vv %v", a, ok, listed)
		}
	}
	for _, want := range []string{"Default settings :\n  bufsize = 16384, maxhdr = 101", "will use epoll", "Go crypto/tls"} {
		if !strings.Contains(out, want) {
			t.Errorf("-vv lacks %q", want)
		}
	}
}

// notifies reports whether the master's readiness message reaches a
// NOTIFY_SOCKET listener.
func notifies(t *testing.T) bool {
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	notify("STATUS=vv")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	return err == nil && string(buf[:n]) == "STATUS=vv"
}
