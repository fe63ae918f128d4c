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
	p, ds := compile("    capture request header Host len 5\n    capture response header X-Id len 9\n    tcp-request inspect-delay 3s\n")
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	want := []Capture{{Pos: config.Pos{File: "t.cfg", Line: 8, Col: 5}, Name: "Host", Len: 5},
		{Pos: config.Pos{File: "t.cfg", Line: 9, Col: 5}, Response: true, Name: "X-Id", Len: 9}}
	if len(p.Captures) != 2 || p.Captures[0] != want[0] || p.Captures[1] != want[1] || p.InspectDelay != 3*time.Second {
		t.Fatalf("captures %+v, inspect-delay %s", p.Captures, p.InspectDelay)
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
		{"tcp-response inspect-delay 1s", "has no effect in bulwark", 5, config.SevWarning},
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
