package lifecycle

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"bulwark/internal/model"
)

// The environment directives leave the process environment as HAProxy
// does, and ulimit-n sets the descriptor limit.
func TestApplyProcess(t *testing.T) {
	saved := os.Environ()
	t.Cleanup(func() {
		os.Clearenv()
		for _, kv := range saved {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	})
	os.Setenv("BW_PRE", "kept")
	os.Setenv("BW_GONE", "x")
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
	want := lim.Cur - 1
	g := &model.Global{UlimitN: int(want), EnvOps: []model.EnvOp{
		{Op: "setenv", Args: []string{"BW_A", "1"}},
		{Op: "presetenv", Args: []string{"BW_PRE", "other"}},
		{Op: "presetenv", Args: []string{"BW_NEW", "new"}},
		{Op: "unsetenv", Args: []string{"BW_GONE"}},
		{Op: "resetenv", Args: []string{"BW_A", "BW_PRE", "BW_NEW"}},
	}}
	if err := ApplyProcess(g); err != nil {
		t.Fatal(err)
	}
	env := os.Environ()
	if len(env) != 3 || os.Getenv("BW_A") != "1" || os.Getenv("BW_PRE") != "kept" || os.Getenv("BW_NEW") != "new" {
		t.Fatalf("environment %q", env)
	}
	var now syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now)
	if now.Cur != want {
		t.Fatalf("descriptor limit %d, want %d", now.Cur, want)
	}
}
