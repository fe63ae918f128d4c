package lifecycle

import (
	"fmt"
	"os"
	"runtime"
	"syscall"

	"bulwark/internal/model"
)

// ApplyProcess gives the process what global asks of it before anything
// is bound: the environment of setenv, presetenv, unsetenv and resetenv
// (as HAProxy leaves it for "show env" and child processes; the
// configuration's own "${NAME}"s were expanded with it by the lexer) and
// the descriptor limit of ulimit-n, and the threads of nbthread (GOMAXPROCS).
func ApplyProcess(g *model.Global) error {
	for _, op := range g.EnvOps {
		switch op.Op {
		case "setenv":
			os.Setenv(op.Args[0], op.Args[1])
		case "presetenv":
			if _, ok := os.LookupEnv(op.Args[0]); !ok {
				os.Setenv(op.Args[0], op.Args[1])
			}
		case "unsetenv":
			for _, n := range op.Args {
				os.Unsetenv(n)
			}
		case "resetenv":
			keep := map[string]string{}
			for _, n := range op.Args {
				if v, ok := os.LookupEnv(n); ok {
					keep[n] = v
				}
			}
			os.Clearenv()
			for n, v := range keep {
				os.Setenv(n, v)
			}
		}
	}
	// "nbthread": the goroutines run on that many threads at once.
	if g.NbThread > 0 {
		runtime.GOMAXPROCS(g.NbThread)
	}
	if g.UlimitN > 0 {
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err != nil {
			return fmt.Errorf("ulimit-n: %v", err)
		}
		want := syscall.Rlimit{Cur: uint64(g.UlimitN), Max: max(cur.Max, uint64(g.UlimitN))}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return fmt.Errorf("ulimit-n %d: cannot set the file descriptor limit (hard limit %d): %v", g.UlimitN, cur.Max, err)
		}
	}
	return nil
}
