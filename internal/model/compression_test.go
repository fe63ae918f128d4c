package model

import (
	"slices"
	"strings"
	"testing"

	"bulwark/internal/compress"
	"bulwark/internal/config"
)

func TestCompressionDirectives(t *testing.T) {
	compile := func(text string) (*Model, config.Diagnostics) {
		cfg, ds := config.Parse("t.cfg", []byte(text), config.LexOptions{})
		m, cds := Compile(cfg, Options{})
		return m, append(ds, cds...)
	}
	base := "defaults\n  mode http\n  compression algo gzip\n  compression type text/html\nbackend b\n"
	m, ds := compile("global\n  tune.comp.maxlevel 6\n" + base + "  compression algo deflate\n  compression type text/plain\n  compression offload\n  filter compression\n")
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	b := m.Proxies[len(m.Proxies)-1]
	c := b.Compression
	if c == nil || !slices.Equal(c.Algos, []compress.Algo{compress.Gzip, compress.Deflate}) ||
		!slices.Equal(c.Types, []string{"text/html", "text/plain"}) || !c.Offload || len(b.Filters) != 1 || m.Global.CompMaxLevel != 6 {
		t.Fatalf("got %+v filters %v level %d", c, b.Filters, m.Global.CompMaxLevel)
	}
	for _, tc := range []struct{ text, want string }{
		{base + "  compression algo foo\n", "'compression' : 'foo' is not a supported algorithm."},
		{base + "  compression algo\n", "'compression' expects <algorithm>."},
		{base + "  compression type\n", "'compression' expects <type>."},
		{base + "  compression bar\n", "'compression' expects 'algo', 'type' or 'offload'"},
		{base + "  filter spoe\n", "'filter spoe' is not supported by bulwark"},
		{base + "  filter compression\n  filter compression\n", "only one 'filter compression' per proxy"},
		{"global\n  tune.comp.maxlevel 10\n", "'tune.comp.maxlevel' expects an integer between 1 and 9"},
	} {
		_, ds := compile(tc.text)
		if !ds.HasAlerts() || !strings.Contains(compressionDiagText(ds), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.text, ds, tc.want)
		}
	}
	_, ds = compile("defaults\n  mode http\n  compression offload\n")
	if ds.HasAlerts() || !strings.Contains(compressionDiagText(ds), "'compression' : 'offload' ignored in 'defaults' section.") {
		t.Errorf("offload in defaults: %v", ds)
	}
}

func compressionDiagText(ds config.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Error() + "\n")
	}
	return b.String()
}

// An explicit "filter compression" before a cache filter is refused with
// HAProxy 2.6's messages (checked against it): the cache side always, the
// compression side when the proxy compresses; the cache-use/cache-store
// rules add the cache filter at the end of the list when no "filter
// cache" is written.
func TestCompressionFilterBeforeCache(t *testing.T) {
	compile := func(text string) config.Diagnostics {
		cfg, ds := config.Parse("t.cfg", []byte(text), config.LexOptions{})
		_, cds := Compile(cfg, Options{})
		return append(ds, cds...)
	}
	const head = "cache c1\n  total-max-size 4\ndefaults\n  mode http\nfrontend fe\n  bind 127.0.0.1:80\n"
	const rules = "  http-request cache-use c1\n  http-response cache-store c1\n"
	const anyMsg = "frontend 'fe': unable to enable the compression filter before any cache filter."
	const cacheMsg = "frontend 'fe': unable to enable the compression filter before the cache 'c1'."
	for _, tc := range []struct {
		text       string
		any, cache bool
	}{
		{"  filter cache c1\n  filter compression\n  compression algo gzip\n" + rules, false, false},
		{"  filter compression\n  filter cache c1\n" + rules, false, true},
		{"  filter compression\n  filter cache c1\n  compression algo gzip\n", true, true},
		{"  filter compression\n" + rules, false, true},
		{"  filter compression\n  compression algo gzip\n" + rules, true, true},
		{"  filter compression\n  compression algo gzip\n", false, false},
	} {
		got := compressionDiagText(compile(head + tc.text))
		if strings.Contains(got, anyMsg) != tc.any || strings.Contains(got, cacheMsg) != tc.cache {
			t.Errorf("%q: got %q, want any %v cache %v", tc.text, got, tc.any, tc.cache)
		}
	}
}
