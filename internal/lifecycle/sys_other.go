//go:build !linux

package lifecycle

import (
	"errors"
	"syscall"
)

// Without a way to read the saved IDs the drop cannot be verified, so
// Apply fails rather than serve unverified.
var errUnverifiable = errors.New("verifying a privilege drop is only implemented on Linux")

func getresuid() (r, e, s int, err error) { return 0, 0, 0, errUnverifiable }
func getresgid() (r, e, s int, err error) { return 0, 0, 0, errUnverifiable }

func dupOnto(oldfd, newfd int) error { return syscall.Dup2(oldfd, newfd) }

func noNewPrivs() error { return nil }
