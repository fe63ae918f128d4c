package model

import (
	"strings"
	"testing"
	"time"

	"bulwark/internal/config"
)

// Captures and inspect delays are typed by the Model, with their errors at
// the word that is wrong, so that later stages never read directive words.
func TestCapturesAndInspectDelayTyped(t *testing.T) {
	compile := func(fe string) (*Proxy, config.Diagnostics) {
		src := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
			"frontend f\n    bind 127.0.0.1:8080\n" + fe
		cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
		m, cds := Compile(cfg, Options{})
		return m.Frontend("f"), append(ds, cds...)
	}
	p, ds := compile("    capture request header Host len 5\n    capture response header X-Id len 9\n    tcp-request inspect-delay 3s\n    tcp-response inspect-delay 2s\n")
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	want := []Capture{{Pos: config.Pos{File: "t.cfg", Line: 8, Col: 5}, Name: "Host", Len: 5},
		{Pos: config.Pos{File: "t.cfg", Line: 9, Col: 5}, Response: true, Name: "X-Id", Len: 9}}
	if len(p.Captures) != 2 || p.Captures[0] != want[0] || p.Captures[1] != want[1] || p.InspectDelay != 3*time.Second || p.ResInspectDelay != 2*time.Second {
		t.Fatalf("captures %+v, inspect-delay %s, tcp-response %s", p.Captures, p.InspectDelay, p.ResInspectDelay)
	}
	for _, tc := range []struct {
		line, msg string
		col       int
		sev       config.Severity
	}{
		{"capture request header Host len nope", "invalid length 'nope'", 37, config.SevAlert},
		{"capture request header Host len 0", "invalid length '0'", 37, config.SevAlert},
		{"capture request header Host", "expects 'request header", 5, config.SevAlert},
		{"capture cookie SID len 32", "'capture cookie' is not supported", 5, config.SevAlert},
		{"tcp-request inspect-delay soon", "'tcp-request inspect-delay'", 31, config.SevAlert},
		{"tcp-response inspect-delay soon", "'tcp-response inspect-delay'", 32, config.SevAlert},
	} {
		_, ds := compile("    " + tc.line + "\n")
		found := false
		for _, d := range ds {
			found = found || d.Severity == tc.sev && strings.Contains(d.Msg, tc.msg) && d.Pos.Line == 8 && d.Pos.Col == tc.col
		}
		if !found {
			t.Errorf("%q: want %s %q at 8:%d, got %v", tc.line, tc.sev, tc.msg, tc.col, ds)
		}
	}
}

// tune.http.maxhdr and tune.h2.* are read with HAProxy's defaults and
// ranges; out-of-range values are errors at the value.
func TestTuneHTTPAndH2(t *testing.T) {
	compile := func(global string) (*Model, config.Diagnostics) {
		cfg, ds := config.Parse("t.cfg", []byte("global\n"+global), config.LexOptions{})
		m, cds := Compile(cfg, Options{})
		return m, append(ds, cds...)
	}
	m, ds := compile("")
	if ds.HasAlerts() || m.Global.MaxHdr != 101 || m.Global.H2 != (H2Tune{4096, 65535, 100, 16384}) {
		t.Fatalf("defaults: %d %+v %v", m.Global.MaxHdr, m.Global.H2, ds)
	}
	m, ds = compile("    tune.http.maxhdr 20\n    tune.h2.header-table-size 8192\n    tune.h2.initial-window-size 1048576\n" +
		"    tune.h2.max-concurrent-streams 50\n    tune.h2.max-frame-size 32768\n")
	if ds.HasAlerts() || ds.Count(config.SevWarning) > 0 || m.Global.MaxHdr != 20 || m.Global.H2 != (H2Tune{8192, 1048576, 50, 32768}) {
		t.Fatalf("set: %d %+v %v", m.Global.MaxHdr, m.Global.H2, ds)
	}
	for _, bad := range []string{"tune.http.maxhdr 0", "tune.h2.max-frame-size 1000", "tune.h2.header-table-size 70000", "tune.h2.max-concurrent-streams x"} {
		_, ds := compile("    " + bad + "\n")
		if !ds.HasAlerts() {
			t.Errorf("%q accepted", bad)
		}
	}
}

// tune.pool-low-fd-ratio and tune.pool-high-fd-ratio: HAProxy's defaults
// (20, 25) and range (0 to 100).
func TestTunePoolFDRatios(t *testing.T) {
	compile := func(global string) (*Model, config.Diagnostics) {
		cfg, ds := config.Parse("t.cfg", []byte("global\n"+global), config.LexOptions{})
		m, cds := Compile(cfg, Options{})
		return m, append(ds, cds...)
	}
	m, ds := compile("")
	if ds.HasAlerts() || m.Global.PoolLowFDRatio != 20 || m.Global.PoolHighFDRatio != 25 {
		t.Fatalf("defaults: %d %d %v", m.Global.PoolLowFDRatio, m.Global.PoolHighFDRatio, ds)
	}
	m, ds = compile("    tune.pool-low-fd-ratio 0\n    tune.pool-high-fd-ratio 100\n")
	if ds.HasAlerts() || ds.Count(config.SevWarning) > 0 || m.Global.PoolLowFDRatio != 0 || m.Global.PoolHighFDRatio != 100 {
		t.Fatalf("set: %d %d %v", m.Global.PoolLowFDRatio, m.Global.PoolHighFDRatio, ds)
	}
	for _, bad := range []string{"tune.pool-low-fd-ratio 101", "tune.pool-high-fd-ratio -1", "tune.pool-low-fd-ratio x", "tune.pool-high-fd-ratio"} {
		if _, ds := compile("    " + bad + "\n"); !ds.HasAlerts() {
			t.Errorf("%q accepted", bad)
		}
	}
}

// no-memory-trimming takes no argument.
func TestNoMemoryTrimming(t *testing.T) {
	for _, tc := range []struct {
		line  string
		set   bool
		alert bool
	}{{"", false, false}, {"    no-memory-trimming\n", true, false}, {"    no-memory-trimming now\n", false, true}} {
		cfg, ds := config.Parse("t.cfg", []byte("global\n"+tc.line), config.LexOptions{})
		m, cds := Compile(cfg, Options{})
		ds = append(ds, cds...)
		if ds.HasAlerts() != tc.alert || m.Global.NoMemoryTrimming != tc.set {
			t.Errorf("%q: set %v, alerts %v", tc.line, m.Global.NoMemoryTrimming, ds)
		}
	}
}
