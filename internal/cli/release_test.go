package cli

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReleaseBuildReproducible builds the release binary twice with the
// flags of 'make release' and compares the bytes (HAP-1.1: a checksum is
// only worth publishing if anyone can rebuild the same file), then checks
// that 'version -v' of it names the revision it was built from.
func TestReleaseBuildReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("two full builds")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	for _, line := range strings.Split(string(mk), "\n") {
		if v, ok := strings.CutPrefix(line, "RELEASE_FLAGS = "); ok {
			flags = strings.Fields(strings.ReplaceAll(v, "$(CURDIR)", root))
		}
	}
	if len(flags) == 0 {
		t.Fatal("no RELEASE_FLAGS in the Makefile")
	}
	var sums [2][32]byte
	var bins [2]string
	for i := range sums {
		// The second build starts from an empty cache, so that it compiles
		// everything again instead of reusing the first build's objects.
		dir := t.TempDir()
		bins[i] = filepath.Join(dir, "bulwark")
		cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", bins[i], "./cmd/bulwark")...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
		if i == 1 {
			cmd.Env = append(cmd.Env, "GOCACHE="+filepath.Join(dir, "cache"))
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("release build: %v\n%s", err, out)
		}
		b, err := os.ReadFile(bins[i])
		if err != nil {
			t.Fatal(err)
		}
		sums[i] = sha256.Sum256(b)
	}
	if sums[0] != sums[1] {
		t.Fatalf("two release builds differ: %x vs %x", sums[0], sums[1])
	}
	out, err := exec.Command(bins[0], "version", "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("version -v: %v\n%s", err, out)
	}
	rev, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("no git revision to compare with: %v", err)
	}
	if !bytes.Contains(out, []byte("Revision: "+strings.TrimSpace(string(rev)))) || !bytes.Contains(out, []byte("dep golang.org/x/net")) {
		t.Fatalf("version -v does not name revision %s and the dependency sums:\n%s", rev, out)
	}
}
