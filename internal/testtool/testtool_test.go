package testtool

import (
	"strings"
	"testing"
)

// recorder notes how a test was stopped instead of stopping it.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(f string, args ...any)      { r.fatal = f }
func (r *recorder) Skip(args ...any)                  { r.skip = args[0].(string) }
func (r *recorder) Skipf(f string, args ...any)       { r.skip = f }
func (r *recorder) Fatal(args ...any)                 { r.fatal = "fatal" }
func (r *recorder) Errorf(format string, args ...any) { r.fatal = format }

func TestMissingToolFailsUnderRequireTools(t *testing.T) {
	for _, req := range []string{"1", ""} {
		t.Setenv("BULWARK_REQUIRE_TOOLS", req)
		r := &recorder{TB: t}
		if p := Path(r, "bulwark-no-such-tool", "/nonexistent/bulwark-no-such-tool"); p != "" {
			t.Fatalf("found %q", p)
		}
		if req == "1" && (r.fatal == "" || r.skip != "") || req == "" && (r.skip == "" || r.fatal != "") {
			t.Errorf("BULWARK_REQUIRE_TOOLS=%q: fatal %q, skip %q", req, r.fatal, r.skip)
		}
	}
	if p := Path(t, "sh"); !strings.HasSuffix(p, "/sh") {
		t.Errorf("sh found at %q", p)
	}
}
