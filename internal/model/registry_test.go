package model

import (
	"sort"
	"testing"

	"bulwark/internal/config"
)

// Every keyword the compiler runs, accepts with no effect or refuses as
// unsupported is a keyword of HAProxy 2.6's tables (internal/config), the
// tables that decide "unknown keyword" and "did you mean": a keyword cannot
// be handled here and unknown there, or the other way round. Actions are
// checked against the rule compiler's registry in internal/rules.
func TestKeywordFamiliesAgreeWithHAProxyTables(t *testing.T) {
	proxyKinds := []string{config.KindDefaults, config.KindFrontend, config.KindBackend, config.KindListen}
	families := []struct {
		name  string
		lists []map[string]bool
		known func(string) bool
	}{
		{"option", []map[string]bool{supportedOptions, noEffectOptions}, func(w string) bool {
			for _, k := range proxyKinds {
				if config.OptionValidIn(w, k) {
					return true
				}
			}
			return false
		}},
		{"bind", []map[string]bool{bindFlags, bindValued, unsupportedBindOpts, bindNoEffect}, func(w string) bool {
			_, ok := config.BindOptions[w]
			return ok
		}},
		{"server", []map[string]bool{serverFlags, serverValued, unsupportedServerOpts}, func(w string) bool {
			// "usesrc" is the second word of "source <addr> usesrc ...".
			_, ok := config.ServerOptions[w]
			return ok || w == "usesrc"
		}},
		{"global", []map[string]bool{globalIgnored, globalNoEffect}, func(w string) bool {
			return config.ValidInSection(config.KindGlobal, w)
		}},
	}
	for _, f := range families {
		var bad []string
		for _, l := range f.lists {
			for w := range l {
				if !f.known(w) {
					bad = append(bad, w)
				}
			}
		}
		sort.Strings(bad)
		if len(bad) > 0 {
			t.Errorf("%s keywords handled by the compiler but unknown to HAProxy 2.6's table: %v", f.name, bad)
		}
	}
}

// A keyword's number of value words is the one of HAProxy 2.6's table:
// otherwise "server s1 a:80 tfo check" would take "check" as tfo's value.
func TestBindServerArityAgreesWithHAProxyTables(t *testing.T) {
	for _, f := range []struct {
		name          string
		flags, valued map[string]bool
		table         map[string]int
	}{
		{"bind", bindFlags, bindValued, config.BindOptions},
		{"server", serverFlags, serverValued, config.ServerOptions},
	} {
		for w, on := range f.flags {
			if n, ok := f.table[w]; on && ok && n != 0 {
				t.Errorf("%s '%s' takes no value here, %d in HAProxy 2.6", f.name, w, n)
			}
		}
		for w, on := range f.valued {
			if n, ok := f.table[w]; on && ok && n == 0 && !f.flags[w] {
				t.Errorf("%s '%s' takes a value here, none in HAProxy 2.6", f.name, w)
			}
		}
	}
}
