package model_test

import (
	"fmt"
	"strings"
	"testing"

	"bulwark/internal/config"
	. "bulwark/internal/model"
	"bulwark/internal/plan"
)

// The registry of each family answers for every HAProxy 2.6 keyword, and
// the compiler does what the registry says: each keyword is compiled in a
// small configuration and the diagnostic at its word (unsupported error,
// no-effect warning, or neither) must match its Support. A second path
// through the real compiler and the plan stage, so that the registry
// cannot drift from what either refuses.
func TestRegistryAgreesWithCompiler(t *testing.T) {
	base := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
	for _, fam := range []string{FamilyOption, FamilyBind, FamilyServer} {
		names := KeywordNames(fam)
		if len(names) < 20 {
			t.Fatalf("%s: only %d keywords in HAProxy 2.6's table", fam, len(names))
		}
		for _, name := range names {
			want := KeywordSupport(fam, name)
			if want == Unknown {
				t.Errorf("%s %s: a HAProxy 2.6 keyword without an answer from the registry", fam, name)
				continue
			}
			var line string
			switch fam {
			case FamilyOption:
				sec := "listen l\n    bind 127.0.0.1:8080\n"
				if !config.OptionValidIn(name, config.KindListen) {
					sec = "backend l\n"
					if !config.OptionValidIn(name, config.KindBackend) {
						sec = "frontend l\n    bind 127.0.0.1:8080\n"
					}
				}
				line = sec + "    option " + name + "\n"
			case FamilyBind:
				line = "frontend l\n    bind 127.0.0.1:8080 " + withValue(name, config.BindOptions[name]) + "\n"
			case FamilyServer:
				if name == "usesrc" {
					continue // the second word of "source"
				}
				line = "backend l\n    server s 127.0.0.1:80 " + withValue(name, config.ServerOptions[name]) + "\n"
			}
			src := base + line
			cfg, pds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
			m, ds := Compile(cfg, Options{})
			if !ds.HasAlerts() {
				_, plds := plan.Compile(m, plan.Options{})
				ds = append(ds, plds...)
			}
			lines := strings.Count(src, "\n")
			last := src[strings.LastIndex(src[:len(src)-1], "\n")+1:]
			col := strings.Index(last, " "+name) + 2
			got := Implemented
			for _, d := range append(pds, ds...) {
				// Only what is said of the keyword itself: a value may be
				// refused on its own ("check-proto h2").
				if d.Pos.Line != lines || d.Pos.Col != col {
					continue
				}
				switch d.Code {
				case CodeUnsupported:
					got = Unsupported
				case "no-effect":
					got = NoEffect
				}
			}
			if got != want {
				t.Errorf("%s %s: registry says %s, the compiler does %s:\n%s%v", fam, name, want, got, line, ds)
			}
		}
	}
}

func withValue(name string, arity int) string {
	switch arity {
	case 0:
		return name
	case config.ArgsVariable:
		return name + " 127.0.0.1"
	}
	return fmt.Sprintf("%s %s", name, strings.Repeat("1 ", arity)[:2*arity-1])
}
