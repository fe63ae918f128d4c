package proxy

import (
	"strings"
	"testing"
)

// The global set-var lines seed proc variables that every connection
// shares, and the conditions of a set-var action decide whether it writes
// (CM 3.1 "set-var", CM 4.2 "http-request set-var").
func TestProcVarsAndSetVarConditions(t *testing.T) {
	_, addr := startProxy(t, `
global
    set-var proc.n int(12)
    set-var-fmt proc.f "n=%[var(proc.n)]"
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    http-request set-var(proc.n) var(proc.n),add(1) if { path /inc }
    http-request set-var(proc.n,ifgt) int(5) if { path /low }
    http-request set-var(proc.n,ifgt) int(100) if { path /high }
    http-request set-var(txn.t,ifnotempty) str() if { path /high }
    http-request return status 200 content-type text/plain lf-string "n=%[var(proc.n)] f=%[var(proc.f)] t=%[var(txn.t,none)]"
`)
	steps := []struct{ path, want string }{
		{"/get", "n=12 f=n=12 t=none"},
		{"/inc", "n=13 f=n=12 t=none"}, // a new connection sees the earlier one's write
		{"/get", "n=13 f=n=12 t=none"},
		{"/low", "n=5 f=n=12 t=none"},  // ifgt: 13 > 5, written
		{"/high", "n=5 f=n=12 t=none"}, // 5 > 100 is false, kept; an empty str is not written
	}
	for _, st := range steps {
		if out := rget(t, addr, st.path); !strings.HasSuffix(out, st.want) {
			t.Errorf("%s: got %q, want body %q", st.path, out, st.want)
		}
	}
}
