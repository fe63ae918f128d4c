package model

import (
	"fmt"
	"strings"
	"testing"
)

// "nosplice" and "maxpipes" land in the global settings; extra arguments
// and a value that is no count are refused with the line.
func TestNoSpliceMaxPipes(t *testing.T) {
	m, ds := compileText(t, "global\n    nosplice\n    maxpipes 12\n"+dnsDefaults)
	if ds.HasAlerts() || !m.Global.NoSplice || m.Global.MaxPipes != 12 {
		t.Fatalf("%v: nosplice %v maxpipes %d", ds, m.Global.NoSplice, m.Global.MaxPipes)
	}
	if m, _ := compileText(t, dnsDefaults); m.Global.NoSplice || m.Global.MaxPipes != 0 {
		t.Fatalf("defaults: nosplice %v maxpipes %d", m.Global.NoSplice, m.Global.MaxPipes)
	}
	for _, bad := range []struct{ line, want string }{
		{"nosplice x", "'nosplice' cannot handle unexpected argument 'x'"},
		{"maxpipes 10 20", "'maxpipes' cannot handle unexpected argument '20'"},
		{"maxpipes", "'maxpipes' expects an integer argument"},
		{"maxpipes -1", "'maxpipes'"},
	} {
		_, ds := compileText(t, "global\n    "+bad.line+"\n"+dnsDefaults)
		if !ds.HasAlerts() || !strings.Contains(fmt.Sprint(ds), bad.want) || !strings.Contains(fmt.Sprint(ds), "t.cfg:2") {
			t.Errorf("%q: %v", bad.line, ds)
		}
	}
}
