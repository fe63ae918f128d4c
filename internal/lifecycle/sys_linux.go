package lifecycle

import (
	"syscall"
	"unsafe"
)

func getresuid() (r, e, s int, err error) { return getres(syscall.SYS_GETRESUID) }
func getresgid() (r, e, s int, err error) { return getres(syscall.SYS_GETRESGID) }

// getres reads the real, effective and saved IDs: the saved one is what
// setuid(2) alone does not show, and where root could hide.
func getres(trap uintptr) (r, e, s int, err error) {
	var a, b, c uint32
	if _, _, errno := syscall.RawSyscall(trap, uintptr(unsafe.Pointer(&a)), uintptr(unsafe.Pointer(&b)), uintptr(unsafe.Pointer(&c))); errno != 0 {
		return 0, 0, 0, errno
	}
	return int(a), int(b), int(c), nil
}

// dupOnto uses dup3: arm64 Linux has no dup2.
func dupOnto(oldfd, newfd int) error { return syscall.Dup3(oldfd, newfd, 0) }

// noNewPrivs sets PR_SET_NO_NEW_PRIVS: no exec from this process on (a
// setuid binary, a file with capabilities) can gain a privilege again.
func noNewPrivs() error {
	const prSetNoNewPrivs = 38
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0); errno != 0 {
		return errno
	}
	return nil
}
