package model

import (
	"fmt"
	"strings"
	"testing"
)

// "option mpxs-conns" and a max-reqs above 1 are accepted (HAProxy's
// syntax) with a "has no effect" warning: Bulwark does not multiplex
// requests on a FastCGI connection, and says so.
func TestFCGIMultiplexOptionsWarn(t *testing.T) {
	_, ds := compileText(t, dnsDefaults+`
backend b
    use-fcgi-app app
    server s 127.0.0.1:9000 proto fcgi
fcgi-app app
    docroot /srv
    option mpxs-conns
    option max-reqs 8
`)
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	got := fmt.Sprint(ds)
	for _, want := range []string{"'option mpxs-conns' (Bulwark sends one request at a time per FastCGI connection) has no effect in bulwark",
		"'option max-reqs 8' (Bulwark sends one request at a time per FastCGI connection) has no effect in bulwark"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in %s", want, got)
		}
	}
	_, ds = compileText(t, dnsDefaults+`
backend b
    use-fcgi-app app
    server s 127.0.0.1:9000 proto fcgi
fcgi-app app
    docroot /srv
    no option mpxs-conns
    option max-reqs 1
`)
	if len(ds) != 0 {
		t.Errorf("the defaults spelled out warn: %s", ds)
	}
}
