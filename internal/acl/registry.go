package acl

import (
	"strings"

	"bulwark/internal/config"
)

// Fetch and converter registry: config.Fetches and config.Converters are
// HAProxy 2.6's names; lookupFetch and lookupConv say which Bulwark runs.
// A 2.6 name that is not implemented is refused by parseExpr as "not
// supported by bulwark", naming it; any other name is unknown.

// ImplementedFetches returns, sorted, the 2.6 fetches Bulwark runs.
func ImplementedFetches() []string {
	var out []string
	for _, n := range config.Fetches() {
		if lookupFetch(n) != nil {
			out = append(out, n)
		}
	}
	return out
}

// ImplementedConverters returns, sorted, the 2.6 converters Bulwark runs.
func ImplementedConverters() []string {
	var out []string
	for _, n := range config.Converters() {
		if lookupConv(n) != nil {
			out = append(out, n)
		}
	}
	return out
}

// Excluded says why a HAProxy 2.6 fetch or converter is deliberately
// not run (it needs a subsystem or an internal structure Bulwark does not
// have), or "" for one that is merely not implemented yet. parseExpr
// refuses an excluded name with its reason; the generated keyword lists
// count excluded names apart from the others.
func Excluded(name string) string {
	switch name {
	case "da-csv-conv":
		return "DeviceAtlas"
	case "wt6":
		return "no published specification (HAProxy's own hash)"
	case "ssl_fc_exporter_secret":
		return "Go's crypto/tls does not export the TLS 1.3 exporter secret"
	}
	switch {
	case strings.HasPrefix(name, "internal.htx"):
		// internal.htx.* and internal.htx_blk.* (CM 7.3.6) read HAProxy's
		// HTX message blocks, a representation Bulwark does not have;
		// faking their numbers would mislead. internal.strm.is_htx only
		// says whether the stream is HTTP, which Bulwark knows.
		return "HAProxy-internal debug fetch of its HTX message representation"
	case strings.HasPrefix(name, "lua."), strings.HasPrefix(name, "lua-"):
		return "Lua"
	}
	return ""
}

// legacyFetches are spellings Bulwark accepts that the 2.6 manual has
// no heading for (pre-1.5 aliases HAProxy 2.6 still registers).
func legacyFetches() []string { return []string{"req_ver", "req_ssl_sni"} }

// LegacyFetches returns the accepted aliases without a 2.6 heading.
func LegacyFetches() []string { return legacyFetches() }

// AllFetchNames returns the names of the fixed fetch tables (not the
// generated sc_*/src_* families), for the registry test.
func AllFetchNames() []string {
	var out []string
	for n := range fetches {
		out = append(out, n)
	}
	for n := range moreFetches() {
		out = append(out, n)
	}
	for n := range streamFetches() {
		out = append(out, n)
	}
	for n := range l7Fetches() {
		out = append(out, n)
	}
	for n := range sslFetches() {
		out = append(out, n)
	}
	for n := range tcpInfoFetches() {
		out = append(out, n)
	}
	for n := range bcFetches() {
		out = append(out, n)
	}
	return out
}

// AllConverterNames returns the names of the fixed converter tables.
func AllConverterNames() []string {
	var out []string
	for n := range convs {
		out = append(out, n)
	}
	for n := range moreConvs() {
		out = append(out, n)
	}
	for n := range hashConvs() {
		out = append(out, n)
	}
	for n := range streamConvs() {
		out = append(out, n)
	}
	for n := range streamConvs2() {
		out = append(out, n)
	}
	return out
}
