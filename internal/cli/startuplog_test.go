package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// The startup log passes everything through, keeps what came before the
// proxy served, and stays bounded.
func TestStartupLog(t *testing.T) {
	var out bytes.Buffer
	l := &startupLog{w: &out}
	fmt.Fprintln(l, "[WARNING]  (bulwark) : before")
	l.freeze()
	fmt.Fprintln(l, "[WARNING]  (bulwark) : after")
	if l.String() != "[WARNING]  (bulwark) : before\n" {
		t.Fatalf("kept %q", l.String())
	}
	if out.String() != "[WARNING]  (bulwark) : before\n[WARNING]  (bulwark) : after\n" {
		t.Fatalf("passed %q", out.String())
	}
	big := &startupLog{w: &bytes.Buffer{}}
	fmt.Fprint(big, strings.Repeat("x", 3*startupLogMax))
	if len(big.String()) != startupLogMax {
		t.Fatalf("kept %d bytes, bound %d", len(big.String()), startupLogMax)
	}
	var none *startupLog
	none.freeze()
	if none.String() != "" {
		t.Fatal("a nil log keeps something")
	}
}
