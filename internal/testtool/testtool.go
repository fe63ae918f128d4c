// Package testtool holds what tests of several packages share: the
// external programs they run against (Debian's haproxy, chromium, h2spec,
// socat, redis-server, curl), and Server, the loopback peer that records
// raw bytes. A missing program skips the test on a developer's machine
// and fails it under BULWARK_REQUIRE_TOOLS=1 (make test, CI): there a
// missing tool is an install step that broke, not a reason to test less.
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Path returns where name is: found in PATH, or at one of the other
// places given (absolute paths). Without it the test stops (see Missing).
func Path(t testing.TB, name string, elsewhere ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range elsewhere {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	Missing(t, filepath.Base(name)+" not installed")
	return ""
}

// Missing stops a test whose tool is absent or lacks a feature it needs:
// a failure under BULWARK_REQUIRE_TOOLS=1, a skip otherwise.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("BULWARK_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s, and BULWARK_REQUIRE_TOOLS=1 (scripts/install-deps.sh installs the test tools)", why)
		return
	}
	t.Skip(why)
}
