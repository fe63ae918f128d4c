package model

import (
	"sort"

	"bulwark/internal/config"
)

// Support is what Bulwark does with a keyword of HAProxy 2.6's language.
// Each keyword family has one registry that answers it (KeywordSupport);
// the compiler acts on that answer, so a keyword cannot be run in one place
// and refused in another.
type Support uint8

const (
	// Unknown: not a HAProxy 2.6 keyword of the family ("did you mean").
	Unknown Support = iota
	// Implemented: compiled and run.
	Implemented
	// NoEffect: accepted with a "has no effect in bulwark" warning (a
	// tuning knob of HAProxy internals with no counterpart here).
	NoEffect
	// Unsupported: refused with an error naming it.
	Unsupported
)

func (s Support) String() string {
	switch s {
	case Implemented:
		return "implemented"
	case NoEffect:
		return "no effect (warning)"
	case Unsupported:
		return "not supported (error)"
	}
	return "unknown"
}

// Keyword families with a registry here. Actions, sample fetches and
// converters have theirs in internal/rules and internal/acl.
const (
	FamilyOption = "option"
	FamilyBind   = "bind"
	FamilyServer = "server"
)

// KeywordSupport looks name up in the registry of family.
func KeywordSupport(family, name string) Support {
	switch family {
	case FamilyOption:
		switch {
		case noEffectOptions[name]:
			return NoEffect
		case supportedOptions[name]:
			return Implemented
		case isHAProxyOption(name):
			return Unsupported
		}
	case FamilyBind:
		if _, ok := config.BindOptions[name]; !ok {
			return Unknown
		}
		switch {
		case unsupportedBindOpts[name]:
			return Unsupported
		case bindNoEffect[name]:
			return NoEffect
		}
		return Implemented
	case FamilyServer:
		// "usesrc" is the second word of "source <addr> usesrc ...".
		if _, ok := config.ServerOptions[name]; !ok && name != "usesrc" {
			return Unknown
		}
		if unsupportedServerOpts[name] {
			return Unsupported
		}
		return Implemented
	}
	return Unknown
}

// KeywordNames returns the HAProxy 2.6 keywords of a family, sorted: what
// the registry must give an answer for.
func KeywordNames(family string) []string {
	var out []string
	switch family {
	case FamilyOption:
		seen := map[string]bool{}
		for _, k := range []string{config.KindDefaults, config.KindFrontend, config.KindBackend, config.KindListen} {
			for _, o := range config.SubKeywordsIn(k, "option") {
				if !seen[o] {
					seen[o] = true
					out = append(out, o)
				}
			}
		}
	case FamilyBind:
		for n := range config.BindOptions {
			out = append(out, n)
		}
	case FamilyServer:
		for n := range config.ServerOptions {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func isHAProxyOption(name string) bool {
	for _, k := range []string{config.KindDefaults, config.KindFrontend, config.KindBackend, config.KindListen} {
		if config.OptionValidIn(name, k) {
			return true
		}
	}
	return false
}

// runSections are the section kinds Compile runs; the others parse (for
// the auditor) and are refused by name.
var runSections = map[string]bool{
	config.KindGlobal: true, config.KindDefaults: true, config.KindFrontend: true, config.KindBackend: true,
	config.KindListen: true, config.KindUserlist: true, config.KindResolvers: true,
	config.KindPeers: true, config.KindCache: true, config.KindProgram: true, config.KindHTTPErrors: true,
	config.KindFCGIApp: true,
}

// SectionSupport says what Bulwark does with a section kind.
func SectionSupport(kind string) Support {
	switch {
	case runSections[kind]:
		return Implemented
	case config.IsSectionKind(kind):
		return Unsupported
	}
	return Unknown
}
