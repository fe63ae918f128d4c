package logging

import (
	"net"
	"strings"
	"testing"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
)

// A message entry (Bulwark's TLS failure lines and abuse alerts) goes out
// as is at its level: to its frontend's targets, or, without a frontend,
// once to every target.
func TestMessageEntries(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := `
defaults
    mode http
frontend a
    bind 127.0.0.1:8001
    log ` + pc.LocalAddr().String() + ` format raw local0
frontend b
    bind 127.0.0.1:8002
    log ` + pc.LocalAddr().String() + ` format raw local0
`
	ast, ds := config.Parse("t.cfg", []byte(cfg), config.LexOptions{})
	m, cds := model.Compile(ast, model.Options{})
	if ds = append(ds, cds...); ds.HasAlerts() {
		t.Fatal(ds)
	}
	pl, pds := plan.Compile(m, plan.Options{})
	if pds.HasAlerts() {
		t.Fatal(pds)
	}
	l, err := New(pl)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	read := func() string {
		buf := make([]byte, 2048)
		pc.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}
	l.Log(&proxy.LogEntry{Frontend: "a", Level: "alert", Msg: "bulwark abuse ALERT: kind=x"})
	if got := read(); got != "bulwark abuse ALERT: kind=x" {
		t.Fatalf("frontend message: %q", got)
	}
	l.Log(&proxy.LogEntry{Level: "alert", Msg: "global one"})
	l.Log(&proxy.LogEntry{Frontend: "b", Level: "alert", Msg: "end"})
	if got := read(); got != "global one" {
		t.Fatalf("global message: %q", got)
	}
	// The next line is the frontend b one: the global message was sent
	// once although two frontends share the target.
	if got := read(); !strings.HasPrefix(got, "end") {
		t.Fatalf("after the global message: %q", got)
	}
}
